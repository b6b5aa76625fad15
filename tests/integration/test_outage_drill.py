"""The outage drill (issue 17): a live server and a worker process under load on a PostgreSQL
of the test's own; the cluster is stopped while clients create, pay and cancel orders and the
worker fires 1,500 due cancellation timeouts, then started again. Every answer is a success
or 503 `database_unavailable` with Retry-After; after the restart the next requests succeed;
every acknowledged write is in the database; no deadline fired twice; the books balance."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from aftersale.bootstrap import build_runtime
from tests import conftest
from tests.client import Api, Party
from tests.conftest import LiveServer
from tests.integration.ledger_check import ledger_problems
from tests.integration.test_worker_processes import make_requested_orders, start_worker
from tests.own_pg import OwnPostgres

DUE = 1500  # paid orders with a pending cancellation request, all due when the clock jumps
CLIENTS = 3
ITEMS = [{"sku": "SKU-9", "title": "Fan", "quantity": 1, "unit_price": "30.00"}]


@dataclass
class Client:
    """One load thread's record: what the server acknowledged, and what it should not say."""

    buyer: Party
    seller: Party
    created: list[str] = field(default_factory=list)
    paid: list[str] = field(default_factory=list)
    cancel_asked: list[str] = field(default_factory=list)
    unavailable: int = 0
    bad: list[str] = field(default_factory=list)
    last_ok: float = 0.0

    def check(self, answer: httpx.Response, *wanted: int) -> bool:
        """Whether the write was acknowledged; a 503 must be the outage answer, nothing else."""
        if answer.status_code in wanted:
            self.last_ok = time.monotonic()
            return True
        if answer.status_code == 503:
            self.unavailable += 1
            body = answer.json()
            if body.get("code") != "database_unavailable" or "retry-after" not in answer.headers:
                self.bad.append(f"503 without code or Retry-After: {answer.text}")
            return False
        self.bad.append(f"{answer.request.method} {answer.request.url}: {answer.status_code} "
                        f"{answer.text[:200]}")  # fmt: skip
        return False


def load(base_url: str, client: Client, stop: threading.Event) -> None:
    """Create, pay and ask to cancel orders until told to stop."""
    with httpx.Client(base_url=base_url, timeout=60) as http:
        api = Api(http)
        buyer, seller = client.buyer, client.seller
        body = {"buyer_id": buyer.id, "seller_id": seller.id, "currency": "USD", "items": ITEMS}
        while not stop.is_set():
            try:
                made = api.post("/orders", body, as_=api.admin)
                if not client.check(made, 201):
                    time.sleep(0.05)
                    continue
                oid = made.json()["id"]
                client.created.append(oid)
                payment = {"amount": "30.00", "method": "card", "reference": f"p-{oid}"}
                paying = api.post(f"/orders/{oid}/payment", payment, as_=api.admin)
                if not client.check(paying, 200):
                    continue
                client.paid.append(oid)
                asked = api.post(f"/orders/{oid}/cancel", {"reason": "changed_mind"}, as_=buyer)
                if client.check(asked, 202):
                    client.cancel_asked.append(oid)
            except httpx.HTTPError as error:  # a dropped connection is no answer at all
                client.bad.append(f"transport error: {error!r}")


def scalar(url: str, sql: str) -> Any:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar_one()
    finally:
        engine.dispose()


@pytest.fixture
def own_pg() -> Iterator[OwnPostgres]:
    cluster = OwnPostgres()
    yield cluster
    cluster.destroy()


def test_postgresql_stopped_under_load_loses_nothing_and_fires_nothing_twice(
    own_pg: OwnPostgres, tmp_path: Path
) -> None:
    url = own_pg.url()
    rt = build_runtime(conftest.test_settings(url, tmp_path))
    make_requested_orders(rt, DUE)
    rt.close()
    server = LiveServer(url, tmp_path)
    worker = start_worker(url, tmp_path / "worker.log")
    stop = threading.Event()
    threads: list[threading.Thread] = []
    try:
        with server.client() as http:
            api = Api(http)
            clients = [Client(api.user("buyer"), api.user("seller")) for _ in range(CLIENTS)]
        threads = [threading.Thread(target=load, args=(server.base_url, c, stop)) for c in clients]
        for thread in threads:
            thread.start()
        time.sleep(2)
        # every pending request falls due: the worker starts firing 1,500 timeouts (and the
        # 1,500 refund submissions they create) while the clients go on
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("UPDATE test_clock SET now = now + interval '72 hours 1 minute'"))
        engine.dispose()
        time.sleep(0.7)
        own_pg.stop()
        down_at = time.monotonic()
        time.sleep(4)
        own_pg.start()
        up_at = time.monotonic()
        time.sleep(5)
        stop.set()
        for thread in threads:
            thread.join(timeout=120)

        assert [c.bad for c in clients] == [[]] * CLIENTS
        assert sum(c.unavailable for c in clients) > 0, "no request met the outage"
        assert all(c.last_ok > up_at for c in clients), "a client got no success after restart"
        assert down_at < up_at

        due = (
            "SELECT count(*) FROM deadlines "
            "WHERE fired_at IS NULL AND due_at <= (SELECT now FROM test_clock)"
        )
        deadline = time.monotonic() + 120
        while scalar(url, due) and time.monotonic() < deadline:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
            time.sleep(0.5)
        assert scalar(url, due) == 0
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:  # (a worker stuck on a dead connection: the log says)
            worker.kill()
            worker.wait(timeout=30)
        server.stop()

    created = [oid for c in clients for oid in c.created]
    paid = {oid for c in clients for oid in c.paid}
    asked = {oid for c in clients for oid in c.cancel_asked}
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, paid_amount FROM orders WHERE id = ANY(:ids)"), {"ids": created}
            ).all()
            pending = set(
                conn.execute(
                    text("SELECT order_id FROM cancellations WHERE order_id = ANY(:ids)"),
                    {"ids": list(asked)},
                ).scalars()
            )
            twice = conn.execute(
                text(
                    "SELECT count(*) FROM (SELECT order_id FROM timeline "
                    "WHERE event = 'cancellation_auto_accepted' "
                    "GROUP BY order_id HAVING count(*) > 1) AS t"
                )
            ).scalar_one()
            refunds_twice = conn.execute(
                text(
                    "SELECT count(*) FROM (SELECT order_id FROM refunds "
                    "GROUP BY order_id HAVING count(*) > 1) AS t"
                )
            ).scalar_one()
            auto = conn.execute(
                text("SELECT count(*) FROM cancellations WHERE status = 'auto_accepted'")
            ).scalar_one()
            fired = conn.execute(
                text("SELECT count(*) FROM deadlines WHERE fired_at IS NOT NULL "
                     "AND kind IN ('cancellation_timeout', 'refund_submit')")
            ).scalar_one()  # fmt: skip
        problems = ledger_problems(engine)
    finally:
        engine.dispose()
    found = {oid: amount for oid, amount in rows}
    assert set(created) <= set(found), "an acknowledged order is missing"
    assert all(found[oid] > 0 for oid in paid), "an acknowledged payment is missing"
    assert asked <= pending, "an acknowledged cancellation request is missing"
    assert len(created) > 10 and paid and asked
    assert twice == 0 and refunds_twice == 0
    # the 1,500 and the clients' requests asked before the jump; each fired once, with its
    # refund submission
    assert DUE <= auto < DUE + len(asked) and fired == 2 * auto
    assert problems == []
    print(  # (the figures of a run, for the report)
        f"drill: {len(created)} orders created, {len(paid)} paid, {len(asked)} cancellations "
        f"asked, {sum(c.unavailable for c in clients)} answers 503, {auto} timeouts fired"
    )
