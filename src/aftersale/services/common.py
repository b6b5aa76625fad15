"""The one way use cases change an order: role check, visibility, lock, rule, save, retry."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, overload

from aftersale.domain.actions import can_see, require_role
from aftersale.domain.actors import Actor
from aftersale.domain.context import Ctx
from aftersale.domain.errors import ConcurrentModification, NotFound
from aftersale.domain.order import Order
from aftersale.services import shapes
from aftersale.services.ports import UnitOfWork
from aftersale.services.runtime import Runtime
from aftersale.services.views import order_shape

T = TypeVar("T")
V = TypeVar("V")
ATTEMPTS = 5


def visible_order(uow: UnitOfWork, actor: Actor, order_id: str, *, lock: bool) -> Order:
    """Load an order the actor may see, else not_found (never forbidden)."""
    order = uow.orders.get(order_id, lock=lock)
    if order is None or not can_see(actor, order):
        raise NotFound(f"order {order_id} not found")
    return order


def owner_of(uow: UnitOfWork, kind: str, object_id: str) -> str:
    """The id of the order owning a return, dispute or refund, else not_found."""
    order_id = uow.orders.order_id_of(kind, object_id)
    if order_id is None:
        raise NotFound(f"{kind} {object_id} not found")
    return order_id


@overload
def change_order(
    rt: Runtime,
    actor: Actor,
    action: str,
    order_id: str | Callable[[UnitOfWork], str],
    rule: Callable[[Order, Ctx], T],
) -> shapes.Order: ...
@overload
def change_order(
    rt: Runtime,
    actor: Actor,
    action: str,
    order_id: str | Callable[[UnitOfWork], str],
    rule: Callable[[Order, Ctx], T],
    present: Callable[[Order, Ctx, T], V],
) -> V: ...
def change_order(
    rt: Runtime,
    actor: Actor,
    action: str,
    order_id: str | Callable[[UnitOfWork], str],
    rule: Callable[[Order, Ctx], T],
    present: Callable[[Order, Ctx, T], V] | None = None,
) -> V | shapes.Order:
    """Run one domain rule on one order in one transaction, retrying lost races; the answer
    is `present`'s view, else the order's (its shape: services/shapes.py)."""
    require_role(actor, action)
    for attempt in range(ATTEMPTS):
        try:
            with rt.uow() as uow:
                oid = order_id if isinstance(order_id, str) else order_id(uow)
                order = visible_order(uow, actor, oid, lock=True)
                ctx = rt.ctx(actor)
                result = rule(order, ctx)
                uow.orders.save(order)
                view = present(order, ctx, result) if present else order_shape(order, ctx)
                uow.commit()
                return view
        except rt.retryable as exc:
            if attempt == ATTEMPTS - 1:
                raise ConcurrentModification("the order is busy; try again") from exc
    raise AssertionError("unreachable")


def read_order(rt: Runtime, actor: Actor, order_id: str) -> shapes.Order:
    """The order as the caller sees it."""
    require_role(actor, "read")
    with rt.uow(readonly=True) as uow:
        order = visible_order(uow, actor, order_id, lock=False)
        return order_shape(order, rt.ctx(actor))
