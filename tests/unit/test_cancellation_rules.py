"""Rules 1, 2, 3 and 7 on the Order aggregate itself (no database, no HTTP)."""

from __future__ import annotations

import copy
from datetime import timedelta
from decimal import Decimal

import pytest

from aftersale.domain.errors import DomainError
from aftersale.domain.order import Order
from aftersale.domain.policy import Policy
from tests.unit.fakes import (
    ADMIN,
    BUYER,
    SELLER,
    Clock,
    delivered_order,
    new_order,
    paid_order,
    shipped_order,
)


def code_of(action: object) -> str:
    with pytest.raises(DomainError) as err:
        action()  # type: ignore[operator]
    return err.value.code


def test_an_unpaid_order_is_cancelled_at_once_with_nothing_to_refund() -> None:
    clock = Clock()
    order = new_order(clock)
    assert order.cancel(reason="changed_mind", comment=None, ctx=clock.ctx(BUYER)) is True
    assert order.status == "cancelled"
    assert order.refunds == [] and order.refunded_amount == 0
    assert order.cancelled_by == "buyer" and order.cancel_reason == "changed_mind"
    assert order.timeline[-1].event == "cancelled" and order.timeline[-1].actor == "buyer"


def test_an_unknown_reason_is_a_validation_error_that_changes_nothing() -> None:
    clock = Clock()
    for order in (new_order(clock), paid_order(clock)):
        before = copy.deepcopy(order.__dict__)
        bad = lambda o=order: o.cancel(reason="bored", comment=None, ctx=clock.ctx(BUYER))  # noqa: E731
        assert code_of(bad) == "validation_error"
        assert order.__dict__ == before


def test_a_paid_order_gets_a_request_answerable_for_72_hours() -> None:
    clock = Clock()
    order = paid_order(clock)
    clock.advance(minutes=5)
    assert order.cancel(reason="better_price", comment="sorry", ctx=clock.ctx(BUYER)) is False
    request = order.cancellation
    assert request is not None and request.status == "pending"
    assert order.status == "awaiting_fulfillment"
    assert request.respond_by == clock.now + timedelta(hours=72)
    assert ("cancellation_timeout", request.id, request.respond_by) in [
        (d.kind, d.subject_id, d.due_at) for d in order.new_deadlines
    ]


def test_the_answer_time_follows_the_policy_the_order_was_bought_under() -> None:
    clock = Clock()
    order = paid_order(clock, policy=Policy(cancellation_answer_hours=24))
    order.cancel(reason="other", comment=None, ctx=clock.ctx(BUYER))
    assert order.cancellation is not None
    assert order.cancellation.respond_by == clock.now + timedelta(hours=24)


def test_a_packed_order_also_gets_a_request_rather_than_a_cancellation() -> None:
    clock = Clock()
    order = paid_order(clock)
    order.pack(clock.ctx(SELLER))
    assert order.cancel(reason="other", comment=None, ctx=clock.ctx(BUYER)) is False
    assert order.status == "awaiting_shipment"


def test_accepting_cancels_and_refunds_the_whole_payment_once() -> None:
    clock = Clock()
    order = paid_order(clock)
    order.cancel(reason="other", comment=None, ctx=clock.ctx(BUYER))
    order.accept_cancellation(clock.ctx(SELLER))
    assert order.status == "cancelled"
    assert [r.amount for r in order.refunds] == [Decimal("60.00")]
    assert order.refunded_amount == order.paid_amount == Decimal("60.00")
    assert order.cancellation is not None and order.cancellation.status == "accepted"
    assert code_of(lambda: order.accept_cancellation(clock.ctx(SELLER))) == (
        "no_pending_cancellation"
    )


def test_rejecting_lets_the_order_go_on_and_the_buyer_cannot_ask_again() -> None:
    clock = Clock()
    order = paid_order(clock)
    order.cancel(reason="other", comment=None, ctx=clock.ctx(BUYER))
    order.reject_cancellation(reason="already packed", ctx=clock.ctx(SELLER))
    assert order.status == "awaiting_fulfillment"
    assert order.cancellation is not None and order.cancellation.reject_reason == "already packed"
    again = lambda: order.cancel(reason="other", comment=None, ctx=clock.ctx(BUYER))  # noqa: E731
    assert code_of(again) == "cancellation_already_rejected"
    order.ship(carrier="DHL", tracking_number="T", ctx=clock.ctx(SELLER))
    assert order.status == "shipped" and order.refunds == []


def test_asking_twice_while_pending_is_refused() -> None:
    clock = Clock()
    order = paid_order(clock)
    order.cancel(reason="other", comment=None, ctx=clock.ctx(BUYER))
    again = lambda: order.cancel(reason="other", comment=None, ctx=clock.ctx(BUYER))  # noqa: E731
    assert code_of(again) == "cancellation_already_requested"
    assert len(order.cancellations) == 1


def test_an_unanswered_request_is_auto_accepted_at_respond_by_and_not_before() -> None:
    clock = Clock()
    order = paid_order(clock)
    order.cancel(reason="other", comment=None, ctx=clock.ctx(BUYER))
    request = order.cancellation
    assert request is not None
    order.fire_deadline(
        "cancellation_timeout", request.id, clock.ctx(at=request.respond_by - timedelta(seconds=1))
    )
    assert request.status == "pending" and order.status == "awaiting_fulfillment"
    order.fire_deadline("cancellation_timeout", request.id, clock.ctx(at=request.respond_by))
    assert request.status == "auto_accepted" and order.status == "cancelled"
    assert len(order.refunds) == 1 and order.refunds[0].amount == order.paid_amount
    assert [e.actor for e in order.timeline[-3:]] == ["system"] * 3
    assert "automatically" in order.timeline[-3].detail


def test_a_late_timeout_after_the_seller_answered_does_nothing() -> None:
    clock = Clock()
    order = paid_order(clock)
    order.cancel(reason="other", comment=None, ctx=clock.ctx(BUYER))
    request = order.cancellation
    assert request is not None
    order.reject_cancellation(reason="no", ctx=clock.ctx(SELLER))
    order.fire_deadline("cancellation_timeout", request.id, clock.ctx(at=request.respond_by))
    assert request.status == "rejected" and order.status == "awaiting_fulfillment"


def test_a_pending_request_blocks_shipping() -> None:
    clock = Clock()
    order = paid_order(clock)
    order.cancel(reason="other", comment=None, ctx=clock.ctx(BUYER))
    ship = lambda: order.ship(carrier="DHL", tracking_number="T", ctx=clock.ctx(SELLER))  # noqa: E731
    assert code_of(ship) == "cancellation_pending"
    assert order.status == "awaiting_fulfillment"


def test_nothing_pending_means_accept_and_reject_are_refused() -> None:
    clock = Clock()
    order = paid_order(clock)
    assert code_of(lambda: order.accept_cancellation(clock.ctx(SELLER))) == (
        "no_pending_cancellation"
    )
    reject = lambda: order.reject_cancellation(reason="x", ctx=clock.ctx(SELLER))  # noqa: E731
    assert code_of(reject) == "no_pending_cancellation"


def test_seller_cancel_refunds_a_paid_order_and_accepts_a_pending_request() -> None:
    clock = Clock()
    order = paid_order(clock)
    order.cancel(reason="other", comment=None, ctx=clock.ctx(BUYER))
    order.seller_cancel(reason="out of stock", ctx=clock.ctx(SELLER))
    assert order.status == "cancelled" and order.cancelled_by == "seller"
    assert order.cancellation is not None and order.cancellation.status == "accepted"
    assert [r.amount for r in order.refunds] == [order.paid_amount]


def test_seller_cancel_of_an_unpaid_order_refunds_nothing() -> None:
    clock = Clock()
    order = new_order(clock)
    order.seller_cancel(reason="cannot ship there", ctx=clock.ctx(SELLER))
    assert order.status == "cancelled" and order.refunds == []
    assert order.timeline[-1].actor == "seller"


@pytest.mark.parametrize("make", [shipped_order, delivered_order])
def test_once_shipped_nobody_can_cancel(make: object) -> None:
    clock = Clock()
    order: Order = make(clock)  # type: ignore[operator]
    before = copy.deepcopy(order.__dict__)
    cancel = lambda: order.cancel(reason="other", comment=None, ctx=clock.ctx(BUYER))  # noqa: E731
    err = pytest.raises(DomainError, cancel).value
    assert err.code == "order_already_shipped"
    assert "return" in err.detail and "dispute" in err.detail
    seller = lambda: order.seller_cancel(reason="x", ctx=clock.ctx(SELLER))  # noqa: E731
    assert code_of(seller) == "order_already_shipped"
    assert order.__dict__ == before


def test_a_cancelled_order_cannot_be_cancelled_again() -> None:
    clock = Clock()
    order = new_order(clock)
    order.cancel(reason="other", comment=None, ctx=clock.ctx(BUYER))
    again = lambda: order.cancel(reason="other", comment=None, ctx=clock.ctx(BUYER))  # noqa: E731
    assert code_of(again) == "order_already_cancelled"
    seller = lambda: order.seller_cancel(reason="x", ctx=clock.ctx(SELLER))  # noqa: E731
    assert code_of(seller) == "order_already_cancelled"


def test_payment_must_match_the_total_and_happens_once() -> None:
    clock = Clock()
    order = new_order(clock)
    pay = lambda amount: order.record_payment(  # noqa: E731
        amount=amount, method="card", reference="p", ctx=clock.ctx(ADMIN)
    )
    assert code_of(lambda: pay("59.99")) == "payment_amount_mismatch"
    assert order.status == "awaiting_payment" and order.paid_amount == 0
    pay("60.00")
    assert code_of(lambda: pay("60.00")) == "invalid_state"


def test_packing_twice_and_delivering_unshipped_orders_are_invalid_states() -> None:
    clock = Clock()
    order = paid_order(clock)
    assert code_of(lambda: order.deliver(clock.ctx(ADMIN))) == "invalid_state"
    order.pack(clock.ctx(SELLER))
    assert code_of(lambda: order.pack(clock.ctx(SELLER))) == "invalid_state"


def test_a_failed_cancellation_refund_can_be_retried_once_for_the_same_amount() -> None:
    clock = Clock()
    order = paid_order(clock)
    order.seller_cancel(reason="out of stock", ctx=clock.ctx(SELLER))
    failed = order.refunds[0]
    order.refund_failed(failed.id, failure="declined", ctx=clock.ctx())
    assert order.refunded_amount == 0
    order.retry_refund(failed.id, clock.ctx(ADMIN))
    assert [r.status for r in order.refunds] == ["failed", "pending"]
    assert order.refunds[1].amount == failed.amount == order.refunded_amount
    before = copy.deepcopy(order.__dict__)
    assert code_of(lambda: order.retry_refund(failed.id, clock.ctx(ADMIN))) == "invalid_state"
    assert order.__dict__ == before
