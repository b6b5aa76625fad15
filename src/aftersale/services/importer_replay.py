"""Replaying one import line's history through the domain's own rules, as of its own
timestamps (docs/IMPORT.md): pure, no I/O, so the importer may run it in worker processes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aftersale.domain.actors import SYSTEM, Actor, Role
from aftersale.domain.context import Ctx
from aftersale.domain.entities import OrderStatus, TimelineEntry
from aftersale.domain.errors import ValidationFailed
from aftersale.domain.order import Order, ReplayedOrder, create_order
from aftersale.domain.validate import text
from aftersale.services.runtime import Runtime

S = OrderStatus
KEYS = frozenset(
    {
        *("id", "buyer_id", "seller_id", "currency", "items", "shipping_fee", "status"),
        *("created_at", "payment", "packed_at", "shipment", "delivered_at", "completed_at"),
        *("cancelled_at", "cancelled_by", "cancel_reason"),
        *("ship_by_days", "delivery_days"),
    }
)
ID = re.compile(r"^[A-Za-z0-9_.:-]{1,40}$")
STATUSES = frozenset(S)
PAID = frozenset(S) - {S.AWAITING_PAYMENT, S.CANCELLED}
SHIPPED = frozenset({S.SHIPPED, S.DELIVERED, S.COMPLETED})
DELIVERED = frozenset({S.DELIVERED, S.COMPLETED})
# The deadlines an imported order still needs, by final status; the rest are history.
KEEP_DEADLINES = {
    S.AWAITING_PAYMENT: {"unpaid_close"},
    S.AWAITING_FULFILLMENT: {"ship_timeout"},
    S.AWAITING_SHIPMENT: {"ship_timeout"},
    S.SHIPPED: {"protection_end"},
    S.DELIVERED: {"order_complete"},
}
PLATFORM = Actor(user_id="import", role=Role.ADMIN)


@dataclass(frozen=True, slots=True)
class Party:
    """What the importer needs to know of an existing user."""

    role: str
    country: str


def build_order(
    rt: Runtime, order_id: str, data: dict[str, Any], *, parties: dict[str, Party], now: datetime
) -> Order:
    """Replay one line's history through the domain rules; raises DomainError if it is bad."""
    status = data.get("status")
    if not isinstance(status, str) or status not in STATUSES:
        raise ValidationFailed(f"status must be one of: {', '.join(S)}", field="status")
    status = S(status)
    buyer, seller = _party(data, "buyer_id", parties), _party(data, "seller_id", parties)
    clock = _Timeline(data, now)
    order = create_order(
        buyer_id=data["buyer_id"],
        seller_id=data["seller_id"],
        currency=data.get("currency"),
        items=data.get("items"),
        shipping_fee=data.get("shipping_fee"),
        buyer_country=buyer.country,
        policy=rt.policy,
        ctx=_ctx(rt, PLATFORM, clock.at("created_at", required=True)),
        order_id=order_id,
        kind=ReplayedOrder,
        ship_by_days=data.get("ship_by_days"),
        delivery_days=data.get("delivery_days"),
    )
    seller_actor = Actor(user_id=order.seller_id, role=Role(seller.role))
    _pay(rt, order, data, clock, required=status in PAID, allowed=status != S.AWAITING_PAYMENT)
    _cancel_lines(rt, order, data, seller=seller_actor)
    packed = clock.at("packed_at", required=False, allowed=status != S.AWAITING_FULFILLMENT)
    if packed is None and status == S.AWAITING_SHIPMENT:
        packed = order.paid_at
    if packed is not None:
        order.pack(_ctx(rt, seller_actor, packed))
    _ship(rt, order, data, clock, actor=seller_actor, required=status in SHIPPED)
    delivered = clock.at("delivered_at", required=status in DELIVERED)
    if delivered is not None:
        order.deliver(_ctx(rt, PLATFORM, delivered))
    _complete(rt, order, clock.at("completed_at", required=status == S.COMPLETED))
    cancelled = clock.at("cancelled_at", required=status == S.CANCELLED)
    _cancel(rt, order, data, cancelled, seller=seller_actor)
    return _finish(order, status, now)


class _Timeline:
    """Reads the line's timestamps, each at or after the previous step and not after `now`."""

    def __init__(self, data: dict[str, Any], now: datetime) -> None:
        self.data, self.now = data, now
        self.last: datetime | None = None
        self.last_name = ""

    def at(self, name: str, *, required: bool, allowed: bool | None = None) -> datetime | None:
        """The moment `name`, if given; refused when required and absent or present and not
        allowed (by default: allowed only when required)."""
        value = self.data.get(name)
        allowed = required if allowed is None else allowed
        if value is None:
            if required:
                raise ValidationFailed(f"{name} is required for this status", field=name)
            return None
        if not allowed:
            raise ValidationFailed(f"{name} does not fit status {self.data['status']}", field=name)
        return self.check(name, value)

    def check(self, name: str, value: object) -> datetime:
        """Parse an RFC 3339 time and check its place in the order's history."""
        try:
            moment = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise ValidationFailed(f"{name} must be an RFC 3339 time with a UTC offset", field=name)
        moment = moment.astimezone(UTC)
        if moment > self.now:
            raise ValidationFailed(f"{name} is in the future", field=name)
        if self.last is not None and moment < self.last:
            raise ValidationFailed(f"{name} is before {self.last_name}", field=name)
        self.last, self.last_name = moment, name
        return moment


def _party(data: dict[str, Any], key: str, parties: dict[str, Party]) -> Party:
    role = key.removesuffix("_id")
    user_id = data.get(key)
    party = parties.get(user_id) if isinstance(user_id, str) else None
    if party is None or party.role != role:
        raise ValidationFailed(f"{key} {user_id!r} is not an existing {role}", field=key)
    return party


def _ctx(rt: Runtime, actor: Actor, at: datetime | None) -> Ctx:
    assert at is not None
    return Ctx(actor=actor, now=at, calendar=rt.calendar)


def _section(data: dict[str, Any], name: str, *, required: bool, allowed: bool) -> dict[str, Any]:
    """A nested object (payment, shipment): {} when absent and not required."""
    value = data.get(name)
    if value is None and not required:
        return {}
    if value is None:
        raise ValidationFailed(f"{name} is required for this status", field=name)
    if not allowed:
        raise ValidationFailed(f"{name} does not fit status {data['status']}", field=name)
    if not isinstance(value, dict):
        raise ValidationFailed(f"{name} must be an object", field=name)
    section: dict[str, Any] = value
    return section


def _pay(
    rt: Runtime,
    order: Order,
    data: dict[str, Any],
    clock: _Timeline,
    *,
    required: bool,
    allowed: bool,
) -> None:
    pay = _section(data, "payment", required=required, allowed=allowed)
    if not pay:
        return
    paid_at = clock.check("payment.paid_at", pay.get("paid_at"))
    order.record_payment(
        amount=pay.get("amount"),
        method=pay.get("method"),
        reference=pay.get("reference"),
        ctx=_ctx(rt, PLATFORM, paid_at),
    )


def _ship(
    rt: Runtime,
    order: Order,
    data: dict[str, Any],
    clock: _Timeline,
    *,
    actor: Actor,
    required: bool,
) -> None:
    ship = _section(data, "shipment", required=required, allowed=required)
    if not ship:
        return
    shipped_at = clock.check("shipment.shipped_at", ship.get("shipped_at"))
    order.ship(
        carrier=ship.get("carrier"),
        tracking_number=ship.get("tracking_number"),
        ctx=_ctx(rt, actor, shipped_at),
    )


def _complete(rt: Runtime, order: Order, completed_at: datetime | None) -> None:
    if completed_at is None:
        return
    # what fire_deadline("order_complete") applies, without building its dispatch table
    order._try_complete(_ctx(rt, SYSTEM, completed_at))
    if order.status != S.COMPLETED:
        days = max(order.policy.return_window_days, order.policy.dispute_window_days)
        raise ValidationFailed(
            f"completed_at is before the return and dispute windows closed "
            f"({days} days after delivered_at)",
            field="completed_at",
        )


def _cancel(
    rt: Runtime, order: Order, data: dict[str, Any], at: datetime | None, *, seller: Actor
) -> None:
    """Cancel as of `at`; a paid order's full refund is imported as already credited.

    A buyer's cancellation goes through the buyer's Cancel Order as the API applies it: at
    once before payment; after it, a cancellation request that the seller accepted (both at
    `at`: the line tells no other moment), so the order has its accepted request, as a native
    one would."""
    if at is None:
        for name in ("cancelled_by", "cancel_reason"):
            if data.get(name) is not None:
                raise ValidationFailed(f"{name} does not fit status {data['status']}", field=name)
        return
    by = data.get("cancelled_by", "system")
    if by not in ("buyer", "seller", "system"):
        raise ValidationFailed("cancelled_by must be buyer, seller or system", field="cancelled_by")
    reason = data.get("cancel_reason")
    if by == "buyer":
        buyer = Actor(user_id=order.buyer_id, role=Role.BUYER)
        if not order.cancel(reason=reason, comment=None, ctx=_ctx(rt, buyer, at)):
            order.accept_cancellation(_ctx(rt, seller, at))
    else:
        why = text(reason, "cancel_reason", max_len=500)
        order._cancel(by=by, reason=why, ctx=_ctx(rt, SYSTEM if by == "system" else seller, at))
    ctx = _ctx(rt, SYSTEM, at)
    for refund in list(order.refunds):
        order.refund_processing(refund.id, reference=f"imported:{order.id}", check_at=None, ctx=ctx)
        order.refund_succeeded(refund.id, ctx)


def _cancel_lines(rt: Runtime, order: Order, data: dict[str, Any], *, seller: Actor) -> None:
    """Lines' `cancelled_quantity`: the seller's partial cancellation, replayed when the
    order was paid (or placed, if unpaid), its refund imported as already credited."""
    wanted = {}
    for raw in data.get("items") or ():
        count = raw.get("cancelled_quantity", 0) if isinstance(raw, dict) else 0
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValidationFailed("cancelled_quantity must be a whole number >= 0", field="items")
        if count:
            wanted[raw["sku"]] = count
    if not wanted:
        return
    if all(wanted.get(line.sku, 0) >= line.quantity for line in order.items):
        raise ValidationFailed(
            "every unit of the order is cancelled: import it with status cancelled", field="items"
        )
    at = order.paid_at or order.created_at
    before = {r.id for r in order.refunds}
    order.seller_cancel(
        reason="imported partial cancellation",
        items=[{"sku": s, "quantity": q} for s, q in wanted.items()],
        ctx=_ctx(rt, seller, at),
    )
    ctx = _ctx(rt, SYSTEM, at)
    for refund in [r for r in order.refunds if r.id not in before]:
        order.refund_processing(refund.id, reference=f"imported:{order.id}", check_at=None, ctx=ctx)
        order.refund_succeeded(refund.id, ctx)


def _finish(order: Order, status: OrderStatus, now: datetime) -> Order:
    """Keep only the deadlines still ahead of the order; history sends no webhooks."""
    if order.status != status:  # every path above ends in `status`; a guard, not a rule
        raise ValidationFailed(f"the line's history ends in {order.status}, not {status}")
    keep = KEEP_DEADLINES.get(status, set())
    order.new_deadlines = [d for d in order.new_deadlines if d.kind in keep]
    order.new_events.clear()
    entry = TimelineEntry(order.id, now, "platform", "imported", "Imported from another system")
    order.timeline.append(entry)
    order.updated_at = now
    return order
