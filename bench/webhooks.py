"""Webhook deliveries per second to a local receiver that answers at once, with 1 and 2
`Dispatcher` processes on PostgreSQL, beside a ceiling measured in the same run: a bare async
httpx client (as many processes, as many requests in flight) POSTing the same bodies to the
same receiver, with nothing of ours (no outbox, no claims, no signing, no bookkeeping).

Usage: python -m bench.webhooks --events 10000. Needs PostgreSQL (AFTERSALE_BENCH_PG)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from aftersale.adapters.notify.webhook_sender import pick_pool, pool_layout
from aftersale.bootstrap import build_runtime
from aftersale.services.users import ensure_admin_token
from aftersale.services.webhooks import create_endpoint
from aftersale.settings import Settings
from bench import data

TEMPLATE, RUN = "aftersale_bench_hooks", "aftersale_bench_hooks_run"
CANCEL_DB = "aftersale_bench_hooks_cancel"
ROUNDS = 3  # --cancel: rounds of each kind, in turns
# --cancel's kinds of round: no worker; a worker at the shell's priority (--nice 0, the
# default); a worker at a lower one (--nice 10)
KINDS = {"without": None, "with_nice0": 0, "with": 10}
IN_FLIGHT = 64
RSS_EVERY = 0.5  # seconds between samples of the processes' RSS
HERE = Path(__file__).resolve().parent


class Answer(asyncio.Protocol):
    """HTTP/1.1 keep-alive: reads each request by Content-Length, answers 200 at once."""

    def connection_made(self, transport: Any) -> None:
        self.transport, self.buffer = transport, b""

    def data_received(self, chunk: bytes) -> None:
        self.buffer += chunk
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            length = _length(self.buffer[:head_end])
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            self.buffer = self.buffer[end:]
            self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")


def _length(head: bytes) -> int:
    """The Content-Length of a request head."""
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line[15:])
    return 0


def receiver(port: int) -> None:
    """The receiver process: answers every POST with 200 at once."""

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(
            Answer, "127.0.0.1", port, backlog=1024
        )
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def build(events: int, hook_url: str) -> None:
    """The template database: an endpoint for every type and `events` undispatched events
    (one `order.created` per order)."""
    url = data.fresh_database(TEMPLATE)
    rt = build_runtime(Settings(database_url=url), run_migrations=False)
    buyer, seller = data.make_users(rt)
    create_endpoint(rt, data.ADMIN, url=hook_url, allow_private=True)
    data.make_orders(
        rt,
        rt.engine,
        count=events,
        buyer_id=buyer,
        seller_id=seller,  # type: ignore[attr-defined]
        at=datetime.now(UTC),
        requested=False,
        paid=False,
    )
    with rt.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:  # type: ignore[attr-defined]
        conn.exec_driver_sql("ANALYZE")
    rt.close()


def ours_child(url: str, go: str) -> None:
    """One dispatcher process: waits for the go file, then dispatches until nothing is left."""
    from aftersale.entrypoints.dispatcher import Dispatcher

    settings = Settings(database_url=url, webhook_allow_private=True, webhook_in_flight=IN_FLIGHT)
    rt = build_runtime(settings, run_migrations=False)
    dispatcher = Dispatcher(rt, settings)
    with rt.uow(readonly=True) as uow:  # (warm: a pooled connection; nothing is dispatched)
        uow.notify.endpoints()
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.01)
    handled, idle = 0, 0
    while idle < 3 or not drained(rt):  # (an empty round: another may be fanning out)
        done = dispatcher.run_once()
        handled += done
        idle = 0 if done else idle + 1
        if not done:
            time.sleep(0.05)
    dispatcher.close()
    print(
        json.dumps(
            {
                "handled": handled,
                "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def drained(rt: Any) -> bool:
    """Every event fanned out and every delivery attempted."""
    with rt.engine.connect() as conn:
        left = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM outbox WHERE dispatched_at IS NULL)"
                " + (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending')"
            )
        ).scalar_one()
    return int(left) == 0


def ceiling_child(bodies_file: str, share: int, of: int, url: str, go: str) -> None:
    """One bare client process: POSTs its share of the bodies, IN_FLIGHT at a time, on the
    same httpx pools as the dispatcher's sender (`pool_layout`, `pick_pool`: a few small
    pools, filled one by one), as soon as a slot is free; no database, no signing."""
    bodies = json.loads(Path(bodies_file).read_text())[share::of]

    async def main() -> None:
        pools, size = pool_layout(IN_FLIGHT)
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        clients = [httpx.AsyncClient(limits=limits, timeout=15) for _ in range(pools)]
        busy = [0] * pools

        async def post(body: str, i: int) -> None:
            pool = pick_pool(busy, size)
            busy[pool] += 1
            headers = {"content-type": "application/json", "webhook-id": f"evt_{share}_{i}"}
            answer = await clients[pool].post(url, content=body, headers=headers)
            busy[pool] -= 1
            assert answer.status_code == 200

        async def lane(work: Any) -> None:  # IN_FLIGHT lanes: the next body once one ends
            for i, body in work:
                await post(body, i)

        await asyncio.gather(*(post("{}", -1) for _ in range(IN_FLIGHT)))  # (warm the pools)
        print("ready", flush=True)
        while not os.path.exists(go):
            await asyncio.sleep(0.01)
        work = iter(enumerate(bodies))
        await asyncio.gather(*(lane(work) for _ in range(IN_FLIGHT)))
        for client in clients:
            await client.aclose()

    asyncio.run(main())
    print(
        json.dumps(
            {
                "handled": len(bodies),
                "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def timed(commands: list[list[str]], tmp: Path) -> tuple[float, list[dict[str, Any]]]:
    """Start the processes, wait until each says it is ready, then time them from the go
    file to the end of the last."""
    go = tmp / "go"
    go.unlink(missing_ok=True)
    procs = [
        subprocess.Popen([*c, str(go)], stdout=subprocess.PIPE, cwd=HERE.parent) for c in commands
    ]
    for p in procs:
        assert p.stdout is not None
        while p.stdout.readline().strip() != b"ready":
            pass
    started = time.perf_counter()
    go.touch()
    rss: list[tuple[float, float]] = []  # (seconds since go, MB: the largest process's RSS)
    sampled = -RSS_EVERY
    # (the end is seen within 10 ms: waiting RSS_EVERY between looks rounded every run's time
    # up to the next half second, ~6 % of a ceiling's 8 s at 20,000 events)
    while any(p.poll() is None for p in procs):
        now = time.perf_counter() - started
        if now - sampled >= RSS_EVERY:
            rss.append((now, max(_rss_mb(p.pid) for p in procs)))
            sampled = now
        time.sleep(0.01)
    seconds = time.perf_counter() - started
    outputs = [json.loads(p.communicate()[0].decode().strip().splitlines()[-1]) for p in procs]
    outputs[0]["rss_curve"] = _curve(rss, seconds)
    return seconds, outputs


def _rss_mb(pid: int) -> float:
    """A running process's resident set, in MB (0 once it ended)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    line = next((x for x in status.splitlines() if x.startswith("VmRSS:")), "VmRSS: 0 kB")
    return int(line.split()[1]) / 1024


def _curve(rss: list[tuple[float, float]], seconds: float) -> dict[str, float]:
    """The largest RSS at each tenth of the run (is memory flat?)."""
    curve: dict[str, float] = {}
    for tenth in range(1, 11):
        inside = [mb for at, mb in rss if (tenth - 1) * seconds / 10 <= at < tenth * seconds / 10]
        if inside:
            curve[f"{tenth * 10}%"] = round(max(inside), 1)
    return curve


def ours(processes: int, events: int, tmp: Path) -> dict[str, Any]:
    """Deliveries/s of `processes` dispatchers on a fresh copy of the template."""
    url = data.clone_database(RUN, TEMPLATE)
    seconds, outs = timed([[sys.executable, "-m", "bench.webhooks", "ours", url]] * processes, tmp)
    engine = create_engine(url)
    with engine.connect() as conn:
        counts = dict(
            conn.execute(text("SELECT status, count(*) FROM webhook_deliveries GROUP BY 1")).all()
        )
        if processes == 1:
            bodies = [
                r[0] for r in conn.execute(text("SELECT body FROM webhook_deliveries ORDER BY seq"))
            ]
            (tmp / "bodies.json").write_text(json.dumps(bodies))
    engine.dispose()
    assert counts == {"succeeded": events}, counts  # each event delivered, exactly once
    return _figures(events, seconds, outs)


def ceiling(processes: int, events: int, hook_url: str, tmp: Path) -> dict[str, Any]:
    """Requests/s of `processes` bare clients posting the same bodies."""
    commands = [
        [
            sys.executable,
            "-m",
            "bench.webhooks",
            "ceiling",
            str(tmp / "bodies.json"),
            str(i),
            str(processes),
            hook_url,
        ]
        for i in range(processes)
    ]
    seconds, outs = timed(commands, tmp)
    assert sum(o["handled"] for o in outs) == events
    return _figures(events, seconds, outs)


def _figures(events: int, seconds: float, outs: list[dict[str, Any]]) -> dict[str, Any]:
    """Rate, time, peak RSS (and over time) and the machine's load after a run."""
    return {  # (RSS from /proc while it ran: ru_maxrss keeps the forking parent's peak)
        "per_s": events / seconds,
        "seconds": seconds,
        "rss_mb": max(outs[0]["rss_curve"].values(), default=0.0),
        "rss_curve": outs[0]["rss_curve"],
        "load_after": os.getloadavg(),
    }


def start_dispatcher(url: str, tmp: Path, nice: int | None = None) -> subprocess.Popen[bytes]:
    """`aftersale worker` (deadlines, webhooks and mail) in a process of its own (at its
    default CPU priority, or `--nice` as given)."""
    env = {
        **os.environ,
        "AFTERSALE_DATABASE_URL": url,
        "AFTERSALE_DATA_DIR": str(tmp),
        "AFTERSALE_WEBHOOK_ALLOW_PRIVATE": "1",
    }
    log = (tmp / "worker.log").open("ab")
    cmd = [sys.executable, "-m", "aftersale", "worker", "--interval", "0.2"]
    cmd += [] if nice is None else ["--nice", str(nice)]
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=HERE.parent)


def cancellations(
    hook_url: str, tmp: Path, *, orders: int, seconds: int, rounds_each: int = ROUNDS
) -> dict[str, Any]:
    """Request cancellation (bench/run.py's scenario: wrk, 32 clients, one server process) in
    turns without and with an `aftersale worker` beside it delivering each request's event to
    a webhook endpoint (and its mail to the seller), at the shell's CPU priority and niced
    (KINDS); `rounds_each` rounds of each kind, each on orders of its own. Before a round with
    the worker, it has caught up with the previous rounds' events, so it dispatches that
    round's own as they come."""
    from bench import run

    run.ensure_wrk()
    url = data.fresh_database(CANCEL_DB)
    engine = create_engine(url)
    rt = build_runtime(Settings(database_url=url, embedded_worker=False), run_migrations=False)
    ids = data.make_users(rt)
    ensure_admin_token(rt, data.ADMIN_TOKEN)
    create_endpoint(rt, data.ADMIN, url=hook_url, allow_private=True)
    made = data.analyzed_orders(
        rt, engine, ids, count=orders, at=datetime.now(UTC), requested=False, table="orders"
    )
    with engine.begin() as conn:  # (the build's own events are not the benchmark's)
        conn.execute(text("UPDATE outbox SET dispatched_at = now() WHERE dispatched_at IS NULL"))
        built = conn.execute(text("SELECT coalesce(max(seq), 0) FROM outbox")).scalar_one()
    warm, measured = made[: orders // 10], made[orders // 10 :]
    server = run.Server(url, tmp)
    target, body = "/api/v1/orders/%s/cancel", {"reason": "changed_mind"}
    rounds: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
    try:
        run.wrk(
            server.base,
            data.write_ids(warm, tmp / "warm.txt"),
            target=target,
            body=body,
            token=data.BUYER_TOKEN,
            seconds=2,
            check=False,
        )
        turns = [kind for _ in range(rounds_each) for kind in KINDS]
        for i, kind in enumerate(turns):
            worker = None if kind == "without" else start_dispatcher(url, tmp, KINDS[kind])
            try:
                if worker is not None:
                    wait_drained(engine, 120)
                before = delivered_count(engine)
                data.checkpoint()
                print(f"cancel: round {i + 1} {kind} the dispatcher", file=sys.stderr)
                got = run.wrk(
                    server.base,
                    data.write_ids(measured[i :: len(turns)], tmp / f"cancel{i}.txt"),
                    target=target,
                    body=body,
                    token=data.BUYER_TOKEN,
                    seconds=seconds,
                )
                got["deliveries_meanwhile"] = delivered_count(engine) - before
                got["load_after"] = os.getloadavg()
                rounds[kind].append(got)
            finally:
                if worker is not None:
                    worker.terminate()
                    worker.wait(timeout=30)
        wait_drained_after = start_dispatcher(url, tmp)  # (every request's event delivered once)
        try:
            wait_drained(engine, 300)
        finally:
            wait_drained_after.terminate()
            wait_drained_after.wait(timeout=30)
        with engine.connect() as conn:
            counts = dict(
                conn.execute(
                    text("SELECT status, count(*) FROM webhook_deliveries GROUP BY 1")
                ).all()
            )
            requested = conn.execute(
                text("SELECT count(*) FROM outbox WHERE seq > :built"), {"built": built}
            ).scalar_one()
    finally:
        server.stop()
        rt.close()
        engine.dispose()
        data.drop_database(CANCEL_DB)
    assert counts == {"succeeded": requested}, (counts, requested)
    return {
        **{kind: run.combine(rounds[kind]) for kind in KINDS},
        "rounds": rounds,
        "events_delivered": requested,
    }


def delivered_count(engine: Any) -> int:
    """Deliveries that succeeded so far."""
    with engine.connect() as conn:
        query = "SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded'"
        return int(conn.execute(text(query)).scalar_one())


def wait_drained(engine: Any, timeout: float) -> None:
    """Until every event is fanned out and every delivery attempted."""
    end = time.monotonic() + timeout
    query = text(
        "SELECT (SELECT count(*) FROM outbox WHERE dispatched_at IS NULL)"
        " + (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending')"
    )
    while True:
        with engine.connect() as conn:
            if conn.execute(query).scalar_one() == 0:
                return
        if time.monotonic() > end:
            raise RuntimeError("the dispatcher did not catch up")
        time.sleep(0.2)


def main() -> None:
    """Build, run ours and the ceiling with 1 and 2 processes, print the figures as JSON
    (--cancel: request cancellation without and with the dispatcher beside it instead)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--cancel", action="store_true", help="the request-path check instead")
    parser.add_argument("--orders", type=int, default=40_000, help="--cancel: orders built")
    parser.add_argument("--seconds", type=int, default=5, help="--cancel: each round's")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="--cancel: of each kind")
    args = parser.parse_args()
    port = data_port()
    hook_url = f"http://127.0.0.1:{port}/hooks"
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.webhooks", "receiver", str(port)], cwd=HERE.parent
    )
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / "aftersale-bench-hooks"
    tmp.mkdir(exist_ok=True)
    if args.cancel:
        try:
            time.sleep(1)
            found = cancellations(
                hook_url, tmp, orders=args.orders, seconds=args.seconds, rounds_each=args.rounds
            )
            print(json.dumps({"load_before": os.getloadavg(), **found}, indent=2))
        finally:
            server.terminate()
        return
    try:
        time.sleep(1)
        build(args.events, hook_url)
        results: dict[str, Any] = {"load_before": os.getloadavg()}
        for n in (1, 2):
            results[f"ours_{n}"] = ours(n, args.events, tmp)
            print(f"ours, {n} process(es): {results[f'ours_{n}']}", file=sys.stderr)
            results[f"ceiling_{n}"] = ceiling(n, args.events, hook_url, tmp)
            print(f"ceiling, {n} process(es): {results[f'ceiling_{n}']}", file=sys.stderr)
        for n in (1, 2):
            results[f"ratio_{n}"] = results[f"ours_{n}"]["per_s"] / results[f"ceiling_{n}"]["per_s"]
        print(json.dumps({"events": args.events, "in_flight": IN_FLIGHT, **results}, indent=2))
    finally:
        server.terminate()
        data.drop_database(RUN)
        data.drop_database(TEMPLATE)


def data_port() -> int:
    """A free loopback port."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    role = sys.argv[1] if len(sys.argv) > 1 else ""
    if role == "receiver":
        receiver(int(sys.argv[2]))
    elif role == "ours":
        ours_child(sys.argv[2], sys.argv[3])
    elif role == "ceiling":
        ceiling_child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6])
    else:
        main()
