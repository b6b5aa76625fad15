"""Numbers, booleans, countries, cursors and malformed JSON (issue 17, point 4), each written
from its repro on SQLite and PostgreSQL: one amount grammar in every amount field (no
exponent, sign, separator or other script's digits, the currency's decimals, a maximum),
JSON integers and booleans that are JSON integers and booleans, ISO 3166 countries, forged
cursors answered 422 (the API) or the first page (the pages), never 500; JSON the parser gives
up on is 422 validation_error; a 405 says what is allowed."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from aftersale.adapters.db import tables as t
from aftersale.services.runtime import Runtime
from tests.client import Api, Party
from tests.integration.ledger_check import ask_dispute, returned_in_transit

# Refused by the grammar itself, whatever the state of the order.
NOT_AMOUNTS = [
    "1e9999",
    "1E+3",
    "１２",
    "١٢",
    "1_000",
    "+1.00",
    "-0",
    "-1.00",
    " 1.00",
    "1.",
    ".5",
    "1,00",
    "NaN",
    "Infinity",
    "10000000000",
    "1" * 5000,
]


def count(rt: Runtime, table: Any) -> int:
    with rt.engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def refused(api: Api, response: httpx.Response) -> dict[str, Any]:
    return api.problem(response, 422, "validation_error")


def lamp(**changes: Any) -> dict[str, Any]:
    return {"sku": "S-1", "title": "Lamp", "quantity": 1, "unit_price": "20.00", **changes}


def new_order(api: Api, b: Party, s: Party, **changes: Any) -> httpx.Response:
    body = {"buyer_id": b.id, "seller_id": s.id, "currency": "USD", "items": [lamp()], **changes}
    return api.post("/orders", body, as_=api.admin)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_every_amount_field_refuses_what_is_not_an_amount(api: Api, rt: Runtime) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    dispute = api.ok(ask_dispute(api, order, buyer, "10.00"), 201)
    unpaid = api.order(buyer, seller)
    orders, refunds = count(rt, t.orders), count(rt, t.refunds)
    for bad in NOT_AMOUNTS:
        refused(api, new_order(api, buyer, seller, items=[lamp(unit_price=bad)]))
        refused(api, new_order(api, buyer, seller, shipping_fee=bad))
        pay = {"amount": bad, "method": "card", "reference": "r"}
        refused(api, api.post(f"/orders/{unpaid['id']}/payment", pay, as_=api.admin))
        goodwill = {"amount": bad, "reason": "sorry"}
        refused(api, api.post(f"/orders/{order['id']}/refunds", goodwill, as_=api.admin))
        refused(api, ask_dispute(api, api.delivered_order(buyer, seller), buyer, bad))
        did = dispute["id"]
        refused(api, api.post(f"/disputes/{did}/propose", {"amount": bad}, as_=seller))
        modify = {"refund_type": "partial", "amount": bad}
        refused(api, api.post(f"/disputes/{did}/modify", modify, as_=buyer))
        resolve = {"refund_amount": bad, "note": "decided"}
        refused(api, api.post(f"/disputes/{did}/resolve", resolve, as_=api.admin))
    assert count(rt, t.refunds) == refunds
    assert count(rt, t.orders) == orders + len(NOT_AMOUNTS)  # (the delivered orders made)
    assert api.get_order(unpaid["id"], api.admin)["status"] == "awaiting_payment"


def test_a_dispute_resolved_with_minus_zero_is_refused_and_stays_escalated(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    did = api.ok(ask_dispute(api, order, buyer, "10.00"), 201)["id"]
    api.ok(api.post(f"/disputes/{did}/reject", {"reason": "it works"}, as_=seller))
    api.ok(api.post(f"/disputes/{did}/escalate", as_=buyer))
    for bad in ("-0", "-0.00", "-5"):
        resolve = {"refund_amount": bad, "note": "decided"}
        refused(api, api.post(f"/disputes/{did}/resolve", resolve, as_=api.admin))
    seen = api.get_order(order["id"], api.admin)
    assert seen["disputes"][0]["status"] == "escalated"
    assert "refund of -" not in json.dumps(seen) and '"-0.00"' not in json.dumps(seen)


def test_amounts_keep_to_the_currencys_decimals_and_the_maximum(api: Api, rt: Runtime) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    orders = count(rt, t.orders)
    for currency, bad in (("USD", "1.234"), ("JPY", "1.0"), ("USD", "1000000000.01")):
        body = {"currency": currency, "shipping_fee": None, "items": [lamp(unit_price=bad)]}
        body["shipping_fee"] = "0" if currency == "JPY" else "0.00"
        refused(api, new_order(api, buyer, seller, **body))
    order = api.order(buyer, seller)
    goodwill = {"amount": "0", "reason": "sorry"}
    refused(api, api.post(f"/orders/{order['id']}/refunds", goodwill, as_=api.admin))
    most = api.ok(new_order(api, buyer, seller, items=[lamp(unit_price="1000000000")]), 201)
    assert most["items"][0]["unit_price"]["amount"] == "1000000000.00"
    jpy = new_order(api, buyer, seller, currency="JPY", items=[lamp(unit_price="1500")])
    assert api.ok(jpy, 201)["total"]["currency"] == "JPY"
    assert count(rt, t.orders) == orders + 3


@pytest.mark.parametrize("quantity", [True, "1", 1.0, 0, -1, 100_001, 2**64, 10**30])
def test_a_quantity_is_a_json_integer_in_range(api: Api, rt: Runtime, quantity: Any) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    orders = count(rt, t.orders)
    refused(api, new_order(api, buyer, seller, items=[lamp(quantity=quantity)]))
    assert count(rt, t.orders) == orders
    order = api.delivered_order(buyer, seller)
    ask = {"reason": "not_as_described", "condition": "unopened"}
    items = [{"sku": "SKU-1", "quantity": quantity}]
    refused(api, api.post(f"/orders/{order['id']}/returns", {**ask, "items": items}, as_=buyer))
    paid = api.paid_order(buyer, seller)
    cancel = {"reason": "out_of_stock", "items": items}
    refused(api, api.post(f"/orders/{paid['id']}/seller-cancel", cancel, as_=seller))
    assert api.get_order(paid["id"], seller)["status"] == "awaiting_fulfillment"
    assert api.get_order(order["id"], buyer)["returns"] == []


def test_days_are_json_integers(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    refused(api, new_order(api, buyer, seller, ship_by_days="7"))
    refused(api, new_order(api, buyer, seller, delivery_days=True))
    shipped = api.shipped_order(buyer, seller)
    refused(api, api.post(f"/orders/{shipped['id']}/extend-protection", {"days": "5"}, as_=seller))


def test_a_boolean_is_a_json_boolean(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    ret = returned_in_transit(api, order, buyer, seller, [{"sku": "SKU-1", "quantity": 1}])
    for flag in ("true", "yes", 1, "1", None):
        inspect = {"condition_ok": flag}
        refused(api, api.post(f"/returns/{ret['id']}/receive", inspect, as_=seller))
    assert api.get_order(order["id"], buyer)["returns"][0]["status"] == ret["status"]
    done = api.post(f"/returns/{ret['id']}/receive", {"condition_ok": True}, as_=seller)
    assert done.status_code == 200, done.text


def test_a_country_is_an_iso_3166_alpha_2_code(api: Api, rt: Runtime) -> None:
    users = count(rt, t.users)
    for country in ("ZZ", "XK", "EU", "UK", "QQ", "12", "USA", "u", "ÜS", True):
        body = {"email": f"c{users}@example.test", "name": "C", "role": "buyer", "country": country}
        refused(api, api.post("/users", body, as_=api.admin))
    assert count(rt, t.users) == users
    body = {"email": "de@example.test", "name": "D", "role": "buyer", "country": "de"}
    assert api.ok(api.post("/users", body, as_=api.admin), 201)["country"] == "DE"


FORGED_ORDER_CURSORS = {
    "a naive date": b64(json.dumps(["2026-01-01T00:00:00", 1]).encode()),
    "Infinity": b64(b'["2026-01-01T00:00:00+00:00", Infinity]'),
    "NaN": b64(b'["2026-01-01T00:00:00+00:00", NaN]'),
    "deep JSON": b64(b"[" * 5_000 + b"]" * 5_000),
    "past 2^63": b64(json.dumps(["2026-01-01T00:00:00+00:00", 2**63]).encode()),
    "past 2^64": b64(json.dumps(["2026-01-01T00:00:00+00:00", 2**64 + 5]).encode()),
    "a negative seq": b64(json.dumps(["2026-01-01T00:00:00+00:00", -1]).encode()),
    "non-ASCII digits": b64(json.dumps(["٢٠٢٦-01-01T00:00:00+00:00", 1]).encode()),
    "a string seq": b64(json.dumps(["2026-01-01T00:00:00+00:00", "1"]).encode()),
    "a boolean seq": b64(json.dumps(["2026-01-01T00:00:00+00:00", True]).encode()),
    "year 9999 east of UTC": b64(json.dumps(["9999-12-31T23:59:59-23:59", 1]).encode()),
    "year 1 west": b64(json.dumps(["0001-01-01T00:00:00+23:59", 1]).encode()),
    "three items": b64(json.dumps(["2026-01-01T00:00:00+00:00", 1, 2]).encode()),
    "an object": b64(b'{"a": 1}'),
    "not base64": "!!!!",
    "not JSON": b64(b"\xff\xfe"),
    "padding inside": "YQ==YQ",
    "non-ASCII": "ÿÿÿÿ",
    "huge": "A" * 20_000,
}
FORGED_SEQ_CURSORS = ["²", "١٢", "1.5", "-1", "9" * 30, str(2**63), "1e3", " 1", "0x10"]


def invalid_cursor(api: Api, response: httpx.Response) -> None:
    body = refused(api, response)
    assert body["field"] == "cursor"
    assert [e["code"] for e in body["errors"]] == ["invalid_cursor"], body


@pytest.mark.parametrize("name", list(FORGED_ORDER_CURSORS))
def test_a_forged_order_cursor_is_422_invalid_cursor_for_everyone(api: Api, name: str) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    for _ in range(3):
        api.order(buyer, seller)
    cursor = FORGED_ORDER_CURSORS[name]
    for who in (api.admin, buyer, seller):
        invalid_cursor(api, api.get("/orders", as_=who, cursor=cursor, limit=1))
        invalid_cursor(api, api.get("/orders", as_=who, cursor=cursor, status="awaiting_payment"))


def test_order_cursors_made_here_still_walk_every_page(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    made = {api.order(buyer, seller)["id"] for _ in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        page = api.ok(
            api.get("/orders", as_=buyer, limit=2, **({"cursor": cursor} if cursor else {}))
        )
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert set(seen) == made and len(seen) == 5


def test_a_forged_sequence_cursor_is_422_invalid_cursor(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    api.ok(api.post(f"/orders/{order['id']}/messages", {"body": "hello"}, as_=buyer), 201)
    for cursor in FORGED_SEQ_CURSORS:
        invalid_cursor(api, api.get(f"/orders/{order['id']}/messages", as_=buyer, cursor=cursor))
        invalid_cursor(api, api.get("/webhook-endpoints", as_=api.admin, cursor=cursor))
    first = api.ok(api.get(f"/orders/{order['id']}/messages", as_=buyer, cursor="0"))
    assert [m["body"] for m in first["items"]] == ["hello"]


def login(api: Api, who: Party, password: str) -> httpx.Client:
    import re

    http = api.http
    token = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/login").text)
    assert token is not None
    data = {"email": who.email, "password": password, "csrf_token": token[1]}
    assert http.post("/login", data=data).status_code in (200, 303)
    return http


def test_the_pages_given_a_forged_cursor_show_the_first_page(api: Api) -> None:
    password = "buyer-pass-2026"
    buyer = api.user("buyer", password=password)
    seller = api.user("seller")
    order = api.order(buyer, seller)
    http = login(api, buyer, password)
    for name, cursor in FORGED_ORDER_CURSORS.items():
        for tab in ("all", "awaiting_payment", "awaiting_shipment"):
            wrapped = b64(json.dumps({"awaiting_fulfillment": cursor}).encode())
            for sent in (cursor, wrapped):
                page = http.get("/orders", params={"tab": tab, "cursor": sent})
                assert page.status_code == 200, (name, tab, page.text[-500:])
                if tab in ("all", "awaiting_payment"):
                    assert order["id"] in page.text, (name, tab)


def test_the_staff_mailbox_given_a_forged_cursor_shows_the_first_page(api: Api) -> None:
    password = "staff-pass-2026"
    body = {"email": "desk@example.test", "name": "Desk", "role": "admin", "password": password}
    api.ok(api.post("/users", body, as_=api.admin), 201)
    staff = Party(id="", role="admin", token="", email="desk@example.test")
    http = login(api, staff, password)
    for cursor in FORGED_SEQ_CURSORS:
        assert http.get("/staff/mail", params={"cursor": cursor}).status_code == 200, cursor


def send_raw(api: Api, path: str, content: bytes) -> httpx.Response:
    headers = {**api.admin.headers, "content-type": "application/json"}
    return api.http.post(f"/api/v1{path}", content=content, headers=headers)


@pytest.mark.parametrize(
    "content",
    [
        b'{"email": ',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        b'{"email": "a@example.test", "name": "A", "role": "buyer", "x": ' + b"7" * 5000 + b"}",
        b'{"email": "\xff\xfe@example.test", "name": "A", "role": "buyer"}',
    ],
    ids=["truncated", "deep list", "deep object", "5000 digits", "not UTF-8"],
)
def test_json_the_parser_gives_up_on_is_422_validation_error(
    api: Api, rt: Runtime, content: bytes
) -> None:
    users = count(rt, t.users)
    refused(api, send_raw(api, "/users", content))
    buyer, seller = api.user("buyer"), api.user("seller")
    refused(api, send_raw(api, f"/orders/{api.order(buyer, seller)['id']}/deliver", content))
    assert count(rt, t.users) == users + 2


def test_a_405_says_which_methods_are_allowed(api: Api) -> None:
    for method, path, allowed in (
        ("DELETE", "/api/v1/orders", {"GET", "POST"}),
        ("PUT", "/api/v1/users", {"POST"}),
        ("GET", "/api/v1/orders/ord_x/payment", {"POST"}),
        ("POST", "/api/v1/webhook-endpoints/whe_x", {"GET", "PATCH", "DELETE"}),
    ):
        response = api.http.request(method, path, headers=api.admin.headers)
        api.problem(response, 405, "method_not_allowed")
        assert {m.strip() for m in response.headers["allow"].split(",")} == allowed, path
