"""Money races over real HTTP on PostgreSQL: three paths race for the last money of an order.

For each order a seller's dispute acceptance (the full amount), a return inspection (refunding
its items) and a clock advance (firing the dispute's default outcome) are released together.
Whatever wins, an order's refunds never exceed what was paid, each source is refunded at most
once, and the books balance."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from aftersale.adapters.db import tables as t
from tests.client import DAY, Api, Party
from tests.conftest import LiveServer
from tests.integration.ledger_check import (
    amount,
    ask_dispute,
    assert_books_balance,
    returned_in_transit,
)

ORDERS = 24
EVERYTHING = [{"sku": "SKU-1", "quantity": 2}]  # 40.00 of the 60.00 paid


@pytest.fixture
def live_api(live_pg: LiveServer) -> Iterator[Api]:
    """The live server's API through one pooled, thread-safe client.

    At most 16 requests are in flight: under the test clock each request checks out a second
    database connection (to read the clock) while holding its first, so more concurrent
    requests than the server's pool (10 + 10 overflow) can starve it for 30 s."""
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    with httpx.Client(base_url=live_pg.base_url, timeout=120, limits=limits) as http:
        yield Api(http)


def together(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Run the calls in threads released at one moment; answers in call order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], httpx.Response]) -> httpx.Response:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def contested(api: Api) -> tuple[Party, list[tuple[dict[str, Any], dict[str, Any], str]]]:
    """Orders each with a return in transit and a full dispute one second from its default."""
    buyer, seller = api.user("buyer"), api.user("seller")
    setups = []
    for _ in range(ORDERS):
        order = api.delivered_order(buyer, seller)
        ret = returned_in_transit(api, order, buyer, seller, EVERYTHING)
        dispute = api.ok(ask_dispute(api, order, buyer), 201)
        assert amount(dispute["requested_amount"]) == Decimal(60)
        setups.append((order, ret, dispute["id"]))
    api.advance(5 * DAY - 1)
    return seller, setups


def test_accept_inspection_and_default_outcome_never_refund_more_than_paid(
    live_api: Api, pg_only_url: str
) -> None:
    api = live_api
    seller, setups = contested(api)
    calls: list[Callable[[], httpx.Response]] = [
        lambda: api.post("/test-clock/advance", {"seconds": 1}, as_=api.admin)
    ]
    for _, ret, dispute_id in setups:
        calls.append(lambda d=dispute_id: api.post(f"/disputes/{d}/accept", as_=seller))
        calls.append(
            lambda r=ret["id"]: api.post(
                f"/returns/{r}/receive", {"condition_ok": True}, as_=seller
            )
        )
    answers = together(calls)
    assert all(a.status_code in (200, 409, 422) for a in answers), [a.text for a in answers]
    api.advance(4 * DAY)  # whatever was left due fires; refunds settle
    outcomes: Counter[str] = Counter()
    for order, _, dispute_id in setups:
        after = api.get_order(order["id"], api.admin)
        refunds = [amount(r["amount"]) for r in after["refunds"]]
        assert sum(refunds, Decimal(0)) == amount(after["refunded_amount"]) == Decimal(60)
        assert all(r["status"] == "succeeded" for r in after["refunds"])
        resolved = api.ok(api.get(f"/disputes/{dispute_id}", as_=api.admin))
        outcomes[str(resolved["resolved_by"])] += 1
    assert sum(outcomes.values()) == ORDERS, outcomes
    engine = create_engine(pg_only_url)
    try:
        assert_books_balance(engine)
        r = t.refunds.c
        with engine.connect() as conn:
            per_source = conn.execute(
                select(r.source_type, r.source_id, func.count()).group_by(
                    r.source_type, r.source_id
                )
            ).all()
            over = conn.execute(
                select(func.count())
                .select_from(t.orders)
                .where(t.orders.c.refunded_amount > t.orders.c.paid_amount)
            ).scalar_one()
    finally:
        engine.dispose()
    assert all(n == 1 for _, _, n in per_source)
    assert over == 0
