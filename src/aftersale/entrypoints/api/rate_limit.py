"""The API's rate limits, in each process's memory (issue 17, point 5):

- per token (one per user): a token bucket of AFTERSALE_API_RATE requests a minute, filling
  continuously, at most one minute's worth saved up; the hot routes take from it too;
- per client address: AFTERSALE_API_FAILED_TOKENS failed bearer tokens a minute, after which
  a token not already known is refused without a look-up, so guessing tokens is throttled.

Both answer 429 `rate_limited` with Retry-After. Being in memory they cost nothing on the hot
path, and they count per process: with `serve --workers N` a client gets up to N times the rate.
"""

from __future__ import annotations

import math
import threading
import time

from starlette.types import Scope

from aftersale.entrypoints.api.problems import ApiProblem, problem
from aftersale.entrypoints.api.responses import JSONResponse
from aftersale.entrypoints.client_address import Networks, client_address

MAX_KEYS = 100_000  # past this many, the full or old entries are dropped


class TokenBuckets:
    """One bucket per key: `per_minute` requests a minute (0: no limit)."""

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.per_second = per_minute / 60.0
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> int | None:
        """Take one request: None if allowed, else the seconds until one is."""
        if self.capacity <= 0:
            return None
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, when = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - when) * self.per_second)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return max(1, math.ceil((1.0 - tokens) / self.per_second))
            if len(self._buckets) >= MAX_KEYS and key not in self._buckets:
                self._buckets.clear()  # (a fresh bucket is a full one: nobody loses)
            self._buckets[key] = (tokens - 1.0, now)
            return None


class FailureWindows:
    """Failures per key in fixed one-minute windows: at most `per_minute` (0: no limit)."""

    def __init__(self, per_minute: int, window: float = 60.0) -> None:
        self.limit, self.window = per_minute, window
        self._counts: dict[str, tuple[float, int]] = {}  # key -> (window start, failures)
        self._lock = threading.Lock()

    def blocked(self, key: str, now: float | None = None) -> int | None:
        """None if the key may try again, else the seconds until its window ends."""
        if self.limit <= 0:
            return None
        now = time.monotonic() if now is None else now
        with self._lock:
            start, count = self._counts.get(key, (now, 0))
        if now - start >= self.window or count < self.limit:
            return None
        return max(1, math.ceil(start + self.window - now))

    def failed(self, key: str, now: float | None = None) -> None:
        """Count one failure."""
        if self.limit <= 0:
            return
        now = time.monotonic() if now is None else now
        with self._lock:
            start, count = self._counts.get(key, (now, 0))
            if now - start >= self.window:
                start, count = now, 0
            if len(self._counts) >= MAX_KEYS and key not in self._counts:
                self._counts = {k: v for k, v in self._counts.items() if now - v[0] < self.window}
            self._counts[key] = (start, count + 1)


class ApiLimits:
    """The process's two API limits."""

    def __init__(self, *, rate: int, failed_tokens: int, trusted: Networks = ()) -> None:
        self.tokens = TokenBuckets(rate)
        self.failures = FailureWindows(failed_tokens)
        self.trusted = tuple(trusted)

    def address(self, scope: Scope) -> str:
        """The client's address (X-Forwarded-For only from a trusted proxy)."""
        return client_address(scope, self.trusted)

    def check_rate(self, user_id: str) -> None:
        """Raise 429 rate_limited if this token has used up its rate."""
        wait = self.tokens.take(user_id)
        if wait is not None:
            raise rate_limited(RATE_USED, wait)

    def check_address(self, address: str) -> None:
        """Raise 429 rate_limited if this address has failed too many bearer tokens."""
        wait = self.failures.blocked(address)
        if wait is not None:
            raise rate_limited("too many failed bearer tokens from this address", wait)


RATE_USED = "this token's request rate is used up"
RATE_TAKEN = "rate_taken"  # request.state: the hot layer already took this request's token


def rate_limited(detail: str, wait: int) -> ApiProblem:
    """The 429 problem, with its Retry-After."""
    return ApiProblem("rate_limited", f"{detail}: try again in {wait} s", retry_after=wait)


def rate_limited_response(wait: int) -> JSONResponse:
    """The 429 answer to a token past its rate (the hot routes answer it themselves)."""
    return problem("rate_limited", f"{RATE_USED}: try again in {wait} s", retry_after=wait)
