"""Who hears of what, and which reminders an event schedules (pure rules, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aftersale.services.notify_plan import (
    EVENT_TYPES,
    public_type,
    recipients,
    reminder_holds,
    reminders,
)

AT = datetime(2026, 12, 1, 12, tzinfo=UTC)


def event(kind: str, **data: object) -> dict[str, object]:
    """An outbox event."""
    return {"type": kind, "data": data}


def test_an_orders_creation_is_published_as_order_created() -> None:
    assert public_type("order.placed") == "order.created"
    assert public_type("order.paid") == "order.paid"
    assert "order.created" in EVENT_TYPES and "order.placed" not in EVENT_TYPES


def test_a_message_goes_to_the_other_party_of_its_author() -> None:
    assert recipients(event("order.message_created", author_role="buyer")) == (
        ("seller", "message_from_buyer"),
    )
    assert recipients(event("order.message_created", author_role="seller")) == (
        ("buyer", "message_from_seller"),
    )
    assert len(recipients(event("order.message_created", author_role="admin"))) == 2


def test_paid_and_shipped_orders_schedule_reminders_when_the_view_has_their_deadlines() -> None:
    ship_by, ends = AT + timedelta(days=7), AT + timedelta(days=60)
    view = {"ship_by": ship_by.isoformat(), "protection_ends_at": ends.isoformat()}
    assert reminders(event("order.paid"), view) == [
        ("seller", "ship_by_reminder", ship_by - timedelta(days=1))
    ]
    assert reminders(event("order.shipped"), view) == [
        ("buyer", "protection_reminder", ends - timedelta(days=5))
    ]
    assert reminders(event("order.paid"), {}) == []  # no ship_by on the view: no reminder


def test_a_reminder_holds_only_while_what_it_reminds_of_is_still_so() -> None:
    ctx = {"event": {"cancellation_id": "can_1"}}
    pending = {"cancellation": {"id": "can_1", "status": "pending"}}
    assert reminder_holds("cancellation_reminder", ctx, pending)
    answered = {"cancellation": {"id": "can_1", "status": "rejected"}}
    assert not reminder_holds("cancellation_reminder", ctx, answered)
    assert reminder_holds("ship_by_reminder", {}, {"status": "awaiting_shipment"})
    assert not reminder_holds("ship_by_reminder", {}, {"status": "shipped"})
    assert reminder_holds("protection_reminder", {}, {"status": "shipped"})
    assert not reminder_holds("protection_reminder", {}, {"status": "delivered"})
