"""The machine's ceiling: plain SQL transactions through psycopg 3 doing the same row writes
as the engine, at the same concurrency, with none of the engine's Python around them."""

from __future__ import annotations

import multiprocessing
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy.engine import make_url

Tx = Callable[[psycopg.Cursor[Any], str, datetime], None]


def conninfo(url: str) -> str:
    """A libpq URL from a SQLAlchemy one."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


CANCELLED = (
    ", status = 'cancelled', cancelled_at = %(now)s, cancelled_by = 'buyer', "
    "cancel_reason = 'changed_mind', refunded_amount = 600000"
)


def _bump(cur: psycopg.Cursor[Any], order_id: str, now: datetime, sets: str = "") -> None:
    """Read the order's version under its row lock, then save with the version check."""
    cur.execute("SELECT version FROM orders WHERE id = %s FOR UPDATE", (order_id,))
    row = cur.fetchone()
    assert row is not None
    cur.execute(
        f"UPDATE orders SET version = %(new)s, updated_at = %(now)s{sets} "
        "WHERE id = %(id)s AND version = %(old)s",
        {"new": row[0] + 1, "now": now, "id": order_id, "old": row[0]},
    )
    assert cur.rowcount == 1


def _events(cur: psycopg.Cursor[Any], order_id: str, now: datetime, events: list[str]) -> None:
    """Timeline and outbox rows, one each per event."""
    cur.executemany(
        "INSERT INTO timeline (order_id, at, actor, event, detail) VALUES (%s, %s, %s, %s, %s)",
        [(order_id, now, "system", e, f"bench {e} detail text") for e in events],
    )
    cur.executemany(
        "INSERT INTO outbox (id, type, order_id, at, data) VALUES (%s, %s, %s, %s, %s)",
        [(_id("evt"), f"order.{e}", order_id, now, Jsonb({"actor": "buyer"})) for e in events],
    )


ITEMS = [
    {"sku": "SKU-1", "title": "Lamp", "quantity": 2, "unit_price": "20.00"},
    {"sku": "SKU-2", "title": "Bulb", "quantity": 3, "unit_price": "5.00"},
]
POLICY = {
    "cancellation_answer_hours": 72,
    "refund_min_days": 3,
    "refund_max_days": 20,
    "refund_promise_working_days": 20,
    "return_window_days": 15,
    "dispute_window_days": 15,
    "seller_answer_days": 5,
    "buyer_answer_days": 5,
    "return_ship_days": 10,
    "non_receipt_days": 45,
    "unpaid_close_days": 20,
    "platform_fee_percent": 0,
}


def create_tx(cur: psycopg.Cursor[Any], parties: str, now: datetime) -> None:
    """What POST /orders writes (`parties`: "buyer_id seller_id")."""
    buyer, seller = parties.split()
    order_id = _id("ord")
    with cur.connection.pipeline():  # one round trip, as ours (one statement with WITH)
        cur.execute(
            "INSERT INTO orders (id, buyer_id, seller_id, currency, items, shipping_fee, total, "
            "status, buyer_country, policy, created_at, updated_at, version, paid_amount, "
            "refunded_amount, released_amount, owned) VALUES (%s, %s, %s, 'USD', %s, 50000, "
            "600000, 'awaiting_payment', 'US', %s, %s, %s, 1, 0, 0, 0, 0)",
            (order_id, buyer, seller, Jsonb(ITEMS), Jsonb(POLICY), now, now),
        )
        cur.execute(
            "INSERT INTO deadlines (kind, order_id, subject_id, due_at) VALUES (%s, %s, %s, %s)",
            ("unpaid_close", order_id, order_id, now + timedelta(days=20)),
        )
        _events(cur, order_id, now, ["placed"])


PAID = (
    ", status = 'awaiting_fulfillment', paid_amount = 600000, payment_method = 'card', "
    "payment_reference = 'bench-payment', paid_at = %(now)s"
)


def pay_tx(cur: psycopg.Cursor[Any], order_id: str, now: datetime) -> None:
    """What POST /orders/{id}/payment writes."""
    _bump(cur, order_id, now, PAID)
    with cur.connection.pipeline():  # the rows after the version check, pipelined as ours
        txn = _id("txn")
        cur.executemany(
            "INSERT INTO ledger_entries (order_id, txn_id, account, amount, currency, kind, at) "
            "VALUES (%s, %s, %s, %s, 'USD', 'payment', %s)",
            [(order_id, txn, "buyer", -600000, now), (order_id, txn, "escrow", 600000, now)],
        )
        _events(cur, order_id, now, ["paid"])


def request_tx(cur: psycopg.Cursor[Any], order_id: str, now: datetime) -> None:
    """What POST /orders/{id}/cancel writes on a paid order."""
    _bump(cur, order_id, now)
    can = _id("can")
    with cur.connection.pipeline():  # the rows after the version check, pipelined as ours
        _request_rows(cur, order_id, now, can)


def _request_rows(cur: psycopg.Cursor[Any], order_id: str, now: datetime, can: str) -> None:
    cur.execute(
        "INSERT INTO cancellations (id, order_id, status, reason, requested_at, respond_by) "
        "VALUES (%s, %s, 'pending', 'changed_mind', %s, %s)",
        (can, order_id, now, now + timedelta(hours=72)),
    )
    cur.execute(
        "INSERT INTO deadlines (kind, order_id, subject_id, due_at) VALUES (%s, %s, %s, %s)",
        ("cancellation_timeout", order_id, can, now + timedelta(hours=72)),
    )
    _events(cur, order_id, now, ["cancellation_requested"])


def _cancel_rows(cur: psycopg.Cursor[Any], order_id: str, now: datetime, status: str) -> None:
    """What accepting (or auto-accepting) a request writes besides the order row."""
    cur.execute(
        "UPDATE cancellations SET status = %s, responded_at = %s "
        "WHERE order_id = %s AND status = 'pending'",
        (status, now, order_id),
    )
    ref = _id("ref")
    cur.execute(
        "INSERT INTO refunds (id, order_id, amount, currency, method, status, reason, "
        "source_type, source_id, created_at, expected_by) VALUES "
        "(%s, %s, 600000, 'USD', 'card', 'pending', 'order_cancelled', 'cancellation', %s, %s, %s)",
        (ref, order_id, order_id, now, now + timedelta(days=28)),
    )
    txn = _id("txn")
    cur.executemany(
        "INSERT INTO ledger_entries (order_id, txn_id, account, amount, currency, kind, at) "
        "VALUES (%s, %s, %s, %s, 'USD', 'refund', %s)",
        [
            (order_id, txn, "escrow", -600000, now),
            (order_id, txn, "refunds_in_transit", 600000, now),
        ],
    )
    cur.execute(
        "INSERT INTO deadlines (kind, order_id, subject_id, due_at) VALUES (%s, %s, %s, %s)",
        ("refund_submit", order_id, ref, now),
    )
    _events(cur, order_id, now, [status, "cancelled", "refund_created"])


def accept_tx(cur: psycopg.Cursor[Any], order_id: str, now: datetime) -> None:
    """What POST /orders/{id}/cancellation/accept writes."""
    _bump(cur, order_id, now, CANCELLED)
    with cur.connection.pipeline():  # the rows after the version check, pipelined as ours
        _cancel_rows(cur, order_id, now, "accepted")


def run_clients(
    url: str, ids: list[str], tx: Tx, *, clients: int, seconds: float, processes: int = 1
) -> dict[str, float]:
    """`clients` connections each running `tx` on its own orders for `seconds`, spread over
    `processes` client processes (so the client's own Python is not the limit)."""
    start = time.time() + 2.0  # every process starts its clock together
    shares = [
        (url, ids[p::processes], tx, clients // processes, seconds, start) for p in range(processes)
    ]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        parts = pool.starmap(_clients, shares)
    elapsed = max(e for _, e in parts)
    every = sorted(x for lat, _ in parts for x in lat)
    return {
        "ops": len(every) / elapsed,
        "p50_ms": every[len(every) // 2] * 1000,
        "p99_ms": every[int(len(every) * 0.99)] * 1000,
        "count": len(every),
        "processes": processes,
    }


def _clients(
    url: str, ids: list[str], tx: Tx, clients: int, seconds: float, start: float
) -> tuple[list[float], float]:
    """One client process: its latencies and how long it ran."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)
    stop = threading.Event()

    def client(n: int) -> None:
        with psycopg.connect(conninfo(url)) as conn:
            mine = ids[n::clients]
            barrier.wait()
            for order_id in mine:
                if stop.is_set():
                    break
                began = time.perf_counter()
                with conn.transaction(), conn.cursor() as cur:
                    tx(cur, order_id, datetime.now(UTC))
                latencies[n].append(time.perf_counter() - began)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for th in threads:
        th.start()
    time.sleep(max(0.0, start - time.time()))
    barrier.wait()
    began = time.perf_counter()
    for th in threads:  # until the time is up, or earlier if every client ran out of orders
        th.join(max(0.0, began + seconds - time.perf_counter()))
    stop.set()
    for th in threads:
        th.join()
    return [x for lat in latencies for x in lat], time.perf_counter() - began


def sweep(
    url: str, *, batch: int, sweepers: int = 1, one: Callable[[str, int], int] | None = None
) -> dict[str, float]:
    """`sweepers` processes each running `one(url, batch)` (default `sweep_one`) until nothing
    is due; firings, seconds and firings/s."""
    began = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(sweepers) as pool:
        fired = sum(pool.starmap(one or sweep_one, [(url, batch)] * sweepers))
    elapsed = time.perf_counter() - began
    return {"per_s": fired / elapsed, "fired": fired, "seconds": elapsed, "processes": sweepers}


def sweep_one(url: str, batch: int) -> int:
    """A hand-written worker: claim due deadlines with SKIP LOCKED, lock their orders, write
    what our worker writes per item, each table once per batch (as our worker does), and the
    batch's gateway rows in one transaction on a connection of their own; returns how many
    deadlines it fired."""
    fired = 0
    with (
        psycopg.connect(conninfo(url)) as conn,
        psycopg.connect(conninfo(url), autocommit=True) as gateway,
    ):
        while True:
            with conn.transaction(), conn.cursor() as cur:
                now = datetime.now(UTC)
                cur.execute(
                    "SELECT seq, kind, order_id, subject_id FROM deadlines "
                    "WHERE fired_at IS NULL AND due_at <= %s ORDER BY due_at, seq LIMIT %s "
                    "FOR UPDATE SKIP LOCKED",
                    (now, batch),
                )
                rows = cur.fetchall()
                if not rows:
                    break
                ids = sorted({r[2] for r in rows})
                cur.execute(
                    "SELECT id, version FROM orders WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
                    (ids,),
                )
                cur.fetchall()
                _write_batch(cur, gateway, rows, now)  # (its table writes pipelined, as ours)
                cur.execute(
                    "UPDATE deadlines SET fired_at = %s WHERE seq = ANY(%s) AND fired_at IS NULL",
                    (now, [r[0] for r in rows]),
                )
                fired += len(rows)
    return fired


def _write_batch(
    cur: psycopg.Cursor[Any], gateway: psycopg.Connection[Any], rows: list[Any], now: datetime
) -> None:
    """The rows of one batch, one statement per table (per kind of change), as ours writes
    them: the gateway's rows first (one transaction of their own), the orders' version bumps,
    then every other table in one pipeline."""
    timeouts = [r[2] for r in rows if r[1] == "cancellation_timeout"]
    submits = [(r[2], r[3]) for r in rows if r[1] == "refund_submit"]
    if submits:
        with gateway.transaction(), gateway.cursor() as gcur:
            gcur.executemany(
                "INSERT INTO sandbox_refunds (key, reference, amount, currency, method, "
                "created_at, settles_at) VALUES (%s, %s, 600000, 'USD', 'card', %s, %s) "
                "ON CONFLICT (key) DO NOTHING",
                [(ref, f"sbx_{ref}", now, now + timedelta(days=3)) for _, ref in submits],
            )
            gcur.execute(
                "SELECT * FROM sandbox_refunds WHERE key = ANY(%s)", ([r for _, r in submits],)
            )
            gcur.fetchall()
    if timeouts:  # each table once per batch, many rows per statement, as ours writes them
        cur.execute(
            f"UPDATE orders SET version = version + 1, updated_at = %(now)s{CANCELLED} "
            "WHERE id = ANY(%(ids)s)",
            {"now": now, "ids": timeouts},
        )
    if submits:
        cur.execute(
            "UPDATE orders SET version = version + 1 WHERE id = ANY(%s)", ([o for o, _ in submits],)
        )
    with cur.connection.pipeline():
        _pipelined_rows(cur, timeouts, submits, now)


def _pipelined_rows(
    cur: psycopg.Cursor[Any], timeouts: list[str], submits: list[Any], now: datetime
) -> None:
    if timeouts:
        cur.execute(
            "UPDATE cancellations SET status = 'auto_accepted', responded_at = %s "
            "WHERE order_id = ANY(%s) AND status = 'pending'",
            (now, timeouts),
        )
    refs = [(_id("ref"), o) for o in timeouts]
    _insert_many(
        cur,
        "INSERT INTO refunds (id, order_id, amount, currency, method, status, reason, "
        "source_type, source_id, created_at, expected_by) VALUES "
        "({}, {}, 600000, 'USD', 'card', 'pending', 'order_cancelled', 'cancellation', {}, {}, {})",
        [(ref, o, o, now, now + timedelta(days=28)) for ref, o in refs],
    )
    legs = []
    for o in timeouts:
        txn = _id("txn")
        legs += [(o, txn, "escrow", -600000, now), (o, txn, "refunds_in_transit", 600000, now)]
    _insert_many(
        cur,
        "INSERT INTO ledger_entries (order_id, txn_id, account, amount, currency, kind, at) "
        "VALUES ({}, {}, {}, {}, 'USD', 'refund', {})",
        legs,
    )
    if submits:
        cur.execute(
            "UPDATE refunds AS r SET status = 'processing', gateway_reference = v.reference, "
            "processing_at = %s FROM unnest(%s::text[], %s::text[]) AS v(id, reference) "
            "WHERE r.id = v.id",
            (now, [ref for _, ref in submits], [f"sbx_{ref}" for _, ref in submits]),
        )
    _insert_many(
        cur,
        "INSERT INTO deadlines (kind, order_id, subject_id, due_at) VALUES ({}, {}, {}, {})",
        [("refund_submit", o, ref, now) for ref, o in refs]
        + [("refund_settle", o, ref, now + timedelta(days=3)) for o, ref in submits],
    )
    events = [(o, e) for o in timeouts for e in ("auto_accepted", "cancelled", "refund_created")]
    _insert_many(
        cur,
        "INSERT INTO timeline (order_id, at, actor, event, detail) VALUES ({}, {}, {}, {}, {})",
        [(o, now, "system", e, f"bench {e} detail text") for o, e in events],
    )
    _insert_many(
        cur,
        "INSERT INTO outbox (id, type, order_id, at, data) VALUES ({}, {}, {}, {}, {})",
        [(_id("evt"), f"order.{e}", o, now, Jsonb({"actor": "system"})) for o, e in events],
    )


def _insert_many(cur: psycopg.Cursor[Any], sql: str, rows: list[tuple[Any, ...]]) -> None:
    """Rows as one multi-row INSERT (`{}`: a row's placeholders), as ours sends them."""
    if not rows:
        return
    head, _, row = sql.partition(" VALUES ")
    width = len(rows[0])
    values = ", ".join(
        row.format(*(f"${r * width + k + 1}" for k in range(width))) for r in range(len(rows))
    )
    raw = psycopg.RawCursor(cur.connection)
    raw.execute(f"{head} VALUES {values}", [v for r in rows for v in r])
