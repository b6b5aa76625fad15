"""Idempotency-Key on every POST: a repeat gets the first answer and changes nothing again.

Keys are scoped to the caller. The key is claimed in its own transaction before the request
runs, so two requests with one key at the same moment cannot both run: the second waits for
the first's answer, or gets 409 idempotency_in_progress.

An answer that carries a secret shown only once (a new user's API token, a webhook endpoint's
signing secret) is not kept in replayable form: only its SHA-256 is stored, and a repeat gets
409 `idempotency_secret_not_replayable` (the request was done once; nothing runs again).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aftersale.domain.errors import ConcurrentModification
from aftersale.entrypoints.api.deps import bearer_token
from aftersale.entrypoints.api.problems import problem
from aftersale.services.runtime import Runtime
from aftersale.services.users import actor_for_token

LOCK = timedelta(seconds=60)
WAIT_SECONDS = 10.0
# POSTs whose successful answer carries a secret shown only once (API.md "Users", "Webhooks")
SECRET_ANSWERS = re.compile(
    r"^/api/v1/(users|webhook-endpoints|webhook-endpoints/[^/]+/rotate-secret)/?$"
)
SECRET_DIGEST = "application/vnd.aftersale.secret-digest"  # the stored "content type"


def _now() -> datetime:
    return datetime.now(UTC)  # keys are kept by wall-clock time, even under a test clock


class IdempotencyMiddleware:
    """ASGI middleware storing the first answer to each (caller, key)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        key_raw, auth = _wanted_headers(scope["headers"])
        rt: Runtime = scope["app"].state.runtime
        token = bearer_token(auth)
        if key_raw is not None and token:
            key = _header_text(key_raw)
            if key is None:
                await problem(
                    "validation_error", "Idempotency-Key must be printable ASCII characters"
                )(scope, receive, send)
                return
        else:
            key = None
        actor = await run_in_threadpool(actor_for_token, rt, token) if token and key else None
        if key is None or actor is None:
            await self.app(scope, receive, send)
            return
        if not 1 <= len(key) <= 255:
            await problem("validation_error", "Idempotency-Key must be 1 to 255 characters")(
                scope, receive, send
            )
            return
        body = await _read_body(receive)
        path = scope["path"] + (
            "?" + scope["query_string"].decode("latin-1") if scope.get("query_string") else ""
        )
        fingerprint = hashlib.sha256(
            json.dumps([scope["method"], path, _canonical(body)]).encode()
        ).hexdigest()
        stored = await _claim(rt, actor.user_id, key, fingerprint)
        if stored is not None:
            await _replay(stored, fingerprint, scope, receive, send)
            return
        await self._run_and_store(rt, actor.user_id, key, body, scope, send)

    async def _run_and_store(
        self, rt: Runtime, user_id: str, key: str, body: bytes, scope: Scope, send: Send
    ) -> None:
        sent = False

        async def replay_body() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self.app(scope, replay_body, capture)
        except BaseException:
            await run_in_threadpool(_release, rt, user_id, key)
            raise
        status = int(start.get("status", 500))
        content = b"".join(chunks)
        ctype = next(
            (
                v.decode("latin-1")
                for k, v in start.get("headers", [])
                if k.lower() == b"content-type"
            ),
            "application/json",
        )
        if status < 300 and SECRET_ANSWERS.match(scope["path"]):
            digest = hashlib.sha256(content).hexdigest().encode()
            await run_in_threadpool(_finish, rt, user_id, key, status, digest, SECRET_DIGEST)
        elif status < 500:
            await run_in_threadpool(_finish, rt, user_id, key, status, content, ctype)
        else:
            await run_in_threadpool(_release, rt, user_id, key)
        await send(
            {"type": "http.response.start", "status": status, "headers": start.get("headers", [])}
        )
        await send({"type": "http.response.body", "body": content})


def _wanted_headers(headers: list[tuple[bytes, bytes]]) -> tuple[bytes | None, str]:
    """The Idempotency-Key (raw bytes) and Authorization (as latin-1, as Starlette reads it)
    headers; no other header is decoded, so a stray byte elsewhere never fails a request."""
    key: bytes | None = None
    auth: str | None = None
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"idempotency-key" and key is None:
            key = value
        elif lowered == b"authorization" and auth is None:
            auth = value.decode("latin-1")
    return key, auth or ""


def _header_text(value: bytes) -> str | None:
    """A header value of printable ASCII, else None (keys are compared as text)."""
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError:
        return None
    return text if text.isprintable() else None


def _canonical(body: bytes) -> str:
    """The body as compared between repeats: JSON by its content (key order and spacing do
    not matter, as with Stripe's parameters), anything else byte for byte."""
    try:
        return "json:" + json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
    except (ValueError, UnicodeDecodeError):
        return "raw:" + body.hex()


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))  # (the body's limit is api/limits.py's)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


BUSY: dict[str, Any] = {"busy": True}


async def _claim(rt: Runtime, user_id: str, key: str, fingerprint: str) -> dict[str, Any] | None:
    """Claim the key; None if claimed now, else the stored record (waiting for it to finish).
    The wait is on the event loop, not in a thread: with a few request threads per process,
    eight waiting repeats must not hold every thread while the first request needs one."""
    deadline = _now() + timedelta(seconds=WAIT_SECONDS)
    while True:
        found = await run_in_threadpool(_try_claim, rt, user_id, key, fingerprint)
        if found is not BUSY:
            return found
        if _now() >= deadline:
            return {"in_progress": True, "fingerprint": fingerprint}
        await anyio.sleep(0.05)


def _try_claim(rt: Runtime, user_id: str, key: str, fingerprint: str) -> dict[str, Any] | None:
    """One attempt: None if claimed now, the stored record if finished (or made for another
    request), else BUSY (another request holds the key and is still running)."""
    while True:
        try:
            with rt.uow() as uow:
                uow.idempotency.claim(
                    user_id=user_id, key=key, fingerprint=fingerprint, now=_now(), lock_for=LOCK
                )
                uow.commit()
            return None
        except (IntegrityError, ConcurrentModification):
            pass  # someone holds the key: look at what they stored
        with rt.uow() as uow:
            record = uow.idempotency.get(user_id, key)
            if record is None:
                continue  # released meanwhile: claim again
            if record["fingerprint"] != fingerprint or record["done"]:
                return dict(record)
            if uow.idempotency.take_over(user_id=user_id, key=key, now=_now(), lock_for=LOCK):
                uow.commit()
                return None
        return BUSY


def _finish(rt: Runtime, user_id: str, key: str, status: int, body: bytes, ctype: str) -> None:
    with rt.uow() as uow:
        uow.idempotency.finish(
            user_id=user_id, key=key, status_code=status, body=body, content_type=ctype
        )
        uow.commit()


def _release(rt: Runtime, user_id: str, key: str) -> None:
    with rt.uow() as uow:
        uow.idempotency.release(user_id=user_id, key=key)
        uow.commit()


async def _replay(
    stored: dict[str, Any], fingerprint: str, scope: Scope, receive: Receive, send: Send
) -> None:
    if stored["fingerprint"] != fingerprint:
        response = problem(
            "idempotency_key_reused",
            "this Idempotency-Key was used for another request (method, path or body differ)",
        )
    elif stored.get("in_progress"):
        response = problem(
            "idempotency_in_progress",
            "a request with this Idempotency-Key is still running; retry shortly",
        )
    elif stored["content_type"] == SECRET_DIGEST:
        response = problem(
            "idempotency_secret_not_replayable",
            "the first request with this Idempotency-Key was done, and its answer carried a "
            "secret that is shown only once and not kept; nothing was done again",
        )
    else:
        await send(
            {
                "type": "http.response.start",
                "status": stored["status_code"],
                "headers": [
                    (b"content-type", stored["content_type"].encode()),
                    (b"idempotent-replayed", b"true"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": stored["body"]})
        return
    await response(scope, receive, send)
