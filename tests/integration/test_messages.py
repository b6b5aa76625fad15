"""The order's message thread over the API, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from tests.client import Api, Party


def say(api: Api, order_id: str, who: Party, body: Any) -> Any:
    """POST a message as a party."""
    return api.post(f"/orders/{order_id}/messages", {"body": body}, as_=who)


def thread(api: Api, order_id: str, who: Party, **params: Any) -> dict[str, Any]:
    """A page of the thread as a party reads it."""
    return api.ok(api.get(f"/orders/{order_id}/messages", as_=who, **params))


def test_the_buyer_the_seller_and_staff_write_one_thread_read_oldest_first(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.paid_order(buyer, seller)
    first = api.ok(say(api, order["id"], buyer, "Where is my lamp?"), 201)
    assert set(first) == {"id", "author_role", "body", "at"}
    api.ok(say(api, order["id"], seller, "  Shipping tomorrow  "), 201)
    api.ok(say(api, order["id"], api.admin, "Staff here: noted."), 201)
    for who in (buyer, seller, api.admin):
        page = thread(api, order["id"], who)
        assert [(m["author_role"], m["body"]) for m in page["items"]] == [
            ("buyer", "Where is my lamp?"),
            ("seller", "Shipping tomorrow"),
            ("platform", "Staff here: noted."),
        ]
        assert page["next_cursor"] is None
    other = api.paid_order(buyer, seller)
    assert thread(api, other["id"], buyer)["items"] == []


def test_strangers_get_404_for_reading_and_writing_a_thread(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.paid_order(buyer, seller)
    api.ok(say(api, order["id"], buyer, "hello"), 201)
    for stranger in (api.user("buyer"), api.user("seller")):
        for response in (
            say(api, order["id"], stranger, "let me in"),
            api.get(f"/orders/{order['id']}/messages", as_=stranger),
        ):
            assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert say(api, "ord_missing", buyer, "x").status_code == 404
    assert api.get(f"/orders/{order['id']}/messages", as_=None).status_code == 401
    assert [m["body"] for m in thread(api, order["id"], buyer)["items"]] == ["hello"]


def test_a_body_must_be_1_to_2000_characters(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.paid_order(buyer, seller)
    for body in ("", "   ", "x" * 2001, 42, None):
        response = say(api, order["id"], buyer, body)
        assert (response.status_code, response.json()["code"]) == (422, "validation_error")
    assert thread(api, order["id"], buyer)["items"] == []
    assert api.ok(say(api, order["id"], buyer, "x" * 2000), 201)["body"] == "x" * 2000
    assert api.ok(say(api, order["id"], buyer, "y"), 201)["body"] == "y"


def test_the_thread_pages_with_a_cursor_oldest_first(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.paid_order(buyer, seller)
    for n in range(5):
        api.ok(say(api, order["id"], buyer if n % 2 else seller, f"m{n}"), 201)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = thread(api, order["id"], buyer, **params)
        seen += [m["body"] for m in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert (seen, pages) == (["m0", "m1", "m2", "m3", "m4"], 3)
    for bad in ({"cursor": "abc"}, {"limit": 0}, {"limit": 201}):
        response = api.get(f"/orders/{order['id']}/messages", as_=buyer, **bad)
        assert (response.status_code, response.json()["code"]) == (422, "validation_error")


def test_messages_stay_open_after_a_rejected_cancellation_and_delivery(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.paid_order(buyer, seller)
    api.ok(api.post(f"/orders/{order['id']}/cancel", {"reason": "changed_mind"}, as_=buyer), 202)
    reject = {"reason": "already packed"}
    api.ok(api.post(f"/orders/{order['id']}/cancellation/reject", reject, as_=seller))
    assert "message" in api.get_order(order["id"], buyer)["allowed_actions"]
    api.ok(say(api, order["id"], buyer, "Why was it rejected?"), 201)
    assert len(thread(api, order["id"], seller)["items"]) == 1
