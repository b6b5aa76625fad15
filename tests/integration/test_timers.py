"""Timers that protect both sides (DOMAIN.md rules 10–12), over the API on both databases."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from aftersale.services.runtime import Runtime
from tests.client import DAY, HOUR, Api
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


def at(value: str) -> datetime:
    """An RFC 3339 time of the API."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def ship(api: Api, order: dict[str, object], seller: object) -> dict[str, object]:
    """The seller ships the order."""
    body = {"carrier": "DHL", "tracking_number": "T1"}
    return api.ok(api.post(f"/orders/{order['id']}/ship", body, as_=seller))  # type: ignore[arg-type]


def test_ship_by_is_paid_at_plus_the_processing_time_and_null_before_payment(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    placed = api.order(buyer, seller)
    assert placed["ship_by"] is None and placed["protection_ends_at"] is None
    paid = api.pay(placed)
    assert at(paid["ship_by"]) - at(paid["paid_at"]) == timedelta(days=7)
    body = {
        "buyer_id": buyer.id,
        "seller_id": seller.id,
        "currency": "USD",
        "items": [{"sku": "A", "title": "A", "quantity": 1, "unit_price": "10.00"}],
        "ship_by_days": 3,
        "delivery_days": 20,
    }
    own = api.pay(api.ok(api.post("/orders", body, as_=api.admin), 201))
    assert at(own["ship_by"]) - at(own["paid_at"]) == timedelta(days=3)
    shipped = ship(api, own, seller)
    assert at(shipped["protection_ends_at"]) - at(shipped["shipped_at"]) == timedelta(days=20)


def test_processing_and_delivery_days_out_of_range_are_refused(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    item = [{"sku": "A", "title": "A", "quantity": 1, "unit_price": "10.00"}]
    for field, value in (
        ("ship_by_days", 0),
        ("ship_by_days", 31),
        ("delivery_days", 0),
        ("delivery_days", 91),
    ):
        body = {"buyer_id": buyer.id, "seller_id": seller.id, "currency": "USD", "items": item}
        api.problem(
            api.post("/orders", {**body, field: value}, as_=api.admin), 422, "validation_error"
        )
    assert api.ok(api.get("/orders", as_=buyer))["items"] == []


def test_an_order_not_shipped_by_ship_by_is_cancelled_and_refunded_by_the_system(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.paid_order(buyer, seller)
    api.advance(7 * DAY - 1)
    assert api.get_order(order["id"], buyer)["status"] == "awaiting_fulfillment"
    api.advance(1)
    done = api.get_order(order["id"], buyer)
    assert (done["status"], done["cancelled_by"]) == ("cancelled", "system")
    [refund] = done["refunds"]
    assert (refund["reason"], amount(refund["amount"])) == ("seller_did_not_ship", Decimal(60))
    cancelled = [e for e in done["timeline"] if e["event"] == "cancelled"]
    assert cancelled[-1]["actor"] == "system"
    assert "did not ship in time" in cancelled[-1]["detail"]
    books(rt)


def test_a_pending_request_is_auto_accepted_when_the_order_misses_ship_by(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.paid_order(buyer, seller)
    api.advance(6 * DAY)  # the 72-hour answer would fall after ship_by
    api.ok(api.post(f"/orders/{order['id']}/cancel", {"reason": "changed_mind"}, as_=buyer), 202)
    api.advance(DAY)
    done = api.get_order(order["id"], buyer)
    assert done["status"] == "cancelled"
    assert done["cancellation"]["status"] == "auto_accepted"
    assert [r["reason"] for r in done["refunds"]] == ["seller_did_not_ship"]


def test_a_shipped_order_is_not_cancelled_at_ship_by(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.shipped_order(buyer, seller)
    api.advance(8 * DAY)
    assert api.get_order(order["id"], buyer)["status"] == "shipped"


def test_protection_end_confirms_receipt_and_the_order_then_completes(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.shipped_order(buyer, seller)
    api.advance(60 * DAY - 1)
    assert api.get_order(order["id"], buyer)["status"] == "shipped"
    api.advance(1)
    got = api.get_order(order["id"], buyer)
    assert got["status"] == "delivered" and got["delivered_at"] == got["protection_ends_at"]
    entry = got["timeline"][-1]
    assert (entry["event"], entry["actor"]) == ("delivered", "system")
    assert "protection" in entry["detail"]
    assert "open_return" in got["allowed_actions"]  # the windows run from now
    api.advance(15 * DAY + 1)
    assert api.get_order(order["id"], buyer)["status"] == "completed"
    books(rt)


def test_the_seller_extends_protection_and_receipt_waits_for_the_new_end(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.shipped_order(buyer, seller)
    assert "extend_protection" in api.get_order(order["id"], seller)["allowed_actions"]
    assert "extend_protection" not in api.get_order(order["id"], buyer)["allowed_actions"]
    ends = at(order["protection_ends_at"])
    got = api.ok(api.post(f"/orders/{order['id']}/extend-protection", {"days": 10}, as_=seller))
    assert at(got["protection_ends_at"]) == ends + timedelta(days=10)
    assert got["timeline"][-1]["event"] == "protection_extended"
    got = api.ok(api.post(f"/orders/{order['id']}/extend-protection", {"days": 5}, as_=api.admin))
    assert at(got["protection_ends_at"]) == ends + timedelta(days=15)
    api.advance(60 * DAY)
    assert api.get_order(order["id"], buyer)["status"] == "shipped"
    api.advance(15 * DAY)
    assert api.get_order(order["id"], buyer)["status"] == "delivered"


def test_extend_protection_is_refused_for_the_buyer_and_for_unshipped_orders(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    paid = api.paid_order(buyer, seller)
    path = f"/orders/{paid['id']}/extend-protection"
    before = snapshot(api, paid["id"])
    refused(api, api.post(path, {"days": 5}, as_=seller), 409, "invalid_state", paid["id"], before)
    refused(api, api.post(path, {"days": 5}, as_=buyer), 403, "forbidden", paid["id"], before)
    shipped = api.shipped_order(buyer, seller)
    path = f"/orders/{shipped['id']}/extend-protection"
    before = snapshot(api, shipped["id"])
    for days in (0, 31, "x"):
        response = api.post(path, {"days": days}, as_=seller)
        refused(api, response, 422, "validation_error", shipped["id"], before)
    other = api.user("seller")
    refused(api, api.post(path, {"days": 5}, as_=other), 404, "not_found", shipped["id"], before)


def test_a_non_receipt_dispute_opens_from_day_10_until_protection_ends(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    early, late = api.shipped_order(buyer, seller), api.shipped_order(buyer, seller)
    api.advance(10 * DAY - 1)
    before = snapshot(api, early["id"])
    refused(api, ask_dispute(api, early, buyer), 409, "order_not_delivered", early["id"], before)
    api.advance(1)
    assert api.ok(ask_dispute(api, early, buyer), 201)["status"] == "open"
    assert "open_dispute" in api.get_order(late["id"], buyer)["allowed_actions"]
    books(rt)


def test_receipt_waits_for_an_open_dispute_and_is_confirmed_when_it_ends(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.shipped_order(buyer, seller)
    api.advance(58 * DAY)
    dispute = api.ok(ask_dispute(api, order, buyer, "20.00"), 201)
    api.ok(api.post(f"/disputes/{dispute['id']}/reject", {"reason": "it shipped"}, as_=seller))
    api.advance(3 * DAY)  # protection ended meanwhile; the dispute is still going
    assert api.get_order(order["id"], buyer)["status"] == "shipped"
    api.ok(api.post(f"/disputes/{dispute['id']}/escalate", as_=buyer))
    decision = {"refund_amount": "20.00", "note": "carrier lost it"}
    api.ok(api.post(f"/disputes/{dispute['id']}/resolve", decision, as_=api.admin))
    got = api.get_order(order["id"], buyer)
    assert got["status"] == "delivered"
    assert got["timeline"][-1]["event"] == "delivered"
    api.advance(16 * DAY)
    done = api.get_order(order["id"], buyer)
    assert done["status"] == "completed"
    assert amount(done["refunded_amount"]) == Decimal(20)
    books(rt)


def test_a_fully_refunded_non_receipt_order_completes_after_protection(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.shipped_order(buyer, seller)
    api.advance(10 * DAY)
    dispute = api.ok(ask_dispute(api, order, buyer), 201)
    api.ok(api.post(f"/disputes/{dispute['id']}/accept", as_=seller))
    api.advance(51 * DAY + 16 * DAY)
    done = api.get_order(order["id"], buyer)
    assert done["status"] == "completed"
    assert amount(done["refunded_amount"]) == Decimal(60)
    books(rt)


def test_a_returned_parcel_not_received_in_15_days_is_refunded_by_the_system(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    ret = returned_in_transit(api, order, buyer, seller, [{"sku": "SKU-2", "quantity": 1}])
    assert at(ret["receive_by"]) - at(ret["shipped_at"]) == timedelta(days=15)
    api.advance(15 * DAY - HOUR)
    assert api.ok(api.get(f"/returns/{ret['id']}", as_=buyer))["status"] == "in_transit"
    api.advance(HOUR)
    got = api.ok(api.get(f"/returns/{ret['id']}", as_=buyer))
    assert got["status"] == "refunded" and got["refund_id"]
    timeline = api.get_order(order["id"], buyer)["timeline"]
    received = [e for e in timeline if e["event"] == "return_received"]
    assert received[-1]["actor"] == "system"
    refund = api.ok(api.get(f"/refunds/{got['refund_id']}", as_=buyer))
    assert amount(refund["amount"]) == Decimal(5)
    books(rt)
