"""Body limits (issue 17, point 3), on SQLite and PostgreSQL: a body over the limit is 413
`payload_too_large` before authentication and parsing and writes nothing; a multipart upload
may carry an evidence file of the evidence limit and its form; the buyer's dispute form opens
nothing when its file is refused."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from aftersale.adapters.db import tables as t
from aftersale.entrypoints.api.app import create_app
from aftersale.services.evidence import MAX_BYTES
from aftersale.services.runtime import Runtime
from aftersale.settings import Settings
from tests.client import Api
from tests.integration.ledger_check import ask_dispute

MiB = 1 << 20
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
PASSWORD = "limits-pass-2026"


def rows(rt: Runtime, table: object) -> int:
    """How many rows a table holds."""
    with rt.uow(readonly=True) as uow:
        return int(uow.conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[attr-defined, arg-type]


def big_order(size: int) -> bytes:
    """A JSON order body of exactly `size` bytes (its title padded)."""

    def body(pad: str) -> bytes:
        return (
            '{"buyer_id": "u", "seller_id": "s", "currency": "USD", "shipping_fee": "0.00", '
            f'"items": [{{"sku": "A", "title": "{pad}", "quantity": 1, "unit_price": "1.00"}}]}}'
        ).encode()

    made = body("x" * (size - len(body(""))))
    assert len(made) == size
    return made


def test_an_anonymous_body_over_the_limit_is_413_before_authentication(
    api: Api, rt: Runtime
) -> None:
    answer = api.http.post(
        "/api/v1/orders", content=big_order(2 * MiB), headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "payload_too_large"
    assert rows(rt, t.orders) == 0


def test_a_body_just_over_the_limit_is_413_and_just_under_is_read(api: Api, rt: Runtime) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    over = api.http.post(
        "/api/v1/orders",
        content=big_order(MiB + 1),
        headers={**api.admin.headers, "Content-Type": "application/json"},
    )
    assert (over.status_code, over.json()["code"]) == (413, "payload_too_large")
    under = api.http.post(
        "/api/v1/orders",
        content=big_order(MiB),
        headers={**api.admin.headers, "Content-Type": "application/json"},
    )
    # read and judged on its merits: a title that long is a validation error, not a 413
    assert (under.status_code, under.json()["code"]) == (422, "validation_error")
    assert rows(rt, t.orders) == 0
    assert api.order(buyer, seller)["status"] == "awaiting_payment"  # the limit stops nothing else


def test_an_evidence_file_of_the_evidence_limit_is_taken_and_a_larger_body_is_413(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    dispute = api.ok(ask_dispute(api, order, buyer), 201)
    path = f"/api/v1/disputes/{dispute['id']}/evidence"
    whole = PNG + b"\x00" * (MAX_BYTES - len(PNG))
    taken = api.http.post(
        path, files={"file": ("photo.png", whole, "image/png")}, headers=buyer.headers
    )
    assert taken.status_code == 201, taken.text
    assert taken.json()["size"] == MAX_BYTES
    larger = PNG + b"\x00" * (MAX_BYTES + 2 * MiB)
    refused = api.http.post(
        path, files={"file": ("big.png", larger, "image/png")}, headers=buyer.headers
    )
    assert (refused.status_code, refused.json()["code"]) == (413, "payload_too_large")
    assert rows(rt, t.evidence) == 1


def test_the_dispute_form_opens_nothing_when_its_file_is_refused(
    api: Api, rt: Runtime, settings: Settings
) -> None:
    buyer, seller = api.user("buyer", password=PASSWORD), api.user("seller")
    order = api.delivered_order(buyer, seller)
    with TestClient(create_app(settings, runtime=rt)) as http:
        token = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/login").text)
        assert token is not None
        login = {"email": buyer.email, "password": PASSWORD, "csrf_token": token[1]}
        assert http.post("/login", data=login, follow_redirects=False).status_code == 303
        page = http.get(f"/orders/{order['id']}").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert csrf is not None
        form = {
            "csrf_token": csrf[1],
            "reason": "not_as_described",
            "refund_type": "full",
            "description": "Broken on arrival",
        }
        for name, data in (
            ("notes.exe", b"MZ\x90\x00" + b"\x00" * 100),  # not a type we take
            ("huge.png", PNG + b"\x00" * MAX_BYTES),  # one file's limit passed
        ):
            answer = http.post(
                f"/orders/{order['id']}/disputes",
                data=form,
                files={"evidence": (name, data, "application/octet-stream")},
                follow_redirects=True,
            )
            # the form comes back open and filled, the reason beside it (issue 18 point 4)
            assert answer.status_code in (413, 422), answer.status_code
            assert "The dispute was not opened" in answer.text
            assert "Broken on arrival" in answer.text
            assert rows(rt, t.disputes) == 0
            assert rows(rt, t.evidence) == 0
        assert api.get_order(order["id"], buyer)["status"] == "delivered"
