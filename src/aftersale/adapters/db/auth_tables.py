"""The web sessions and the login failures, shared by every process (issue 17, points 5 and 6)."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table

from aftersale.adapters.db.tables import Id, metadata
from aftersale.adapters.db.types import UTCDateTime

web_sessions = Table(
    "web_sessions",
    metadata,
    # the SHA-256 of the random session token the signed cookie carries (a stolen copy of
    # the table opens no session)
    Column("id", String(64), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),  # touched at most once a minute
    Column("expires_at", UTCDateTime, nullable=False),  # the absolute end (created + max age)
    Index("ix_web_sessions_user", "user_id"),
    Index("ix_web_sessions_expires", "expires_at"),
)

login_attempts = Table(
    "login_attempts",
    metadata,
    # the SHA-256 of the normalised email and the client address
    Column("key", String(64), primary_key=True),
    Column("attempts", Integer, nullable=False),
    Column("window_start", UTCDateTime, nullable=False),
    Index("ix_login_attempts_window", "window_start"),
)
