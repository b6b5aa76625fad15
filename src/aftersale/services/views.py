"""The public views of orders, refunds, returns and disputes, shared by the API and the pages:
each returns its shape (services/shapes.py), the one description the API's schema is made of."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, cast, overload

from aftersale.domain.actions import allowed_actions, dispute_actions, return_actions
from aftersale.domain.context import Ctx
from aftersale.domain.entities import CancellationRequest, Dispute, Refund, Return
from aftersale.domain.money import Money
from aftersale.domain.order import Order
from aftersale.services import shapes


@overload
def iso(value: datetime) -> str: ...
@overload
def iso(value: None) -> None: ...
@overload
def iso(value: datetime | None) -> str | None: ...
def iso(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with a Z."""
    return None if value is None else value.isoformat().replace("+00:00", "Z")


@overload
def money(amount: Decimal, currency: str) -> shapes.Money: ...
@overload
def money(amount: Decimal | None, currency: str) -> shapes.Money | None: ...
def money(amount: Decimal | None, currency: str) -> shapes.Money | None:
    """{"amount": "12.34", "currency": "USD"}."""
    if amount is None:
        return None
    if not amount:  # 0 and -0 are one cache key but print differently
        return cast(shapes.Money, Money(amount, currency).as_dict())  # (its two keys)
    return {"amount": _amount(amount, currency), "currency": currency}


@lru_cache(maxsize=4096)
def _amount(amount: Decimal, currency: str) -> str:
    # a page shows the same few prices many times; Decimal("5") and Decimal("5.00") are one
    # key, which is right: both print in the currency's minor units
    return Money(amount, currency).as_dict()["amount"]


def cancellation_view(c: CancellationRequest | None) -> shapes.Cancellation | None:
    """A cancellation request."""
    if c is None:
        return None
    return {
        "id": c.id,
        "status": str(c.status),
        "reason": c.reason,
        "comment": c.comment,
        "requested_at": iso(c.requested_at),
        "respond_by": iso(c.respond_by),
        "responded_at": iso(c.responded_at),
        "reject_reason": c.reject_reason,
    }


def refund_view(r: Refund, *, overdue_at: datetime | None = None) -> shapes.Refund:
    """A refund; `overdue` when it has not succeeded by its expected-by date."""
    view: shapes.Refund = {
        "id": r.id,
        "order_id": r.order_id,
        "amount": money(r.amount, r.currency),
        "method": r.method,
        "status": str(r.status),
        "reason": r.reason,
        "created_at": iso(r.created_at),
        "expected_by": iso(r.expected_by),
        "succeeded_at": iso(r.succeeded_at),
        "failed_at": iso(r.failed_at),
        "failure_reason": r.failure_reason,
        "note": r.note,
    }
    if overdue_at is not None:
        view["overdue"] = r.status in ("pending", "processing") and overdue_at > r.expected_by
    return view


def return_view(r: Return, currency: str, ctx: Ctx | None = None) -> shapes.Return:
    """A return, with the actions open to the caller (`ctx`) on it."""
    return {
        "id": r.id,
        "order_id": r.order_id,
        "status": str(r.status),
        "reason": r.reason,
        "condition": r.condition,
        "description": r.description,
        "items": r.items,
        "amount": money(r.amount, currency),
        "requested_at": iso(r.requested_at),
        "respond_by": iso(r.respond_by),
        "approved_at": iso(r.approved_at),
        "ship_by": iso(r.ship_by),
        "rejected_at": iso(r.rejected_at),
        "reject_reason": r.reject_reason,
        "carrier": r.carrier,
        "tracking_number": r.tracking_number,
        "shipped_at": iso(r.shipped_at),
        "received_at": iso(r.received_at),
        "inspection_notes": r.inspection_notes,
        "refund_id": r.refund_id,
        "closed_at": iso(r.closed_at),
        "receive_by": iso(r.receive_by),
        "allowed_actions": return_actions(r, ctx) if ctx is not None else [],
    }


def dispute_view(
    d: Dispute, currency: str, ctx: Ctx | None = None, order: Order | None = None
) -> shapes.Dispute:
    """A dispute, with the actions open to the caller (`ctx`) on it."""
    return {
        "id": d.id,
        "order_id": d.order_id,
        "status": str(d.status),
        "reason": d.reason,
        "refund_type": d.refund_type,
        "requested_amount": money(d.requested_amount, currency),
        "description": d.description,
        "opened_at": iso(d.opened_at),
        "respond_by": iso(d.respond_by),
        "seller_response": d.seller_response,
        "seller_reject_reason": d.seller_reject_reason,
        "proposed_amount": money(d.proposed_amount, currency),
        "seller_responded_at": iso(d.seller_responded_at),
        "buyer_respond_by": iso(d.buyer_respond_by),
        "escalated_at": iso(d.escalated_at),
        "resolved_at": iso(d.resolved_at),
        "resolved_by": d.resolved_by,
        "resolution_amount": money(d.resolution_amount, currency),
        "resolution_note": d.resolution_note,
        "closed_at": iso(d.closed_at),
        "closed_reason": d.closed_reason,
        "refund_id": d.refund_id,
        "rounds": d.rounds,
        "decide_by": iso(d.decide_by),
        "history": [_step(s, currency) for s in d.history],
        "allowed_actions": (
            dispute_actions(order, d, ctx) if ctx is not None and order is not None else []
        ),
    }


def _step(step: dict[str, Any], currency: str) -> shapes.DisputeStep:
    """A dispute history step for the wire (amounts as money)."""
    out: shapes.DisputeStep = {
        "at": step["at"].replace("+00:00", "Z"),
        "actor": step["actor"],
        "action": step["action"],
    }
    if "amount" in step:
        out["amount"] = money(Decimal(step["amount"]), currency)
    if "note" in step:
        out["note"] = step["note"]
    return out


def order_shape(order: Order, ctx: Ctx) -> shapes.Order:
    """The whole order as the caller sees it (GET /orders/{id})."""
    cur = order.currency
    return {
        "id": order.id,
        "status": str(order.status),
        "buyer_id": order.buyer_id,
        "seller_id": order.seller_id,
        "currency": cur,
        "items": [
            {
                "sku": i.sku,
                "title": i.title,
                "quantity": i.quantity,
                "unit_price": money(i.unit_price, cur),
                "cancelled_quantity": i.cancelled_quantity,
                "returned_quantity": i.returned_quantity,
            }
            for i in order.items
        ],
        "shipping_fee": money(order.shipping_fee, cur),
        "total": money(order.total, cur),
        "paid_amount": money(order.paid_amount, cur),
        "refunded_amount": money(order.refunded_amount, cur),
        "refundable_amount": money(order.refundable, cur),
        "payment_method": order.payment_method,
        "refund_to": "balance" if order.refund_method == "balance" else "original",
        "created_at": iso(order.created_at),
        "paid_at": iso(order.paid_at),
        "packed_at": iso(order.packed_at),
        "shipped_at": iso(order.shipped_at),
        "carrier": order.carrier,
        "tracking_number": order.tracking_number,
        "delivered_at": iso(order.delivered_at),
        "completed_at": iso(order.completed_at),
        "cancelled_at": iso(order.cancelled_at),
        "cancelled_by": order.cancelled_by,
        "cancel_reason": order.cancel_reason,
        "ship_by_days": order.ship_by_days,
        "delivery_days": order.delivery_days,
        "ship_by": iso(order.ship_by),
        "protection_ends_at": iso(order.protection_ends_at),
        "allowed_actions": allowed_actions(order, ctx),
        "cancellation": cancellation_view(order.cancellation),
        "refunds": [refund_view(r, overdue_at=ctx.now) for r in order.refunds],
        "returns": [return_view(r, cur, ctx) for r in order.returns],
        "disputes": [dispute_view(d, cur, ctx, order) for d in order.disputes],
        "timeline": [
            {"at": iso(e.at), "actor": e.actor, "event": e.event, "detail": e.detail}
            for e in order.timeline
        ],
        "policy": order.policy.as_dict(),
        "version": order.version,
    }


# The same function, typed as plain data for the pages, mails and staff views, which read and
# extend it as template data (the API's use cases take order_shape).
order_view = cast(Callable[[Order, Ctx], dict[str, Any]], order_shape)


def reason_list(table: dict[str, str]) -> list[shapes.Reason]:
    """A reason list as [{"code", "label"}]."""
    return [{"code": c, "label": label} for c, label in table.items()]


def return_reason_list(
    table: dict[str, str], seller_fault: frozenset[str] | set[str]
) -> list[shapes.ReturnReason]:
    """The return reasons, each with whether it is the seller's fault."""
    return [
        {"code": c, "label": label, "seller_fault": c in seller_fault} for c, label in table.items()
    ]
