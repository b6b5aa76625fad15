"""`aftersale import`: good lines become complete native-like orders, bad lines nothing at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from aftersale.adapters.db import tables as t
from aftersale.adapters.db.bulk import SqlImportStore
from aftersale.services.importer import ImportReport, import_orders
from aftersale.services.runtime import Runtime
from tests.client import ADMIN_TOKEN, DAY, HOUR, Api, Party

ROOT = Path(__file__).resolve().parents[2]
TABLES = [t.orders, t.timeline, t.ledger, t.deadlines, t.refunds, t.cancellations, t.outbox]


def iso(moment: datetime) -> str:
    """RFC 3339 with a Z."""
    return moment.isoformat().replace("+00:00", "Z")


def order_line(
    buyer: Party, seller: Party, status: str, *, base: datetime, **changes: Any
) -> dict[str, Any]:
    """A consistent line of the given status (total 45.00 USD), history from `base` on."""
    at = {k: iso(base + timedelta(days=d)) for k, d in (("c", 0), ("p", 1), ("s", 2), ("d", 4))}
    line: dict[str, Any] = {
        "id": f"imp-{status}-{buyer.id[-6:]}",
        "buyer_id": buyer.id,
        "seller_id": seller.id,
        "currency": "USD",
        "items": [
            {"sku": "A", "title": "Lamp", "quantity": 2, "unit_price": "20.00"},
            {"sku": "B", "title": "Bulb", "quantity": 1, "unit_price": "5.00"},
        ],
        "status": status,
        "created_at": at["c"],
    }
    paid = {"amount": "45.00", "method": "card", "reference": "old-pay-1", "paid_at": at["p"]}
    shipment = {"carrier": "DHL", "tracking_number": "T1", "shipped_at": at["s"]}
    steps = {
        "awaiting_fulfillment": {"payment": paid},
        "awaiting_shipment": {"payment": paid, "packed_at": at["p"]},
        "shipped": {"payment": paid, "shipment": shipment},
        "delivered": {"payment": paid, "shipment": shipment, "delivered_at": at["d"]},
        "completed": {
            "payment": paid,
            "shipment": shipment,
            "delivered_at": at["d"],
            "completed_at": iso(base + timedelta(days=20)),
        },
        "cancelled": {
            "payment": paid,
            "cancelled_at": at["s"],
            "cancelled_by": "seller",
            "cancel_reason": "Out of stock",
        },
    }
    line.update(steps.get(status, {}))
    line.update(changes)
    return line


def run_import(rt: Runtime, path: Path, **kw: Any) -> ImportReport:
    """Import a file through the use case and the real bulk writer."""
    with path.open() as lines:
        return import_orders(rt, SqlImportStore(rt.engine), lines, **kw)  # type: ignore[attr-defined]


def write_lines(path: Path, lines: list[Any]) -> Path:
    """One line per item: dicts as JSON, strings as they are."""
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


def counts(rt: Runtime) -> dict[str, int]:
    """Rows per table."""
    with rt.engine.connect() as conn:  # type: ignore[attr-defined]
        return {
            tb.name: conn.execute(select(func.count()).select_from(tb)).scalar_one()
            for tb in TABLES
        }


def unbalanced_txns(rt: Runtime) -> list[Any]:
    """Ledger postings whose legs do not sum to zero."""
    with rt.engine.connect() as conn:  # type: ignore[attr-defined]
        return list(
            conn.execute(
                text("SELECT txn_id FROM ledger_entries GROUP BY txn_id HAVING SUM(amount) <> 0")
            )
        )


STATUSES = [
    "awaiting_payment",
    "awaiting_fulfillment",
    "awaiting_shipment",
    "shipped",
    "delivered",
    "completed",
    "cancelled",
]


def mixed_file(tmp_path: Path, buyer: Party, seller: Party, base: datetime) -> tuple[Path, dict]:
    """Good lines in every status and bad lines of every kind (bad line number -> code)."""
    good = [order_line(buyer, seller, s, base=base) for s in STATUSES]

    def bad(status: str, n: int, **changes: Any) -> dict[str, Any]:
        return order_line(buyer, seller, status, base=base, id=f"bad-{n}", **changes)

    shipped = good[3]
    bad_lines: list[tuple[Any, str]] = [
        ('{"id": "bad-json", ', "invalid_json"),
        (bad("awaiting_payment", 2, currency="XYZ"), "validation_error"),
        (bad("awaiting_payment", 3, shipping_fee="1.234"), "validation_error"),
        (
            bad("awaiting_fulfillment", 4, payment={**good[1]["payment"], "amount": "44.99"}),
            "payment_amount_mismatch",
        ),
        (bad("shipped", 5, shipment=None), "validation_error"),
        (bad("delivered", 6, delivered_at=iso(base + timedelta(days=1))), "validation_error"),
        (bad("awaiting_payment", 7, buyer_id="usr_nobody"), "validation_error"),
        (bad("awaiting_payment", 8, items=[good[0]["items"][0]] * 2), "validation_error"),
        (bad("completed", 9, completed_at=iso(base + timedelta(days=5))), "validation_error"),
        (
            bad("awaiting_payment", 10, created_at=iso(base + timedelta(days=31))),
            "validation_error",
        ),
        (bad("awaiting_payment", 11, buyer_id=seller.id), "validation_error"),
        ({**shipped}, "duplicate_id"),
        (bad("shipped", 13, delivered_at=shipped["shipment"]["shipped_at"]), "validation_error"),
        (bad("awaiting_payment", 14, colour="red"), "validation_error"),
        ({**bad("awaiting_payment", 15), "status": ["shipped"]}, "validation_error"),
        (bad("awaiting_fulfillment", 16, payment="paid"), "validation_error"),
        ("[1, 2]", "validation_error"),
    ]
    lines = good + [x for x, _ in bad_lines]
    expected = {len(good) + i + 1: code for i, (_, code) in enumerate(bad_lines)}
    return write_lines(tmp_path / "orders.jsonl", lines), expected


def test_a_mixed_file_imports_exactly_the_good_lines_and_reports_each_bad_one(
    rt: Runtime, parties: tuple[Party, Party], base: datetime, tmp_path: Path
) -> None:
    before = counts(rt)
    path, expected = mixed_file(tmp_path, *parties, base)
    report = run_import(rt, path, batch_size=4)
    assert report.imported == len(STATUSES)
    assert {p.line: p.code for p in report.errors} == expected
    after = counts(rt)
    assert after["orders"] - before["orders"] == len(STATUSES)
    # placed + history + imported: 2, 3, 4, 4, 5, 6, 6 (cancelled: paid, cancelled, refund x2)
    assert after["timeline"] - before["timeline"] == 2 + 3 + 4 + 4 + 5 + 6 + 6
    # unpaid_close, ship_timeout (fulfillment, shipment), protection_end, order_complete
    assert after["deadlines"] - before["deadlines"] == 5
    assert after["refunds"] - before["refunds"] == 1
    assert after["outbox"] == before["outbox"]
    with rt.engine.connect() as conn:  # type: ignore[attr-defined]
        for table in (t.timeline, t.ledger, t.deadlines, t.refunds):
            bad = conn.execute(
                select(func.count()).select_from(table).where(table.c.order_id.like("bad-%"))
            )
            assert bad.scalar_one() == 0, table.name
    assert unbalanced_txns(rt) == []


def test_reimporting_the_same_file_skips_every_existing_order(
    rt: Runtime, parties: tuple[Party, Party], base: datetime, tmp_path: Path
) -> None:
    path, expected = mixed_file(tmp_path, *parties, base)
    run_import(rt, path)
    once = counts(rt)
    again = run_import(rt, path)
    assert again.imported == 0
    assert [line for line, _ in again.skipped] == list(range(1, len(STATUSES) + 1))
    assert {p.line for p in again.errors} == set(expected)
    assert counts(rt) == once


def test_a_dry_run_validates_every_line_and_writes_nothing(
    rt: Runtime, parties: tuple[Party, Party], base: datetime, tmp_path: Path
) -> None:
    before = counts(rt)
    path, expected = mixed_file(tmp_path, *parties, base)
    report = run_import(rt, path, dry_run=True)
    assert report.imported == len(STATUSES)
    assert {p.line for p in report.errors} == set(expected)
    assert counts(rt) == before


def imported(rt: Runtime, tmp_path: Path, *lines: dict[str, Any]) -> None:
    """Import these lines, all of which must be good."""
    report = run_import(rt, write_lines(tmp_path / "few.jsonl", list(lines)))
    assert report.errors == [] and report.imported == len(lines)


def test_an_imported_paid_order_cancellation_is_auto_accepted_after_72_hours(
    rt: Runtime, api: Api, parties: tuple[Party, Party], base: datetime, tmp_path: Path
) -> None:
    buyer, seller = parties
    line = order_line(buyer, seller, "awaiting_fulfillment", base=base)
    imported(rt, tmp_path, line)
    view = api.get_order(line["id"], buyer)
    assert view["paid_amount"]["amount"] == "45.00"
    assert [e["event"] for e in view["timeline"]] == ["placed", "paid", "imported"]
    api.ok(api.post(f"/orders/{line['id']}/cancel", {"reason": "changed_mind"}, as_=buyer), 202)
    api.advance(72 * HOUR)
    after = api.get_order(line["id"], buyer)
    assert after["status"] == "cancelled"
    assert after["cancellation"]["status"] == "auto_accepted"
    assert [r["amount"]["amount"] for r in after["refunds"]] == ["45.00"]
    assert unbalanced_txns(rt) == []


def test_a_paid_order_cancelled_by_the_buyer_is_imported_with_its_accepted_request(
    rt: Runtime, api: Api, parties: tuple[Party, Party], base: datetime, tmp_path: Path
) -> None:
    buyer, seller = parties
    at = iso(base + timedelta(days=2))
    paid = order_line(buyer, seller, "cancelled", base=base, id="imp-paid")
    paid.update(cancelled_by="buyer", cancel_reason="changed_mind", cancelled_at=at)
    unpaid = order_line(buyer, seller, "awaiting_payment", base=base, id="imp-unpaid")
    unpaid.update(status="cancelled", cancelled_by="buyer", cancel_reason="changed_mind")
    unpaid["cancelled_at"] = at
    bad = dict(paid, id="imp-bad-reason", cancel_reason="Out of stock")  # not a buyer's code
    report = run_import(rt, write_lines(tmp_path / "c.jsonl", [paid, unpaid, bad]))
    assert report.imported == 2 and [(p.line, p.code) for p in report.errors] == [
        (3, "validation_error")
    ]
    view = api.get_order("imp-paid", buyer)
    assert (view["status"], view["cancelled_by"]) == ("cancelled", "buyer")
    assert view["cancellation"]["status"] == "accepted"
    assert view["cancellation"]["reason"] == "changed_mind"
    assert [(e["event"], e["actor"]) for e in view["timeline"]][2:5] == [
        ("cancellation_requested", "buyer"),
        ("cancellation_accepted", "seller"),
        ("cancelled", "seller"),
    ]
    assert [(r["status"], r["amount"]["amount"]) for r in view["refunds"]] == [
        ("succeeded", "45.00")
    ]
    direct = api.get_order("imp-unpaid", buyer)
    assert (direct["status"], direct["cancellation"], direct["refunds"]) == (
        "cancelled",
        None,
        [],
    )
    assert counts(rt)["deadlines"] == 0 and unbalanced_txns(rt) == []


def test_an_imported_delivered_order_can_be_returned_or_disputed_through_the_api(
    rt: Runtime, api: Api, parties: tuple[Party, Party], tmp_path: Path
) -> None:
    buyer, seller = parties
    now = datetime.fromisoformat(api.now())
    one = order_line(buyer, seller, "delivered", base=now - timedelta(days=6), id="imp-ret")
    two = order_line(buyer, seller, "delivered", base=now - timedelta(days=6), id="imp-dis")
    imported(rt, tmp_path, one, two)
    ret = {"reason": "damaged", "items": [{"sku": "A", "quantity": 1}], "condition": "defective"}
    assert api.ok(api.post("/orders/imp-ret/returns", ret, as_=buyer), 201)["status"] == "requested"
    dispute = {"reason": "damaged", "refund_type": "full", "description": "It arrived broken"}
    opened = api.ok(api.post("/orders/imp-dis/disputes", dispute, as_=buyer), 201)
    assert opened["requested_amount"]["amount"] == "45.00"


def test_an_imported_delivered_order_completes_and_releases_escrow_via_the_test_clock(
    rt: Runtime, api: Api, parties: tuple[Party, Party], tmp_path: Path
) -> None:
    buyer, seller = parties
    now = datetime.fromisoformat(api.now())
    line = order_line(buyer, seller, "delivered", base=now - timedelta(days=6))
    imported(rt, tmp_path, line)
    api.advance(9 * DAY)  # delivered 2 days ago + 9 = 11 < 15 days
    assert api.get_order(line["id"], buyer)["status"] == "delivered"
    api.advance(5 * DAY)
    done = api.get_order(line["id"], seller)
    assert done["status"] == "completed"
    assert done["timeline"][-1]["event"] == "completed"
    with rt.engine.connect() as conn:  # type: ignore[attr-defined]
        legs = conn.execute(
            select(t.ledger.c.account, func.sum(t.ledger.c.amount))
            .where(t.ledger.c.order_id == line["id"])
            .group_by(t.ledger.c.account)
        )
        balances = {account: amount for account, amount in legs}
    assert balances["escrow"] == 0 and str(balances["seller_payable"]) == "45"
    assert unbalanced_txns(rt) == []


def test_an_imported_unpaid_order_closes_20_days_after_it_was_placed(
    rt: Runtime, api: Api, parties: tuple[Party, Party], tmp_path: Path
) -> None:
    buyer, seller = parties
    now = datetime.fromisoformat(api.now())
    line = order_line(buyer, seller, "awaiting_payment", base=now - timedelta(days=19))
    imported(rt, tmp_path, line)
    api.advance(DAY + 1)
    closed = api.get_order(line["id"], buyer)
    assert (closed["status"], closed["cancel_reason"]) == ("cancelled", "unpaid")


def test_the_import_command_lists_bad_lines_and_exits_1(
    rt: Runtime, parties: tuple[Party, Party], base: datetime, tmp_path: Path, db_url: str
) -> None:
    path, expected = mixed_file(tmp_path, *parties, base)
    env = {
        **os.environ,
        "AFTERSALE_DATABASE_URL": db_url,
        "AFTERSALE_TEST_CLOCK": "1",
        "AFTERSALE_ADMIN_TOKEN": ADMIN_TOKEN,
        "AFTERSALE_DATA_DIR": str(tmp_path),
        "COLUMNS": "200",
    }
    cmd = [sys.executable, "-m", "aftersale", "import", str(path), "--report", str(tmp_path / "r")]
    run = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stderr
    for line in expected:
        assert f"line {line}:" in run.stdout
    assert f"{len(STATUSES)} imported" in run.stdout
    report = [json.loads(x) for x in (tmp_path / "r").read_text().splitlines()]
    assert sorted(r["line"] for r in report) == sorted(expected)
