"""Races over real HTTP on PostgreSQL: concurrent requests on one order end with one outcome.

Each race is fired from threads released together by a barrier, over many orders, so the
requests really do overlap on the server (a subprocess running `aftersale serve`)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.client import HOUR, Api
from tests.conftest import LiveServer

SHIP = {"carrier": "DHL", "tracking_number": "TRK-RACE"}
REASON = {"reason": "changed_mind"}


@pytest.fixture
def live_api(live_pg: LiveServer) -> Iterator[Api]:
    """The live server's API through one pooled client (httpx.Client is thread-safe)."""
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    with httpx.Client(base_url=live_pg.base_url, timeout=60, limits=limits) as http:
        yield Api(http)


def together(*calls: Callable[[], httpx.Response]) -> list[httpx.Response]:
    """Run the calls in threads released at the same moment; answers in call order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], httpx.Response]) -> httpx.Response:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def code(response: httpx.Response) -> str | None:
    """The problem code of an error answer."""
    if response.status_code < 400:
        return None
    body: dict[str, Any] = response.json()
    return str(body.get("code"))


def db_rows(url: str, sql: str, **params: Any) -> list[Any]:
    """Rows straight from the database, past the API."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params))
    finally:
        engine.dispose()


def test_buyer_cancellation_request_and_seller_shipment_never_both_win(live_api: Api) -> None:
    api = live_api
    buyer, seller = api.user("buyer"), api.user("seller")
    outcomes: Counter[str] = Counter()
    for _ in range(24):
        order = api.paid_order(buyer, seller)
        path = f"/orders/{order['id']}"
        cancel, ship = together(
            partial(api.post, f"{path}/cancel", REASON, as_=buyer),
            partial(api.post, f"{path}/ship", SHIP, as_=seller),
        )
        final = api.get_order(order["id"], buyer)
        if cancel.status_code == 202:
            assert (ship.status_code, code(ship)) == (409, "cancellation_pending"), ship.text
            assert final["status"] == "awaiting_fulfillment"
            assert final["cancellation"]["status"] == "pending"
            assert final["shipped_at"] is None
            outcomes["request"] += 1
        else:
            assert (cancel.status_code, code(cancel)) == (409, "order_already_shipped"), cancel.text
            assert ship.status_code == 200, ship.text
            assert final["status"] == "shipped"
            assert final["cancellation"] is None
            outcomes["ship"] += 1
        events = [e["event"] for e in final["timeline"]]
        assert events.count("cancellation_requested") + events.count("shipped") == 1
        assert final["refunds"] == []
    assert sum(outcomes.values()) == 24


def test_seller_acceptance_racing_the_72_hour_deadline_refunds_exactly_once(
    live_api: Api, pg_only_url: str
) -> None:
    api = live_api
    buyer, seller = api.user("buyer"), api.user("seller")
    statuses: Counter[str] = Counter()
    all_orders: list[dict[str, Any]] = []
    for _ in range(4):
        orders = [api.paid_order(buyer, seller) for _ in range(6)]
        for order in orders:
            api.ok(api.post(f"/orders/{order['id']}/cancel", REASON, as_=buyer), 202)
        api.advance(72 * HOUR - 0.5)  # respond_by is half a second away
        accepts = [
            partial(api.post, f"/orders/{o['id']}/cancellation/accept", as_=seller) for o in orders
        ]
        answers = together(
            partial(api.post, "/test-clock/advance", {"seconds": 1}, as_=api.admin), *accepts
        )
        assert answers[0].status_code == 200, answers[0].text
        for order, accept in zip(orders, answers[1:], strict=True):
            final = api.get_order(order["id"], buyer)
            assert final["status"] == "cancelled"
            status = final["cancellation"]["status"]
            if accept.status_code == 200:
                assert status == "accepted"
            else:
                assert (accept.status_code, code(accept)) == (409, "no_pending_cancellation")
                assert status == "auto_accepted"
            events = [e["event"] for e in final["timeline"]]
            assert (
                events.count("cancellation_accepted") + events.count("cancellation_auto_accepted")
                == 1
            )
            assert [r["amount"] for r in final["refunds"]] == [order["total"]]
            statuses[status] += 1
        all_orders += orders
    api.advance(21 * 24 * HOUR)  # past every card refund's settlement
    for order in all_orders:
        final = api.get_order(order["id"], buyer)
        assert [r["status"] for r in final["refunds"]] == ["succeeded"]
        assert final["refunded_amount"] == order["total"]
    ids = [o["id"] for o in all_orders]
    refunds = db_rows(
        pg_only_url,
        "SELECT order_id, count(*) FROM refunds WHERE order_id = ANY(:ids) GROUP BY order_id",
        ids=ids,
    )
    assert sorted(refunds) == sorted((i, 1) for i in ids)
    paid_out = db_rows(
        pg_only_url,
        "SELECT r.order_id, count(*) FROM sandbox_refunds s JOIN refunds r ON s.key = r.id "
        "WHERE r.order_id = ANY(:ids) GROUP BY r.order_id",
        ids=ids,
    )
    assert sorted(paid_out) == sorted((i, 1) for i in ids)
    assert sum(statuses.values()) == len(ids)


def test_one_idempotency_key_sent_eight_times_at_once_creates_one_order(live_api: Api) -> None:
    api = live_api
    buyer, seller = api.user("buyer"), api.user("seller")
    body = {
        "buyer_id": buyer.id,
        "seller_id": seller.id,
        "currency": "USD",
        "items": [{"sku": "SKU-1", "title": "Lamp", "quantity": 1, "unit_price": "20.00"}],
    }
    for round_ in range(3):
        key = f"create-{round_}-{buyer.id}"
        answers = together(*[partial(api.post, "/orders", body, as_=api.admin, key=key)] * 8)
        done = [a for a in answers if a.status_code == 201]
        assert done, [a.text for a in answers]
        assert {a.content for a in done} == {done[0].content}
        for a in answers:
            assert a.status_code == 201 or code(a) == "idempotency_in_progress", a.text
    mine = api.ok(api.get("/orders", as_=buyer))["items"]
    assert len(mine) == 3
    assert {o["id"] for o in mine} == {
        api.ok(api.post("/orders", body, as_=api.admin, key=f"create-{r}-{buyer.id}"), 201)["id"]
        for r in range(3)
    }


def test_one_idempotency_key_sent_eight_times_at_once_requests_cancellation_once(
    live_api: Api, pg_only_url: str
) -> None:
    api = live_api
    buyer, seller = api.user("buyer"), api.user("seller")
    orders = [api.paid_order(buyer, seller) for _ in range(4)]
    for order in orders:
        path = f"/orders/{order['id']}/cancel"
        key = f"cancel-{order['id']}"
        answers = together(*[partial(api.post, path, REASON, as_=buyer, key=key)] * 8)
        done = [a for a in answers if a.status_code == 202]
        assert done, [a.text for a in answers]
        assert {a.content for a in done} == {done[0].content}
        for a in answers:
            assert a.status_code == 202 or code(a) == "idempotency_in_progress", a.text
        final = api.get_order(order["id"], buyer)
        assert final["cancellation"]["status"] == "pending"
        assert [e["event"] for e in final["timeline"]].count("cancellation_requested") == 1
    rows = db_rows(
        pg_only_url,
        "SELECT order_id, count(*) FROM cancellations WHERE order_id = ANY(:ids) GROUP BY 1",
        ids=[o["id"] for o in orders],
    )
    assert sorted(rows) == sorted((o["id"], 1) for o in orders)
