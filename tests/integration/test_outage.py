"""PostgreSQL stopped under a live server (issue 17, point 9): the API answered 500 text/plain
while it was down, and an idle process answered 500 to its first requests after it came back
(a stale pool). Now: 503 problem+json `database_unavailable` with Retry-After (the pages a
readable 503), /healthz still 200 and /readyz 503, the keep-alive connection kept, and the
first requests after the restart succeed. On a cluster of the test's own (tests/own_pg.py)."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import conftest
from tests.client import ADMIN_TOKEN, Api
from tests.conftest import LiveServer
from tests.own_pg import OwnPostgres


@pytest.fixture
def own_pg() -> Iterator[OwnPostgres]:
    cluster = OwnPostgres()
    yield cluster
    cluster.destroy()


@pytest.fixture
def server(own_pg: OwnPostgres, tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(own_pg.url(), tmp_path)
    yield live
    live.stop()


def _request(
    conn: http.client.HTTPConnection, method: str, path: str, body: object = None, **headers: str
) -> tuple[int, dict[str, str], bytes]:
    data = None if body is None else json.dumps(body).encode()
    sent = {"Authorization": f"Bearer {ADMIN_TOKEN}", **headers}
    if data is not None:
        sent["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=sent)
    answer = conn.getresponse()
    return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()


def _assert_unavailable(status: int, headers: dict[str, str], body: bytes) -> None:
    assert status == 503, (status, body)
    assert headers["content-type"].startswith("application/problem+json"), headers
    assert int(headers["retry-after"]) > 0
    problem = json.loads(body)
    assert problem["code"] == "database_unavailable" and problem["status"] == 503
    assert headers.get("connection", "").lower() != "close"


def test_a_stopped_database_is_a_503_with_retry_after_and_the_first_requests_after_succeed(
    own_pg: OwnPostgres, server: LiveServer
) -> None:
    with server.client() as client:
        api = Api(client)
        buyer, seller = api.user("buyer", password="outage-pass-2026"), api.user("seller")
        order = api.order(buyer, seller)
        web = httpx.Client(base_url=server.base_url, timeout=30)
        form = web.get("/login").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert csrf is not None
        logged = web.post(
            "/login",
            data={"email": buyer.email, "password": "outage-pass-2026", "csrf_token": csrf[1]},
        )
        assert logged.status_code == 303 and logged.headers["location"] == "/orders"

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    status, _, _ = _request(conn, "GET", f"/api/v1/orders/{order['id']}")
    assert status == 200
    socket_before = conn.sock
    own_pg.stop()
    try:
        new_order = {
            "buyer_id": buyer.id,
            "seller_id": seller.id,
            "currency": "USD",
            "items": [{"sku": "A", "title": "Lamp", "quantity": 1, "unit_price": "20.00"}],
        }
        pay = {"amount": order["total"]["amount"], "method": "card", "reference": "p1"}
        for method, path, body, extra in [
            ("GET", f"/api/v1/orders/{order['id']}", None, {}),
            ("GET", "/api/v1/orders", None, {}),
            ("POST", "/api/v1/orders", new_order, {}),  # the hot route
            ("POST", f"/api/v1/orders/{order['id']}/payment", pay, {}),
            ("POST", "/api/v1/orders", new_order, {"Idempotency-Key": "k1"}),
            ("POST", "/api/v1/users", {"email": "x@y.test", "name": "x", "role": "buyer"}, {}),
        ]:
            _assert_unavailable(*_request(conn, method, path, body, **extra))
            assert conn.sock is socket_before, f"{method} {path}: the connection was closed"
        # an unknown token cannot be checked either: 503, not 401
        _assert_unavailable(
            *_request(conn, "GET", "/api/v1/orders", Authorization="Bearer unknown-token-123")
        )
        page = web.get("/orders")
        assert page.status_code == 503 and int(page.headers["retry-after"]) > 0
        assert page.headers["content-type"].startswith("text/html")
        assert "Temporarily unavailable" in page.text
        assert httpx.get(f"{server.base_url}/healthz").status_code == 200
        ready = httpx.get(f"{server.base_url}/readyz")
        assert ready.status_code == 503 and ready.json()["code"] == "not_ready"
    finally:
        own_pg.start()
    time.sleep(3)  # the process lies idle with its pool of dead connections
    status, _, body = _request(conn, "GET", f"/api/v1/orders/{order['id']}")
    assert status == 200, body
    status, _, body = _request(conn, "POST", f"/api/v1/orders/{order['id']}/payment", pay)
    assert status == 200, body
    assert json.loads(body)["status"] == "awaiting_fulfillment"
    status, _, body = _request(conn, "POST", "/api/v1/orders", new_order)
    assert status == 201, body
    assert conn.sock is socket_before
    assert web.get("/orders").status_code == 200
    assert httpx.get(f"{server.base_url}/readyz").status_code == 200
    conn.close()
    web.close()


def test_a_worker_started_while_the_database_is_down_waits_for_it(
    own_pg: OwnPostgres, tmp_path: Path
) -> None:
    own_pg.stop()
    env = {
        **os.environ,
        "AFTERSALE_DATABASE_URL": own_pg.url(),
        "AFTERSALE_DATA_DIR": str(tmp_path),
    }
    log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [sys.executable, "-m", "aftersale", "worker", "--once"],
        env=env,
        cwd=conftest.ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        end = time.monotonic() + 60
        while "the database does not answer" not in log.read_text() and time.monotonic() < end:
            assert worker.poll() is None, log.read_text()[-2000:]
            time.sleep(0.2)
        own_pg.start()
        worker.wait(timeout=120)
    finally:
        if worker.poll() is None:
            worker.kill()
    text = log.read_text()
    assert worker.returncode == 0, text[-2000:]
    assert "the database does not answer" in text
    assert "fired 0 deadlines" in text
