"""`make bench`: the core engine's speed on PostgreSQL beside the machine's ceiling.

Usage: python -m bench.run --scale small|full. Needs PostgreSQL (AFTERSALE_BENCH_PG, default
postgresql+psycopg://postgres@127.0.0.1:5432) and wrk (installed with apt-get if missing)."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

from aftersale.adapters.db.engine import make_engine
from aftersale.bootstrap import build_runtime
from aftersale.entrypoints.worker import Worker
from aftersale.settings import Settings
from bench import ceiling, data, report

HERE = Path(__file__).resolve().parent
CLIENTS = 32
SCALES: dict[str, dict[str, Any]] = {
    "small": {"seconds": 8, "orders": 6000, "deadlines": 10_000},
    "full": {"seconds": 20, "orders": 16000, "deadlines": 100_000},
}


def ensure_wrk() -> str:
    """The wrk binary, installed from Debian if missing."""
    found = shutil.which("wrk")
    if found is None:
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
        found = shutil.which("wrk")
    assert found, "wrk is not installed"
    return found


def free_port() -> int:
    """A free port on the loopback."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`aftersale serve` on the benchmark database, in a subprocess."""

    def __init__(self, url: str, tmp: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "AFTERSALE_DATABASE_URL": url,
            "AFTERSALE_EMBEDDED_WORKER": "0",
            "AFTERSALE_DATA_DIR": str(tmp),
        }
        self.log = (tmp / "server.log").open("w")
        cmd = [sys.executable, "-m", "aftersale", "serve", "--port", str(self.port)]
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(300):
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the server did not start")

    def stop(self) -> None:
        """Stop it."""
        self.proc.terminate()
        self.proc.wait(timeout=20)
        self.log.close()


def wrk(base: str, ids_file: Path, *, action: str, token: str, seconds: int) -> dict[str, float]:
    """wrk with 32 connections walking the list of orders; requests/s and latencies."""
    env = {
        **os.environ,
        "IDS": str(ids_file),
        "ACTION": action,
        "TOKEN": token,
        "BODY": json.dumps({"reason": "changed_mind"}),
        "THREADS": "1",
    }
    cmd = [ensure_wrk(), "-t1", f"-c{CLIENTS}", f"-d{seconds}s", "-s", str(HERE / "walk.lua")]
    out = subprocess.run(cmd + [base], env=env, capture_output=True, text=True, check=True)
    found = re.search(r"RESULT (\{.*\})", out.stdout)
    assert found, out.stdout + out.stderr
    raw = json.loads(found.group(1))
    if raw["non2xx"] or raw["socket_errors"]:
        raise RuntimeError(f"wrk saw errors (too few orders for the run?): {raw}")
    return {
        "ops": raw["requests"] / (raw["duration_us"] / 1e6),
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "count": raw["requests"],
    }


def bench_api(url: str, rt: Any, engine: Any, ids: tuple[str, str], cfg: dict[str, Any]) -> dict:
    """Request and accept cancellation over HTTP, then the same writes in plain SQL."""
    buyer_id, seller_id = ids
    now = datetime.now(UTC)
    n = cfg["orders"]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        paid = data.make_orders(
            rt, engine, count=n, buyer_id=buyer_id, seller_id=seller_id, at=now, requested=False
        )
        server = Server(url, tmp)
        try:
            results["request"] = wrk(
                server.base,
                data.write_ids(paid, tmp / "paid.txt"),
                action="/cancel",
                token=data.BUYER_TOKEN,
                seconds=cfg["seconds"],
            )
            pending = data.make_orders(
                rt, engine, count=n, buyer_id=buyer_id, seller_id=seller_id, at=now, requested=True
            )
            results["accept"] = wrk(
                server.base,
                data.write_ids(pending, tmp / "pending.txt"),
                action="/cancellation/accept",
                token=data.SELLER_TOKEN,
                seconds=cfg["seconds"],
            )
        finally:
            server.stop()
    for name, requested, tx in (
        ("request", False, ceiling.request_tx),
        ("accept", True, ceiling.accept_tx),
    ):
        more = data.make_orders(
            rt, engine, count=n, buyer_id=buyer_id, seller_id=seller_id, at=now, requested=requested
        )
        results[f"{name}_ceiling"] = ceiling.run_clients(
            url, more, tx, clients=CLIENTS, seconds=cfg["seconds"]
        )
    return results


class StatementCounter:
    """Counts the statements sent through some engines (SQLAlchemy's before_cursor_execute)."""

    def __init__(self, engines: list[Any]) -> None:
        self.engines = list(dict.fromkeys(engines))
        self.count = 0
        for e in self.engines:
            event.listen(e, "before_cursor_execute", self._one)

    def _one(self, *_args: Any) -> None:
        self.count += 1

    def stop(self) -> None:
        """Stop counting."""
        for e in self.engines:
            event.remove(e, "before_cursor_execute", self._one)


def bench_worker(url: str, rt: Any, engine: Any, ids: tuple[str, str], count: int) -> dict:
    """`count` due cancellation requests fired by our worker, then by the plain SQL sweep."""
    buyer_id, seller_id = ids
    long_ago = datetime.now(UTC) - timedelta(hours=73)
    results: dict[str, Any] = {}
    for name in ("worker", "worker_ceiling"):
        data.make_orders(
            rt,
            engine,
            count=count,
            buyer_id=buyer_id,
            seller_id=seller_id,
            at=long_ago,
            requested=True,
        )
        # This server runs with autovacuum off, so freshly loaded tables have no statistics;
        # psycopg prepares a statement on its 5th run and PostgreSQL then picks a generic plan,
        # which without statistics turns the loads' `order_id IN ($1 .. $500)` into a seq scan
        # of the whole child table per batch (O(n^2) over the run). Analyze, as autovacuum would.
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        if name == "worker":
            # SQL statements sent by the worker: its own connection and the sandbox gateway's
            # (an executemany counts once; BEGIN/COMMIT are not cursor statements, not counted)
            counter = StatementCounter([engine, getattr(rt.gateway, "engine", engine)])
            began = time.perf_counter()
            fired = Worker(rt, batch=500).run_once()
            elapsed = time.perf_counter() - began
            counter.stop()
            results[name] = {
                "per_s": fired / elapsed,
                "fired": fired,
                "seconds": elapsed,
                "statements_per_item": counter.count / max(fired, 1),
            }
        else:
            results[name] = ceiling.sweep(url, batch=500)
    return results


def main() -> None:
    """Run the benchmark at a scale and rewrite its table in bench/README.md."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=list(SCALES), default="small")
    parser.add_argument("--only", choices=["api", "worker"], default=None)
    parser.add_argument("--deadlines", type=int, default=None, help="override the scale's count")
    args = parser.parse_args()
    cfg = dict(SCALES[args.scale])
    if args.deadlines:
        cfg["deadlines"] = args.deadlines
    ensure_wrk()
    url = data.fresh_database()
    engine = make_engine(url)
    rt = build_runtime(Settings(database_url=url, embedded_worker=False), engine=engine)  # type: ignore[call-arg]
    ids = data.make_users(rt)
    saved = HERE / f"results-{args.scale}.json"
    results: dict[str, Any] = json.loads(saved.read_text()) if args.only and saved.exists() else {}
    results.update({"scale": args.scale, "clients": CLIENTS, **cfg})
    if args.only != "api":  # first, so the API runs' refund deadlines stay out of its sweep
        results.update(bench_worker(url, rt, engine, ids, cfg["deadlines"]))
    if args.only != "worker":
        results.update(bench_api(url, rt, engine, ids, cfg))
    engine.dispose()
    results["machine"] = report.machine(url)
    print(json.dumps(results, indent=2))
    saved.write_text(json.dumps(results, indent=2) + "\n")
    if all(k in results for k in ("request", "accept", "worker")):
        report.write(HERE / "README.md", results)


if __name__ == "__main__":
    main()
