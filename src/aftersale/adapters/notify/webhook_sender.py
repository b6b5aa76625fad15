"""Webhook attempts over HTTP: Standard Webhooks headers signed with `standardwebhooks`, one
well-kept async httpx client, a 15 s timeout, a bounded number of attempts in flight, no
redirects followed, and the target's addresses checked again at each attempt."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import httpx
from standardwebhooks.webhooks import Webhook

from aftersale.services.deliveries import Outcome
from aftersale.services.webhook_urls import refused_address

TIMEOUT = 15.0

# httpcore asks `import sniffio` (which async library runs?) ~4 times a request; with sniffio
# not installed (anyio 4 and httpx no longer need it), each is a failed import, a walk of
# sys.path: ~60 us apiece, a quarter of a request's CPU here. A None entry makes that a dict
# look-up that fails at once, and httpcore then takes asyncio, as it does today.
if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]
# connections per httpx pool: httpcore's pool checks every connection it holds each time a
# request comes or goes (is it closed, expired, readable? a system call for each idle one), so
# its cost per request grows with its size: ~3 ms of CPU a request with one pool of 64, ~1.3
# ms with 8 pools of 8; with a pool per connection each request checks only its own (bench
# README, "Webhook deliveries", 2026-12-04: the sender alone 1,878 -> 2,250 requests/s, the
# bare client 1,816 -> 2,351, the dispatcher's deliveries 832 -> 1,052 /s)
POOL_SIZE = 1


def pool_layout(in_flight: int) -> tuple[int, int]:
    """(pools, connections per pool) for `in_flight` attempts at once."""
    pools = -(-in_flight // POOL_SIZE)
    return pools, -(-in_flight // pools)


def pick_pool(busy: list[int], size: int) -> int:
    """The busiest pool that has a free connection: attempts fill pools one by one, so the
    pools in use have few idle connections (httpcore checks each idle one, a system call,
    whenever a request comes or goes). With pools of one connection: the first free one."""
    free = [i for i, n in enumerate(busy) if n < size]
    return max(free, key=busy.__getitem__)


@lru_cache(maxsize=1024)
def _signer(secret: str) -> Webhook:
    return Webhook(secret)


def signatures(*, webhook_id: str, at: datetime, body: str, secrets: list[str]) -> str:
    """The webhook-signature header: `v1,...` per valid secret, space-separated."""
    return " ".join(_signer(s).sign(webhook_id, at, body) for s in secrets)


def valid_secrets(row: dict[str, Any], now: datetime) -> list[str]:
    """The endpoint's secret, and the previous one while it is still honoured."""
    until = row.get("old_secret_until")
    if row.get("old_secret") and until is not None and until > now:
        return [row["secret"], row["old_secret"]]
    return [row["secret"]]


class WebhookSender:
    """Sends attempts; at most `in_flight` at once in this process, over small httpx pools
    (`POOL_SIZE`, `pick_pool`), so no pool waits while a slot is free."""

    def __init__(
        self, *, allow_private: bool, in_flight: int = 64, timeout: float = TIMEOUT
    ) -> None:
        self.allow_private, self.timeout = allow_private, timeout
        self.in_flight = asyncio.Semaphore(in_flight)
        pools, self.pool_size = pool_layout(in_flight)
        # one TLS context for all the pools, the one httpx would make for each (certifi's
        # roots): each of its own costs ~0.85 MB (54 MB for 64 pools)
        tls = httpx.create_ssl_context()
        self.clients = [
            httpx.AsyncClient(
                verify=tls,
                timeout=timeout,
                follow_redirects=False,
                limits=httpx.Limits(
                    max_connections=self.pool_size, max_keepalive_connections=self.pool_size
                ),
                headers={"user-agent": "aftersale-webhooks/1"},
            )
            for _ in range(pools)
        ]
        self.busy = [0] * pools

    async def close(self) -> None:
        """Close the clients' connections."""
        for client in self.clients:
            await client.aclose()

    async def attempt(self, row: dict[str, Any], *, secrets: list[str]) -> Outcome:
        """POST one delivery; never raises (a failure is an outcome)."""
        async with self.in_flight:
            pool = pick_pool(self.busy, self.pool_size)
            self.busy[pool] += 1
            try:
                return await self._post(self.clients[pool], row, secrets)
            finally:
                self.busy[pool] -= 1

    async def _post(
        self, client: httpx.AsyncClient, row: dict[str, Any], secrets: list[str]
    ) -> Outcome:
        """One attempt on one pool."""
        refused = await self._refused(row["url"])
        if refused is not None:
            return Outcome(row["id"], None, refused)
        now = datetime.now(UTC)  # webhook-timestamp is wall-clock time, test clock or not
        headers = {
            "content-type": "application/json",
            "webhook-id": row["event_id"],
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signatures(
                webhook_id=row["event_id"], at=now, body=row["body"], secrets=secrets
            ),
        }
        try:  # (httpx's timeout is per phase: the whole attempt has `timeout` too)
            async with asyncio.timeout(self.timeout):
                answer = await client.post(row["url"], content=row["body"], headers=headers)
        except (httpx.TimeoutException, TimeoutError):
            return Outcome(row["id"], None, f"no answer within {self.timeout:g} s")
        except httpx.HTTPError as exc:
            return Outcome(row["id"], None, f"{type(exc).__name__}: {exc}"[:500])
        error = None if answer.is_success else f"HTTP {answer.status_code}"
        return Outcome(row["id"], answer.status_code, error)

    async def _refused(self, url: str) -> str | None:
        """Why the URL may not be called now (its host resolves to a private address)."""
        if self.allow_private:
            return None
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port)
        except OSError as exc:
            return f"cannot resolve {host}: {exc}"
        bad = refused_address([str(i[4][0]) for i in infos])
        return None if bad is None else f"refused: {host} resolves to {bad}, a private address"
