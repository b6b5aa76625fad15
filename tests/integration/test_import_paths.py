"""The import's faster paths write exactly what the plain ones write: worker processes give the
same report and rows as checking in-process, COPY text gives the same values as the column
types would bind, and a replayed order is a native one less its outbox events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from aftersale.adapters.db import tables as t
from aftersale.adapters.db.bulk import SqlImportStore
from aftersale.domain.actors import Actor, Role
from aftersale.domain.context import Ctx
from aftersale.domain.order import Order, ReplayedOrder, create_order
from aftersale.domain.policy import Policy
from aftersale.services.importer import import_orders
from aftersale.services.runtime import Runtime
from tests.client import Party
from tests.integration.test_import import (
    STATUSES,
    counts,
    iso,
    mixed_file,
    order_line,
    run_import,
    unbalanced_txns,
    write_lines,
)
from tests.unit.fakes import WeekdayCalendar

WRITTEN = [t.timeline, t.ledger, t.deadlines, t.refunds, t.cancellations, t.outbox, t.orders]
# random per run: refund ids and ledger posting ids; `seq` is the insertion order
RANDOM = {"seq", "txn_id"}


def snapshot(rt: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the import writes, sorted, without the columns that are random per run."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with rt.engine.connect() as conn:  # type: ignore[attr-defined]
        for table in WRITTEN:
            cols = [c for c in table.columns if c.name not in RANDOM]
            if table is t.refunds:
                cols = [c for c in cols if c.name != "id"]
            rows = [tuple(r) for r in conn.execute(select(*cols))]
            out[table.name] = sorted(rows, key=repr)
    return out


def forget_imports(rt: Runtime) -> None:
    """Delete every imported row (the users stay)."""
    with rt.engine.begin() as conn:  # type: ignore[attr-defined]
        for table in WRITTEN:
            conn.execute(delete(table))


def tricky_lines(buyer: Party, seller: Party, base: datetime) -> list[dict[str, Any]]:
    """Values COPY's text format must escape, and times with offsets other than UTC."""
    weird = 'Lamp\t"big"\\ new\nline \r 💡 \\N'
    items = [{"sku": "A\\1", "title": weird, "quantity": 1, "unit_price": "45.00"}]
    paid_at = (base + timedelta(days=1)).astimezone(timezone(timedelta(hours=5, minutes=30)))
    shipped = {"carrier": "D\\HL\tX", "tracking_number": "T\\N", "shipped_at": iso(base)}
    one = order_line(buyer, seller, "delivered", base=base - timedelta(days=5), id="tricky-1")
    one.update(items=items, shipment={**shipped, "shipped_at": iso(base - timedelta(days=3))})
    two = order_line(buyer, seller, "cancelled", base=base, id="tricky-2")
    two.update(items=items, cancel_reason="Out\tof\nstock \\ soon")
    two["payment"] = {**two["payment"], "reference": "ref\\x", "paid_at": paid_at.isoformat()}
    three = order_line(buyer, seller, "awaiting_payment", base=base, id="tricky-3")
    three["created_at"] = (base + timedelta(hours=2)).isoformat().replace("+00:00", "+02:00")
    return [one, two, three]


def test_worker_processes_give_the_same_report_and_rows_as_checking_in_process(
    rt: Runtime, parties: tuple[Party, Party], base: datetime, tmp_path: Path
) -> None:
    path, expected = mixed_file(tmp_path, *parties, base)
    before = counts(rt)
    serial = run_import(rt, path, batch_size=3, jobs=0)
    rows = snapshot(rt)
    assert len(rows["orders"]) == len(STATUSES)
    forget_imports(rt)
    pooled = run_import(rt, path, batch_size=3, jobs=2)
    assert pooled == serial
    assert {p.line: p.code for p in pooled.errors} == expected  # bad lines met in the workers
    assert snapshot(rt) == rows
    assert counts(rt)["outbox"] == before["outbox"]
    with rt.engine.connect() as conn:  # type: ignore[attr-defined]
        for table in (t.orders, t.timeline, t.ledger, t.deadlines, t.refunds):
            column = table.c.id if table is t.orders else table.c.order_id
            bad = conn.execute(select(column).where(column.like("bad-%"))).all()
            assert bad == [], table.name
    assert unbalanced_txns(rt) == []


def test_workers_skip_existing_ids_and_refuse_duplicates_across_batches(
    rt: Runtime, parties: tuple[Party, Party], base: datetime, tmp_path: Path
) -> None:
    buyer, seller = parties
    lines = [order_line(buyer, seller, s, base=base, id=f"dup-{s}") for s in STATUSES]
    first = write_lines(tmp_path / "first.jsonl", lines[:2])
    assert run_import(rt, first, jobs=2).imported == 2
    # lines 1-2 exist already; lines 8-9 repeat lines 3-4 in a later batch of another worker
    path = write_lines(tmp_path / "again.jsonl", lines + lines[2:4])
    report = run_import(rt, path, batch_size=2, jobs=2)
    assert report.skipped == [(1, "dup-awaiting_payment"), (2, "dup-awaiting_fulfillment")]
    assert [(p.line, p.code) for p in report.errors] == [(8, "duplicate_id"), (9, "duplicate_id")]
    assert (report.lines, report.imported) == (9, len(STATUSES) - 2)


def test_copy_text_writes_what_the_column_types_would_bind(
    rt: Runtime, parties: tuple[Party, Party], base: datetime, tmp_path: Path
) -> None:
    """On PostgreSQL the rows go in as COPY text; on SQLite through the column types. Both must
    read back as what the column types bind, tabs, backslashes and offsets included."""
    path = write_lines(tmp_path / "tricky.jsonl", tricky_lines(*parties, base))
    fast = run_import(rt, path)
    assert fast.errors == [] and fast.imported == 3
    rows = snapshot(rt)
    forget_imports(rt)

    store = SqlImportStore(rt.engine, copy=False)  # type: ignore[attr-defined]
    with path.open() as lines:
        typed = import_orders(rt, store, lines, jobs=0)
    assert typed == fast
    assert snapshot(rt) == rows
    with rt.engine.connect() as conn:  # type: ignore[attr-defined]
        items, reason = conn.execute(
            select(t.orders.c["items"], t.orders.c.cancel_reason).where(t.orders.c.id == "tricky-2")
        ).one()
        created = conn.execute(
            select(t.orders.c.created_at).where(t.orders.c.id == "tricky-3")
        ).scalar_one()
    assert items[0]["title"] == 'Lamp\t"big"\\ new\nline \r 💡 \\N'
    assert reason == "Out\tof\nstock \\ soon"
    assert created == base  # 02:00 at +02:00 is midnight UTC


def test_a_replayed_order_is_a_native_one_without_outbox_events() -> None:
    now = datetime(2025, 3, 1, 10, tzinfo=UTC)
    admin = Ctx(actor=Actor(user_id="a", role=Role.ADMIN), now=now, calendar=WeekdayCalendar())
    built = []
    for kind in (Order, ReplayedOrder):
        order = create_order(
            buyer_id="b",
            seller_id="s",
            currency="USD",
            items=[{"sku": "A", "title": "Lamp", "quantity": 2, "unit_price": "20.00"}],
            shipping_fee="5.00",
            buyer_country="US",
            policy=Policy(),
            ctx=admin,
            order_id="ord-1",
            kind=kind,
        )
        order.record_payment(amount="45.00", method="card", reference="r", ctx=admin)
        order._cancel(by="seller", reason="Out of stock", ctx=admin)
        built.append(order)
    native, replayed = built
    assert type(replayed) is ReplayedOrder
    assert native.new_events and not replayed.new_events
    assert replayed.timeline == native.timeline
    assert [(e.account, e.amount, e.kind) for e in replayed.new_ledger] == [
        (e.account, e.amount, e.kind) for e in native.new_ledger
    ]
    assert replayed.new_deadlines[:1] == native.new_deadlines[:1]
    assert (replayed.status, replayed.refunded_amount, replayed.updated_at) == (
        native.status,
        native.refunded_amount,
        native.updated_at,
    )
