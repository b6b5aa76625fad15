"""`make bench`: the core engine's speed on PostgreSQL beside the machine's ceiling.

Usage: python -m bench.run --scale small|full. Needs PostgreSQL (AFTERSALE_BENCH_PG, default
postgresql+psycopg://postgres@127.0.0.1:5432) and wrk (installed with apt-get if missing)."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
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
from aftersale.entrypoints import heap
from aftersale.entrypoints.worker import Worker
from aftersale.services.users import ensure_admin_token
from aftersale.settings import Settings
from bench import ceiling, cpu, data, pgbench_ceiling, report, sweep_sql

HERE = Path(__file__).resolve().parent
CLIENTS = 32
PROCESSES = (1, 2)  # API server processes / deadline workers, beside as many ceiling clients
DUE_TEMPLATE, DUE_RUN = "aftersale_bench_due", "aftersale_bench_due_run"
SCALES: dict[str, dict[str, Any]] = {
    "small": {"seconds": 12, "orders": 40_000, "deadlines": 10_000},
    "full": {"seconds": 30, "orders": 100_000, "deadlines": 1_000_000},
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

    def __init__(self, url: str, tmp: Path, *, processes: int = 1) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "AFTERSALE_DATABASE_URL": url,
            "AFTERSALE_EMBEDDED_WORKER": "0",
            # three tokens drive thousands of requests a second: the per-token limit's
            # default would answer most of them 429; a rate never reached keeps its cost in
            "AFTERSALE_API_RATE": "1000000000",
            "AFTERSALE_DATA_DIR": str(tmp),
        }
        self.log = (tmp / "server.log").open("w")
        cmd = [sys.executable, "-m", "aftersale", "serve", "--port", str(self.port)]
        cmd += ["--workers", str(processes)]
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(300):
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the server did not start")
        if processes > 1:  # the first process answers before the others have started
            time.sleep(3 + processes)
        warm = [ensure_wrk(), "-t1", f"-c{CLIENTS}", "-d2s", f"{self.base}/healthz"]
        subprocess.run(warm, capture_output=True, check=True)

    def stop(self) -> None:
        """Stop it."""
        self.proc.terminate()
        self.proc.wait(timeout=20)
        self.log.close()


def wrk(
    base: str,
    ids_file: Path,
    *,
    target: str,
    body: dict[str, Any],
    token: str,
    seconds: int,
    check: bool = True,
) -> dict[str, float]:
    """wrk with 32 connections POSTing `body` to `target` (%s: the next order of the list);
    requests/s and latencies (`check`: an error answer stops the benchmark)."""
    env = {
        **os.environ,
        "IDS": str(ids_file),
        "TARGET": target,
        "TOKEN": token,
        "BODY": json.dumps(body),
        "THREADS": "1",
    }
    cmd = [ensure_wrk(), "-t1", f"-c{CLIENTS}", f"-d{seconds}s", "--timeout", "10s"]
    cmd += ["-s", str(HERE / "walk.lua")]  # (a stall shows in the latencies, up to 10 s)
    out = subprocess.run(cmd + [base], env=env, capture_output=True, text=True, check=True)
    found = re.search(r"RESULT (\{.*\})", out.stdout)
    assert found, out.stdout + out.stderr
    raw = json.loads(found.group(1))
    if check and (raw["non2xx"] or raw["socket_errors"]):
        raise RuntimeError(f"wrk saw errors (too few orders for the run?): {raw}")
    return {
        "ops": raw["requests"] / (raw["duration_us"] / 1e6),
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "count": raw["requests"],
    }


def scenarios(ids: tuple[str, str]) -> list[tuple[str, str, str, dict[str, Any], str, Any]]:
    """The API writes measured: (name, orders they act on, path, body, token, ceiling tx)."""
    buyer, seller = ids
    create = {"buyer_id": buyer, "seller_id": seller, "currency": "USD", "items": data.ITEMS}
    pay = {"amount": "60.00", "method": "card", "reference": "bench-payment"}
    reason = {"reason": "changed_mind"}
    return [
        (
            "create",
            "none",
            "/api/v1/orders",
            {**create, "shipping_fee": "5.00"},
            "admin",
            ceiling.create_tx,
        ),
        ("pay", "unpaid", "/api/v1/orders/%s/payment", pay, "admin", ceiling.pay_tx),
        ("request", "paid", "/api/v1/orders/%s/cancel", reason, "buyer", ceiling.request_tx),
        (
            "accept",
            "requested",
            "/api/v1/orders/%s/cancellation/accept",
            reason,
            "seller",
            ceiling.accept_tx,
        ),
    ]


TOKENS = {"admin": data.ADMIN_TOKEN, "buyer": data.BUYER_TOKEN, "seller": data.SELLER_TOKEN}


ROUNDS = 3  # each figure: ours and its ceiling taken in turns, so the machine's drift hits both
WARM_SECONDS = 2  # each route's warm-up on our side, on a tenth of its orders, before its rounds


def bench_api(url: str, rt: Any, engine: Any, ids: tuple[str, str], cfg: dict[str, Any]) -> dict:
    """Create order, record payment, request and accept cancellation over HTTP with 1 and 2
    server processes, and the same writes in plain SQL from as many client processes: for
    each write, ROUNDS rounds of ours then the ceiling's, each round on orders of its own."""
    now = datetime.now(UTC)
    n = cfg["orders"]
    seconds = cfg["seconds"] // ROUNDS  # (wrk takes whole seconds)
    results: dict[str, Any] = {}

    def orders(kind: str, count: int = n) -> list[str]:
        if kind == "none":  # creation acts on no order: each line is the new order's parties
            return [" ".join(ids)] * count
        return data.analyzed_orders(
            rt,
            engine,
            ids,
            count=count,
            at=now,
            paid=kind != "unpaid",
            requested=kind == "requested",
            table="orders",
        )

    for procs in PROCESSES:
        suffix = "" if procs == 1 else f"_{procs}p"
        with tempfile.TemporaryDirectory() as tmpdir:
            tmp = Path(tmpdir)
            made = {s[0]: orders(s[1]) for s in scenarios(ids)}
            plain = {s[0]: orders(s[1], 2 * n) for s in scenarios(ids)}  # (2x: it runs faster)
            from_c = orders("paid", 2 * n)  # the request's ceiling from C (pgbench)
            server = Server(url, tmp, processes=procs)
            try:
                for name, _, target, body, who, tx in scenarios(ids):
                    ours, top, top_c = [], [], []
                    warm, measured = made[name][: n // 10], made[name][n // 10 :]
                    print(f"api: {name}, {procs} process(es), warm-up", file=sys.stderr)
                    wrk(  # (not measured: each process's first requests of the route)
                        server.base,
                        data.write_ids(warm, tmp / f"{name}-warm.txt"),
                        target=target,
                        body=body,
                        token=TOKENS[who],
                        seconds=WARM_SECONDS,
                        check=False,  # (past the warm-up orders, repeats answer 409)
                    )
                    for r in range(ROUNDS):
                        print(f"api: {name}, {procs} process(es), round {r + 1}", file=sys.stderr)
                        data.checkpoint()  # (the previous round's WAL is not this round's)
                        ours.append(
                            wrk(
                                server.base,
                                data.write_ids(measured[r::ROUNDS], tmp / f"{name}{r}.txt"),
                                target=target,
                                body=body,
                                token=TOKENS[who],
                                seconds=seconds,
                            )
                        )
                        data.checkpoint()
                        top.append(
                            ceiling.run_clients(
                                url,
                                plain[name][r::ROUNDS],
                                tx,
                                clients=CLIENTS,
                                seconds=seconds,
                                processes=procs,
                            )
                        )
                        if name == "request":
                            data.checkpoint()
                            top_c.append(
                                pgbench_ceiling.run(
                                    url, from_c[r::ROUNDS], clients=CLIENTS, threads=procs
                                )
                            )
                    results[name + suffix] = combine(ours)
                    results[f"{name}{suffix}_ceiling"] = {**combine(top), "processes": procs}
                    if top_c:
                        results[f"{name}{suffix}_c_ceiling"] = combine(top_c)
            finally:
                server.stop()
    return results


def combine(rounds: list[dict[str, float]]) -> dict[str, Any]:
    """Rounds as one figure: operations over the rounds' whole time, and the median round's
    latencies (each round's kept beside them)."""
    count = sum(r["count"] for r in rounds)
    elapsed = sum(r["count"] / r["ops"] for r in rounds)
    return {
        "ops": count / elapsed,
        "p50_ms": statistics.median(r["p50_ms"] for r in rounds),
        "p99_ms": statistics.median(r["p99_ms"] for r in rounds),
        "count": count,
        "rounds": [{k: round(r[k], 1) for k in ("ops", "p50_ms", "p99_ms")} for r in rounds],
    }


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


def _worker_process(url: str) -> dict[str, Any]:
    """One `aftersale worker` process's work: fire everything due, with its own runtime."""
    import resource

    engine = make_engine(url)
    rt = build_runtime(Settings(database_url=url, embedded_worker=False), engine=engine)  # type: ignore[call-arg]
    heap.settle()  # as `aftersale worker` does
    counter = StatementCounter([engine, getattr(rt.gateway, "engine", engine)])
    fired = Worker(rt, batch=500).run_once()
    counter.stop()
    rt.close()
    engine.dispose()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"fired": fired, "statements": counter.count, "peak_rss_mib": peak_kib / 1024}


def watch(engine: Any, pending: Any, total: int, what: str) -> list[tuple[int, float]]:
    """A progress bar of deadlines fired while `pending` runs (polled every 5 s); returns, at
    each poll, (firings so far, the largest RSS in MiB among the worker processes). Progress is
    PostgreSQL's count of updated deadline rows (`pg_stat_user_tables`, kept in memory): a
    `count(*)` over the deadlines table every 5 s was a parallel scan of 3,000,000 rows at the
    full scale, ~10 % of the database's time during our runs and none during the ceiling's."""
    import multiprocessing

    from rich.console import Console
    from rich.progress import Progress

    def fired() -> int:
        with engine.connect() as conn:  # (each row marked fired is one update of its row)
            return int(
                conn.exec_driver_sql(
                    "SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'deadlines'"
                ).scalar_one()
            )

    def rss_mib() -> float:
        sizes = [0.0]
        for child in multiprocessing.active_children():
            try:
                status = Path(f"/proc/{child.pid}/status").read_text()
            except OSError:
                continue
            found = re.search(r"VmRSS:\s+(\d+) kB", status)
            if found:
                sizes.append(int(found[1]) / 1024)
        return max(sizes)

    start = fired()
    samples: list[tuple[int, float]] = []
    with Progress(console=Console(stderr=True)) as bar:
        task = bar.add_task(f"firing with {what}", total=total)
        while not pending.ready():
            pending.wait(5)
            done = fired() - start
            samples.append((done, rss_mib()))
            bar.update(task, completed=done)
    return samples


def memory_curve(samples: list[tuple[int, float]], total: int) -> dict[str, float]:
    """RSS (MiB) when 10 %, 50 % and 90 % of the firings were done."""
    curve = {}
    for share in (10, 50, 90):
        at = [rss for done, rss in samples if done >= total * share / 100 and rss > 0]
        if at:
            curve[f"{share}%"] = round(at[0], 1)
    return curve


def exactly_once(engine: Any, ids: list[str]) -> dict[str, Any]:
    """After a run: every order cancelled once, one refund per cancellation, sent to the
    gateway once, one auto-accept in each timeline, nothing due left unfired."""
    checks = {
        "not_cancelled": "SELECT count(*) FROM orders WHERE id = ANY(%(ids)s) "
        "AND status <> 'cancelled'",
        "refunds_not_one_per_order": "SELECT count(*) - count(DISTINCT source_id) + "
        "(%(n)s - count(DISTINCT source_id)) FROM refunds WHERE order_id = ANY(%(ids)s)",
        "gateway_refunds_missing_or_extra": "SELECT abs(%(n)s - count(*)) FROM sandbox_refunds s "
        "JOIN refunds r ON r.id = s.key WHERE r.order_id = ANY(%(ids)s)",
        "auto_accepts_not_one_per_order": "SELECT abs(%(n)s - count(*)) FROM timeline WHERE "
        "order_id = ANY(%(ids)s) AND event = 'cancellation_auto_accepted'",
        "due_left_unfired": "SELECT count(*) FROM deadlines WHERE order_id = ANY(%(ids)s) "
        "AND fired_at IS NULL AND due_at <= now()",
    }
    found = {}
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for name, sql in checks.items():
            cur.execute(sql, {"ids": ids, "n": len(ids)})
            found[name] = int(cur.fetchone()[0])
    finally:
        raw.close()
    return {"ok": not any(found.values()), **found}


def due_template(count: int, *, reuse: bool = False) -> list[str]:
    """A database holding `count` paid orders whose buyers asked to cancel 73 hours ago (so
    every 72-hour deadline is due), built once: each run works on a file copy of it. With
    `reuse`, one left by an interrupted run is used as it is (if it holds `count` orders)."""
    if reuse and data.database_exists(DUE_TEMPLATE):
        engine = make_engine(data.database_url(DUE_TEMPLATE))
        with engine.connect() as conn:
            ids = [r[0] for r in conn.exec_driver_sql("SELECT id FROM orders")]
        engine.dispose()
        if len(ids) == count:
            return ids
    url = data.fresh_database(DUE_TEMPLATE)
    engine = make_engine(url)
    rt = build_runtime(Settings(database_url=url, embedded_worker=False), engine=engine)  # type: ignore[call-arg]
    made = data.analyzed_orders(
        rt,
        engine,
        data.make_users(rt),
        count=count,
        at=datetime.now(UTC) - timedelta(hours=73),
        requested=True,
    )
    rt.close()
    engine.dispose()  # a template must have no connections
    return made


def bench_worker(count: int, *, reuse: bool = False) -> dict:
    """`count` due cancellation requests fired by 1 and by 2 worker processes (each checked
    for exactly-once), then by as many plain SQL sweepers, then by as many sweepers writing
    the same rows inside PostgreSQL (`bench/sweep_sql.py`), each on its own copy of the same
    database; with the CPU each side used (`bench/cpu.py`)."""
    import multiprocessing

    made = due_template(count, reuse=reuse)
    results: dict[str, Any] = {}
    for procs in PROCESSES:
        suffix = "" if procs == 1 else f"_{procs}p"
        for name in ("worker", "ceiling", "server"):
            url = data.clone_database(DUE_RUN, DUE_TEMPLATE)
            engine = make_engine(url)
            print(f"{name}: {count:,} due cancellations, {procs} process(es)", file=sys.stderr)
            split = cpu.Split().start()  # (the pools below end, so their processes are reaped)
            if name == "worker":
                began = time.perf_counter()
                with multiprocessing.get_context("fork").Pool(procs) as pool:
                    pending = pool.map_async(_worker_process, [url] * procs)
                    samples = watch(engine, pending, 2 * count, f"{procs} worker process(es)")
                    parts = pending.get()
                elapsed = time.perf_counter() - began
                used = split.stop()  # (before the exactly-once queries)
                fired = sum(p["fired"] for p in parts)
                results[name + suffix] = {
                    **used,
                    "per_s": fired / elapsed,
                    "fired": fired,
                    "seconds": elapsed,
                    "processes": procs,
                    "statements_per_item": sum(p["statements"] for p in parts) / max(fired, 1),
                    "peak_rss_mib": max(p["peak_rss_mib"] for p in parts),
                    "rss_mib_at": memory_curve(samples, 2 * count),
                    "exactly_once": exactly_once(engine, made),
                }
            elif name == "ceiling":
                swept = ceiling.sweep(url, batch=500, sweepers=procs)
                results[f"worker{suffix}_ceiling"] = {**swept, **split.stop()}
            else:  # the floor: the same rows written inside PostgreSQL, a statement a batch
                swept = ceiling.sweep(url, batch=1000, sweepers=procs, one=sweep_sql.sweep_one)
                results[f"worker{suffix}_server"] = {**swept, **split.stop()}
            engine.dispose()
            data.drop_database(DUE_RUN)
    data.drop_database(DUE_TEMPLATE)
    return results


def prepare() -> tuple[str, Any, Any, tuple[str, str]]:
    """wrk, a fresh benchmark database, its engine and runtime, the buyer's and seller's ids
    (their tokens and the admin's are data.*_TOKEN)."""
    ensure_wrk()
    url = data.fresh_database()
    engine = make_engine(url)
    rt = build_runtime(Settings(database_url=url, embedded_worker=False), engine=engine)  # type: ignore[call-arg]
    ids = data.make_users(rt)
    ensure_admin_token(rt, data.ADMIN_TOKEN)
    return url, engine, rt, ids


def main() -> None:
    """Run the benchmark at a scale and rewrite its table in bench/README.md."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=list(SCALES), default="small")
    parser.add_argument("--only", choices=["api", "worker"], default=None)
    parser.add_argument("--deadlines", type=int, default=None, help="override the scale's count")
    parser.add_argument(
        "--reuse-template",
        action="store_true",
        help="use the worker's template database left by an interrupted run (it takes ~10 "
        "minutes to build at the full scale)",
    )
    args = parser.parse_args()
    cfg = dict(SCALES[args.scale])
    if args.deadlines:
        cfg["deadlines"] = args.deadlines
    url, engine, rt, ids = prepare()
    saved = HERE / f"results-{args.scale}.json"
    results: dict[str, Any] = json.loads(saved.read_text()) if args.only and saved.exists() else {}
    if args.only == "api":  # the saved worker rows keep the count they were measured with
        cfg["deadlines"] = results.get("deadlines", cfg["deadlines"])
    results.update({"scale": args.scale, "clients": CLIENTS, "rounds": ROUNDS, **cfg})
    if args.only != "api":  # first, so the API runs' refund deadlines stay out of its sweep
        results.update(bench_worker(cfg["deadlines"], reuse=args.reuse_template))
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
