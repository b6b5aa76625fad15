"""While the database is away, answer 503 with Retry-After instead of a 500.

An ASGI layer just inside FastAPI's error middleware (outside the hot routes and the
idempotency layer, whose own database calls fail first in an outage). An error that says the
database cannot be reached — a refused or dropped connection, a server shutting down, a pool
with no connection to give — becomes 503 problem+json `database_unavailable` on the API (a
short readable page elsewhere), with `Retry-After`, and the connection stays open for the
client's next request (an exception reaching the server would close it). Every other error
goes on as before. A rule's refusal that only happened because its retries met such an error
(services/common.py turns the last one into ConcurrentModification) is the same outage:
problems.domain_problem asks `is_outage` too.
"""

from __future__ import annotations

from html import escape

from sqlalchemy import exc as sa_exc
from starlette.types import ASGIApp, Message, Receive, Scope, Send

RETRY_AFTER = 5  # seconds
# SQLSTATE classes of a server that cannot serve: 08 connection exception, 57P01..03 admin
# shutdown, crash shutdown, cannot connect now
_SQLSTATES = ("08", "57P01", "57P02", "57P03")
DETAIL = "the database cannot be reached just now; retry after a few seconds"


def _unreachable(error: sa_exc.DBAPIError) -> bool:
    if error.connection_invalidated:
        return True
    orig = error.orig
    state = getattr(orig, "sqlstate", None)
    if isinstance(state, str):
        return state.startswith(_SQLSTATES)
    module = type(orig).__module__
    # psycopg: a connection refused or lost has no SQLSTATE; SQLite's own errors are not outages
    return module.startswith("psycopg") and isinstance(error, sa_exc.OperationalError)


def is_outage(error: BaseException | None) -> bool:
    """Whether the error (or one it was raised from) says the database is unreachable."""
    seen = 0
    while error is not None and seen < 12:
        if isinstance(error, sa_exc.TimeoutError):  # the pool had no connection to give
            return True
        if isinstance(error, sa_exc.DBAPIError) and _unreachable(error):
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False


def _page(status: int) -> bytes:
    text = escape(
        "The service is briefly unavailable (its database cannot be reached). "
        "Please try again in a few seconds."
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Temporarily unavailable</title>"
        '<link rel="stylesheet" href="/static/app.css"></head><body><main class="container">'
        f"<h1>Temporarily unavailable</h1><p>{text}</p>"
        f'<p><a href="">Try again</a></p><p class="muted">{status}</p></main></body></html>'
    ).encode()


def outage_response(scope: Scope) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The 503's headers and body for this request (problem+json on the API)."""
    from aftersale.entrypoints.api.problems import problem

    if scope["path"].startswith("/api/") or scope["path"] in ("/readyz", "/metrics"):
        response = problem("database_unavailable", DETAIL, status=503, retry_after=RETRY_AFTER)
        return [*response.raw_headers, (b"cache-control", b"no-store")], bytes(response.body)
    body = _page(503)
    return [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"retry-after", str(RETRY_AFTER).encode()),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ], body


class DatabaseOutage:
    """The ASGI layer (see the module's text)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as error:
            if started or not is_outage(error):
                raise
            headers, body = outage_response(scope)
            await send({"type": "http.response.start", "status": 503, "headers": headers})
            await send({"type": "http.response.body", "body": body})
