"""Web sessions: the signed session cookie, the logged-in user, CSRF and the login rate limit.

The cookie is Starlette's SessionMiddleware: a JSON dict signed with itsdangerous under
settings.session_secret(), HttpOnly and SameSite=Lax. It holds the session's random token
(`sid`), the CSRF token and pending flash messages. The session itself lives in the database
(services/sessions.py): logout, a password change or a disable deletes it, and it ends after
AFTERSALE_SESSION_IDLE_MINUTES unused or AFTERSALE_SESSION_MAX_HOURS after login, so a copy of
the cookie opens nothing once the session is over. The user's name and role are read from the
database on each request, so a changed role takes effect at once.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from aftersale.domain.actors import Actor, Role
from aftersale.entrypoints.client_address import client_address
from aftersale.entrypoints.web.forms import refuse_unstorable
from aftersale.services.login_throttle import LoginLimit
from aftersale.services.runtime import Runtime
from aftersale.services.sessions import SessionPolicy, end_session, session_user, start_session

COOKIE = "aftersale_session"


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


def session_policy(request: Request) -> SessionPolicy:
    """The sessions' idle timeout and absolute age, from the settings."""
    settings = request.app.state.settings
    return SessionPolicy(
        idle=timedelta(minutes=settings.session_idle_minutes),
        max_age=timedelta(hours=settings.session_max_hours),
    )


def login_limit(request: Request) -> LoginLimit:
    """The login rate limit, from the settings."""
    return LoginLimit(attempts=request.app.state.settings.login_attempts)


def address_of(request: Request) -> str:
    """The client's address (X-Forwarded-For only from AFTERSALE_TRUSTED_PROXIES)."""
    return client_address(request.scope, request.app.state.settings.trusted_networks)


def current_user(request: Request) -> WebUser | None:
    """The logged-in user, if any (its session read from the database once per request)."""
    if hasattr(request.state, "web_user"):
        cached: WebUser | None = request.state.web_user
        return cached
    sid = session_of(request).get("sid")
    user = None
    if isinstance(sid, str):
        record = session_user(runtime_of(request), sid, session_policy(request))
        if record is not None:  # (a disabled user, an ended session: logged out)
            user = WebUser(record.id, record.role, record.name, record.email, record.locale)
    request.state.web_user = user
    return user


def log_in(request: Request, user: WebUser) -> None:
    """Start a fresh session for the user (a new CSRF token too)."""
    session = session_of(request)
    old = session.get("sid")
    if isinstance(old, str):
        end_session(runtime_of(request), old)
    session.clear()
    session["sid"] = start_session(runtime_of(request), user.id, session_policy(request))
    session["csrf"] = secrets.token_urlsafe(32)
    request.state.web_user = user


def log_out(request: Request) -> None:
    """End the session (deleted from the database: a saved copy of the cookie opens nothing)."""
    session = session_of(request)
    sid = session.get("sid")
    if isinstance(sid, str):
        end_session(runtime_of(request), sid)
    session.clear()
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
