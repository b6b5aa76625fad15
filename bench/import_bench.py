"""`aftersale import` beside its floor: PostgreSQL's own time to COPY the same rows.

Usage: uv run python -m bench.import_bench --scale small|full (50,000 | 1,000,000 orders; part
of `make bench`, which rewrites the table in bench/README.md), or with --orders N [--jobs 0,1,2]
[--modes fast,batches] [--batch-size 5000] to explore (printed only).

Generates a file (bench/gen_import.py), then, on a fresh migrated database with its users:
- runs the real import (`import_orders` with the real bulk writer) once per --jobs value and
  --modes value, on emptied tables: `fast` (the fast load an empty database gets) and
  `batches` (`--no-fast-load`: a transaction per batch, as into a database with orders): wall
  time, orders/s, the importer's CPU (this process + its workers);
- the floor of each mode: the same orders turned into their COPY rows in memory first
  (untimed), then only the COPYs timed, in batches of the same size: in the fast load's one
  transaction with its index builds and key checks, or one transaction per batch.
Needs PostgreSQL (AFTERSALE_BENCH_PG, default postgresql+psycopg://postgres@127.0.0.1:5432)."""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import text

from aftersale.adapters.db import tables as t
from aftersale.adapters.db.bulk import DEFAULT_JOBS, SqlImportStore
from aftersale.bootstrap import build_runtime
from aftersale.services.importer import check_batch, import_orders
from aftersale.services.runtime import Runtime
from aftersale.settings import Settings
from bench import gen_import
from bench.cpu import postgres as postgres_cpu
from bench.data import fresh_database

DB_NAME = "aftersale_import_bench"
HERE = Path(__file__).resolve().parent
SCALES = {"small": 50_000, "full": 1_000_000}
ORDER_TABLES = [t.orders, t.cancellations, t.refunds, t.returns, t.disputes, t.timeline]
ORDER_TABLES += [t.ledger, t.deadlines, t.outbox]
err = Console(stderr=True)


@contextmanager
def bar(what: str, total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr; yields advance(n)."""
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task(what, total=total)
        yield lambda n: progress.advance(task, n)


def cpu() -> float:
    """CPU seconds of this process and of its reaped children (the import's workers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def empty(rt: Runtime) -> None:
    """Empty the tables an import writes (new files: as fresh as a new database)."""
    with rt.engine.begin() as conn:  # type: ignore[attr-defined]
        names = ", ".join(tb.name for tb in ORDER_TABLES)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        conn.execute(text("CHECKPOINT"))


def run_import(
    rt: Runtime, path: Path, n: int, *, jobs: int, batch: int, fast: bool
) -> dict[str, Any]:
    """The real import, timed (`fast`: the fast load into the emptied tables, else batch by
    batch, as into a database that has orders)."""
    empty(rt)
    label = f"import --jobs {jobs}" + ("" if fast else " --no-fast-load")
    with bar(label, n) as advance, path.open() as lines:
        wall, used, pg = time.perf_counter(), cpu(), postgres_cpu()
        store = SqlImportStore(rt.engine, fast=fast)  # type: ignore[attr-defined]
        r = import_orders(rt, store, lines, batch_size=batch, progress=advance, jobs=jobs)
        wall, used, pg = time.perf_counter() - wall, cpu() - used, postgres_cpu() - pg
    assert r.errors == [] and r.imported == n, (r.errors[:5], r.imported)
    assert store.loaded_fast == fast
    return {"label": label, "wall": wall, "cpu": used, "pg_cpu": pg, "fast": fast}


def build_batches(rt: Runtime, path: Path, n: int, *, batch: int) -> list[tuple[str, ...]]:
    """The file's rows as COPY text, a tuple of one string per table for each batch."""
    empty(rt)  # (the ids must not exist, or their lines are skipped)
    store = SqlImportStore(rt.engine)  # type: ignore[attr-defined]
    now = rt.clock.now()
    batches: list[tuple[str, ...]] = []
    with bar("building the rows", n) as advance, path.open() as f:
        numbered = enumerate(f, 1)
        while chunk := list(islice(numbered, batch)):
            rows = [r for *_, r in check_batch(rt, store, chunk, now)]
            # a batch as one "order" whose rows are the whole batch's, table by table
            batches.append(tuple("".join(r[k] for r in rows) for k in range(len(rows[0]))))
            advance(len(rows))
    return batches


def run_floor(rt: Runtime, batches: list[tuple[str, ...]], *, fast: bool) -> dict[str, Any]:
    """COPY of the same rows, built beforehand: PostgreSQL's share alone (`fast`: in the fast
    load's one transaction, its index builds and key checks included; else a transaction per
    batch)."""
    empty(rt)
    store = SqlImportStore(rt.engine)  # type: ignore[attr-defined]
    label = "floor: COPY only" + (", fast load" if fast else ", batch by batch")
    with bar(label, len(batches)) as advance:
        wall, used, pg = time.perf_counter(), cpu(), postgres_cpu()
        if fast:
            with store.fast_load() as load:
                assert load is not None
                for joined in batches:
                    load.write_rows([joined])
                    advance(1)
        else:
            for joined in batches:
                with store.session() as session:
                    session.write_rows([joined])
                    session.commit()
                advance(1)
        wall, used, pg = time.perf_counter() - wall, cpu() - used, postgres_cpu() - pg
    return {"label": label, "wall": wall, "cpu": used, "pg_cpu": pg, "fast": fast}


def table(results: list[dict[str, Any]], n: int) -> str:
    """Markdown table of the runs; each beside the floor of its own way of loading."""
    floor = {r["fast"]: r["wall"] for r in results if r["label"].startswith("floor")}
    cores = os.cpu_count() or 1
    out = [
        f"| {n:,} orders | wall s | orders/s | client CPU s | µs CPU/order | wall / floor "
        f"| PostgreSQL CPU s | (client + PostgreSQL CPU) / {cores} cores, s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        out.append(
            f"| {r['label']} | {r['wall']:.1f} | {n / r['wall']:,.0f} | {r['cpu']:.1f} | "
            f"{r['cpu'] / n * 1e6:.0f} | {r['wall'] / floor[r['fast']]:.2f} "
            f"| {r['pg_cpu']:.1f} | {(r['cpu'] + r['pg_cpu']) / cores:.1f} |"
        )
    return "\n".join(out)


def main() -> None:
    """Parse the arguments, run, print the table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--scale", choices=list(SCALES), default=None)
    ap.add_argument("--orders", type=int, default=None)
    ap.add_argument("--jobs", default=None, help="worker processes to compare, e.g. 0,1,2")
    ap.add_argument("--batch-size", type=int, default=5000)
    ap.add_argument("--modes", default="fast,batches", help="fast load and/or batch by batch")
    ap.add_argument("--file", type=Path, help="keep the generated file here (default: temp)")
    args = ap.parse_args()
    if args.orders is None:
        args.orders = SCALES[args.scale or "small"]
    # the scales measure the default jobs
    jobs = [DEFAULT_JOBS] if args.scale else [int(j) for j in (args.jobs or "0,1,2").split(",")]
    url = fresh_database(DB_NAME)
    buyers, sellers = gen_import.user_ids(2000, 200)
    err.print("creating 2,200 users ...")
    gen_import.ensure_users(url, buyers, sellers)
    rt = build_runtime(Settings(database_url=url))  # type: ignore[call-arg]
    with tempfile.TemporaryDirectory() as tmp:
        path = args.file or Path(tmp) / "orders.jsonl"
        with bar(f"writing {args.orders:,} lines", args.orders) as advance:
            gen_import.write_file(
                path, args.orders, buyers=buyers, sellers=sellers, progress=advance
            )
        results = [
            run_import(rt, path, args.orders, jobs=j, batch=args.batch_size, fast=mode == "fast")
            for mode in args.modes.split(",")
            for j in jobs
        ]
        batches = build_batches(rt, path, args.orders, batch=args.batch_size)
        floors = [run_floor(rt, batches, fast=mode == "fast") for mode in args.modes.split(",")]
    rt.close()
    found = table([*results, *floors], args.orders)
    print(found)
    if args.scale:
        from bench import report

        m = report.machine(url)
        note = (
            f"\n\nMachine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']} memory, PostgreSQL "
            f"{m['postgresql']}; run {m['date']}, `--scale {args.scale}`, batch "
            f"{args.batch_size:,}. Aim: 1,000,000 orders in < 60 s."
        )
        report.write_block(HERE / "README.md", f"import-{args.scale}", found + note)


if __name__ == "__main__":
    main()
