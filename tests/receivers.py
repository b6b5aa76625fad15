"""Real local servers for the notification tests: an HTTP webhook receiver that can fail,
hang and recover, and an aiosmtpd SMTP server that can refuse mail and recover."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session


@dataclass
class Received:
    """One webhook request as the receiver got it."""

    headers: dict[str, str]
    body: str

    @property
    def json(self) -> dict[str, Any]:
        """The parsed body."""
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """Answers each POST with the next planned status (then 200), after an optional delay."""

    plan: list[int] = field(default_factory=list)
    delay: float = 0.0
    got: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def answer(self, received: Received) -> int:
        """Record a request; the status to answer with."""
        with self.lock:
            self.got.append(received)
            return self.plan.pop(0) if self.plan else 200

    def ids(self) -> list[str]:
        """The webhook-id of every request, in arrival order."""
        with self.lock:
            return [r.headers["webhook-id"] for r in self.got]

    def wait_for(self, count: int, timeout: float = 60.0) -> None:
        """Wait until at least `count` requests arrived."""
        end = time.monotonic() + timeout
        while len(self.got) < count:
            if time.monotonic() > end:
                raise AssertionError(f"{len(self.got)} of {count} webhooks arrived")
            time.sleep(0.05)


class Server(ThreadingHTTPServer):
    """A thread per connection, and a listen backlog for many at once (the default 5 drops
    connections of a burst, which then wait a second for a retransmitted SYN)."""

    request_queue_size = 1024
    daemon_threads = True


@contextmanager
def webhook_receiver(**kw: Any) -> Iterator[Receiver]:
    """A real HTTP receiver on a free loopback port."""
    receiver = Receiver(**kw)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # the answer's head and body are two writes: with Nagle on, the body waits for the
        # client's delayed ACK (40 ms) and a kept-alive connection carries 22 requests/s
        disable_nagle_algorithm = True

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
            status = receiver.answer(
                Received({k.lower(): v for k, v in self.headers.items()}, body)
            )
            if receiver.delay:
                time.sleep(receiver.delay)
            self.send_response(status)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = Server(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Inbox:
    """What the SMTP server accepted; `refuse` makes it answer 451 to every mail."""

    mails: list[Message] = field(default_factory=list)
    refuse: bool = False
    port: int = 0
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(  # noqa: N802 (aiosmtpd's naming)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        """Keep the message (or refuse it)."""
        if self.refuse:
            return "451 4.3.0 try again later"
        assert isinstance(envelope.content, bytes)
        self.mails.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    @property
    def url(self) -> str:
        """The AFTERSALE_SMTP_URL of this server."""
        return f"smtp://127.0.0.1:{self.port}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_server(
    *,
    tls: ssl.SSLContext | None = None,
    implicit_tls: bool = False,
    login: tuple[str, str] | None = None,
) -> Iterator[Inbox]:
    """A real aiosmtpd server on a free loopback port: plain; with `tls`, STARTTLS required
    before anything else (or, `implicit_tls`, TLS from the first byte, as smtps:// speaks);
    with `login`, AUTH with that user and password required (over TLS only)."""
    inbox = Inbox(port=_free_port())
    kw: dict[str, Any] = {}
    if tls is not None and implicit_tls:
        kw["ssl_context"] = tls
    elif tls is not None:
        kw.update(tls_context=tls, require_starttls=True)
    if login is not None:

        def check(
            server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
        ) -> AuthResult:
            given = (data.login.decode(), data.password.decode())
            inbox.logins.append(given[0])
            return AuthResult(success=given == login)

        # aiosmtpd counts only STARTTLS as TLS: on an smtps:// socket (TLS from the first
        # byte) it must be told not to wait for a STARTTLS that will never come
        kw.update(authenticator=check, auth_required=True, auth_require_tls=not implicit_tls)
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port, **kw)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
