"""No order waits forever (issue 14): a database filled by the import of mixed orders, then
120 days of test clock with nobody acting; checked in SQL at each step: every order that is
neither completed nor cancelled has a pending deadline that will move it (or an escalated
dispute waiting for the platform), every ledger balances, and at the end every order has
reached completed or cancelled. PostgreSQL takes 100,000 orders, SQLite 5,000."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import pytest
from bench.gen_import import ensure_users, order_line, user_ids
from sqlalchemy import Engine, create_engine, text

from aftersale.adapters.db.bulk import SqlImportStore
from aftersale.bootstrap import build_runtime
from aftersale.services.deadlines import advance_test_clock
from aftersale.services.importer import import_orders
from tests.conftest import test_settings as settings_for

DAY = 86400
SIZES = {"sqlite": 5_000, "postgres": int(os.environ.get("AFTERSALE_SOAK_ORDERS", "100000"))}
WAITING = """
SELECT count(*) FROM orders o
WHERE o.status NOT IN ('completed', 'cancelled')
  AND NOT EXISTS (SELECT 1 FROM deadlines d WHERE d.order_id = o.id AND d.fired_at IS NULL)
  AND NOT EXISTS (SELECT 1 FROM disputes x WHERE x.order_id = o.id AND x.status = 'escalated')
"""
UNBALANCED = """
SELECT count(*) FROM (
  SELECT txn_id FROM ledger_entries GROUP BY txn_id HAVING sum(amount) <> 0
) unbalanced
"""
ESCROW = """
SELECT count(*) FROM orders o
WHERE o.paid_amount - o.refunded_amount - o.released_amount <> COALESCE(
  (SELECT sum(l.amount) FROM ledger_entries l WHERE l.order_id = o.id AND l.account = 'escrow'), 0)
"""
REFUNDED = """
SELECT count(*) FROM orders o
WHERE o.refunded_amount <> COALESCE(
  (SELECT sum(r.amount) FROM refunds r WHERE r.order_id = o.id AND r.status <> 'failed'), 0)
"""
OVERDRAWN = "SELECT count(*) FROM orders WHERE refunded_amount + released_amount > paid_amount"
FAILED = "SELECT count(*) FROM deadlines WHERE attempts > 0"
OPEN = "SELECT count(*) FROM orders WHERE status NOT IN ('completed', 'cancelled')"


def v11_extras(line: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """Some lines get their own processing and delivery times, or a cancelled unit."""
    if rng.random() < 0.2:
        line["ship_by_days"], line["delivery_days"] = rng.randint(1, 30), rng.randint(1, 90)
    items = line["items"]
    if line["status"] != "cancelled" and len(items) > 1 and rng.random() < 0.2:
        items[0]["cancelled_quantity"] = 1
        if line["status"] == "awaiting_payment":
            return line  # (the total goes down; nothing was paid)
    return line


def write_lines(path: Path, count: int, buyers: list[str], sellers: list[str]) -> None:
    """The mixed import file."""
    rng = random.Random(14)
    with path.open("w") as f:
        for n in range(count):
            line = v11_extras(order_line(n, rng, buyers=buyers, sellers=sellers), rng)
            f.write(json.dumps(line) + "\n")


def counts(engine: Engine) -> dict[str, int]:
    """Each check's count of offending rows."""
    checks = {
        "waiting": WAITING,
        "unbalanced": UNBALANCED,
        "escrow": ESCROW,
        "refunded": REFUNDED,
        "overdrawn": OVERDRAWN,
        "failed": FAILED,
    }
    with engine.connect() as conn:
        return {name: int(conn.execute(text(sql)).scalar_one()) for name, sql in checks.items()}


CLEAN = {"waiting": 0, "unbalanced": 0, "escrow": 0, "refunded": 0, "overdrawn": 0, "failed": 0}


@pytest.mark.timeout(600)
def test_imported_orders_all_move_on_through_120_days_of_nobody_acting(
    db_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    size = SIZES["sqlite" if db_url.startswith("sqlite") else "postgres"]
    buyers, sellers = user_ids(200, 40)
    ensure_users(db_url, buyers, sellers)
    path = tmp_path / "orders.jsonl"
    write_lines(path, size, buyers, sellers)
    rt = build_runtime(settings_for(db_url, tmp_path))
    engine = create_engine(db_url)
    try:
        with path.open() as lines:
            report = import_orders(rt, SqlImportStore(rt.engine), lines)  # type: ignore[attr-defined]
        assert (report.imported, report.errors) == (size, [])
        assert counts(engine) == CLEAN
        with engine.connect() as conn:
            assert int(conn.execute(text(OPEN)).scalar_one()) > size // 4
        for days in (1, 9, 20, 30, 60):  # 120 days in all
            advance_test_clock(rt, days * DAY)
            assert counts(engine) == CLEAN, days
        with engine.connect() as conn:
            assert int(conn.execute(text(OPEN)).scalar_one()) == 0
            unfired = "SELECT count(*) FROM deadlines WHERE fired_at IS NULL AND due_at <= :now"
            now = rt.clock.now().replace(tzinfo=None)
            assert int(conn.execute(text(unfired), {"now": now}).scalar_one()) == 0
    finally:
        engine.dispose()
        rt.close()
