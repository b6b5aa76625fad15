"""The issue's reference ceilings, measured on this machine: what PostgreSQL itself does here.

Issue 5 gives reference figures "on this kind of machine (2 cores), PostgreSQL 15 at default
settings, C clients on the same box": one after-sales transaction (read the order's version,
update it with a version check, insert a request row, an outbox row and an audit row) ≈ 6,400
tx/s at 8 clients; a batched sweep of due cancellations (1,000 per transaction, `FOR UPDATE
SKIP LOCKED`, 4 row writes each) ≈ 64,000 items/s with one sweeper and ≈ 96,000 with two.
Its aims for us (1,000,000 deadlines "in well under a minute", imports in under 60 s) were
set from those. This program runs exactly those two workloads with `pgbench` (PostgreSQL's
own C client) on a database of its own (`aftersale_reference`, server defaults, so
`synchronous_commit` on; the transaction is also run with it off, as our benchmarks run), and
writes the table "reference" in bench/README.md, beside the issue's figures.

Usage: uv run python -m bench.reference [--scale small|full] [--items N] [--seconds 10] (part
of `make bench`; small: 100,000 sweep items, full: 1,000,000)."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from bench import data, report

HERE = Path(__file__).resolve().parent
DB = "aftersale_reference"
ORDERS = 100_000

SCHEMA = """
DROP TABLE IF EXISTS ref_orders, ref_requests, ref_outbox, ref_audit, ref_due, ref_refunds;
CREATE TABLE ref_orders (id bigint PRIMARY KEY, version int NOT NULL, status text NOT NULL,
                         updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE ref_requests (id bigserial PRIMARY KEY, order_id bigint NOT NULL, reason text,
                           created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE ref_outbox (id bigserial PRIMARY KEY, order_id bigint NOT NULL, kind text,
                         payload jsonb, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE ref_audit (id bigserial PRIMARY KEY, order_id bigint NOT NULL, event text,
                        at timestamptz NOT NULL DEFAULT now());
CREATE TABLE ref_due (id bigserial PRIMARY KEY, order_id bigint NOT NULL,
                      due_at timestamptz NOT NULL, fired boolean NOT NULL DEFAULT false);
CREATE INDEX ref_due_pending ON ref_due (due_at) WHERE NOT fired;
CREATE TABLE ref_refunds (id bigserial PRIMARY KEY, order_id bigint NOT NULL,
                          amount numeric NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
"""

# The after-sales transaction, as the issue words it.
TRANSACTION = r"""\set oid random(1, 100000)
BEGIN;
SELECT version FROM ref_orders WHERE id = :oid \gset
UPDATE ref_orders SET version = version + 1, status = 'cancel_requested', updated_at = now()
  WHERE id = :oid AND version = :version;
INSERT INTO ref_requests (order_id, reason) VALUES (:oid, 'changed_mind');
INSERT INTO ref_outbox (order_id, kind, payload)
  VALUES (:oid, 'order.cancellation_requested', '{"reason": "changed_mind"}');
INSERT INTO ref_audit (order_id, event) VALUES (:oid, 'cancellation_requested');
END;
"""

# One sweep transaction: 1,000 due items, 4 row writes each (mark fired, cancel the order,
# the refund, the outbox row).
SWEEP = """WITH batch AS (
  SELECT id, order_id FROM ref_due WHERE NOT fired AND due_at <= now()
  ORDER BY due_at LIMIT 1000 FOR UPDATE SKIP LOCKED
), fired AS (
  UPDATE ref_due d SET fired = true FROM batch WHERE d.id = batch.id RETURNING batch.order_id
), cancelled AS (
  UPDATE ref_orders o SET status = 'cancelled', version = o.version + 1, updated_at = now()
  FROM fired WHERE o.id = fired.order_id RETURNING o.id
), refunds AS (
  INSERT INTO ref_refunds (order_id, amount) SELECT id, 45.00 FROM cancelled
  RETURNING order_id
)
INSERT INTO ref_outbox (order_id, kind, payload)
  SELECT order_id, 'order.cancelled', '{"by": "system"}' FROM refunds;
"""


def pgbench() -> str:
    """The pgbench of the PostgreSQL packages."""
    found = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"
    assert Path(found).exists(), "pgbench not found (Debian: postgresql-client)"
    return found


def libpq_url() -> str:
    """The reference database as libpq (pgbench, psycopg) names it."""
    return data.database_url(DB).replace("postgresql+psycopg://", "postgresql://")


def reset(orders: int, due: int) -> None:
    """Fresh tables: `orders` orders, `due` due items (one per order, cycling), CHECKPOINT."""
    with psycopg.connect(libpq_url(), autocommit=True) as conn:
        conn.execute(SCHEMA)
        conn.execute(
            "INSERT INTO ref_orders (id, version, status) "
            "SELECT g, 1, 'paid' FROM generate_series(1, %s) g",
            (orders,),
        )
        conn.execute(
            "INSERT INTO ref_due (order_id, due_at) SELECT 1 + (g - 1) %% %s, "
            "now() - interval '1 hour' - g * interval '1 ms' FROM generate_series(1, %s) g",
            (orders, due),
        )
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")


def run(script: str, args: list[str]) -> str:
    """pgbench with this script; its report."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as f:
        f.write(script)
        f.flush()
        cmd = [pgbench(), "-n", "-M", "prepared", *args, "-f", f.name, libpq_url()]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return done.stdout


def tps(out: str) -> float:
    """pgbench's transactions per second."""
    found = re.search(r"tps = ([\d.]+)", out)
    assert found, out
    return float(found[1])


def transaction(seconds: int, clients: int, synchronous: bool) -> float:
    """The after-sales transaction at `clients` clients for `seconds`: tx/s."""
    reset(ORDERS, 0)
    with psycopg.connect(libpq_url(), autocommit=True) as conn:
        conn.execute(
            f"ALTER DATABASE {DB} SET synchronous_commit = {'on' if synchronous else 'off'}"
        )
    return tps(run(TRANSACTION, ["-c", str(clients), "-j", "2", "-T", str(seconds)]))


def sweep(items: int, sweepers: int) -> tuple[float, float]:
    """`items` due items swept by `sweepers` pgbench clients, 1,000 per transaction, until
    none is left: (items/s, seconds); checks every item was fired once."""
    reset(items, items)
    with psycopg.connect(libpq_url(), autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE {DB} SET synchronous_commit = on")
    per_client = -(-items // 1000 // sweepers)  # each transaction takes up to 1,000
    began = time.perf_counter()
    run(SWEEP, ["-c", str(sweepers), "-j", str(sweepers), "-t", str(per_client)])
    with psycopg.connect(libpq_url(), autocommit=True) as conn:  # (a batch cut short by a race)
        while conn.execute(SWEEP).rowcount:
            pass
    seconds = time.perf_counter() - began
    with psycopg.connect(libpq_url()) as conn:
        left = conn.execute("SELECT count(*) FROM ref_due WHERE NOT fired").fetchone()
        refunds = conn.execute("SELECT count(*) FROM ref_refunds").fetchone()
    assert left == (0,) and refunds == (items,), (left, refunds)
    return items / seconds, seconds


def main() -> None:
    """Measure, print and write the table."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", choices=["small", "full"], default="small")
    ap.add_argument("--items", type=int, default=None)
    ap.add_argument("--seconds", type=int, default=10)
    args = ap.parse_args()
    args.items = args.items or (1_000_000 if args.scale == "full" else 100_000)
    data._admin(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)', f'CREATE DATABASE "{DB}"')
    on = transaction(args.seconds, 8, synchronous=True)
    off = transaction(args.seconds, 8, synchronous=False)
    one, one_s = sweep(args.items, 1)
    two, two_s = sweep(args.items, 2)
    rows = [
        ("after-sales transaction, 8 clients, tx/s", f"{on:,.0f}", "6,400", on / 6400),
        (
            "the same, synchronous_commit off (as our benchmarks run), tx/s",
            f"{off:,.0f}",
            "—",
            None,
        ),
        (
            f"batched sweep, 1 sweeper, items/s ({args.items:,} items)",
            f"{one:,.0f} ({one_s:.1f} s)",
            "64,000",
            one / 64000,
        ),
        (
            f"batched sweep, 2 sweepers, items/s ({args.items:,} items)",
            f"{two:,.0f} ({two_s:.1f} s)",
            "96,000",
            two / 96000,
        ),
    ]
    lines = ["| workload (pgbench, plain SQL) | this machine | the issue's figure | ratio |"]
    lines.append("|---|---|---|---|")
    for name, here, theirs, ratio in rows:
        lines.append(f"| {name} | {here} | {theirs} | {'—' if ratio is None else f'{ratio:.0%}'} |")
    m = report.machine(data.database_url(DB))
    lines.append(
        f"\nMachine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']} memory, PostgreSQL "
        f"{m['postgresql']} (server defaults); run {m['date']}."
    )
    table = "\n".join(lines)
    print(table)
    report.write_block(HERE / "README.md", f"reference-{args.scale}", table)


if __name__ == "__main__":
    main()
