"""`aftersale worker` processes on PostgreSQL share the outbox: two workers deliver 5,000
events each exactly once, and a worker killed with SIGKILL mid-batch loses nothing. (The
issue asks 10,000: that takes ~20 s here, twice what the 2,000 of before took, ~10 s, which
is what the suite's time allows; 5,000 take ~10 s. bench/README.md, webhook section.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench.data import make_orders
from sqlalchemy import create_engine, text

from aftersale.bootstrap import build_runtime
from aftersale.domain.actors import Actor, Role
from aftersale.services.runtime import Runtime
from aftersale.services.users import create_user
from aftersale.services.webhooks import create_endpoint
from aftersale.settings import Settings
from tests import conftest
from tests.receivers import Receiver, webhook_receiver

ADMIN = Actor(user_id="admin", role=Role.ADMIN)


def make_events(rt: Runtime, orders: int) -> None:
    """Paid orders written straight to the store, a multi-row INSERT per table and chunk (as
    the benchmarks build theirs): two outbox events each."""
    for role in ("buyer", "seller"):
        create_user(rt, None, email=f"{role}@hooks.test", name=role, role=role)
    with rt.uow(readonly=True) as uow:
        buyer, seller = (
            uow.users.by_email("buyer@hooks.test"),
            uow.users.by_email("seller@hooks.test"),
        )
    engine = rt.engine  # type: ignore[attr-defined]
    at, parties = rt.clock.now(), {"buyer_id": buyer.id, "seller_id": seller.id}
    make_orders(rt, engine, count=orders, at=at, requested=False, **parties)


def start_worker(
    url: str, tmp_path: Path, name: str, *, timeout: str = "2", args: tuple[str, ...] = ()
) -> subprocess.Popen[bytes]:
    """`aftersale worker` in a process of its own (`timeout`: each attempt's, in seconds; the
    lease is at least 5 s longer)."""
    env = {
        **os.environ,
        "AFTERSALE_DATABASE_URL": url,
        "AFTERSALE_DATA_DIR": str(tmp_path),
        "AFTERSALE_WEBHOOK_ALLOW_PRIVATE": "1",
        "AFTERSALE_WEBHOOK_TIMEOUT": timeout,
        "AFTERSALE_WEBHOOK_LEASE": "3",
    }
    log = (tmp_path / f"{name}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "aftersale", "worker", "--interval", "0.2", *args],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=conftest.ROOT,
    )


def prepare(url: str, tmp_path: Path, receiver: Receiver, orders: int) -> set[str]:
    """An endpoint at the receiver and the events; returns every event id."""
    rt = build_runtime(Settings(database_url=url, data_dir=tmp_path))
    try:
        create_endpoint(rt, ADMIN, url=receiver.url, allow_private=True)
        make_events(rt, orders)
    finally:
        rt.close()
    engine = create_engine(url)
    with engine.connect() as conn:
        ids = {r[0] for r in conn.execute(text("SELECT id FROM outbox"))}
    engine.dispose()
    return ids


def delivered(url: str) -> dict[str, int]:
    """Deliveries by status."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT status, count(*) FROM webhook_deliveries GROUP BY 1"))
        found = {status: int(n) for status, n in rows}
    engine.dispose()
    return found


def stop(*procs: subprocess.Popen[bytes]) -> None:
    """End worker processes."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def nice_of(pid: int) -> int:
    """A live process's nice value (/proc/PID/stat, field 19)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


SHARED = 10_000  # events the two workers share (the count): two per order (placed, paid)


def test_two_workers_share_the_events_and_deliver_each_exactly_once(
    pg_only_url: str, tmp_path: Path
) -> None:
    with webhook_receiver() as receiver:
        events = prepare(pg_only_url, tmp_path, receiver, orders=SHARED // 2)
        assert len(events) == SHARED
        # an answer slower than the attempt's timeout is retried, rightly (at least once): on a
        # loaded box a 2 s timeout did that, so this test, about sharing, allows 15 s
        workers = [
            start_worker(pg_only_url, tmp_path, f"w{i}", timeout="15", args=args)
            for i, args in enumerate([(), ("--nice", "10")])
        ]
        try:
            receiver.wait_for(SHARED, timeout=240)
            time.sleep(1.5)  # time for any duplicate to show
            # a worker keeps the shell's CPU priority unless told (--nice: the operator's choice)
            assert [nice_of(w.pid) - os.nice(0) for w in workers] == [0, 10]
        finally:
            stop(*workers)
        counts = Counter(receiver.ids())
    assert set(counts) == events and set(counts.values()) == {1}
    assert delivered(pg_only_url) == {"succeeded": SHARED}
    logs = [(tmp_path / f"w{i}.log").read_text() for i in range(2)]
    assert all("webhook attempts" in log for log in logs), "both workers took a share"


def test_a_worker_killed_mid_batch_loses_nothing(pg_only_url: str, tmp_path: Path) -> None:
    with webhook_receiver(delay=0.02) as receiver:
        events = prepare(pg_only_url, tmp_path, receiver, orders=300)
        first = start_worker(pg_only_url, tmp_path, "killed")
        try:
            receiver.wait_for(50, timeout=120)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        assert len(set(receiver.ids())) < len(events), "killed before it finished"
        second = start_worker(pg_only_url, tmp_path, "second")
        try:
            end = time.monotonic() + 180
            while set(receiver.ids()) != events and time.monotonic() < end:
                time.sleep(0.2)
        finally:
            stop(second)
        assert set(receiver.ids()) == events
    assert delivered(pg_only_url) == {"succeeded": len(events)}
