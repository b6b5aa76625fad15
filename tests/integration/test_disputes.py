"""Disputes (rule 6) over the API, on SQLite and PostgreSQL; the books are checked after each."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from aftersale.services.runtime import Runtime
from tests.client import DAY, Api
from tests.integration.ledger_check import (
    amount,
    ask_dispute,
    assert_books_balance,
    refused,
    returned_in_transit,
    snapshot,
)

EVERYTHING = [{"sku": "SKU-1", "quantity": 2}]


def books(rt: Runtime) -> None:
    """The books of every order add up."""
    assert_books_balance(rt.engine)  # type: ignore[attr-defined]


def test_a_dispute_on_an_unshipped_order_is_refused_with_order_not_shipped(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    for order in (api.order(buyer, seller), api.paid_order(buyer, seller)):
        before = snapshot(api, order["id"])
        refused(api, ask_dispute(api, order, buyer), 409, "order_not_shipped", order["id"], before)
    books(rt)


def test_a_non_receipt_dispute_opens_only_10_days_after_shipment(api: Api, rt: Runtime) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.shipped_order(buyer, seller)
    api.advance(10 * DAY - 1)
    before = snapshot(api, order["id"])
    refused(api, ask_dispute(api, order, buyer), 409, "order_not_delivered", order["id"], before)
    api.advance(1)
    dispute = api.ok(ask_dispute(api, order, buyer), 201)
    assert (dispute["status"], amount(dispute["requested_amount"])) == ("open", Decimal(60))
    books(rt)


def test_a_dispute_later_than_15_days_after_delivery_is_refused_but_day_15_is_allowed(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    late, in_time = api.delivered_order(buyer, seller), api.delivered_order(buyer, seller)
    api.advance(15 * DAY)
    assert api.ok(ask_dispute(api, in_time, buyer), 201)["status"] == "open"
    api.advance(1)
    before = snapshot(api, late["id"])
    refused(api, ask_dispute(api, late, buyer), 409, "dispute_window_closed", late["id"], before)
    assert before["status"] == "completed"
    assert api.get_order(in_time["id"], buyer)["status"] == "delivered"
    books(rt)


def test_a_second_dispute_while_one_is_open_is_refused_with_dispute_already_open(
    api: Api,
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    first = api.ok(ask_dispute(api, order, buyer, "10.00"), 201)
    before = snapshot(api, order["id"])
    refused(api, ask_dispute(api, order, buyer), 409, "dispute_already_open", order["id"], before)
    api.ok(api.post(f"/disputes/{first['id']}/reject", {"reason": "it works"}, as_=seller))
    before = snapshot(api, order["id"])
    refused(api, ask_dispute(api, order, buyer), 409, "dispute_already_open", order["id"], before)


def test_a_dispute_asking_more_than_is_refundable_is_refused_with_refund_exceeds_paid(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    before = snapshot(api, order["id"])
    too_much = ask_dispute(api, order, buyer, "60.01")
    refused(api, too_much, 422, "refund_exceeds_paid", order["id"], before)
    for bad in ("0", "-1", "abc", "1.001"):
        refused(
            api, ask_dispute(api, order, buyer, bad), 422, "validation_error", order["id"], before
        )
    body = {"reason": "nope", "refund_type": "full", "description": "x"}
    response = api.post(f"/orders/{order['id']}/disputes", body, as_=buyer)
    refused(api, response, 422, "validation_error", order["id"], before)
    body = {"reason": "damaged", "refund_type": "partial", "description": "no amount"}
    response = api.post(f"/orders/{order['id']}/disputes", body, as_=buyer)
    refused(api, response, 422, "validation_error", order["id"], before)
    books(rt)


def test_a_full_dispute_asks_for_what_is_still_refundable(api: Api, rt: Runtime) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    ret = returned_in_transit(api, order, buyer, seller, EVERYTHING)
    api.ok(api.post(f"/returns/{ret['id']}/receive", {"condition_ok": True}, as_=seller))
    dispute = api.ok(ask_dispute(api, order, buyer), 201)
    assert amount(dispute["requested_amount"]) == Decimal(20)
    accepted = api.ok(api.post(f"/disputes/{dispute['id']}/accept", as_=seller))
    assert (accepted["status"], amount(accepted["resolution_amount"])) == ("resolved", 20)
    after = api.get_order(order["id"], buyer)
    assert amount(after["refunded_amount"]) == amount(after["paid_amount"])
    books(rt)


def test_a_seller_accepting_a_dispute_refunds_the_requested_amount(api: Api, rt: Runtime) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    dispute = api.ok(ask_dispute(api, order, buyer, "12.50"), 201)
    opened = datetime.fromisoformat(dispute["opened_at"])
    assert datetime.fromisoformat(dispute["respond_by"]) == opened + timedelta(days=5)
    assert (dispute["status"], dispute["refund_type"]) == ("open", "partial")
    resolved = api.ok(api.post(f"/disputes/{dispute['id']}/accept", as_=seller))
    assert resolved["status"] == "resolved"
    refunds = api.get_order(order["id"], buyer)["refunds"]
    assert [(r["id"], amount(r["amount"])) for r in refunds] == [
        (resolved["refund_id"], Decimal("12.50"))
    ]
    books(rt)


def test_a_seller_proposal_accepted_by_the_buyer_refunds_the_proposed_amount(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    dispute = api.ok(ask_dispute(api, order, buyer), 201)
    proposed = api.ok(api.post(f"/disputes/{dispute['id']}/propose", {"amount": "15"}, as_=seller))
    assert (proposed["status"], amount(proposed["proposed_amount"])) == ("seller_responded", 15)
    done = api.ok(api.post(f"/disputes/{dispute['id']}/accept-proposal", as_=buyer))
    assert (done["status"], amount(done["resolution_amount"])) == ("resolved", Decimal(15))
    assert amount(api.get_order(order["id"], buyer)["refunded_amount"]) == Decimal(15)
    books(rt)


def test_staff_cannot_grant_more_than_what_is_left_to_refund(api: Api, rt: Runtime) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    ret = returned_in_transit(api, order, buyer, seller, EVERYTHING)
    dispute = api.ok(ask_dispute(api, order, buyer), 201)
    api.ok(api.post(f"/returns/{ret['id']}/receive", {"condition_ok": True}, as_=seller))
    api.ok(api.post(f"/disputes/{dispute['id']}/reject", {"reason": "no"}, as_=seller))
    api.ok(api.post(f"/disputes/{dispute['id']}/escalate", as_=buyer))
    before = snapshot(api, order["id"])
    path = f"/disputes/{dispute['id']}/resolve"
    over = api.post(path, {"refund_amount": "20.01", "note": "x"}, as_=api.admin)
    refused(api, over, 422, "refund_exceeds_paid", order["id"], before)
    done = api.ok(api.post(path, {"refund_amount": "20.00", "note": "fair"}, as_=api.admin))
    assert (done["status"], done["resolved_by"]) == ("resolved", "platform")
    assert amount(api.get_order(order["id"], buyer)["refunded_amount"]) == Decimal(60)
    books(rt)


def test_an_accept_that_would_exceed_the_refundable_is_refused_and_changes_nothing(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    ret = returned_in_transit(api, order, buyer, seller, EVERYTHING)
    dispute = api.ok(ask_dispute(api, order, buyer, "50.00"), 201)
    api.ok(api.post(f"/returns/{ret['id']}/receive", {"condition_ok": True}, as_=seller))
    before = snapshot(api, order["id"])
    accept = api.post(f"/disputes/{dispute['id']}/accept", as_=seller)
    refused(api, accept, 422, "refund_exceeds_paid", order["id"], before)
    propose = api.post(f"/disputes/{dispute['id']}/propose", {"amount": "21"}, as_=seller)
    refused(api, propose, 422, "refund_exceeds_paid", order["id"], before)
    books(rt)


def test_a_seller_silent_for_5_days_loses_and_the_refund_settles_through_the_gateway(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    ret = returned_in_transit(api, order, buyer, seller, EVERYTHING)
    dispute = api.ok(ask_dispute(api, order, buyer), 201)
    api.ok(api.post(f"/returns/{ret['id']}/receive", {"condition_ok": True}, as_=seller))
    api.advance(5 * DAY - 1)
    assert api.ok(api.get(f"/disputes/{dispute['id']}", as_=buyer))["status"] == "open"
    api.advance(1)
    done = api.ok(api.get(f"/disputes/{dispute['id']}", as_=buyer))
    assert (done["status"], done["resolved_by"]) == ("resolved", "default")
    assert amount(done["resolution_amount"]) == Decimal(20)  # at most what was left
    api.advance(3 * DAY)
    refund = api.ok(api.get(f"/refunds/{done['refund_id']}", as_=buyer))
    assert (refund["status"], amount(refund["amount"])) == ("succeeded", Decimal(20))
    assert amount(api.get_order(order["id"], buyer)["refunded_amount"]) == Decimal(60)
    books(rt)


def test_a_buyer_silent_5_days_after_the_sellers_answer_has_the_dispute_closed_unrefunded(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    rejected_order, proposed_order = (
        api.delivered_order(buyer, seller),
        api.delivered_order(buyer, seller),
    )
    rejected = api.ok(ask_dispute(api, rejected_order, buyer), 201)
    proposed = api.ok(ask_dispute(api, proposed_order, buyer), 201)
    api.ok(api.post(f"/disputes/{rejected['id']}/reject", {"reason": "fine"}, as_=seller))
    api.ok(api.post(f"/disputes/{proposed['id']}/propose", {"amount": "5"}, as_=seller))
    api.advance(5 * DAY - 1)
    assert api.ok(api.get(f"/disputes/{proposed['id']}", as_=buyer))["status"] == "seller_responded"
    api.advance(1)
    for order, dispute in ((rejected_order, rejected), (proposed_order, proposed)):
        closed = api.ok(api.get(f"/disputes/{dispute['id']}", as_=buyer))
        assert (closed["status"], closed["refund_id"]) == ("closed", None)
        assert api.get_order(order["id"], buyer)["refunds"] == []
    books(rt)


def test_dispute_actions_check_the_role_then_visibility_then_state(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    stranger, other_seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    dispute = api.ok(ask_dispute(api, order, buyer, "10"), 201)
    did, oid = dispute["id"], order["id"]
    before = snapshot(api, oid)
    for path, who, status, code in (
        (f"/disputes/{did}/accept", buyer, 403, "forbidden"),
        (f"/disputes/{did}/accept-proposal", seller, 403, "forbidden"),
        (f"/disputes/{did}/escalate", seller, 403, "forbidden"),
        (f"/disputes/{did}/accept", other_seller, 404, "not_found"),
        (f"/disputes/{did}/escalate", stranger, 404, "not_found"),
        (f"/disputes/{did}/escalate", buyer, 409, "invalid_state"),
        (f"/disputes/{did}/accept-proposal", buyer, 409, "invalid_state"),
    ):
        refused(api, api.post(path, as_=who), status, code, oid, before)
    refused(api, ask_dispute(api, order, api.admin), 403, "forbidden", oid, before)
    refused(api, ask_dispute(api, order, stranger), 404, "not_found", oid, before)
    resolve = api.post(f"/disputes/{did}/resolve", {"refund_amount": "1", "note": "x"}, as_=seller)
    refused(api, resolve, 403, "forbidden", oid, before)
    assert api.get(f"/disputes/{did}", as_=stranger).status_code == 404
    assert api.get(f"/disputes/{did}", as_=other_seller).status_code == 404
    assert api.get("/disputes/dsp_missing", as_=buyer).status_code == 404
    assert api.ok(api.get(f"/disputes/{did}", as_=api.admin))["id"] == did
    api.ok(api.post(f"/disputes/{did}/reject", {"reason": "no"}, as_=seller))
    before = snapshot(api, oid)
    refused(
        api,
        api.post(f"/disputes/{did}/accept-proposal", as_=buyer),
        409,
        "invalid_state",
        oid,
        before,
    )
    refused(api, api.post(f"/disputes/{did}/accept", as_=seller), 409, "invalid_state", oid, before)


def test_an_open_dispute_delays_completion_until_it_ends(api: Api, rt: Runtime) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    api.advance(14 * DAY)
    dispute = api.ok(ask_dispute(api, order, buyer, "10"), 201)
    api.ok(api.post(f"/disputes/{dispute['id']}/reject", {"reason": "no"}, as_=seller))
    api.ok(api.post(f"/disputes/{dispute['id']}/escalate", as_=buyer))
    api.advance(30 * DAY)
    assert api.get_order(order["id"], buyer)["status"] == "delivered"
    path = f"/disputes/{dispute['id']}/resolve"
    api.ok(api.post(path, {"refund_amount": "10", "note": "half"}, as_=api.admin))
    after = api.get_order(order["id"], buyer)
    assert after["status"] == "completed"
    assert amount(after["refunded_amount"]) == Decimal(10)
    books(rt)
