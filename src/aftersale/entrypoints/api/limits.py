"""What every request must be before anything reads it: a body no larger than the limit, a
path and query without NUL bytes.

A pure ASGI layer outside authentication, idempotency, the hot routes and every parser, so an
anonymous 200 MB body costs the process no more than the limit:

- a `Content-Length` over the limit is answered 413 `payload_too_large` before any byte of the
  body is read;
- a body sent without one (chunked) is counted as it streams: the chunk that passes the limit
  is answered 413 there and then, the reader gets `BodyTooLarge` (the app's later sends are
  dropped), and nothing further is read.

The limit is `AFTERSALE_MAX_BODY_BYTES` (1 MiB) for every body but a multipart upload, which
may carry an evidence file (`services/evidence.MAX_BYTES`, 5 MiB) and the form around it.
A path or query holding a NUL byte (`%00`) is 422 `validation_error`: no column may keep one.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aftersale.domain.validate import storable
from aftersale.entrypoints.api.problems import problem
from aftersale.entrypoints.api.responses import JSONResponse
from aftersale.services.evidence import MAX_BYTES as EVIDENCE_BYTES

DEFAULT_MAX_BODY = 1 << 20


class BodyTooLarge(HTTPException):
    """Raised from `receive` once a body passes the limit (an HTTPException, so that FastAPI's
    body parsing lets it through rather than calling it a malformed body)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit:,} bytes")
        self.limit = limit


def upload_limit(max_body: int) -> int:
    """The limit for multipart bodies: an evidence file and the form around it."""
    return EVIDENCE_BYTES + max_body


def _too_large(limit: int) -> JSONResponse:
    return problem(
        "payload_too_large",
        f"the request body is larger than {limit:,} bytes",
        headers={"Connection": "close"},
    )


class InputLimits:
    """The ASGI layer (see the module's text)."""

    def __init__(self, app: ASGIApp, max_body: int = DEFAULT_MAX_BODY) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = upload_limit(max_body)

    def limit_for(self, content_type: bytes | None) -> int:
        """The body limit for a request of this content type."""
        media = (content_type or b"").split(b";", 1)[0].strip().lower()
        return self.max_upload if media == b"multipart/form-data" else self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query or not storable(scope["path"]):
            response = problem(
                "validation_error", "the path or query holds a NUL byte or text that is not valid"
            )
            await response(scope, receive, send)
            return
        content_type = length = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == b"content-length":
                length = value
        limit = self.limit_for(content_type)
        if length is not None and length.strip().isdigit() and int(length) > limit:
            await _too_large(limit)(scope, receive, send)
            return
        await self._counted(scope, receive, send, limit)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        seen = 0
        started = refused = False

        async def direct(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        async def counting_receive() -> Message:
            nonlocal seen, refused
            if refused:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    refused = True
                    if not started:
                        await _too_large(limit)(scope, receive, direct)
                    raise BodyTooLarge(limit)
            return message

        async def app_send(message: Message) -> None:
            if not refused:  # once refused, the 413 is the answer: the app's is dropped
                await direct(message)

        try:
            await self.app(scope, counting_receive, app_send)
        except Exception:
            if not refused:
                raise
