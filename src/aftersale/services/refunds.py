"""Use cases of refunds: read, list the overdue ones, retry a failed one."""

from __future__ import annotations

from aftersale.domain.actions import require_role
from aftersale.domain.actors import Actor
from aftersale.services import shapes
from aftersale.services.common import change_order, owner_of, visible_order
from aftersale.services.runtime import Runtime
from aftersale.services.views import refund_view


def get_refund(rt: Runtime, actor: Actor, refund_id: str) -> shapes.Refund:
    """A refund the caller may see."""
    require_role(actor, "read")
    with rt.uow(readonly=True) as uow:
        order = visible_order(uow, actor, owner_of(uow, "refund", refund_id), lock=False)
        return refund_view(order.find_refund(refund_id), overdue_at=rt.clock.now())


def retry_refund(rt: Runtime, actor: Actor, refund_id: str) -> shapes.Order:
    """Staff issue a failed refund again."""
    return change_order(
        rt,
        actor,
        "retry_refund",
        lambda uow: owner_of(uow, "refund", refund_id),
        lambda o, c: o.retry_refund(refund_id, c),
    )


def choose_refund_destination(
    rt: Runtime, actor: Actor, order_id: str, *, refund_to: object
) -> shapes.Order:
    """The buyer sends future refunds of an order to the original method or the balance."""
    return change_order(
        rt,
        actor,
        "choose_refund_destination",
        order_id,
        lambda o, c: o.choose_refund_destination(refund_to, c),
    )


def goodwill_refund(
    rt: Runtime, actor: Actor, order_id: str, *, amount: object, reason: object
) -> shapes.Refund:
    """Staff refund part of an order as a goodwill gesture; answers with the refund."""
    return change_order(
        rt,
        actor,
        "goodwill_refund",
        order_id,
        lambda o, c: o.goodwill_refund(amount=amount, reason=reason, ctx=c),
        lambda o, c, refund: refund_view(refund, overdue_at=c.now),
    )
