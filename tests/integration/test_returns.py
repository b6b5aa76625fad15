"""Returns (rule 5) over the API, on SQLite and PostgreSQL; the books are checked after each."""

from __future__ import annotations

from decimal import Decimal

from aftersale.services.runtime import Runtime
from tests.client import DAY, Api
from tests.integration.ledger_check import (
    amount,
    ask_return,
    assert_books_balance,
    refused,
    returned_in_transit,
    snapshot,
)

LAMP = [{"sku": "SKU-1", "quantity": 1}]
BULBS = [{"sku": "SKU-2", "quantity": 2}]


def test_a_return_before_delivery_is_refused_with_order_not_delivered(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    for order in (api.paid_order(buyer, seller), api.shipped_order(buyer, seller)):
        before = snapshot(api, order["id"])
        response = ask_return(api, order, buyer, LAMP)
        refused(api, response, 409, "order_not_delivered", order["id"], before)
    assert_books_balance(rt.engine)  # type: ignore[attr-defined]


def test_a_return_on_the_last_moment_of_day_15_after_delivery_is_allowed(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    api.advance(15 * DAY)
    ret = api.ok(ask_return(api, order, buyer, LAMP), 201)
    assert ret["status"] == "requested"
    assert ret["order_id"] == order["id"]
    assert api.get_order(order["id"], buyer)["status"] == "delivered"


def test_a_return_on_day_16_after_delivery_is_refused_with_return_window_closed(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    api.advance(15 * DAY + 1)
    before = snapshot(api, order["id"])
    refused(
        api, ask_return(api, order, buyer, LAMP), 409, "return_window_closed", order["id"], before
    )
    api.advance(DAY)
    refused(
        api, ask_return(api, order, buyer, LAMP), 409, "return_window_closed", order["id"], before
    )
    assert_books_balance(rt.engine)  # type: ignore[attr-defined]


def test_items_or_quantities_not_on_the_order_are_refused_with_422(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    before = snapshot(api, order["id"])
    for items in (
        [{"sku": "SKU-404", "quantity": 1}],
        [{"sku": "SKU-1", "quantity": 3}],
        [{"sku": "SKU-1", "quantity": 2}, {"sku": "SKU-1", "quantity": 1}],
        [{"sku": "SKU-1", "quantity": 0}],
        [],
    ):
        response = ask_return(api, order, buyer, items)
        refused(api, response, 422, "validation_error", order["id"], before)


def test_a_malformed_return_request_is_refused_with_validation_error(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    before = snapshot(api, order["id"])
    path = f"/orders/{order['id']}/returns"
    for body in (
        {"reason": "bored", "items": LAMP, "condition": "unopened"},
        {"reason": "damaged", "items": LAMP, "condition": "like new"},
        {"reason": "damaged", "condition": "unopened"},
    ):
        refused(api, api.post(path, body, as_=buyer), 422, "validation_error", order["id"], before)


def test_a_return_found_in_bad_condition_refunds_nothing(api: Api, rt: Runtime) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    ret = returned_in_transit(api, order, buyer, seller, LAMP)
    body = {"condition_ok": False, "notes": "used and scratched"}
    done = api.ok(api.post(f"/returns/{ret['id']}/receive", body, as_=seller))
    assert done["status"] == "rejected"
    assert done["refund_id"] is None
    after = api.get_order(order["id"], buyer)
    assert after["refunds"] == []
    assert amount(after["refunded_amount"]) == 0
    assert_books_balance(rt.engine)  # type: ignore[attr-defined]


def test_a_return_found_fine_refunds_exactly_its_items(api: Api, rt: Runtime) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    ret = returned_in_transit(api, order, buyer, seller, BULBS)
    assert amount(ret["amount"]) == Decimal("10.00")
    done = api.ok(api.post(f"/returns/{ret['id']}/receive", {"condition_ok": True}, as_=seller))
    assert done["status"] == "refunded"
    after = api.get_order(order["id"], buyer)
    assert [(r["id"], amount(r["amount"]), r["reason"]) for r in after["refunds"]] == [
        (done["refund_id"], Decimal("10.00"), "return")
    ]
    assert amount(after["refunded_amount"]) == Decimal("10.00")
    assert_books_balance(rt.engine)  # type: ignore[attr-defined]


def test_staff_may_inspect_a_return_too(api: Api, rt: Runtime) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    ret = returned_in_transit(api, order, buyer, seller, LAMP)
    done = api.ok(api.post(f"/returns/{ret['id']}/receive", {"condition_ok": True}, as_=api.admin))
    assert done["status"] == "refunded"
    assert amount(api.get_order(order["id"], buyer)["refunded_amount"]) == Decimal("20.00")
    assert_books_balance(rt.engine)  # type: ignore[attr-defined]


def test_the_same_items_cannot_be_returned_twice_but_the_remaining_quantity_can(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    first = returned_in_transit(api, order, buyer, seller, LAMP)
    api.ok(api.post(f"/returns/{first['id']}/receive", {"condition_ok": True}, as_=seller))
    before = snapshot(api, order["id"])
    again = ask_return(api, order, buyer, [{"sku": "SKU-1", "quantity": 2}])
    refused(api, again, 422, "validation_error", order["id"], before)
    second = api.ok(ask_return(api, order, buyer, LAMP), 201)
    before = snapshot(api, order["id"])
    refused(api, ask_return(api, order, buyer, LAMP), 422, "validation_error", order["id"], before)
    assert second["items"] == LAMP
    assert_books_balance(rt.engine)  # type: ignore[attr-defined]


def test_a_rejected_request_frees_its_items_for_a_new_one(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    ret = api.ok(ask_return(api, order, buyer, [{"sku": "SKU-1", "quantity": 2}]), 201)
    rejected = api.ok(api.post(f"/returns/{ret['id']}/reject", {"reason": "no"}, as_=seller))
    assert (rejected["status"], rejected["reject_reason"]) == ("rejected", "no")
    assert api.ok(ask_return(api, order, buyer, LAMP), 201)["status"] == "requested"


def test_a_return_refund_is_capped_at_what_is_still_refundable(api: Api, rt: Runtime) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    ret = returned_in_transit(api, order, buyer, seller, [{"sku": "SKU-1", "quantity": 2}])
    body = {"reason": "damaged", "refund_type": "partial", "amount": "50.00", "description": "x"}
    dispute = api.ok(api.post(f"/orders/{order['id']}/disputes", body, as_=buyer), 201)
    api.ok(api.post(f"/disputes/{dispute['id']}/accept", as_=seller))
    api.ok(api.post(f"/returns/{ret['id']}/receive", {"condition_ok": True}, as_=seller))
    after = api.get_order(order["id"], buyer)
    assert sorted(amount(r["amount"]) for r in after["refunds"]) == [Decimal(10), Decimal(50)]
    assert amount(after["refunded_amount"]) == amount(after["paid_amount"]) == Decimal(60)
    assert_books_balance(rt.engine)  # type: ignore[attr-defined]


def test_a_return_request_the_seller_leaves_unanswered_5_days_is_approved_by_system(
    api: Api,
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    ret = api.ok(ask_return(api, order, buyer, LAMP), 201)
    api.advance(5 * DAY - 1)
    assert api.ok(api.get(f"/returns/{ret['id']}", as_=buyer))["status"] == "requested"
    api.advance(1)
    assert api.ok(api.get(f"/returns/{ret['id']}", as_=buyer))["status"] == "approved"
    events = api.get_order(order["id"], buyer)["timeline"]
    assert ("system", "return_approved") in [(e["actor"], e["event"]) for e in events]


def test_an_approved_return_not_shipped_in_10_days_is_closed(api: Api, rt: Runtime) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    ret = api.ok(ask_return(api, order, buyer, LAMP), 201)
    api.ok(api.post(f"/returns/{ret['id']}/approve", as_=seller))
    api.advance(10 * DAY - 1)
    assert api.ok(api.get(f"/returns/{ret['id']}", as_=buyer))["status"] == "approved"
    api.advance(1)
    closed = api.ok(api.get(f"/returns/{ret['id']}", as_=buyer))
    assert closed["status"] == "closed"
    before = snapshot(api, order["id"])
    ship = {"carrier": "UPS", "tracking_number": "LATE"}
    refused(
        api,
        api.post(f"/returns/{ret['id']}/ship", ship, as_=buyer),
        409,
        "invalid_state",
        order["id"],
        before,
    )
    assert_books_balance(rt.engine)  # type: ignore[attr-defined]


def test_a_return_refund_settles_through_the_sandbox_gateway_after_the_card_delay(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    ret = returned_in_transit(api, order, buyer, seller, LAMP)
    done = api.ok(api.post(f"/returns/{ret['id']}/receive", {"condition_ok": True}, as_=seller))
    assert api.ok(api.get(f"/refunds/{done['refund_id']}", as_=buyer))["status"] == "pending"
    api.advance(1)
    assert api.ok(api.get(f"/refunds/{done['refund_id']}", as_=buyer))["status"] == "processing"
    api.advance(3 * DAY)
    refund = api.ok(api.get(f"/refunds/{done['refund_id']}", as_=buyer))
    assert refund["status"] == "succeeded"
    assert refund["succeeded_at"] is not None
    assert_books_balance(rt.engine)  # type: ignore[attr-defined]


def test_return_actions_check_the_role_then_visibility_then_state(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    stranger, other_seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    ret = api.ok(ask_return(api, order, buyer, LAMP), 201)
    before = snapshot(api, order["id"])
    rid, oid = ret["id"], order["id"]
    ship = {"carrier": "UPS", "tracking_number": "T"}
    refused(api, api.post(f"/returns/{rid}/approve", as_=buyer), 403, "forbidden", oid, before)
    refused(api, ask_return(api, order, seller, LAMP), 403, "forbidden", oid, before)
    refused(api, ask_return(api, order, stranger, LAMP), 404, "not_found", oid, before)
    refused(
        api, api.post(f"/returns/{rid}/approve", as_=other_seller), 404, "not_found", oid, before
    )
    refused(
        api, api.post(f"/returns/{rid}/ship", ship, as_=buyer), 409, "invalid_state", oid, before
    )
    inspect = {"condition_ok": True}
    refused(
        api,
        api.post(f"/returns/{rid}/receive", inspect, as_=seller),
        409,
        "invalid_state",
        oid,
        before,
    )
    refused(
        api,
        api.post(f"/returns/{rid}/reject", {"reason": ""}, as_=seller),
        422,
        "validation_error",
        oid,
        before,
    )
    assert api.get(f"/returns/{rid}", as_=stranger).status_code == 404
    assert api.get(f"/returns/{rid}", as_=None).status_code == 401
    assert api.get("/returns/ret_missing", as_=buyer).status_code == 404
    assert api.ok(api.get(f"/returns/{rid}", as_=api.admin))["id"] == rid
    api.ok(api.post(f"/returns/{rid}/approve", as_=seller))
    before = snapshot(api, oid)
    refused(api, api.post(f"/returns/{rid}/approve", as_=seller), 409, "invalid_state", oid, before)


def test_delivery_and_confirmed_receipt_both_set_delivered_at(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    delivered = api.delivered_order(buyer, seller)
    assert delivered["status"] == "delivered"
    assert delivered["delivered_at"] == api.now().replace("+00:00", "Z")
    shipped = api.shipped_order(buyer, seller)
    assert shipped["delivered_at"] is None
    confirmed = api.ok(api.post(f"/orders/{shipped['id']}/confirm-receipt", as_=buyer))
    assert (confirmed["status"], confirmed["delivered_at"]) == ("delivered", api.now())
    assert "open_return" in confirmed["allowed_actions"]


def test_return_and_dispute_reasons_are_lists_of_codes_and_labels(api: Api) -> None:
    buyer = api.user("buyer")
    for path in ("/return-reasons", "/dispute-reasons"):
        response = api.get(path, as_=buyer)
        assert response.status_code == 200
        reasons = response.json()
        keys = {"code", "label", "seller_fault"} if "return" in path else {"code", "label"}
        assert reasons and all(set(r) == keys for r in reasons)
        assert "other" in [r["code"] for r in reasons]
        assert api.get(path, as_=None).status_code == 401
