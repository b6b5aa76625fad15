"""The outermost ASGI layer: a request id on every response, one metrics sample and one JSON
log line per request. It wraps the whole app (FastAPI's error middleware, the hot routes and
the idempotency layer included), so every answer — a 500, a page, a replayed idempotent
answer, a hot route's — carries `X-Request-ID` and is counted under its route's template."""

from __future__ import annotations

import random
import re
import time
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aftersale.adapters import metrics
from aftersale.entrypoints import logs
from aftersale.entrypoints.api import hot_routes
from aftersale.entrypoints.api.deps import bearer_token
from aftersale.services.users import cached_actor

SANE_ID = re.compile(rb"[A-Za-z0-9._:@-]{1,128}")
HEADER = b"x-request-id"


def request_id(headers: list[tuple[bytes, bytes]]) -> bytes:
    """The caller's request id when it sends a sane one, else a new one."""
    for name, value in headers:
        if name == HEADER:
            return value if SANE_ID.fullmatch(value) else _new_id()
    return _new_id()


def _new_id() -> bytes:
    """A new request id: 32 hex digits, as a UUID's. An id to match lines by, not a secret:
    from the process's own generator (seeded from the OS at start), not a getrandom() system
    call each request, which took ~25 µs a request under load (bench/README.md)."""
    return b"%032x" % random.getrandbits(128)


def route_of(scope: Scope) -> str:
    """The path template that answered ("unmatched" for none: no unbounded label values)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path is not None:
        return str(path) or "/"
    hot = (scope.get("state") or {}).get(hot_routes.ROUTE_TEMPLATE)
    return str(hot) if hot is not None else "unmatched"


def user_of(scope: Scope, rt: Any) -> str | None:
    """Who made the request, if known: the API's actor, the pages' user, or a cached token."""
    state = scope.get("state") or {}
    actor = state.get("actor")
    if actor is not None:
        return str(actor.user_id)
    web_user = state.get("web_user")
    if web_user is not None:
        return str(web_user.id)
    for name, value in scope["headers"]:
        if name == b"authorization" and rt is not None:
            token = bearer_token(value.decode("latin-1"))
            found = cached_actor(rt, token) if token else None
            return found.user_id if found is not None else None
    return None


class RequestObserver:
    """The layer (see the module's text); `record` off keeps only the request id."""

    def __init__(self, app: ASGIApp, *, fastapi: FastAPI, record: bool) -> None:
        self.app, self.fastapi, self.record = app, fastapi, record

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope["headers"])
        scope.setdefault("state", {})["request_id"] = rid.decode()
        started, status = time.perf_counter(), 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), (HEADER, rid)]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if self.record:
                self._record(scope, rid, status, time.perf_counter() - started)

    def _record(self, scope: Scope, rid: bytes, status: int, seconds: float) -> None:
        """The request's metrics sample and log line."""
        route = route_of(scope)
        metrics.observe_request(scope["method"], route, status, seconds)
        logs.request_line(
            {
                "component": "aftersale.http",
                "request_id": rid.decode(),
                "method": scope["method"],
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "user_id": user_of(scope, getattr(self.fastapi.state, "runtime", None)),
            }
        )


def install(app: FastAPI, *, record: bool) -> None:
    """Wrap the app's whole middleware stack (FastAPI's error handling included)."""
    if record:
        logs.configure()
    build = app.build_middleware_stack

    def stack() -> ASGIApp:
        return RequestObserver(build(), fastapi=app, record=record)

    app.build_middleware_stack = stack  # type: ignore[method-assign]
