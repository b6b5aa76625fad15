"""Partial seller cancellation, the shipping fee and staff goodwill refunds (DOMAIN.md rules
13 and 14), over the API on both databases; the books are checked after each."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aftersale.services.runtime import Runtime
from tests.client import DAY, Api, Party
from tests.integration.ledger_check import (
    amount,
    ask_dispute,
    assert_books_balance,
    refused,
    returned_in_transit,
    snapshot,
)


def books(rt: Runtime) -> None:
    """The books of every order add up."""
    assert_books_balance(rt.engine)  # type: ignore[attr-defined]


def cancel_lines(api: Api, order: dict[str, Any], seller: Party, items: Any) -> Any:
    """The seller cancels some quantities."""
    body = {"reason": "out of stock", "items": items}
    return api.post(f"/orders/{order['id']}/seller-cancel", body, as_=seller)


def qty(order: dict[str, Any]) -> dict[str, int]:
    """Cancelled quantity per SKU."""
    return {i["sku"]: i["cancelled_quantity"] for i in order["items"]}


def test_the_seller_cancels_some_units_and_the_buyer_is_refunded_their_price(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.paid_order(buyer, seller)  # 2 x 20.00 + 3 x 5.00 + 5.00 shipping
    got = api.ok(cancel_lines(api, order, seller, [{"sku": "SKU-1", "quantity": 1}]))
    assert got["status"] == "awaiting_fulfillment"
    assert qty(got) == {"SKU-1": 1, "SKU-2": 0}
    [refund] = got["refunds"]
    assert (amount(refund["amount"]), refund["reason"]) == (Decimal(20), "items_cancelled")
    assert got["timeline"][-2]["event"] == "items_cancelled"
    got = api.ok(cancel_lines(api, order, seller, [{"sku": "SKU-2", "quantity": 2}]))
    assert [amount(r["amount"]) for r in got["refunds"]] == [Decimal(20), Decimal(10)]
    assert amount(got["refunded_amount"]) == Decimal(30)
    books(rt)


def test_cancelling_everything_that_remains_cancels_the_order_and_refunds_the_shipping_fee(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.paid_order(buyer, seller)
    api.ok(cancel_lines(api, order, seller, [{"sku": "SKU-1", "quantity": 2}]))
    rest = [{"sku": "SKU-2", "quantity": 3}]
    got = api.ok(cancel_lines(api, order, seller, rest))
    assert got["status"] == "cancelled" and got["cancelled_by"] == "seller"
    assert [amount(r["amount"]) for r in got["refunds"]] == [Decimal(40), Decimal(20)]
    assert amount(got["refunded_amount"]) == Decimal(60)  # 15.00 of items + 5.00 shipping
    assert qty(got) == {"SKU-1": 2, "SKU-2": 3}
    books(rt)


def test_cancelling_lines_on_an_unpaid_order_lowers_what_the_buyer_pays(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.order(buyer, seller)
    got = api.ok(cancel_lines(api, order, seller, [{"sku": "SKU-2", "quantity": 3}]))
    assert (got["status"], amount(got["total"]), got["refunds"]) == (
        "awaiting_payment",
        Decimal(45),
        [],
    )
    paid = api.pay(got)
    assert amount(paid["paid_amount"]) == Decimal(45)


def test_lines_not_on_the_order_or_more_than_remain_are_refused(api: Api, rt: Runtime) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.paid_order(buyer, seller)
    api.ok(cancel_lines(api, order, seller, [{"sku": "SKU-1", "quantity": 1}]))
    before = snapshot(api, order["id"])
    for items in (
        [{"sku": "SKU-9", "quantity": 1}],
        [{"sku": "SKU-1", "quantity": 2}],
        [{"sku": "SKU-1", "quantity": 0}],
        [],
    ):
        response = cancel_lines(api, order, seller, items)
        refused(api, response, 422, "validation_error", order["id"], before)
    shipped = api.shipped_order(buyer, seller)
    before = snapshot(api, shipped["id"])
    response = cancel_lines(api, shipped, seller, [{"sku": "SKU-1", "quantity": 1}])
    refused(api, response, 409, "order_already_shipped", shipped["id"], before)
    books(rt)


def test_returns_count_only_quantities_that_were_not_cancelled(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.paid_order(buyer, seller)
    api.ok(cancel_lines(api, order, seller, [{"sku": "SKU-1", "quantity": 1}]))
    api.ok(
        api.post(
            f"/orders/{order['id']}/ship", {"carrier": "D", "tracking_number": "1"}, as_=seller
        )
    )
    api.ok(api.post(f"/orders/{order['id']}/deliver", as_=api.admin))
    body = {"reason": "no_longer_needed", "items": [{"sku": "SKU-1", "quantity": 2}]}
    response = api.post(
        f"/orders/{order['id']}/returns", {**body, "condition": "unopened"}, as_=buyer
    )
    api.problem(response, 422, "validation_error")
    body["items"] = [{"sku": "SKU-1", "quantity": 1}]
    api.ok(
        api.post(f"/orders/{order['id']}/returns", {**body, "condition": "unopened"}, as_=buyer),
        201,
    )


def test_a_seller_fault_return_of_everything_refunds_the_shipping_fee_too(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    everything = [{"sku": "SKU-1", "quantity": 2}, {"sku": "SKU-2", "quantity": 3}]
    ret = returned_in_transit(api, order, buyer, seller, everything)  # not_as_described
    assert amount(ret["amount"]) == Decimal(60)
    api.ok(api.post(f"/returns/{ret['id']}/receive", {"condition_ok": True}, as_=seller))
    got = api.get_order(order["id"], buyer)
    assert amount(got["refunded_amount"]) == Decimal(60)
    assert {i["sku"]: i["returned_quantity"] for i in got["items"]} == {"SKU-1": 2, "SKU-2": 3}
    books(rt)


def test_a_return_that_is_not_the_sellers_fault_refunds_item_prices_only(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    everything = [{"sku": "SKU-1", "quantity": 2}, {"sku": "SKU-2", "quantity": 3}]
    body = {"reason": "no_longer_needed", "items": everything, "condition": "unopened"}
    ret = api.ok(api.post(f"/orders/{order['id']}/returns", body, as_=buyer), 201)
    assert amount(ret["amount"]) == Decimal(55)
    partial = api.delivered_order(buyer, seller)
    some = returned_in_transit(api, partial, buyer, seller, [{"sku": "SKU-1", "quantity": 2}])
    assert amount(some["amount"]) == Decimal(40)  # seller's fault, but not everything
    reasons = api.ok(api.get("/return-reasons", as_=buyer))
    fault = {r["code"]: r["seller_fault"] for r in reasons}  # type: ignore[union-attr]
    assert fault["defective"] and fault["not_as_described"] and not fault["no_longer_needed"]
    books(rt)


def test_staff_make_a_goodwill_refund_within_what_is_still_refundable(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.shipped_order(buyer, seller)
    body = {"amount": "12.50", "reason": "sorry for the delay"}
    refund = api.ok(api.post(f"/orders/{order['id']}/refunds", body, as_=api.admin), 201)
    assert (amount(refund["amount"]), refund["status"]) == (Decimal("12.50"), "pending")
    assert refund["note"] == "sorry for the delay"
    got = api.get_order(order["id"], buyer)
    entry = [e for e in got["timeline"] if e["event"] == "refund_created"][-1]
    assert entry["actor"] == "platform"
    before = snapshot(api, order["id"])
    too_much = {"amount": "47.51", "reason": "more"}
    response = api.post(f"/orders/{order['id']}/refunds", too_much, as_=api.admin)
    refused(api, response, 422, "refund_exceeds_paid", order["id"], before)
    for who in (buyer, seller):
        response = api.post(f"/orders/{order['id']}/refunds", body, as_=who)
        refused(api, response, 403, "forbidden", order["id"], before)
    for bad in ({"amount": "0", "reason": "x"}, {"amount": "5.00", "reason": ""}):
        response = api.post(f"/orders/{order['id']}/refunds", bad, as_=api.admin)
        refused(api, response, 422, "validation_error", order["id"], before)
    books(rt)


def test_goodwill_refunds_are_refused_on_unpaid_cancelled_and_completed_orders(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    unpaid = api.order(buyer, seller)
    cancelled = api.paid_order(buyer, seller)
    api.ok(api.post(f"/orders/{cancelled['id']}/seller-cancel", {"reason": "x"}, as_=seller))
    completed = api.delivered_order(buyer, seller)
    api.advance(16 * DAY)
    body = {"amount": "1.00", "reason": "goodwill"}
    for order in (unpaid, cancelled, completed):
        before = snapshot(api, order["id"])
        response = api.post(f"/orders/{order['id']}/refunds", body, as_=api.admin)
        refused(api, response, 409, "invalid_state", order["id"], before)
    books(rt)


def test_a_full_dispute_after_a_goodwill_refund_asks_only_for_what_is_left(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    body = {"amount": "10.00", "reason": "late"}
    api.ok(api.post(f"/orders/{order['id']}/refunds", body, as_=api.admin), 201)
    dispute = api.ok(ask_dispute(api, order, buyer), 201)
    assert amount(dispute["requested_amount"]) == Decimal(50)
