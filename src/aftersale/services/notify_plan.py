"""Who hears of what: the webhook event types, and the mail each event sends to whom.

The domain names an event after its timeline entry (`order.placed` ...); the public name of an
order's creation is `order.created` (API.md), mapped here rather than in the domain."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

RENAMED = {"order.placed": "order.created"}
_NAMES = (
    "created paid packed shipped delivered completed cancelled refund_destination "
    "cancellation_requested cancellation_accepted cancellation_rejected "
    "cancellation_auto_accepted items_cancelled protection_extended "
    "refund_created refund_succeeded refund_failed "
    "return_requested return_approved return_rejected return_shipped return_received "
    "return_refunded return_closed "
    "dispute_opened dispute_modified dispute_proposal dispute_rejected dispute_accepted "
    "dispute_escalated dispute_withdrawn dispute_resolved dispute_closed message_created"
)
EVENT_TYPES: tuple[str, ...] = tuple(f"order.{name}" for name in _NAMES.split())

# event type -> (who, mail kind); "author" means: the other party of a message's author
SELLER, BUYER = "seller", "buyer"
MAIL_PLAN: dict[str, tuple[tuple[str, str], ...]] = {
    "order.cancellation_requested": ((SELLER, "cancellation_requested"),),
    "order.return_requested": ((SELLER, "return_requested"),),
    "order.dispute_opened": ((SELLER, "dispute_opened"),),
    "order.dispute_modified": ((SELLER, "dispute_modified"),),
    "order.dispute_escalated": ((SELLER, "dispute_escalated"),),
    "order.dispute_resolved": ((SELLER, "dispute_decided"), (BUYER, "dispute_resolved")),
    "order.dispute_closed": ((BUYER, "dispute_closed"),),
    "order.dispute_proposal": ((BUYER, "dispute_proposal"),),
    "order.cancelled": ((BUYER, "cancelled"),),
    "order.cancellation_accepted": ((BUYER, "cancellation_accepted"),),
    "order.cancellation_rejected": ((BUYER, "cancellation_rejected"),),
    "order.cancellation_auto_accepted": ((BUYER, "cancellation_auto_accepted"),),
    "order.refund_created": ((BUYER, "refund_created"),),
    "order.refund_succeeded": ((BUYER, "refund_succeeded"),),
    "order.return_approved": ((BUYER, "return_approved"),),
    "order.return_rejected": ((BUYER, "return_rejected"),),
    "order.return_refunded": ((BUYER, "return_refunded"),),
}
DAY = timedelta(days=1)


def public_type(domain_type: str) -> str:
    """The event's public type."""
    return RENAMED.get(domain_type, domain_type)


def recipients(event: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """(party, mail kind) pairs for an outbox event."""
    if event["type"] == "order.message_created":
        author = event["data"].get("author_role")
        if author == "buyer":
            return ((SELLER, "message_from_buyer"),)
        if author == "seller":
            return ((BUYER, "message_from_seller"),)
        return ((BUYER, "message_from_platform"), (SELLER, "message_from_platform"))
    return MAIL_PLAN.get(event["type"], ())


def _when(value: object) -> datetime | None:
    """An RFC 3339 string of a view as a datetime."""
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None


def reminders(event: dict[str, Any], view: dict[str, Any]) -> list[tuple[str, str, datetime]]:
    """(party, reminder kind, when) for the reminders an event schedules; each is sent only if
    what it reminds of still holds then (`reminder_holds`)."""
    kind = event["type"]
    found: list[tuple[str, str, datetime]] = []
    respond_by = _when((view.get("cancellation") or {}).get("respond_by"))
    ship_by, ends = _when(view.get("ship_by")), _when(view.get("protection_ends_at"))
    if kind == "order.cancellation_requested" and respond_by is not None:
        found.append((SELLER, "cancellation_reminder", respond_by - DAY))
    elif kind == "order.paid" and ship_by is not None:
        found.append((SELLER, "ship_by_reminder", ship_by - DAY))
    elif kind == "order.shipped" and ends is not None:
        found.append((BUYER, "protection_reminder", ends - 5 * DAY))
    return found


def reminder_holds(kind: str, context: dict[str, Any], view: dict[str, Any]) -> bool:
    """Whether a reminder is still worth sending, by the order as it is now."""
    if kind == "cancellation_reminder":
        pending = view.get("cancellation") or {}
        return pending.get("id") == context["event"].get("cancellation_id") and (
            pending.get("status") == "pending"
        )
    if kind == "ship_by_reminder":
        return view.get("status") in ("awaiting_fulfillment", "awaiting_shipment")
    if kind == "protection_reminder":
        return view.get("status") == "shipped"
    return True
