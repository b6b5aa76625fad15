"""Web sessions: the signed session cookie, the logged-in user, CSRF and the login rate limit.

The cookie is Starlette's SessionMiddleware: a JSON dict signed with itsdangerous under
settings.session_secret(), HttpOnly and SameSite=Lax. It holds the user id, the CSRF token
and pending flash messages; the user's name and role are read from the database on each
request, so a changed role takes effect at once.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from aftersale.domain.actors import Actor, Role
from aftersale.entrypoints.web.forms import refuse_unstorable
from aftersale.services.runtime import Runtime
from aftersale.services.users import get_user

COOKIE = "aftersale_session"
MAX_AGE = 14 * 24 * 3600


@dataclass(frozen=True)
class WebUser:
    """The person logged in to the pages."""

    id: str
    role: str
    name: str
    email: str
    locale: str


class LoginRequired(Exception):
    """Not logged in: the pages answer with a redirect to /login?next=..."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class PageError(Exception):
    """An error page to show (403 wrong role or CSRF, 404, 429 ...)."""

    def __init__(self, status: int, message: str, *, title: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.title = title


def runtime_of(request: Request) -> Runtime:
    """The runtime the app was built with."""
    rt: Runtime = request.app.state.runtime
    return rt


def session_of(request: Request) -> dict[str, Any]:
    """The request's session dict (empty when the session middleware is absent)."""
    if "session" not in request.scope:
        return {}
    data: dict[str, Any] = request.session
    return data


def current_user(request: Request) -> WebUser | None:
    """The logged-in user, if any (read from the database once per request)."""
    if hasattr(request.state, "web_user"):
        cached: WebUser | None = request.state.web_user
        return cached
    uid = session_of(request).get("uid")
    user = None
    if isinstance(uid, str):
        record = get_user(runtime_of(request), uid)
        if record is not None and record.disabled_at is None:  # (a disabled user: logged out)
            user = WebUser(record.id, record.role, record.name, record.email, record.locale)
    request.state.web_user = user
    return user


def log_in(request: Request, user: WebUser) -> None:
    """Start a fresh session for the user (a new CSRF token too)."""
    session = session_of(request)
    session.clear()
    session["uid"] = user.id
    session["csrf"] = secrets.token_urlsafe(32)
    request.state.web_user = user


def log_out(request: Request) -> None:
    """End the session."""
    session_of(request).clear()
    request.state.web_user = None


def require_user(*roles: str) -> Callable[[Request], Any]:
    """A dependency giving the logged-in user of one of the roles (any role if none given)."""

    async def dependency(request: Request) -> WebUser:
        user = await run_in_threadpool(current_user, request)
        if user is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRequired(f"/login?next={quote(target, safe='')}")
        if roles and user.role not in roles:
            raise PageError(403, "This page is not available to your account.")
        return user

    return dependency


def actor_of(user: WebUser) -> Actor:
    """The service-layer actor of a web user."""
    return Actor(user_id=user.id, role=Role(user.role))


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use)."""
    session = session_of(request)
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


async def verify_csrf(request: Request) -> None:
    """Refuse (403) a POST whose csrf_token field or X-CSRF-Token header is missing or wrong."""
    sent = request.headers.get("x-csrf-token")
    form = await request.form()
    refuse_unstorable(form)  # (every page POST comes here first: nothing has run yet)
    if not sent:
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    expected = session_of(request).get("csrf")
    if (
        not sent
        or not isinstance(expected, str)
        or not secrets.compare_digest(sent.encode(errors="replace"), expected.encode())
    ):
        raise PageError(
            403,
            "This form has expired or did not come from this site. "
            "Go back, reload the page and try again.",
            title="Form refused",
        )


def flash(request: Request, message: str, *, kind: str = "success") -> None:
    """Keep a message for the next page shown (Post/Redirect/Get)."""
    session = session_of(request)
    session["flash"] = [*session.get("flash", []), {"kind": kind, "text": message}]


def pop_flashes(request: Request) -> list[dict[str, str]]:
    """The pending flash messages, removed from the session."""
    session = session_of(request)
    return list(session.pop("flash", [])) if "flash" in session else []


def safe_next(url: str | None, default: str = "/") -> str:
    """A local path to go to after login or a language switch (never another site)."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return default
    return url


class LoginLimiter:
    """At most `attempts` failed logins per email and IP address in `window` seconds.

    In memory, per process: enough to slow a password guesser down on one server; several
    processes behind a balancer would share it through the database or a cache instead.
    """

    def __init__(self, attempts: int = 5, window: float = 15 * 60) -> None:
        self.attempts = attempts
        self.window = window
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def blocked(self, email: str, ip: str) -> bool:
        """Whether this email and IP have used up their attempts."""
        with self._lock:
            return len(self._recent((email.lower(), ip), time.monotonic())) >= self.attempts

    def failed(self, email: str, ip: str) -> None:
        """Count a failed attempt."""
        with self._lock:
            now = time.monotonic()
            self._recent((email.lower(), ip), now).append(now)

    def succeeded(self, email: str, ip: str) -> None:
        """Forget the failures after a good login."""
        with self._lock:
            self._failures.pop((email.lower(), ip), None)


login_limiter = LoginLimiter()
