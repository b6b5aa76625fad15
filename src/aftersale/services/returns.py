"""Use cases of returns: request, approve or reject, ship back, inspect."""

from __future__ import annotations

from collections.abc import Callable

from aftersale.domain.actions import require_role
from aftersale.domain.actors import Actor
from aftersale.domain.context import Ctx
from aftersale.domain.entities import Return
from aftersale.domain.order import Order
from aftersale.services import shapes
from aftersale.services.common import change_order, owner_of, visible_order
from aftersale.services.runtime import Runtime
from aftersale.services.views import return_view


def _present(order: Order, ctx: Ctx, ret: Return) -> shapes.Return:
    return return_view(ret, order.currency, ctx)


def open_return(
    rt: Runtime,
    actor: Actor,
    order_id: str,
    *,
    reason: object,
    items: object,
    condition: object,
    description: object = None,
) -> shapes.Return:
    """The buyer asks to return items."""
    return change_order(
        rt,
        actor,
        "open_return",
        order_id,
        lambda o, c: o.open_return(
            reason=reason, items=items, condition=condition, description=description, ctx=c
        ),
        _present,
    )


def _on_return(
    rt: Runtime, actor: Actor, action: str, return_id: str, rule: Callable[[Order, Ctx], Return]
) -> shapes.Return:
    return change_order(
        rt, actor, action, lambda uow: owner_of(uow, "return", return_id), rule, _present
    )


def get_return(rt: Runtime, actor: Actor, return_id: str) -> shapes.Return:
    """A return the caller may see."""
    require_role(actor, "read")
    with rt.uow(readonly=True) as uow:
        order = visible_order(uow, actor, owner_of(uow, "return", return_id), lock=False)
        return return_view(order.find_return(return_id), order.currency, rt.ctx(actor))


def approve_return(rt: Runtime, actor: Actor, return_id: str) -> shapes.Return:
    """The seller approves a return request."""
    return _on_return(
        rt, actor, "approve_return", return_id, lambda o, c: o.approve_return(return_id, c)
    )


def reject_return(rt: Runtime, actor: Actor, return_id: str, *, reason: object) -> shapes.Return:
    """The seller rejects a return request."""
    return _on_return(
        rt,
        actor,
        "reject_return",
        return_id,
        lambda o, c: o.reject_return(return_id, reason=reason, ctx=c),
    )


def ship_return(
    rt: Runtime, actor: Actor, return_id: str, *, carrier: object, tracking_number: object
) -> shapes.Return:
    """The buyer ships the items back."""
    return _on_return(
        rt,
        actor,
        "ship_return",
        return_id,
        lambda o, c: o.ship_return(
            return_id, carrier=carrier, tracking_number=tracking_number, ctx=c
        ),
    )


def receive_return(
    rt: Runtime, actor: Actor, return_id: str, *, condition_ok: object, notes: object = None
) -> shapes.Return:
    """The seller or staff inspect the returned items."""
    return _on_return(
        rt,
        actor,
        "receive_return",
        return_id,
        lambda o, c: o.receive_return(return_id, condition_ok=condition_ok, notes=notes, ctx=c),
    )
