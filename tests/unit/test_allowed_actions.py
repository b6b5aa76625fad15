"""Roles (403), visibility (404) and the actions an order offers each caller now."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aftersale.domain.actions import ROLES, allowed_actions, can_see, require_role
from aftersale.domain.actors import SYSTEM, Actor, Role
from aftersale.domain.errors import Forbidden
from aftersale.domain.order import Order
from tests.unit.fakes import (
    ADMIN,
    BUYER,
    SELLER,
    STRANGER_BUYER,
    STRANGER_SELLER,
    Clock,
    delivered_order,
    new_order,
    paid_order,
    shipped_order,
)

CANCELS = {"cancel", "request_cancellation", "seller_cancel"}


def offered(order: Order, clock: Clock, actor: Actor) -> list[str]:
    return allowed_actions(order, clock.ctx(actor))


def test_an_unpaid_order_offers_the_buyer_cancel_and_the_seller_seller_cancel() -> None:
    clock = Clock()
    order = new_order(clock)
    assert offered(order, clock, BUYER) == ["cancel", "message"]
    assert offered(order, clock, SELLER) == ["seller_cancel", "message"]
    assert offered(order, clock, ADMIN) == ["message"]


def test_a_paid_order_offers_a_cancellation_request_and_fulfilment() -> None:
    clock = Clock()
    order = paid_order(clock)
    assert offered(order, clock, BUYER) == ["request_cancellation", "message"]
    assert offered(order, clock, SELLER) == ["seller_cancel", "pack", "ship", "message"]
    order.pack(clock.ctx(SELLER))
    assert offered(order, clock, BUYER) == ["request_cancellation", "message"]
    assert offered(order, clock, SELLER) == ["seller_cancel", "ship", "message"]


def test_a_pending_request_gives_the_seller_accept_and_reject_and_not_ship() -> None:
    clock = Clock()
    order = paid_order(clock)
    order.cancel(reason="other", comment=None, ctx=clock.ctx(BUYER))
    seller = offered(order, clock, SELLER)
    assert {"accept_cancellation", "reject_cancellation", "seller_cancel"} <= set(seller)
    assert "ship" not in seller
    assert "request_cancellation" not in offered(order, clock, BUYER)


def test_a_rejected_request_is_not_offered_again_but_messaging_is() -> None:
    clock = Clock()
    order = paid_order(clock)
    order.cancel(reason="other", comment=None, ctx=clock.ctx(BUYER))
    order.reject_cancellation(reason="no", ctx=clock.ctx(SELLER))
    assert offered(order, clock, BUYER) == ["message"]
    assert "ship" in offered(order, clock, SELLER)
    assert "accept_cancellation" not in offered(order, clock, SELLER)


def test_shipped_and_delivered_orders_offer_no_cancellation_to_anyone() -> None:
    clock = Clock()
    shipped = shipped_order(clock)
    assert offered(shipped, clock, BUYER) == ["confirm_receipt", "message"]
    delivered = delivered_order(clock)
    assert offered(delivered, clock, BUYER) == ["open_return", "open_dispute", "message"]
    for order in (shipped, delivered):
        for actor in (BUYER, SELLER, ADMIN):
            assert not CANCELS & set(offered(order, clock, actor))


def test_a_completed_order_offers_only_messages() -> None:
    clock = Clock()
    order = delivered_order(clock)
    done_at = max(d.due_at for d in order.new_deadlines if d.kind == "order_complete")
    assert done_at >= clock.now + timedelta(days=15)
    order.fire_deadline("order_complete", order.id, clock.ctx(at=done_at))
    assert order.status == "completed"
    for actor in (BUYER, SELLER):
        assert allowed_actions(order, clock.ctx(actor, at=done_at)) == ["message"]


def test_a_cancelled_order_offers_only_messages() -> None:
    clock = Clock()
    order = new_order(clock)
    order.cancel(reason="other", comment=None, ctx=clock.ctx(BUYER))
    for actor in (BUYER, SELLER, ADMIN):
        assert offered(order, clock, actor) == ["message"]


@pytest.mark.parametrize(
    ("role", "action"),
    [
        (Role.BUYER, "ship"),
        (Role.BUYER, "create_user"),
        (Role.BUYER, "accept_cancellation"),
        (Role.SELLER, "cancel"),
        (Role.SELLER, "pay"),
        (Role.SELLER, "retry_refund"),
        (Role.ADMIN, "cancel"),
        (Role.ADMIN, "ship"),
    ],
)
def test_a_role_that_may_never_act_is_forbidden(role: Role, action: str) -> None:
    with pytest.raises(Forbidden):
        require_role(Actor(user_id="u", role=role), action)


def test_each_core_action_belongs_to_the_documented_role() -> None:
    assert ROLES["cancel"] == {Role.BUYER}
    assert ROLES["accept_cancellation"] == ROLES["reject_cancellation"] == {Role.SELLER}
    assert ROLES["seller_cancel"] == ROLES["pack"] == ROLES["ship"] == {Role.SELLER}
    assert ROLES["create_order"] == ROLES["pay"] == ROLES["deliver"] == {Role.ADMIN}
    assert ROLES["create_user"] == ROLES["retry_refund"] == {Role.ADMIN}
    assert ROLES["confirm_receipt"] == {Role.BUYER}


def test_only_the_orders_own_parties_staff_and_the_system_can_see_it() -> None:
    clock = Clock()
    order = new_order(clock)
    assert all(can_see(a, order) for a in (BUYER, SELLER, ADMIN, SYSTEM))
    assert not can_see(STRANGER_BUYER, order)
    assert not can_see(STRANGER_SELLER, order)
    assert not can_see(Actor(user_id=BUYER.user_id, role=Role.SELLER), order)
