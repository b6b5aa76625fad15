"""Orders over the API: placing, paying, fulfilment, listing and the timeline."""

from __future__ import annotations

from tests.client import Api, Party

ORDER_KEYS = {
    "id", "status", "buyer_id", "seller_id", "currency", "items", "total", "paid_amount",
    "refunded_amount", "created_at", "paid_at", "shipped_at", "delivered_at", "allowed_actions",
    "cancellation", "refunds", "returns", "disputes", "timeline",
}  # fmt: skip


def ship_body() -> dict[str, str]:
    return {"carrier": "DHL", "tracking_number": "TRK-9"}


def test_a_new_order_awaits_payment_with_the_whole_documented_shape(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.order(buyer, seller)
    assert set(order) >= ORDER_KEYS
    assert order["status"] == "awaiting_payment"
    assert (order["buyer_id"], order["seller_id"]) == (buyer.id, seller.id)
    assert order["total"] == {"amount": "60.00", "currency": "USD"}
    assert order["paid_amount"]["amount"] == "0.00"
    assert order["created_at"].endswith("Z") and order["paid_at"] is None
    assert order["cancellation"] is None and order["refunds"] == []
    assert order["timeline"][0]["event"] == "placed"
    assert order["timeline"][0]["actor"] == "platform"


def test_an_order_with_bad_lines_is_a_validation_error(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    line = {"sku": "A", "title": "A", "quantity": 1, "unit_price": "1.00"}
    for bad in (
        {"items": []},
        {"items": [{**line, "unit_price": "1.001"}]},
        {"items": [{**line, "quantity": 0}]},
        {"items": [line, line]},
        {"items": [line], "currency": "XXX"},
        {"items": [line], "buyer_id": seller.id},
    ):
        body = {"buyer_id": buyer.id, "seller_id": seller.id, "currency": "USD", **bad}
        api.problem(api.post("/orders", body, as_=api.admin), 422, "validation_error")
    assert api.ok(api.get("/orders", as_=buyer))["items"] == []


def test_payment_moves_the_order_to_awaiting_fulfillment_once(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.order(buyer, seller)
    path = f"/orders/{order['id']}/payment"
    wrong = api.post(path, {"amount": "59.99", "method": "card", "reference": "p"}, as_=api.admin)
    api.problem(wrong, 422, "payment_amount_mismatch")
    assert api.get_order(order["id"], buyer)["status"] == "awaiting_payment"
    paid = api.pay(order)
    assert paid["status"] == "awaiting_fulfillment"
    assert paid["paid_amount"] == order["total"] and paid["paid_at"] is not None
    assert paid["timeline"][-1]["event"] == "paid"
    again = api.post(path, {"amount": "60.00", "method": "card", "reference": "p"}, as_=api.admin)
    api.problem(again, 409, "invalid_state")


def test_pack_ship_and_deliver_walk_the_statuses_with_the_right_actors(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.paid_order(buyer, seller)
    oid = order["id"]
    api.problem(api.post(f"/orders/{oid}/deliver", as_=api.admin), 409, "invalid_state")
    packed = api.ok(api.post(f"/orders/{oid}/pack", as_=seller))
    assert packed["status"] == "awaiting_shipment"
    api.problem(api.post(f"/orders/{oid}/pack", as_=seller), 409, "invalid_state")
    shipped = api.ok(api.post(f"/orders/{oid}/ship", ship_body(), as_=seller))
    assert shipped["status"] == "shipped" and shipped["shipped_at"] is not None
    assert "confirm_receipt" in api.get_order(oid, buyer)["allowed_actions"]
    api.problem(api.post(f"/orders/{oid}/ship", ship_body(), as_=seller), 409, "invalid_state")
    delivered = api.ok(api.post(f"/orders/{oid}/confirm-receipt", as_=buyer))
    assert delivered["status"] == "delivered" and delivered["delivered_at"] is not None
    events = [(e["event"], e["actor"]) for e in delivered["timeline"]]
    assert events == [
        ("placed", "platform"),
        ("paid", "platform"),
        ("packed", "seller"),
        ("shipped", "seller"),
        ("delivered", "buyer"),
    ]
    times = [e["at"] for e in delivered["timeline"]]
    assert times == sorted(times)


def test_an_order_can_ship_without_packing_and_the_carrier_can_deliver_it(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.paid_order(buyer, seller)
    shipped = api.ok(api.post(f"/orders/{order['id']}/ship", ship_body(), as_=seller))
    assert shipped["status"] == "shipped"
    delivered = api.ok(api.post(f"/orders/{order['id']}/deliver", as_=api.admin))
    assert delivered["status"] == "delivered"
    assert delivered["timeline"][-1]["actor"] == "platform"


def _ids(api: Api, party: Party, **params: object) -> list[str]:
    return [o["id"] for o in api.ok(api.get("/orders", as_=party, **params))["items"]]


def test_orders_are_listed_newest_first_and_filtered_by_status(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    first = api.order(buyer, seller)
    api.advance(1)
    second = api.paid_order(buyer, seller)
    api.advance(1)
    third = api.order(buyer, seller)
    assert _ids(api, buyer) == [third["id"], second["id"], first["id"]]
    assert _ids(api, buyer, status="awaiting_fulfillment") == [second["id"]]
    assert _ids(api, buyer, status="awaiting_payment") == [third["id"], first["id"]]
    assert _ids(api, buyer, status="shipped") == []
    api.problem(api.get("/orders", as_=buyer, status="lost"), 422, "validation_error")


def test_cursor_paging_returns_every_order_once(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    made = [api.order(buyer, seller)["id"] for _ in range(7)]  # several share a created_at
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, object] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.ok(api.get("/orders", as_=buyer, **params))
        assert len(page["items"]) <= 3
        seen += [o["id"] for o in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7
    assert seen == list(reversed(made))


def test_limit_must_be_between_1_and_200_and_cursors_must_be_ours(api: Api) -> None:
    buyer = api.user("buyer")
    for limit in (0, 201, -1):
        api.problem(api.get("/orders", as_=buyer, limit=limit), 422, "validation_error")
    api.problem(api.get("/orders", as_=buyer, limit="many"), 422, "validation_error")
    api.problem(api.get("/orders", as_=buyer, cursor="not-a-cursor"), 422, "validation_error")
    assert api.ok(api.get("/orders", as_=buyer, limit=200))["next_cursor"] is None


def test_buyers_see_their_orders_sellers_their_stores_and_admins_all(api: Api) -> None:
    b1, b2 = api.user("buyer"), api.user("buyer")
    s1, s2 = api.user("seller"), api.user("seller")
    o11, o12, o21 = api.order(b1, s1), api.order(b1, s2), api.order(b2, s1)
    assert set(_ids(api, b1)) == {o11["id"], o12["id"]}
    assert set(_ids(api, b2)) == {o21["id"]}
    assert set(_ids(api, s1)) == {o11["id"], o21["id"]}
    assert set(_ids(api, s2)) == {o12["id"]}
    assert {o11["id"], o12["id"], o21["id"]} <= set(_ids(api, api.admin))
