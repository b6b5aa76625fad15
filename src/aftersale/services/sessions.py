"""Server-side web sessions: started at login, ended by logout, a password change, a disable,
an idle timeout or their absolute age (issue 17, point 6).

The cookie carries a random token; the table keeps only its SHA-256. A session's last use is
written at most once a minute, not on every page view.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from aftersale.services.records import UserRecord
from aftersale.services.runtime import Runtime

TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """How long a session lasts unused (idle) and at most (max_age)."""

    idle: timedelta = timedelta(minutes=120)
    max_age: timedelta = timedelta(days=14)


def session_key(token: str) -> str:
    """The stored id of a session token (its SHA-256)."""
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(rt: Runtime, user_id: str, policy: SessionPolicy) -> str:
    """Open a session for the user; the token for the cookie (ended sessions are swept)."""
    token = secrets.token_urlsafe(32)
    now = rt.wall_now()
    with rt.uow() as uow:
        uow.auth.purge_sessions(now)
        uow.auth.add_session(session_key(token), user_id, now=now, expires_at=now + policy.max_age)
        uow.commit()
    return token


def session_user(rt: Runtime, token: str, policy: SessionPolicy) -> UserRecord | None:
    """The enabled user of a live session, else None (a timed-out session is deleted)."""
    key = session_key(token)
    with rt.uow(readonly=True) as uow:
        found = cast(Any, uow.auth.session_user(key))
    if found is None:
        return None
    last_seen, expires_at, user = found
    now = rt.wall_now()
    if now >= expires_at or now >= last_seen + policy.idle:
        end_session(rt, token)
        return None
    if user.disabled_at is not None:
        return None
    if now - last_seen >= TOUCH_EVERY:
        with rt.uow() as uow:
            uow.auth.touch_session(key, now)
            uow.commit()
    return cast(UserRecord, user)


def end_session(rt: Runtime, token: str) -> None:
    """End one session (logout)."""
    with rt.uow() as uow:
        uow.auth.delete_session(session_key(token))
        uow.commit()
