"""Prometheus metrics (API.md, "Operations"): every family, one place.

Counters and the request histogram are prometheus-client's; under `serve --workers N` the
parent points PROMETHEUS_MULTIPROC_DIR at a fresh folder before it starts the processes, so
each writes its samples to files there and a scrape of any one process reads them all
(prometheus-client's multiprocess mode). The gauges are not kept in processes at all: they
are read from the database by one cheap indexed query each when scraped, at most once per
`ttl` seconds in a process (`OpsCollector`).

Other code reports through small functions: `deadlines_fired`, `webhook_delivered`,
`mail_sent`, and `set_webhook_backlog` (a callable giving the outbox's backlog; 0 until set).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric

disable_created_metrics()  # (no *_created series: they double the output for nothing)
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "aftersale_http_requests_total", "HTTP requests answered.", ["method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "aftersale_http_request_duration_seconds",
    "Time to answer a request, by route template.",
    ["route"],
    buckets=BUCKETS,
)
DEADLINES_FIRED = Counter("aftersale_deadlines_fired_total", "Deadlines fired.", ["kind"])
WEBHOOK_DELIVERIES = Counter(
    "aftersale_webhook_deliveries_total", "Webhook delivery attempts, by outcome.", ["status"]
)
MAIL_SENT = Counter("aftersale_mail_sent_total", "Mails sent, by outcome.", ["status"])

_http: dict[tuple[str, str, int], tuple[Any, Any]] = {}  # label lookups are the costly part
_backlog: list[Callable[[], int]] = []


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request and its duration."""
    key = (method, route, status)
    children = _http.get(key)
    if children is None:
        children = (HTTP_REQUESTS.labels(method, route, str(status)), HTTP_DURATION.labels(route))
        _http[key] = children
    children[0].inc()
    children[1].observe(seconds)


def deadlines_fired(kinds: Iterable[str]) -> None:
    """Count fired deadlines (one kind a deadline)."""
    counts: dict[str, int] = {}
    for kind in kinds:
        counts[kind] = counts.get(kind, 0) + 1
    for kind, n in counts.items():
        DEADLINES_FIRED.labels(kind).inc(n)


def declare_deadline_kinds(kinds: Iterable[str]) -> None:
    """Show every kind's counter (at 0) before the first one fires."""
    for kind in kinds:
        DEADLINES_FIRED.labels(kind)


def declare_outcomes() -> None:
    """Show the webhook and mail counters (at 0) before anything is sent."""
    for status in ("delivered", "failed"):
        WEBHOOK_DELIVERIES.labels(status)
    for status in ("sent", "failed"):
        MAIL_SENT.labels(status)


def webhook_delivered(status: str) -> None:
    """Count one webhook delivery attempt (status: delivered, failed, dead, ...)."""
    WEBHOOK_DELIVERIES.labels(status).inc()


def mail_sent(status: str) -> None:
    """Count one mail (status: sent, failed)."""
    MAIL_SENT.labels(status).inc()


def set_webhook_backlog(provider: Callable[[], int]) -> None:
    """Where `aftersale_webhook_backlog` comes from (a cheap count of undelivered events)."""
    _backlog[:] = [provider]


class OpsCollector:
    """The database's gauges, computed on a scrape at most once per `ttl` seconds."""

    def __init__(self, figures: Callable[[], dict[str, float]], *, ttl: float = 10.0) -> None:
        self.figures, self.ttl = figures, ttl
        self._lock = threading.Lock()
        self._at, self._last = float("-inf"), dict[str, float]()

    def describe(self) -> list[Metric]:
        """Nothing up front (the figures are read only when scraped)."""
        return []

    def collect(self) -> Iterator[Metric]:
        """The gauges, from the cache or from one fresh read."""
        with self._lock:
            if time.monotonic() - self._at >= self.ttl:
                self._last = {**self.figures(), "webhook_backlog": _backlog_now()}
                self._at = time.monotonic()
            figures = dict(self._last)
        for name, value in figures.items():
            yield GaugeMetricFamily(f"aftersale_{name}", GAUGE_HELP.get(name, name), value=value)


GAUGE_HELP = {
    "deadlines_due": "Deadlines due and not fired yet.",
    "deadline_lag_seconds": "How late the oldest due deadline is.",
    "refunds_overdue": "Refunds pending or processing past their expected-by date.",
    "disputes_escalated_overdue": "Escalated disputes past the platform's 7-day target.",
    "webhook_backlog": "Webhook events not delivered yet.",
}


def _backlog_now() -> float:
    """The webhook backlog from its provider, 0 until one is set."""
    return float(_backlog[0]()) if _backlog else 0.0


def registry(ops: OpsCollector | None) -> CollectorRegistry:
    """The registry a scrape reads: every process's files in multiprocess mode, else this
    process's own; plus the database's gauges."""
    if os.environ.get(MULTIPROC_DIR):
        reg = CollectorRegistry()
        multiprocess.MultiProcessCollector(reg)
    else:
        reg = CollectorRegistry()
        reg.register(_Forward(REGISTRY))
    if ops is not None:
        reg.register(ops)  # type: ignore[arg-type]
    return reg


class _Forward:
    """This process's default registry as one collector of another registry."""

    def __init__(self, inner: CollectorRegistry) -> None:
        self.inner = inner

    def collect(self) -> Iterator[Metric]:
        """Everything the default registry has."""
        return iter(self.inner.collect())


def exposition(reg: CollectorRegistry) -> bytes:
    """The text format Prometheus scrapes."""
    return generate_latest(reg)
