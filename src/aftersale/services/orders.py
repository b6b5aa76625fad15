"""Use cases of an order's normal life: place, pay, pack, ship, deliver, list."""

from __future__ import annotations

from typing import Any, cast

from aftersale.domain.actions import require_role
from aftersale.domain.actors import Actor, Role
from aftersale.domain.context import Ctx
from aftersale.domain.entities import OrderStatus
from aftersale.domain.errors import ValidationFailed
from aftersale.domain.order import Order, create_order
from aftersale.services import shapes
from aftersale.services.common import change_order
from aftersale.services.gateway import check_card_payment
from aftersale.services.runtime import Runtime
from aftersale.services.views import order_shape


def place_order(
    rt: Runtime,
    actor: Actor,
    *,
    buyer_id: str,
    seller_id: str,
    currency: object,
    items: object,
    shipping_fee: object = None,
    ship_by_days: object = None,
    delivery_days: object = None,
) -> shapes.Order:
    """Create an order awaiting payment (the storefront's call)."""
    require_role(actor, "create_order")
    with rt.uow() as uow:
        buyer, seller = uow.users.get(buyer_id), uow.users.get(seller_id)
        if buyer is None or buyer.role != Role.BUYER:
            raise ValidationFailed("buyer_id must name a buyer", field="buyer_id")
        if seller is None or seller.role != Role.SELLER:
            raise ValidationFailed("seller_id must name a seller", field="seller_id")
        ctx = rt.ctx(actor)
        order = create_order(
            buyer_id=buyer_id,
            seller_id=seller_id,
            currency=currency,
            items=items,
            shipping_fee=shipping_fee,
            buyer_country=buyer.country,
            policy=rt.policy,
            ctx=ctx,
            ship_by_days=ship_by_days,
            delivery_days=delivery_days,
        )
        uow.orders.add(order)
        view = order_shape(order, ctx)
        uow.commit()
        return view


def record_payment(
    rt: Runtime, actor: Actor, order_id: str, *, amount: object, method: object, reference: object
) -> shapes.Order:
    """Record the buyer's payment (a card payment first checked at the gateway)."""

    def pay(o: Order, c: Ctx) -> None:
        check_card_payment(rt, o, amount=amount, method=method, reference=reference)
        o.record_payment(amount=amount, method=method, reference=reference, ctx=c)

    return change_order(rt, actor, "pay", order_id, pay)


def pack(rt: Runtime, actor: Actor, order_id: str) -> shapes.Order:
    """The seller packed the order."""
    return change_order(rt, actor, "pack", order_id, lambda o, c: o.pack(c))


def ship(
    rt: Runtime, actor: Actor, order_id: str, *, carrier: object, tracking_number: object
) -> shapes.Order:
    """The seller handed the order to the carrier."""
    return change_order(
        rt,
        actor,
        "ship",
        order_id,
        lambda o, c: o.ship(carrier=carrier, tracking_number=tracking_number, ctx=c),
    )


def deliver(rt: Runtime, actor: Actor, order_id: str) -> shapes.Order:
    """The carrier reports delivery."""
    return change_order(rt, actor, "deliver", order_id, lambda o, c: o.deliver(c))


def confirm_receipt(rt: Runtime, actor: Actor, order_id: str) -> shapes.Order:
    """The buyer confirms receipt."""
    return change_order(rt, actor, "confirm_receipt", order_id, lambda o, c: o.deliver(c))


def order_page(
    rt: Runtime, actor: Actor, *, status: str | None, cursor: str | None, limit: int
) -> shapes.OrderPage:
    """The caller's orders, newest first, a page at a time (GET /orders)."""
    require_role(actor, "read")
    if status is not None and status not in set(OrderStatus):
        raise ValidationFailed(f"status must be one of: {', '.join(OrderStatus)}", field="status")
    if not 1 <= limit <= 200:
        raise ValidationFailed("limit must be from 1 to 200", field="limit")
    with rt.uow(readonly=True) as uow:
        orders, nxt = uow.orders.list_page(
            buyer_id=actor.user_id if actor.role == Role.BUYER else None,
            seller_id=actor.user_id if actor.role == Role.SELLER else None,
            status=status,
            cursor=cursor,
            limit=limit,
        )
        ctx = rt.ctx(actor)
        return {"items": [order_shape(o, ctx) for o in orders], "next_cursor": nxt}


def list_orders(
    rt: Runtime, actor: Actor, *, status: str | None, cursor: str | None, limit: int
) -> dict[str, Any]:
    """order_page's page as plain data, for the pages (which merge and extend pages of it)."""
    page = order_page(rt, actor, status=status, cursor=cursor, limit=limit)
    return cast(dict[str, Any], page)


def extend_protection(rt: Runtime, actor: Actor, order_id: str, *, days: object) -> shapes.Order:
    """The seller (or staff) extend a shipped order's purchase protection."""
    return change_order(
        rt, actor, "extend_protection", order_id, lambda o, c: o.extend_protection(days=days, ctx=c)
    )
