"""Plain records that use cases exchange with repositories (users, messages, deadlines)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A stored user."""

    id: str
    email: str
    name: str
    role: str
    password_hash: str | None
    token_hash: str
    country: str
    locale: str
    created_at: datetime
    disabled_at: datetime | None = None
    credentials_changed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """One message of an order's thread."""

    id: str
    order_id: str
    author_id: str
    author_role: str
    body: str
    at: datetime


@dataclass(frozen=True, slots=True)
class DueDeadline:
    """A claimed deadline row."""

    seq: int
    kind: str
    order_id: str
    subject_id: str
    due_at: datetime
    attempts: int
