"""Two worker processes on one PostgreSQL database share the due deadlines, each fired once."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from aftersale.bootstrap import build_runtime
from aftersale.domain.actors import Actor, Role
from aftersale.domain.context import Ctx
from aftersale.domain.order import create_order
from aftersale.services.runtime import Runtime
from aftersale.services.users import create_user
from tests import conftest

ORDERS = 1000
CHUNK = 250
ITEMS = [{"sku": "SKU-1", "title": "Lamp", "quantity": 1, "unit_price": "20.00"}]


def make_requested_orders(rt: Runtime, count: int) -> list[str]:
    """Paid orders with a pending cancellation request each, written a chunk per transaction."""
    ids = []
    for role in ("buyer", "seller"):
        create_user(rt, None, email=f"{role}@workers.test", name=role, role=role)
    with rt.uow(readonly=True) as uow:
        buyer = uow.users.by_email("buyer@workers.test")
        seller = uow.users.by_email("seller@workers.test")
    now = rt.clock.now()
    admin = Ctx(actor=Actor(user_id="admin", role=Role.ADMIN), now=now, calendar=rt.calendar)
    asker = Ctx(actor=Actor(user_id=buyer.id, role=Role.BUYER), now=now, calendar=rt.calendar)
    for start in range(0, count, CHUNK):
        with rt.uow() as uow:
            for _ in range(start, min(start + CHUNK, count)):
                order = create_order(
                    buyer_id=buyer.id,
                    seller_id=seller.id,
                    currency="USD",
                    items=ITEMS,
                    shipping_fee="5.00",
                    buyer_country="US",
                    policy=rt.policy,
                    ctx=admin,
                )
                order.record_payment(amount="25.00", method="card", reference="pay", ctx=admin)
                assert order.cancel(reason="changed_mind", comment=None, ctx=asker) is False
                uow.orders.add(order)
                ids.append(order.id)
            uow.commit()
    return ids


def start_worker(url: str, log: Path) -> subprocess.Popen[bytes]:
    """`aftersale worker` in a process of its own, logging to a file."""
    env = {**os.environ, "AFTERSALE_DATABASE_URL": url, "AFTERSALE_TEST_CLOCK": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "aftersale", "worker", "--interval", "0.1", "--batch", "100"],
        env=env,
        cwd=conftest.ROOT,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def scalar(url: str, sql: str) -> Any:
    """One value straight from the database."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar_one()
    finally:
        engine.dispose()


def test_two_worker_processes_fire_a_thousand_due_deadlines_each_exactly_once(
    pg_only_url: str, tmp_path: Path
) -> None:
    rt = build_runtime(conftest.test_settings(pg_only_url, tmp_path))
    ids = make_requested_orders(rt, ORDERS)
    assert rt.test_clock is not None
    rt.test_clock.set(rt.clock.now() + timedelta(hours=72, minutes=1))  # due, not yet fired
    rt.engine.dispose()  # type: ignore[attr-defined]
    due = (
        "SELECT count(*) FROM deadlines "
        "WHERE fired_at IS NULL AND due_at <= (SELECT now FROM test_clock)"
    )
    assert scalar(pg_only_url, due) == ORDERS

    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    workers = [start_worker(pg_only_url, log) for log in logs]
    try:
        deadline = time.monotonic() + 50
        while time.monotonic() < deadline:
            if (
                scalar(pg_only_url, due) == 0
                and scalar(pg_only_url, "SELECT count(*) FROM refunds WHERE status = 'processing'")
                == ORDERS
            ):
                break
            assert all(w.poll() is None for w in workers), [log.read_text() for log in logs]
            time.sleep(0.2)
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(timeout=20)

    taken = [
        sum(int(n) for n in re.findall(r"took (\d+) due deadlines", log.read_text()))
        for log in logs
    ]
    # 1,000 timeouts plus the 1,000 refund submissions they created, due at the same moment.
    assert sum(taken) == 2 * ORDERS, taken
    assert all(n > 0 for n in taken), taken
    assert "Traceback" not in logs[0].read_text() + logs[1].read_text()
    per_order = {
        "SELECT count(*) FROM orders WHERE status = 'cancelled'": ORDERS,
        "SELECT count(*) FROM cancellations WHERE status = 'auto_accepted'": ORDERS,
        "SELECT count(*) FROM refunds": ORDERS,
        "SELECT count(DISTINCT order_id) FROM refunds": ORDERS,
        "SELECT count(*) FROM sandbox_refunds": ORDERS,
        "SELECT count(*) FROM timeline WHERE event = 'cancellation_auto_accepted'": ORDERS,
        "SELECT count(*) FROM timeline WHERE event = 'cancelled'": ORDERS,
        "SELECT count(*) FROM ledger_entries WHERE kind = 'refund'": 2 * ORDERS,
        "SELECT count(*) FROM deadlines WHERE kind IN ('cancellation_timeout', 'refund_submit') "
        "AND fired_at IS NOT NULL": 2 * ORDERS,
        "SELECT count(*) FROM deadlines WHERE fired_at IS NULL AND kind NOT IN "
        "('refund_settle', 'unpaid_close', 'ship_timeout')": 0,
        "SELECT count(*) FROM deadlines WHERE attempts > 0": 0,
        "SELECT count(*) FROM orders WHERE refunded_amount <> paid_amount": 0,
        "SELECT count(*) FROM refunds r JOIN orders o ON o.id = r.order_id "
        "WHERE r.amount <> o.paid_amount": 0,
        "SELECT count(*) FROM refunds r JOIN sandbox_refunds s ON s.key = r.id "
        "WHERE s.amount = r.amount": ORDERS,
    }
    found = {sql: scalar(pg_only_url, sql) for sql in per_order}
    assert found == per_order
    assert scalar(pg_only_url, "SELECT count(*) FROM orders") == len(ids)
