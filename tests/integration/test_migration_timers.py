"""Migration 0006 brings a database filled at the previous schema under the new timers, on
SQLite and PostgreSQL, and every migrated schema matches tables.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, MetaData, create_engine, insert, select

from aftersale.adapters.db import tables as t
from aftersale.adapters.db.migrate import alembic_config
from aftersale.bootstrap import build_runtime
from aftersale.services.deadlines import run_until
from tests.conftest import PG_SERVER, drop_pg_database
from tests.conftest import test_settings as settings_for

PAID_AT = datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=UTC)
POLICY = {"non_receipt_days": 45}


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (no schema at all) on each engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    name = f"aftersale_migration_{os.getpid()}"
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    yield f"{PG_SERVER}/{name}"
    drop_pg_database(f"{PG_SERVER}/{name}")


def upgrade(engine: Engine, revision: str) -> None:
    """Run the migrations up to `revision`."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def old_order(oid: str, status: str, **extra: Any) -> dict[str, Any]:
    """An order row as the schema before 0006 held it (2 x 20.00, paid in full)."""
    row = {
        "id": oid,
        "buyer_id": "usr_b",
        "seller_id": "usr_s",
        "currency": "USD",
        "items": [{"sku": "A", "title": "Lamp", "quantity": 2, "unit_price": "20.00"}],
        "shipping_fee": 0,
        "total": 400000,
        "status": status,
        "buyer_country": "US",
        "policy": POLICY,
        "created_at": PAID_AT.replace(tzinfo=None),
        "updated_at": PAID_AT.replace(tzinfo=None),
        "version": 1,
        "paid_amount": 400000,
        "refunded_amount": 0,
        "released_amount": 0,
        "payment_method": "card",
        "paid_at": PAID_AT.replace(tzinfo=None),
    }
    row.update(extra)
    return row


def fill_old(engine: Engine) -> None:
    """Orders, a return in transit and an escalated dispute written at schema 0005."""
    old = MetaData()
    old.reflect(engine)
    shipped_at = (PAID_AT + timedelta(days=1)).replace(tzinfo=None)
    with engine.begin() as conn:
        for row in (  # one at a time: an executemany takes the first row's columns
            old_order("ord_paid", "awaiting_fulfillment"),
            old_order("ord_shipped", "shipped", shipped_at=shipped_at),
            old_order("ord_delivered", "delivered", shipped_at=shipped_at),
            old_order("ord_unpaid", "awaiting_payment", paid_at=None, paid_amount=0),
        ):
            conn.execute(insert(old.tables["orders"]), row)
        conn.execute(
            insert(old.tables["returns"]),
            {
                "id": "ret_old",
                "order_id": "ord_delivered",
                "status": "in_transit",
                "reason": "damaged",
                "condition": "unopened",
                "items": [{"sku": "A", "quantity": 1}],
                "amount": 200000,
                "requested_at": shipped_at,
                "respond_by": shipped_at,
                "shipped_at": shipped_at,
            },
        )
        conn.execute(
            insert(old.tables["disputes"]),
            {
                "id": "dsp_old",
                "order_id": "ord_delivered",
                "status": "escalated",
                "reason": "damaged",
                "refund_type": "full",
                "requested_amount": 400000,
                "description": "broken",
                "opened_at": shipped_at,
                "respond_by": shipped_at,
                "seller_response": "rejected",
                "escalated_at": shipped_at,
            },
        )


def test_a_filled_database_is_brought_under_the_timers(empty_url: str, tmp_path: Path) -> None:
    engine = create_engine(empty_url)
    upgrade(engine, "0005")
    fill_old(engine)
    upgrade(engine, "head")
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(t.orders))}
        deadlines = {
            (d.kind, d.subject_id): d.due_at
            for d in conn.execute(select(t.deadlines).where(t.deadlines.c.fired_at.is_(None)))
        }
        ret = conn.execute(select(t.returns)).one()
        dispute = conn.execute(select(t.disputes)).one()
    shipped_at = PAID_AT + timedelta(days=1)
    assert rows["ord_paid"].ship_by == PAID_AT + timedelta(days=7)
    assert rows["ord_paid"].protection_ends_at is None
    assert rows["ord_shipped"].protection_ends_at == shipped_at + timedelta(days=60)
    assert rows["ord_unpaid"].ship_by is None and rows["ord_delivered"].ship_by is None
    assert (rows["ord_shipped"].ship_by_days, rows["ord_shipped"].delivery_days) == (7, 60)
    assert deadlines == {
        ("ship_timeout", "ord_paid"): PAID_AT + timedelta(days=7),
        ("protection_end", "ord_shipped"): shipped_at + timedelta(days=60),
        ("return_receive_timeout", "ret_old"): shipped_at + timedelta(days=15),
    }
    assert ret.receive_by == shipped_at + timedelta(days=15)
    assert (dispute.rounds, dispute.history) == (1, [])
    assert dispute.decide_by == shipped_at + timedelta(days=7)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), t.metadata)
    assert diff == [], diff
    engine.dispose()
    rt = build_runtime(settings_for(empty_url, tmp_path))
    try:
        run_until(rt, PAID_AT + timedelta(days=100))
        with rt.uow(readonly=True) as uow:
            paid, shipped = uow.orders.get("ord_paid"), uow.orders.get("ord_shipped")
            assert paid is not None and shipped is not None
            assert (paid.status, paid.cancelled_by) == ("cancelled", "system")
            assert [r.reason for r in paid.refunds] == ["seller_did_not_ship"]
            assert shipped.status in ("delivered", "completed")
            assert shipped.policy.non_receipt_days == 45  # each order keeps its policy
    finally:
        rt.close()
