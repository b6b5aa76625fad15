"""Use cases of cancellation: by the buyer, by request, and by the seller."""

from __future__ import annotations

from typing import Any

from aftersale.domain.actors import Actor
from aftersale.services import shapes
from aftersale.services.common import change_order
from aftersale.services.runtime import Runtime


def cancel(
    rt: Runtime,
    actor: Actor,
    order_id: str,
    *,
    reason: object,
    comment: object = None,
    refund_to: object = None,
) -> tuple[bool, shapes.Order]:
    """The buyer's Cancel Order: (True, order) if cancelled at once, (False, order) if requested."""
    outcome: dict[str, bool] = {}

    def rule(order: Any, ctx: Any) -> bool:
        outcome["done"] = order.cancel(reason=reason, comment=comment, refund_to=refund_to, ctx=ctx)
        return outcome["done"]

    view = change_order(rt, actor, "cancel", order_id, rule)
    return outcome["done"], view


def accept_cancellation(rt: Runtime, actor: Actor, order_id: str) -> shapes.Order:
    """The seller accepts the buyer's request."""
    return change_order(
        rt, actor, "accept_cancellation", order_id, lambda o, c: o.accept_cancellation(c)
    )


def reject_cancellation(
    rt: Runtime, actor: Actor, order_id: str, *, reason: object
) -> shapes.Order:
    """The seller rejects the buyer's request."""
    return change_order(
        rt,
        actor,
        "reject_cancellation",
        order_id,
        lambda o, c: o.reject_cancellation(reason=reason, ctx=c),
    )


def seller_cancel(
    rt: Runtime, actor: Actor, order_id: str, *, reason: object, items: object = None
) -> shapes.Order:
    """The seller cancels an unshipped order, or some quantities of its lines."""
    return change_order(
        rt,
        actor,
        "seller_cancel",
        order_id,
        lambda o, c: o.seller_cancel(reason=reason, items=items, ctx=c),
    )
