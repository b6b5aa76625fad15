"""The objects an order owns: cancellation requests, refunds, returns, disputes and records.

Field names are the column names the repository stores them under.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

_ID_BYTES = 12
_ID_BATCH = 256  # ids per read of the system's random source
_random: list[bytes] = []


def new_id(prefix: str) -> str:
    """A random, URL-safe object id with a type prefix (ord_..., ref_...): 96 bits from the
    operating system's random source, read for 256 ids at a time (one read per id was 4 % of
    the worker's CPU); a forked process starts with none of its parent's (`_forget`)."""
    while True:  # (list.pop is atomic: threads never share an id, and may both refill)
        try:
            return f"{prefix}_{_random.pop().hex()}"
        except IndexError:
            block = secrets.token_bytes(_ID_BYTES * _ID_BATCH)
            _random.extend(block[i : i + _ID_BYTES] for i in range(0, len(block), _ID_BYTES))


def _forget() -> None:
    _random.clear()


os.register_at_fork(after_in_child=_forget)


class OrderStatus(StrEnum):
    """What the buyer sees in My Orders."""

    AWAITING_PAYMENT = "awaiting_payment"
    AWAITING_FULFILLMENT = "awaiting_fulfillment"
    AWAITING_SHIPMENT = "awaiting_shipment"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class CancellationStatus(StrEnum):
    """Where a buyer's cancellation request stands."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    AUTO_ACCEPTED = "auto_accepted"


class RefundStatus(StrEnum):
    """Where a refund stands at the payment gateway."""

    PENDING = "pending"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ReturnStatus(StrEnum):
    """Where a return stands."""

    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    IN_TRANSIT = "in_transit"
    REFUNDED = "refunded"
    CLOSED = "closed"


class DisputeStatus(StrEnum):
    """Where a dispute stands."""

    OPEN = "open"
    SELLER_RESPONDED = "seller_responded"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    CLOSED = "closed"


@dataclass(slots=True)
class CancellationRequest:
    """A buyer's request to cancel a paid order, answered by the seller or by the timeout."""

    id: str
    order_id: str
    status: CancellationStatus
    reason: str
    comment: str | None
    requested_at: datetime
    respond_by: datetime
    responded_at: datetime | None = None
    reject_reason: str | None = None


@dataclass(slots=True)
class Refund:
    """Money going back to the buyer; `source_type`/`source_id` say what caused it (unique)."""

    id: str
    order_id: str
    amount: Decimal
    currency: str
    method: str
    status: RefundStatus
    reason: str
    source_type: str
    source_id: str
    created_at: datetime
    expected_by: datetime
    gateway_reference: str | None = None
    processing_at: datetime | None = None
    succeeded_at: datetime | None = None
    failed_at: datetime | None = None
    failure_reason: str | None = None
    note: str | None = None  # staff's words for a goodwill refund


@dataclass(slots=True)
class Return:
    """A buyer sending items back for a refund after inspection."""

    id: str
    order_id: str
    status: ReturnStatus
    reason: str
    condition: str
    description: str | None
    items: list[dict[str, Any]]
    amount: Decimal
    requested_at: datetime
    respond_by: datetime
    approved_at: datetime | None = None
    ship_by: datetime | None = None
    rejected_at: datetime | None = None
    reject_reason: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    shipped_at: datetime | None = None
    received_at: datetime | None = None
    inspection_notes: str | None = None
    refund_id: str | None = None
    closed_at: datetime | None = None
    receive_by: datetime | None = None


@dataclass(slots=True)
class Dispute:
    """A buyer's claim for a full or partial refund, negotiated and, if need be, arbitrated."""

    id: str
    order_id: str
    status: DisputeStatus
    reason: str
    refund_type: str
    requested_amount: Decimal
    description: str
    opened_at: datetime
    respond_by: datetime
    seller_response: str | None = None
    seller_reject_reason: str | None = None
    proposed_amount: Decimal | None = None
    seller_responded_at: datetime | None = None
    buyer_respond_by: datetime | None = None
    escalated_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution_amount: Decimal | None = None
    resolution_note: str | None = None
    closed_at: datetime | None = None
    refund_id: str | None = None
    rounds: int = 0  # seller answers so far (reject or propose)
    decide_by: datetime | None = None  # the platform's target once escalated
    closed_reason: str | None = None  # withdrawn | buyer_timeout
    # [{"at", "actor", "action", "amount"?, "note"?}], oldest first; replaced, never mutated
    # in place (the repository compares it with what it loaded)
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class TimelineEntry:
    """One line of an order's history."""

    order_id: str
    at: datetime
    actor: str
    event: str
    detail: str


@dataclass(slots=True)
class LedgerEntry:
    """One leg of a balanced double-entry posting; the legs of `txn_id` sum to zero."""

    order_id: str
    txn_id: str
    account: str
    amount: Decimal
    currency: str
    kind: str
    at: datetime


@dataclass(slots=True)
class Deadline:
    """A moment at which the worker must apply a rule to an order, exactly once."""

    kind: str
    order_id: str
    subject_id: str
    due_at: datetime


@dataclass(slots=True)
class Event:
    """Something that happened, to be delivered to webhooks and mail through the outbox."""

    type: str
    order_id: str
    at: datetime
    data: dict[str, Any]
    id: str = field(default_factory=lambda: new_id("evt"))
