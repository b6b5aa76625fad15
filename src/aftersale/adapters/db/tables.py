"""The schema. Alembic migrations are generated from it and checked against it in the tests."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from aftersale.adapters.db.types import Amount, EnumStr, UTCDateTime
from aftersale.domain.entities import (
    CancellationStatus,
    DisputeStatus,
    OrderStatus,
    RefundStatus,
    ReturnStatus,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)
SeqId = BigInteger().with_variant(Integer, "sqlite")
Id = String(40)


def _order_fk() -> Column[str]:
    return Column("order_id", Id, ForeignKey("orders.id"), nullable=False)


users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(200)),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("country", String(2), nullable=False),
    Column("locale", String(16), nullable=False, server_default="en"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime),  # an operator disabled the user (token, password)
    Column("credentials_changed_at", UTCDateTime),  # disabled, enabled or given a new token
    Index("ix_users_credentials_changed", "credentials_changed_at"),
)

orders = Table(
    "orders",
    metadata,
    Column("seq", SeqId, primary_key=True, autoincrement=True),
    Column("id", Id, nullable=False, unique=True),
    Column("buyer_id", Id, nullable=False),
    Column("seller_id", Id, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("items", JSON, nullable=False),
    Column("shipping_fee", Amount, nullable=False),
    Column("total", Amount, nullable=False),
    Column("status", EnumStr(OrderStatus), nullable=False),
    Column("buyer_country", String(2), nullable=False),
    Column("policy", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Column("paid_amount", Amount, nullable=False),
    Column("refunded_amount", Amount, nullable=False),
    Column("released_amount", Amount, nullable=False),
    Column("payment_method", String(16)),
    Column("refund_method", String(16)),
    # Bits of the child tables that hold rows of the order (1 cancellations, 2 refunds,
    # 4 returns, 8 disputes); 15, the default, means "look in all of them".
    Column("owned", Integer, nullable=False, server_default="15"),
    Column("payment_reference", String(200)),
    Column("paid_at", UTCDateTime),
    Column("packed_at", UTCDateTime),
    Column("shipped_at", UTCDateTime),
    Column("carrier", String(100)),
    Column("tracking_number", String(100)),
    Column("delivered_at", UTCDateTime),
    Column("completed_at", UTCDateTime),
    Column("cancelled_at", UTCDateTime),
    Column("cancelled_by", String(16)),
    Column("cancel_reason", String(500)),
    Column("ship_by_days", Integer, nullable=False, server_default="7"),
    Column("delivery_days", Integer, nullable=False, server_default="60"),
    Column("ship_by", UTCDateTime),
    Column("protection_ends_at", UTCDateTime),
    Column("protection_extensions", Integer, nullable=False, server_default="0"),
    # The refund ceiling, enforced by the database itself and not only by Python code.
    CheckConstraint(
        "paid_amount >= 0 AND refunded_amount >= 0 AND released_amount >= 0 "
        "AND refunded_amount + released_amount <= paid_amount",
        name="refund_ceiling",
    ),
    Index("ix_orders_buyer_list", "buyer_id", "created_at", "seq"),
    Index("ix_orders_seller_list", "seller_id", "created_at", "seq"),
    Index("ix_orders_buyer_status", "buyer_id", "status", "created_at", "seq"),
    Index("ix_orders_seller_status", "seller_id", "status", "created_at", "seq"),
    Index("ix_orders_status_list", "status", "created_at", "seq"),
    Index("ix_orders_list", "created_at", "seq"),
)

cancellations = Table(
    "cancellations",
    metadata,
    Column("id", Id, primary_key=True),
    _order_fk(),
    Column("status", EnumStr(CancellationStatus), nullable=False),
    Column("reason", String(40), nullable=False),
    Column("comment", Text),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("respond_by", UTCDateTime, nullable=False),
    Column("responded_at", UTCDateTime),
    Column("reject_reason", String(500)),
    Index("ix_cancellations_order", "order_id"),
)

refunds = Table(
    "refunds",
    metadata,
    Column("id", Id, primary_key=True),
    _order_fk(),
    Column("amount", Amount, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("method", String(16), nullable=False),
    Column("status", EnumStr(RefundStatus), nullable=False),
    Column("reason", String(40), nullable=False),
    Column("source_type", String(20), nullable=False),
    Column("source_id", Id, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expected_by", UTCDateTime, nullable=False),
    Column("gateway_reference", String(100)),
    Column("processing_at", UTCDateTime),
    Column("succeeded_at", UTCDateTime),
    Column("failed_at", UTCDateTime),
    Column("failure_reason", String(500)),
    Column("note", String(500)),
    # One refund per cause: a cancellation, return or dispute can never be refunded twice.
    UniqueConstraint("source_type", "source_id", name="uq_refunds_source"),
    CheckConstraint("amount > 0", name="positive"),
    Index("ix_refunds_order", "order_id"),
    Index("ix_refunds_status_expected", "status", "expected_by"),
)

returns = Table(
    "returns",
    metadata,
    Column("id", Id, primary_key=True),
    _order_fk(),
    Column("status", EnumStr(ReturnStatus), nullable=False),
    Column("reason", String(40), nullable=False),
    Column("condition", String(20), nullable=False),
    Column("description", Text),
    Column("items", JSON, nullable=False),
    Column("amount", Amount, nullable=False),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("respond_by", UTCDateTime, nullable=False),
    *[Column(n, UTCDateTime) for n in ("approved_at", "ship_by", "rejected_at")],
    Column("reject_reason", Text),
    Column("carrier", String(100)),
    Column("tracking_number", String(100)),
    *[Column(n, UTCDateTime) for n in ("shipped_at", "received_at")],
    Column("inspection_notes", Text),
    Column("refund_id", Id),
    Column("closed_at", UTCDateTime),
    Column("receive_by", UTCDateTime),
    Index("ix_returns_order", "order_id"),
)

disputes = Table(
    "disputes",
    metadata,
    Column("id", Id, primary_key=True),
    _order_fk(),
    Column("status", EnumStr(DisputeStatus), nullable=False),
    Column("reason", String(40), nullable=False),
    Column("refund_type", String(10), nullable=False),
    Column("requested_amount", Amount, nullable=False),
    Column("description", Text, nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("respond_by", UTCDateTime, nullable=False),
    Column("seller_response", String(20)),
    Column("seller_reject_reason", String(500)),
    Column("proposed_amount", Amount),
    Column("seller_responded_at", UTCDateTime),
    Column("buyer_respond_by", UTCDateTime),
    Column("escalated_at", UTCDateTime),
    Column("resolved_at", UTCDateTime),
    Column("resolved_by", String(20)),
    Column("resolution_amount", Amount),
    Column("resolution_note", Text),
    Column("closed_at", UTCDateTime),
    Column("refund_id", Id),
    Column("rounds", Integer, nullable=False, server_default="0"),
    Column("decide_by", UTCDateTime),
    Column("closed_reason", String(20)),
    Column("history", JSON, nullable=False, server_default="[]"),
    Index("ix_disputes_order", "order_id"),
    Index("ix_disputes_status", "status"),
)

timeline = Table(
    "timeline",
    metadata,
    Column("seq", SeqId, primary_key=True, autoincrement=True),
    _order_fk(),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(16), nullable=False),
    Column("event", String(40), nullable=False),
    Column("detail", Text, nullable=False),
    Index("ix_timeline_order", "order_id", "seq"),
)

ledger = Table(
    "ledger_entries",
    metadata,
    Column("seq", SeqId, primary_key=True, autoincrement=True),
    _order_fk(),
    Column("txn_id", Id, nullable=False),
    Column("account", String(24), nullable=False),
    Column("amount", Amount, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_ledger_order", "order_id"),
    Index("ix_ledger_txn", "txn_id"),
)

deadlines = Table(
    "deadlines",
    metadata,
    Column("seq", SeqId, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("order_id", Id, nullable=False),
    Column("subject_id", Id, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("fired_at", UTCDateTime),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    UniqueConstraint("kind", "subject_id", name="uq_deadlines_kind_subject"),
    Index(
        "ix_deadlines_due",
        "due_at",
        "seq",  # the claim's order: deadlines due together are not sorted on every claim
        postgresql_where=text("fired_at IS NULL"),
        sqlite_where=text("fired_at IS NULL"),
    ),
)

outbox = Table(
    "outbox",
    metadata,
    Column("seq", SeqId, primary_key=True, autoincrement=True),
    Column("id", Id, nullable=False, unique=True),
    Column("type", String(60), nullable=False),
    Column("order_id", Id, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("data", JSON, nullable=False),
    Column("dispatched_at", UTCDateTime),
    Index(
        "ix_outbox_pending",
        "seq",
        postgresql_where=text("dispatched_at IS NULL"),
        sqlite_where=text("dispatched_at IS NULL"),
    ),
)

messages = Table(
    "messages",
    metadata,
    Column("seq", SeqId, primary_key=True, autoincrement=True),
    Column("id", Id, nullable=False, unique=True),
    _order_fk(),
    Column("author_id", Id, nullable=False),
    Column("author_role", String(16), nullable=False),
    Column("body", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_messages_order", "order_id", "seq"),
)

evidence = Table(
    "evidence",
    metadata,
    Column("id", Id, primary_key=True),
    Column("dispute_id", Id, ForeignKey("disputes.id"), nullable=False),
    Column("order_id", Id, nullable=False),
    Column("uploader_id", Id, nullable=False),
    Column("uploader_role", String(16), nullable=False),
    Column("filename", String(200), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_evidence_dispute", "dispute_id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("user_id", Id, primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("done", Boolean, nullable=False),
    Column("status_code", Integer),
    Column("body", LargeBinary),
    Column("content_type", String(100)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("locked_until", UTCDateTime, nullable=False),
    Index("ix_idempotency_created", "created_at"),
)

test_clock = Table(
    "test_clock",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("now", UTCDateTime, nullable=False),
)

sandbox_refunds = Table(
    "sandbox_refunds",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("reference", String(100), nullable=False, unique=True),
    Column("amount", Amount, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("method", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("settles_at", UTCDateTime, nullable=False),
)

from aftersale.adapters.db import auth_tables as auth_tables  # noqa: E402  (same metadata)
from aftersale.adapters.db import notify_tables as notify_tables  # noqa: E402  (same metadata)
from aftersale.adapters.db import seller_tables as seller_tables  # noqa: E402  (same metadata)
