"""Text that cannot be kept (a lone surrogate, a NUL byte) is refused with 422 validation_error
before anything is written, wherever text comes in: API bodies (the hot routes' fast path as
the app's), path ids, query values, page forms, evidence names and import lines; on SQLite and
PostgreSQL. (Issue 17, point 1: one such title made every list that held it answer 500.)"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from aftersale.adapters.db import tables as t
from aftersale.adapters.db.bulk import SqlImportStore
from aftersale.services.importer import import_orders
from aftersale.services.runtime import Runtime
from tests.client import Api, Party
from tests.integration.ledger_check import ask_dispute

BAD = ["\udc00", "Lamp\x00", "\ud83d", "a\udfffb"]


def raw_post(api: Api, path: str, body: dict[str, Any], who: Party) -> httpx.Response:
    """POST a body as JSON text that keeps its lone surrogates (\\udc00 escapes), which httpx's
    own encoder would refuse to send."""
    content = json.dumps(body)  # ensure_ascii: every surrogate becomes a \\uXXXX escape
    headers = {**who.headers, "content-type": "application/json"}
    return api.http.post(f"/api/v1{path}", content=content.encode(), headers=headers)


def count(rt: Runtime, table: Any) -> int:
    with rt.engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def order_body(buyer: Party, seller: Party, title: str) -> dict[str, Any]:
    item = {"sku": "S-1", "title": title, "quantity": 1, "unit_price": "20.00"}
    return {"buyer_id": buyer.id, "seller_id": seller.id, "currency": "USD", "items": [item]}


@pytest.mark.parametrize("title", BAD, ids=["lone-low", "nul", "lone-high", "inside"])
def test_an_unstorable_title_is_refused_and_no_order_is_saved_so_lists_still_answer(
    api: Api, rt: Runtime, title: str
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    before = count(rt, t.orders)
    response = raw_post(api, "/orders", order_body(buyer, seller, title), api.admin)
    body = api.problem(response, 422, "validation_error")
    assert "items[0].title" in body["detail"]
    assert count(rt, t.orders) == before
    for who in (api.admin, buyer, seller):
        assert api.get("/orders", as_=who).status_code == 200


@pytest.mark.parametrize("hot", [True, False], ids=["hot-routes", "app"])
def test_the_hot_routes_refuse_the_same_text_the_same_way(api: Api, rt: Runtime, hot: bool) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.order(buyer, seller)
    path = f"/orders/{order['id']}/payment"
    pay = {"amount": order["total"]["amount"], "method": "card", "reference": "p\x00y"}
    headers = {} if hot else {"Idempotency-Key": "k-1"}  # (a key takes the app's own path)
    response = api.http.post(
        f"/api/v1{path}",
        content=json.dumps(pay).encode(),
        headers={**api.admin.headers, "content-type": "application/json", **headers},
    )
    api.problem(response, 422, "validation_error")
    cancel = {"reason": "changed_mind", "comment": "\udc00"}
    api.problem(
        raw_post(api, f"/orders/{order['id']}/cancel", cancel, buyer), 422, "validation_error"
    )
    assert api.get_order(order["id"], api.admin)["status"] == "awaiting_payment"


def test_text_fields_across_the_api_refuse_nul_and_surrogates(api: Api, rt: Runtime) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    users = count(rt, t.users)
    for field in ("name", "email", "password"):
        body = {"email": "x@example.test", "name": "X", "role": "buyer", "password": "p" * 10}
        body[field] = body[field] + "\x00"
        api.problem(raw_post(api, "/users", body, api.admin), 422, "validation_error")
    assert count(rt, t.users) == users
    message = {"body": "hello \udc00"}
    api.problem(
        raw_post(api, f"/orders/{order['id']}/messages", message, buyer), 422, "validation_error"
    )
    assert api.ok(api.get(f"/orders/{order['id']}/messages", as_=buyer))["items"] == []
    dispute = {
        "reason": "not_as_described",
        "refund_type": "full",
        "description": "blue\x00",
    }
    api.problem(
        raw_post(api, f"/orders/{order['id']}/disputes", dispute, buyer), 422, "validation_error"
    )
    assert api.get_order(order["id"], buyer)["disputes"] == []
    # a key of the body too
    api.problem(raw_post(api, "/users", {"\x00": 1}, api.admin), 422, "validation_error")


def test_path_ids_and_query_values_with_a_nul_are_refused(api: Api) -> None:
    buyer = api.user("buyer")
    for path in ("/api/v1/orders/ord%00x", "/api/v1/orders/ord%00x/payment", "/orders/o%00"):
        response = api.http.get(path, headers=buyer.headers)
        api.problem(response, 422, "validation_error")
    for query in ("status=shipped%00", "cursor=%00", "limit=1%00"):
        response = api.http.get(f"/api/v1/orders?{query}", headers=buyer.headers)
        api.problem(response, 422, "validation_error")
    assert api.get("/orders", as_=buyer, status="shipped").status_code == 200


def test_an_evidence_file_name_with_a_nul_is_refused_and_bad_bytes_never_stored(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    dispute = api.ok(ask_dispute(api, order, buyer, "10"), 201)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

    def send(name: bytes) -> httpx.Response:
        head = b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="'
        content = head + name + b'"\r\nContent-Type: image/png\r\n\r\n' + png
        return api.http.post(
            f"/api/v1/disputes/{dispute['id']}/evidence",
            content=content + b"\r\n--b0undary--\r\n",
            headers={**buyer.headers, "content-type": "multipart/form-data; boundary=b0undary"},
        )

    api.problem(send(b"a\x00.png"), 422, "validation_error")
    assert count(rt, t.evidence) == 0
    # bytes that are not UTF-8 (a surrogate's encoding) arrive decoded as something storable
    stored = send(b"a\xed\xb3\x80.png")
    assert stored.status_code == 201, stored.text
    listed = api.ok(api.get(f"/disputes/{dispute['id']}/evidence", as_=buyer))  # type: ignore[arg-type]
    assert [e["filename"].encode() for e in listed]  # (encodable: the listing answered)


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found[1]


def test_page_forms_refuse_a_nul_before_anything_runs(api: Api, rt: Runtime) -> None:
    password = "buyer-pass-2026"
    buyer = api.user("buyer", password=password)
    seller = api.user("seller")
    order = api.delivered_order(buyer, seller)
    http = api.http
    token = csrf(http.get("/login").text)
    refused = http.post(
        "/login", data={"email": buyer.email + "\x00", "password": password, "csrf_token": token}
    )
    api.problem(refused, 422, "validation_error")
    answer = http.post(
        "/login", data={"email": buyer.email, "password": password, "csrf_token": token}
    )
    assert answer.status_code in (200, 303), answer.text
    token = csrf(http.get(f"/orders/{order['id']}").text)
    before = count(rt, t.messages)
    sent = http.post(
        f"/orders/{order['id']}/messages", data={"body": "hi\x00", "csrf_token": token}
    )
    api.problem(sent, 422, "validation_error")
    opened = http.post(
        f"/orders/{order['id']}/disputes",
        data={
            "reason": "not_as_described",
            "refund_type": "full",
            "description": "bad\x00",
            "csrf_token": token,
        },
    )
    api.problem(opened, 422, "validation_error")
    assert count(rt, t.messages) == before
    assert api.get_order(order["id"], buyer)["disputes"] == []
    # a CSRF token that is not ASCII is a refused form, not a 500
    odd = http.post(f"/orders/{order['id']}/messages", data={"body": "hi", "csrf_token": "é"})
    assert odd.status_code == 403


def test_an_import_line_with_a_nul_is_refused_and_the_good_line_imported(
    api: Api, rt: Runtime, tmp_path: Path
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")

    def line(order_id: str, title: str) -> str:
        return json.dumps(
            {
                "id": order_id,
                "buyer_id": buyer.id,
                "seller_id": seller.id,
                "currency": "USD",
                "items": [{"sku": "A", "title": title, "quantity": 1, "unit_price": "5.00"}],
                "status": "awaiting_payment",
                "created_at": api.now(),
            }
        )

    path = tmp_path / "orders.jsonl"
    path.write_text(line("imp-good", "Lamp") + "\n" + line("imp-bad", "Lamp\x00") + "\n")
    with path.open() as lines:
        report = import_orders(rt, SqlImportStore(rt.engine), lines, jobs=0)  # type: ignore[attr-defined]
    assert report.imported == 1
    assert [(e.line, e.code) for e in report.errors] == [(2, "validation_error")]
    assert api.get_order("imp-good", api.admin)["items"][0]["title"] == "Lamp"
    assert api.get("/orders/imp-bad", as_=api.admin).status_code == 404
