"""The schema of what aftersale tells others: webhook endpoints and deliveries, and mail.

Part of `tables.metadata` (tables.py imports this module at its end)."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, String, Table, Text, text

from aftersale.adapters.db.tables import Id, SeqId, metadata
from aftersale.adapters.db.types import UTCDateTime

PENDING = text("status = 'pending'")

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("seq", SeqId, primary_key=True, autoincrement=True),
    Column("id", Id, nullable=False, unique=True),
    Column("url", String(2000), nullable=False),
    Column("events", JSON),  # None: every type, including types added later
    Column("description", String(500)),
    Column("status", String(16), nullable=False),
    Column("secret", String(200), nullable=False),
    Column("old_secret", String(200)),
    Column("old_secret_until", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("seq", SeqId, primary_key=True, autoincrement=True),
    Column("id", Id, nullable=False, unique=True),
    Column("endpoint_id", Id, nullable=False),
    Column("event_id", Id, nullable=False),
    Column("event_seq", BigInteger, nullable=False),
    Column("order_id", Id, nullable=False),
    Column("type", String(60), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_status_code", Integer),
    Column("last_error", String(500)),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("leased_until", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_webhook_deliveries_event", "endpoint_id", "event_id", unique=True),
    Index(
        "ix_webhook_deliveries_due",
        "next_attempt_at",
        "event_seq",
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    ),
    Index("ix_webhook_deliveries_endpoint", "endpoint_id", "seq"),
    Index(
        "ix_webhook_deliveries_order",
        "order_id",
        "event_seq",
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    ),
)

mail = Table(
    "mail",
    metadata,
    Column("seq", SeqId, primary_key=True, autoincrement=True),
    Column("id", Id, nullable=False, unique=True),
    Column("message_id", String(250), nullable=False, unique=True),
    Column("event_id", Id, nullable=False),
    Column("order_id", Id, nullable=False),
    Column("recipient_id", Id, nullable=False),
    Column("to_address", String(320), nullable=False),
    Column("kind", String(60), nullable=False),
    Column("language", String(16), nullable=False),
    Column("context", JSON, nullable=False),
    Column("subject", String(500)),
    Column("text_body", Text),
    Column("html_body", Text),
    # scheduled (a reminder) | pending | sent | stored (no SMTP: the staff mailbox) |
    # skipped (a reminder no longer needed) | failed
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", String(500)),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("leased_until", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Index(
        "ix_mail_due",
        "next_attempt_at",
        postgresql_where=text("status IN ('pending', 'scheduled')"),
        sqlite_where=text("status IN ('pending', 'scheduled')"),
    ),
)
