"""Idempotency-Key: one key, one effect, one answer, per caller."""

from __future__ import annotations

from typing import Any

from tests.client import Api, Party


def order_body(buyer: Party, seller: Party, sku: str = "SKU-1") -> dict[str, Any]:
    return {
        "buyer_id": buyer.id,
        "seller_id": seller.id,
        "currency": "USD",
        "items": [{"sku": sku, "title": "Lamp", "quantity": 1, "unit_price": "10.00"}],
    }


def count_orders(api: Api, buyer: Party) -> int:
    return len(api.ok(api.get("/orders", as_=buyer))["items"])


def test_a_repeated_order_creation_creates_one_order_and_replays_the_answer(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    body = order_body(buyer, seller)
    first = api.post("/orders", body, as_=api.admin, key="create-1")
    second = api.post("/orders", body, as_=api.admin, key="create-1")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert count_orders(api, buyer) == 1


def test_a_repeated_action_does_nothing_again(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.paid_order(buyer, seller)
    path = f"/orders/{order['id']}/cancel"
    first = api.post(path, {"reason": "other"}, as_=buyer, key="cancel-1")
    second = api.post(path, {"reason": "other"}, as_=buyer, key="cancel-1")
    assert first.status_code == second.status_code == 202
    assert second.json() == first.json()
    seen = api.get_order(order["id"], buyer)
    assert seen["version"] == first.json()["version"]
    assert [e["event"] for e in seen["timeline"]].count("cancellation_requested") == 1


def test_the_same_key_with_another_body_or_path_is_refused(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    api.ok(api.post("/orders", order_body(buyer, seller), as_=api.admin, key="k-1"), 201)
    other_body = api.post("/orders", order_body(buyer, seller, "SKU-2"), as_=api.admin, key="k-1")
    api.problem(other_body, 422, "idempotency_key_reused")
    order = api.order(buyer, seller)
    pay = {"amount": order["total"]["amount"], "method": "card", "reference": "p"}
    other_path = api.post(f"/orders/{order['id']}/payment", pay, as_=api.admin, key="k-1")
    api.problem(other_path, 422, "idempotency_key_reused")
    assert api.get_order(order["id"], buyer)["status"] == "awaiting_payment"
    assert count_orders(api, buyer) == 2


def test_keys_are_scoped_to_the_caller(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order1, order2 = api.paid_order(buyer, seller), api.order(buyer, seller)
    requested = api.post(f"/orders/{order1['id']}/cancel", {"reason": "other"}, as_=buyer, key="s")
    assert requested.status_code == 202
    cancelled = api.post(
        f"/orders/{order2['id']}/seller-cancel", {"reason": "x"}, as_=seller, key="s"
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    other_buyer = api.user("buyer")
    order3 = api.order(other_buyer, seller)
    mine = api.post(f"/orders/{order3['id']}/cancel", {"reason": "other"}, as_=other_buyer, key="s")
    assert mine.status_code == 200 and mine.json()["id"] == order3["id"]


def test_a_refusal_is_stored_and_replayed_even_after_the_state_changes(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.paid_order(buyer, seller)
    path = f"/orders/{order['id']}/ship"
    ship = {"carrier": "DHL", "tracking_number": "T"}
    api.ok(api.post(f"/orders/{order['id']}/cancel", {"reason": "other"}, as_=buyer), 202)
    refused = api.post(path, ship, as_=seller, key="ship-1")
    api.problem(refused, 409, "cancellation_pending")
    reject = {"reason": "too late"}
    api.ok(api.post(f"/orders/{order['id']}/cancellation/reject", reject, as_=seller))
    replayed = api.post(path, ship, as_=seller, key="ship-1")
    assert replayed.status_code == 409 and replayed.json() == refused.json()
    assert replayed.headers["content-type"].startswith("application/problem+json")
    assert api.get_order(order["id"], seller)["status"] == "awaiting_fulfillment"
    assert api.post(path, ship, as_=seller, key="ship-2").status_code == 200


def test_a_validation_error_is_replayed_too(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.order(buyer, seller)
    path = f"/orders/{order['id']}/cancel"
    first = api.post(path, {"reason": "bored"}, as_=buyer, key="v-1")
    api.problem(first, 422, "validation_error")
    second = api.post(path, {"reason": "bored"}, as_=buyer, key="v-1")
    assert second.status_code == 422 and second.json() == first.json()


def test_an_overlong_key_is_a_validation_error(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    response = api.post("/orders", order_body(buyer, seller), as_=api.admin, key="k" * 256)
    api.problem(response, 422, "validation_error")
    assert count_orders(api, buyer) == 0


def test_a_repeat_with_the_same_json_in_another_key_order_is_the_same_request(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    body = order_body(buyer, seller)
    reordered = dict(reversed(list(body.items())))
    first = api.post("/orders", body, as_=api.admin, key="create-reordered")
    second = api.post("/orders", reordered, as_=api.admin, key="create-reordered")
    assert second.status_code == 201
    assert second.json() == first.json()
    assert second.headers.get("idempotent-replayed") == "true"
    assert count_orders(api, buyer) == 1
