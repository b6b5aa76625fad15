"""Reads as the database grows: one buyer's 10,000 orders among 50k, 500k and 5M orders.

`python -m bench.reads --scale small|full` (part of `make bench`; small: 50k orders only,
full: 50k, 500k and 5M) measures, at each size, with wrk on one connection against
`aftersale serve` (a C client; latency percentiles):

- API "My Orders": `GET /api/v1/orders` (first page of 50) and a deep page (the cursor of page
  100, i.e. past 5,000 orders), and one order's detail `GET /api/v1/orders/{id}`;
- the "My Orders" web page `GET /orders` (logged in, first page of 10);

and prints PostgreSQL's `EXPLAIN` of each query the API runs, checking that each uses an index.

The buyer's orders are built by the domain (paid, half of them with a cancellation request:
timeline, outbox, deadlines and cancellation rows as the engine writes them). The other
buyers' orders (5,000 buyers, 200 sellers, every status, 1 to 3 items; `bench/gen_import.py`)
are loaded with `aftersale import`'s code path (`import_orders` and its COPY writer), so the
5M-order database is built by the importer, as a migrating operator would build theirs."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from aftersale.adapters.db.bulk import SqlImportStore
from aftersale.adapters.db.engine import make_engine
from aftersale.adapters.db.orders_repo import decode_cursor
from aftersale.bootstrap import build_runtime
from aftersale.services.importer import import_orders
from aftersale.services.users import create_user
from aftersale.settings import Settings
from bench import data, gen_import
from bench.run import Server, ensure_wrk

HERE = Path(__file__).resolve().parent
BUYER_ORDERS = 10_000
PASSWORD = "bench-reads-password"
FILL_BUYERS, FILL_SELLERS = 5_000, 200
IMPORTS: list[dict[str, float]] = []  # each growth step's import: orders, seconds, per_s
SECONDS = 5
WARM_SECONDS = 1


def build(url: str, engine: Any, rt: Any) -> tuple[str, str]:
    """The measured buyer (API token and password) and 10,000 domain-built orders."""
    gen_import.ensure_users(url, *gen_import.user_ids(FILL_BUYERS, FILL_SELLERS))
    buyer = create_user(
        rt,
        None,
        email="reader@bench.test",
        name="Reader",
        role="buyer",
        token=data.BUYER_TOKEN,
        password=PASSWORD,
    )
    seller = create_user(
        rt, None, email="shop@bench.test", name="Shop", role="seller", token=data.SELLER_TOKEN
    )
    start = datetime.now(UTC) - timedelta(days=400)
    for half, requested in ((0, False), (1, True)):
        data.make_orders(
            rt,
            engine,
            count=BUYER_ORDERS // 2,
            buyer_id=buyer["id"],
            seller_id=seller["id"],
            at=start + timedelta(days=200 * half),
            requested=requested,
        )
    return buyer["id"], seller["id"]


def grow_to(rt: Any, engine: Any, total: int) -> None:
    """Import other buyers' orders until the database holds `total` orders; ANALYZE."""
    with engine.connect() as conn:
        have = int(conn.exec_driver_sql("SELECT count(*) FROM orders").scalar_one())
    if have >= total:
        return
    count = total - have
    buyers, sellers = gen_import.user_ids(FILL_BUYERS, FILL_SELLERS)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "orders.jsonl"
        with bar(f"writing {count:,} import lines", count) as advance:
            gen_import.write_file(
                path, count, buyers=buyers, sellers=sellers, first=have, progress=advance
            )
        with bar(f"importing {count:,} orders", count) as advance, path.open() as lines:
            began = time.perf_counter()
            done = import_orders(rt, SqlImportStore(engine), lines, progress=advance)
            seconds = time.perf_counter() - began
    assert not done.errors and done.imported == count, (done.errors[:3], done.imported)
    IMPORTS.append({"orders": count, "seconds": seconds, "per_s": count / seconds})
    print(f"reads: imported {count:,} orders in {seconds:.0f} s", file=sys.stderr)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
        # the import's pages written out now, not by the OS in the middle of a measurement
        conn.exec_driver_sql("CHECKPOINT")


@contextmanager
def bar(what: str, total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr; yields advance(n)."""
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(what, total=total)
        yield lambda n: progress.advance(task, n)


def session_cookie(base: str) -> str:
    """Log the buyer in through the login form; the session cookie header value."""
    with httpx.Client(base_url=base) as client:
        form = client.get("/login").text
        found = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert found, "no CSRF field on the login page"
        answer = client.post(
            "/login",
            data={"email": "reader@bench.test", "password": PASSWORD, "csrf_token": found[1]},
        )
        assert answer.status_code == 303, answer.text[:300]
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


def deep_cursor(base: str, pages: int = 100) -> str:
    """The cursor of page `pages` of 50 (walked through the API)."""
    cursor = ""
    headers = {"Authorization": f"Bearer {data.BUYER_TOKEN}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for _ in range(pages):
            page = client.get("/api/v1/orders", params={"limit": 50, "cursor": cursor}).json()
            cursor = page["next_cursor"]
            assert cursor, "the buyer has fewer orders than the deep page needs"
    return cursor


def latency(base: str, path: str, headers: dict[str, str]) -> dict[str, float]:
    """wrk on one connection for SECONDS, after WARM_SECONDS not measured (the server's
    caches and PostgreSQL's buffers for this read): requests/s and p50 / p99 latency (ms)."""
    wrk(base, path, headers, WARM_SECONDS)
    out = wrk(base, path, headers, SECONDS)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert non2xx is None, out
    found = {p: re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)\b", out) for p in ("50", "99")}
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    ms = {p: float(m[1]) * scale[m[2]] for p, m in found.items() if m}
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return {"p50_ms": ms["50"], "p99_ms": ms["99"], "per_s": float(rps[1]) if rps else 0.0}


def wrk(base: str, path: str, headers: dict[str, str], seconds: int) -> str:
    """wrk's report of `seconds` of back-to-back GETs on one connection."""
    args = [ensure_wrk(), "-t1", "-c1", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    return subprocess.run(args + [base + path], capture_output=True, text=True, check=True).stdout


def explain(engine: Any, buyer_id: str, cursor: list[Any], order_id: str) -> dict[str, str]:
    """EXPLAIN of the queries the API runs for the list (first and deep page), the detail,
    and the children and timelines of a page (as the repository sends them)."""
    page = (
        "SELECT * FROM orders WHERE buyer_id = %(b)s{} ORDER BY created_at DESC, seq DESC LIMIT 51"
    )
    queries = {
        "list, first page": page.format(""),
        "list, deep page": page.format(" AND (created_at, seq) < (%(at)s, %(seq)s)"),
        "detail": "SELECT * FROM orders WHERE id = %(o)s FOR UPDATE",
        "timelines of a page": "SELECT * FROM timeline WHERE order_id = ANY(%(ids)s) ORDER BY seq",
        "cancellations of a page": "SELECT * FROM cancellations WHERE order_id = ANY(%(ids)s)",
    }
    plans = {}
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(page.format("").replace("*", "id"), {"b": buyer_id})
        ids = [r[0] for r in cur.fetchall()][:50]
        at = cursor[0].astimezone(UTC).replace(tzinfo=None)  # stored naive, in UTC
        values = {"b": buyer_id, "at": at, "seq": cursor[1], "o": order_id, "ids": ids}
        for name, sql in queries.items():
            cur.execute("EXPLAIN " + sql, values)
            plans[name] = "\n".join(r[0] for r in cur.fetchall())
        raw.rollback()
    finally:
        raw.close()
    return plans


def measure(url: str, engine: Any, buyer_id: str) -> dict[str, Any]:
    """Every read's latency at the database's current size, and the plans."""
    with tempfile.TemporaryDirectory() as tmpdir:
        server = Server(url, Path(tmpdir))  # one process, warmed up
        try:
            token = {"Authorization": f"Bearer {data.BUYER_TOKEN}"}
            cursor = deep_cursor(server.base)
            first = httpx.get(f"{server.base}/api/v1/orders?limit=1", headers=token).json()
            order_id = first["items"][0]["id"]
            cookie = {"Cookie": session_cookie(server.base)}
            out = {
                "api_list_first": latency(server.base, "/api/v1/orders?limit=50", token),
                "api_list_deep": latency(
                    server.base, f"/api/v1/orders?limit=50&cursor={cursor}", token
                ),
                "api_detail": latency(server.base, f"/api/v1/orders/{order_id}", token),
                "page_my_orders": latency(server.base, "/orders", cookie),
            }
        finally:
            server.stop()
    plans = explain(engine, buyer_id, list(decode_cursor(cursor)), order_id)
    out["plans"] = plans
    out["all_use_an_index"] = all(
        "Index" in plan and "Seq Scan on orders" not in plan for plan in plans.values()
    )
    return out


def main() -> None:
    """Build the database size by size, measuring at each; write the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=["small", "full"], default="small")
    parser.add_argument("--sizes", default=None, help="comma-separated; overrides the scale")
    args = parser.parse_args()
    default = "50000" if args.scale == "small" else "50000,500000,5000000"
    sizes = [int(s) for s in (args.sizes or default).split(",")]
    ensure_wrk()
    url = data.fresh_database("aftersale_reads")
    engine = make_engine(url)
    rt = build_runtime(Settings(database_url=url, embedded_worker=False), engine=engine)  # type: ignore[call-arg]
    buyer_id, _ = build(url, engine, rt)
    results: dict[str, Any] = {"sizes": {}}
    for size in sizes:
        grow_to(rt, engine, size)
        print(f"reads: measuring at {size:,} orders", file=sys.stderr)
        results["sizes"][str(size)] = measure(url, engine, buyer_id)
    rt.close()
    engine.dispose()
    from bench import report

    results["imports"] = IMPORTS
    results["machine"] = report.machine(url)
    print(json.dumps(results, indent=2))
    (HERE / f"results-reads-{args.scale}.json").write_text(json.dumps(results, indent=2) + "\n")
    report.write_reads(HERE / "README.md", results, args.scale)


if __name__ == "__main__":
    main()
