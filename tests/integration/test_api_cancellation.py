"""Rules 1, 2, 3 and 7 over the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.client import HOUR, Api, Party


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def parties(api: Api) -> tuple[Party, Party]:
    return api.user("buyer"), api.user("seller")


def request_cancel(api: Api, order_id: str, buyer: Party) -> dict:  # type: ignore[type-arg]
    return api.ok(
        api.post(f"/orders/{order_id}/cancel", {"reason": "changed_mind"}, as_=buyer), 202
    )


def test_cancellation_reasons_are_listed_with_codes_and_labels(api: Api) -> None:
    buyer = api.user("buyer")
    reasons = api.ok(api.get("/cancellation-reasons", as_=buyer))
    codes = {r["code"] for r in reasons}  # type: ignore[attr-defined]
    assert {"changed_mind", "better_price", "wrong_address", "ordered_by_mistake"} <= codes
    assert all(r["label"] for r in reasons)  # type: ignore[attr-defined]


def test_an_unpaid_order_is_cancelled_at_once_without_a_refund(api: Api) -> None:
    buyer, seller = parties(api)
    order = api.order(buyer, seller)
    done = api.ok(api.post(f"/orders/{order['id']}/cancel", {"reason": "wrong_address"}, as_=buyer))
    assert done["status"] == "cancelled" and done["refunds"] == []
    assert done["refunded_amount"]["amount"] == "0.00"
    assert done["timeline"][-1]["event"] == "cancelled"
    assert done["timeline"][-1]["actor"] == "buyer"
    assert "cancel" not in done["allowed_actions"]


def test_an_unknown_reason_is_refused_and_changes_nothing(api: Api) -> None:
    buyer, seller = parties(api)
    for order in (api.order(buyer, seller), api.paid_order(buyer, seller)):
        before = api.get_order(order["id"], buyer)
        for body in ({"reason": "bored"}, {}, {"reason": 3}):
            api.problem(
                api.post(f"/orders/{order['id']}/cancel", body, as_=buyer), 422, "validation_error"
            )
        after = api.get_order(order["id"], buyer)
        assert after["status"] == before["status"]
        assert after["version"] == before["version"]
        assert len(after["timeline"]) == len(before["timeline"])
        assert after["cancellation"] is None


@pytest.mark.parametrize("packed", [False, True])
def test_a_paid_unshipped_order_gets_a_request_due_in_72_hours(api: Api, packed: bool) -> None:
    buyer, seller = parties(api)
    order = api.paid_order(buyer, seller)
    if packed:
        order = api.ok(api.post(f"/orders/{order['id']}/pack", as_=seller))
    api.advance(123)
    requested = request_cancel(api, order["id"], buyer)
    assert requested["status"] == order["status"]
    c = requested["cancellation"]
    assert c["status"] == "pending" and c["reason"] == "changed_mind"
    assert at(c["requested_at"]) == at(api.now())
    assert at(c["respond_by"]) - at(c["requested_at"]) == timedelta(hours=72)
    assert requested["timeline"][-1]["event"] == "cancellation_requested"
    seller_view = api.get_order(order["id"], seller)
    assert {"accept_cancellation", "reject_cancellation"} <= set(seller_view["allowed_actions"])
    assert "ship" not in seller_view["allowed_actions"]


def test_the_seller_accepting_cancels_with_exactly_one_full_refund(api: Api) -> None:
    buyer, seller = parties(api)
    order = api.paid_order(buyer, seller)
    request_cancel(api, order["id"], buyer)
    done = api.ok(api.post(f"/orders/{order['id']}/cancellation/accept", as_=seller))
    assert done["status"] == "cancelled"
    assert done["cancellation"]["status"] == "accepted"
    assert [r["amount"] for r in done["refunds"]] == [order["total"]]
    assert done["refunded_amount"] == order["total"]
    again = api.post(f"/orders/{order['id']}/cancellation/accept", as_=seller)
    api.problem(again, 409, "no_pending_cancellation")
    assert len(api.get_order(order["id"], buyer)["refunds"]) == 1


def test_a_rejected_request_lets_the_order_go_on_and_cannot_be_repeated(api: Api) -> None:
    buyer, seller = parties(api)
    order = api.paid_order(buyer, seller)
    request_cancel(api, order["id"], buyer)
    rejected = api.ok(
        api.post(
            f"/orders/{order['id']}/cancellation/reject", {"reason": "already packed"}, as_=seller
        )
    )
    assert rejected["status"] == "awaiting_fulfillment"
    seen = api.get_order(order["id"], buyer)
    assert seen["cancellation"]["status"] == "rejected"
    assert seen["cancellation"]["reject_reason"] == "already packed"
    assert "request_cancellation" not in seen["allowed_actions"]
    assert "message" in seen["allowed_actions"]
    again = api.post(f"/orders/{order['id']}/cancel", {"reason": "other"}, as_=buyer)
    api.problem(again, 409, "cancellation_already_rejected")
    msg = api.post(f"/orders/{order['id']}/messages", {"body": "why not?"}, as_=buyer)
    assert api.ok(msg, 201)["body"] == "why not?"
    api.ok(
        api.post(
            f"/orders/{order['id']}/ship", {"carrier": "DHL", "tracking_number": "T"}, as_=seller
        )
    )


def test_a_reject_reason_must_be_1_to_500_characters(api: Api) -> None:
    buyer, seller = parties(api)
    order = api.paid_order(buyer, seller)
    request_cancel(api, order["id"], buyer)
    path = f"/orders/{order['id']}/cancellation/reject"
    for reason in ("", "x" * 501):
        api.problem(api.post(path, {"reason": reason}, as_=seller), 422, "validation_error")
    assert api.get_order(order["id"], buyer)["cancellation"]["status"] == "pending"


def test_asking_twice_while_pending_is_refused(api: Api) -> None:
    buyer, seller = parties(api)
    order = api.paid_order(buyer, seller)
    request_cancel(api, order["id"], buyer)
    again = api.post(f"/orders/{order['id']}/cancel", {"reason": "other"}, as_=buyer)
    api.problem(again, 409, "cancellation_already_requested")


def test_no_answer_auto_accepts_at_72_hours_and_not_a_second_earlier(api: Api) -> None:
    buyer, seller = parties(api)
    order = api.paid_order(buyer, seller)
    request_cancel(api, order["id"], buyer)
    api.advance(72 * HOUR - 1)
    waiting = api.get_order(order["id"], buyer)
    assert waiting["status"] == "awaiting_fulfillment" and waiting["refunds"] == []
    assert waiting["cancellation"]["status"] == "pending"
    api.advance(1)
    after = api.get_order(order["id"], buyer)
    assert after["status"] == "cancelled"
    assert after["cancellation"]["status"] == "auto_accepted"
    assert after["cancellation"]["responded_at"] == after["cancellation"]["respond_by"]
    assert [r["amount"] for r in after["refunds"]] == [order["total"]]
    auto = [e for e in after["timeline"] if e["event"] == "cancellation_auto_accepted"]
    assert len(auto) == 1 and auto[0]["actor"] == "system"
    assert "automatically" in auto[0]["detail"]


def test_shipping_while_a_request_is_pending_is_refused(api: Api) -> None:
    buyer, seller = parties(api)
    order = api.paid_order(buyer, seller)
    request_cancel(api, order["id"], buyer)
    shipped = api.post(
        f"/orders/{order['id']}/ship", {"carrier": "DHL", "tracking_number": "T"}, as_=seller
    )
    api.problem(shipped, 409, "cancellation_pending")
    assert api.get_order(order["id"], seller)["status"] == "awaiting_fulfillment"


def test_accept_and_reject_with_nothing_pending_are_refused(api: Api) -> None:
    buyer, seller = parties(api)
    order = api.paid_order(buyer, seller)
    api.problem(
        api.post(f"/orders/{order['id']}/cancellation/accept", as_=seller),
        409,
        "no_pending_cancellation",
    )
    reject = api.post(f"/orders/{order['id']}/cancellation/reject", {"reason": "no"}, as_=seller)
    api.problem(reject, 409, "no_pending_cancellation")


def test_seller_cancel_of_a_paid_order_refunds_in_full_and_accepts_the_request(api: Api) -> None:
    buyer, seller = parties(api)
    order = api.paid_order(buyer, seller)
    request_cancel(api, order["id"], buyer)
    done = api.ok(
        api.post(f"/orders/{order['id']}/seller-cancel", {"reason": "out of stock"}, as_=seller)
    )
    assert done["status"] == "cancelled"
    assert done["cancellation"]["status"] == "accepted"
    assert [r["amount"] for r in done["refunds"]] == [order["total"]]
    cancelled = [e for e in done["timeline"] if e["event"] == "cancelled"]
    assert cancelled[-1]["actor"] == "seller" and "out of stock" in cancelled[-1]["detail"]
    accepted = [e for e in done["timeline"] if e["event"] == "cancellation_accepted"]
    assert [e["actor"] for e in accepted] == ["seller"]
    assert "message" in api.get_order(order["id"], buyer)["allowed_actions"]


def test_seller_cancel_of_an_unpaid_order_refunds_nothing(api: Api) -> None:
    buyer, seller = parties(api)
    order = api.order(buyer, seller)
    done = api.ok(
        api.post(f"/orders/{order['id']}/seller-cancel", {"reason": "no stock"}, as_=seller)
    )
    assert done["status"] == "cancelled" and done["refunds"] == []


def test_once_shipped_nobody_can_cancel_and_nothing_offers_it(api: Api) -> None:
    buyer, seller = parties(api)
    for order in (api.shipped_order(buyer, seller), api.delivered_order(buyer, seller)):
        oid = order["id"]
        refused = api.problem(
            api.post(f"/orders/{oid}/cancel", {"reason": "other"}, as_=buyer),
            409,
            "order_already_shipped",
        )
        assert "return" in refused["detail"] and "dispute" in refused["detail"]
        api.problem(
            api.post(f"/orders/{oid}/seller-cancel", {"reason": "x"}, as_=seller),
            409,
            "order_already_shipped",
        )
        for party in (buyer, seller, api.admin):
            offered = set(api.get_order(oid, party)["allowed_actions"])
            assert not offered & {"cancel", "request_cancellation", "seller_cancel"}


def test_a_cancelled_order_cannot_be_cancelled_again(api: Api) -> None:
    buyer, seller = parties(api)
    order = api.order(buyer, seller)
    api.ok(api.post(f"/orders/{order['id']}/cancel", {"reason": "other"}, as_=buyer))
    again = api.post(f"/orders/{order['id']}/cancel", {"reason": "other"}, as_=buyer)
    api.problem(again, 409, "order_already_cancelled")
    by_seller = api.post(f"/orders/{order['id']}/seller-cancel", {"reason": "x"}, as_=seller)
    api.problem(by_seller, 409, "order_already_cancelled")


def test_the_timeline_records_each_step_of_a_cancellation_with_its_actor(api: Api) -> None:
    buyer, seller = parties(api)
    order = api.paid_order(buyer, seller)
    request_cancel(api, order["id"], buyer)
    done = api.ok(api.post(f"/orders/{order['id']}/cancellation/accept", as_=seller))
    assert [(e["event"], e["actor"]) for e in done["timeline"]] == [
        ("placed", "platform"),
        ("paid", "platform"),
        ("cancellation_requested", "buyer"),
        ("cancellation_accepted", "seller"),
        ("cancelled", "seller"),
        ("refund_created", "system"),
    ]
    assert "60.00 USD" in done["timeline"][-1]["detail"]
