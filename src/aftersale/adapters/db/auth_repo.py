"""Web sessions and login attempts: rows every process shares (adapters/db/auth_tables.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from aftersale.adapters.db import tables as t
from aftersale.adapters.db.auth_tables import login_attempts, web_sessions
from aftersale.services.records import UserRecord


class SqlAuthRepository:
    """Sessions by the hash of their token; login attempts by the hash of their key."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_session(
        self, session_id: str, user_id: str, *, now: datetime, expires_at: datetime
    ) -> None:
        """Store a new session."""
        self.conn.execute(
            insert(web_sessions).values(
                id=session_id,
                user_id=user_id,
                created_at=now,
                last_seen_at=now,
                expires_at=expires_at,
            )
        )

    def session_user(self, session_id: str) -> tuple[datetime, datetime, UserRecord] | None:
        """A session's last-seen and expiry moments and its user (one indexed join)."""
        s = web_sessions.c
        query = (
            select(s.last_seen_at, s.expires_at, t.users)
            .join(t.users, t.users.c.id == s.user_id)
            .where(s.id == session_id)
        )
        row = self.conn.execute(query).mappings().first()
        if row is None:
            return None
        user = UserRecord(**{c.name: row[c.name] for c in t.users.c})
        return row["last_seen_at"], row["expires_at"], user

    def touch_session(self, session_id: str, now: datetime) -> None:
        """Note that the session was used now."""
        query = update(web_sessions).where(web_sessions.c.id == session_id)
        self.conn.execute(query.values(last_seen_at=now))

    def delete_session(self, session_id: str) -> None:
        """End one session."""
        self.conn.execute(delete(web_sessions).where(web_sessions.c.id == session_id))

    def delete_user_sessions(self, user_id: str) -> int:
        """End every session of a user (how many there were)."""
        result = self.conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id))
        return int(result.rowcount)

    def purge_sessions(self, now: datetime) -> None:
        """Drop the sessions past their absolute end (one index range; an idle one goes when
        it is next presented, or at its end)."""
        self.conn.execute(delete(web_sessions).where(web_sessions.c.expires_at <= now))

    def count_attempt(
        self, key: str, *, now: datetime, window_start_after: datetime
    ) -> tuple[int, datetime]:
        """Count one attempt on a key in one statement (a window that began at or before
        `window_start_after` starts again at 1): the attempts in the window and its start."""
        a = login_attempts.c
        stale = a.window_start <= window_start_after
        dialect: Any = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        query = (
            dialect.insert(login_attempts)
            .values(key=key, attempts=1, window_start=now)
            .on_conflict_do_update(
                index_elements=[a.key],
                set_={
                    "attempts": case((stale, 1), else_=a.attempts + 1),
                    "window_start": case((stale, now), else_=a.window_start),
                },
            )
            .returning(a.attempts, a.window_start)
        )
        attempts, start = self.conn.execute(query).one()
        return int(attempts), start

    def clear_attempts(self, key: str) -> None:
        """Forget a key's attempts (after a good login)."""
        self.conn.execute(delete(login_attempts).where(login_attempts.c.key == key))

    def purge_attempts(self, window_start_before: datetime) -> None:
        """Drop the attempts whose window has ended."""
        c = login_attempts.c
        self.conn.execute(delete(login_attempts).where(c.window_start <= window_start_before))
