"""A request header carrying a byte that is not UTF-8 never makes a 500 (issue 17, point 2):
the idempotency layer decoded every header of every POST, so one such byte broke anonymous
POSTs, /login and authenticated POSTs alike."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.client import Api
from tests.conftest import LiveServer

BAD = {"X-Note": b"caf\xe9 \xff".decode("latin-1")}  # sent as the raw bytes e9 and ff


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A real server (the in-process test client re-encodes header values as UTF-8), one per
    database for the module (its tests make their own users and orders)."""
    folder = tmp_path_factory.mktemp("header-bytes")
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'aftersale.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    server = LiveServer(url, folder)
    try:
        with server.client() as http:
            yield Api(http)
    finally:
        server.stop()


def _raw_headers(extra: dict[str, str]) -> dict[str, bytes]:
    return {k: v.encode("latin-1") for k, v in extra.items()}


def test_an_anonymous_post_with_a_stray_header_byte_is_a_401_not_a_500(api: Api) -> None:
    answer = api.http.post("/api/v1/orders", json={}, headers=_raw_headers(BAD))
    api.problem(answer, 401, "unauthorized")


def test_an_authenticated_post_with_a_stray_header_byte_works(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    body = {
        "buyer_id": buyer.id,
        "seller_id": seller.id,
        "currency": "USD",
        "items": [{"sku": "A", "title": "Lamp", "quantity": 1, "unit_price": "20.00"}],
    }
    headers = {**_raw_headers(BAD), "Authorization": f"Bearer {api.admin.token}".encode()}
    created = api.ok(api.http.post("/api/v1/orders", json=body, headers=headers), 201)
    # with an Idempotency-Key too (the layer that decoded every header), the repeat replays
    keyed = {**headers, "Idempotency-Key": b"k-1"}
    first = api.ok(api.http.post("/api/v1/orders", json=body, headers=keyed), 201)
    again = api.ok(api.http.post("/api/v1/orders", json=body, headers=keyed), 201)
    assert first["id"] == again["id"] != created["id"]


def test_an_idempotency_key_that_is_not_ascii_is_a_422(api: Api) -> None:
    headers = {
        "Authorization": f"Bearer {api.admin.token}".encode(),
        "Idempotency-Key": b"k\xff",
    }
    answer = api.http.post("/api/v1/orders", json={}, headers=headers)
    api.problem(answer, 422, "validation_error")


def test_login_with_a_stray_header_byte_logs_in(api: Api) -> None:
    buyer = api.user("buyer", password="header-pass-2026")
    form = api.http.get("/login", headers=_raw_headers(BAD)).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    answer = api.http.post(
        "/login",
        data={"email": buyer.email, "password": "header-pass-2026", "csrf_token": token[1]},
        headers=_raw_headers(BAD),
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/orders"
