"""`X-Served-By: <pid>` on every response, so a test (or an operator chasing a problem) can
tell which of the `serve --workers N` processes answered. Only installed with the test clock
on: a production server does not tell the world its process ids."""

from __future__ import annotations

import os

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class ServedByMiddleware:
    """Adds the serving process's id to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_pid(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-served-by", str(os.getpid()).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_pid)


def install(app: FastAPI, *, enabled: bool) -> None:
    """Add the middleware (outermost, so replayed idempotent answers carry it too)."""
    if enabled:
        app.add_middleware(ServedByMiddleware)
