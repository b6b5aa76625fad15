"""Many claimers racing on PostgreSQL never lease one delivery twice. A claim picks its
candidates in a subquery (by the due index); the lease's own conditions are checked again on
the row it locks, so a row another claimer leased and committed meanwhile is passed by
(a subquery alone is read from the statement's snapshot: it would hand that row out again)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from aftersale.adapters.db.notify_repo import FAN_OUT_LOCK
from aftersale.bootstrap import build_runtime
from aftersale.services.deliveries import Outcome, claim_due, record
from aftersale.services.dispatch import fan_out
from aftersale.services.webhooks import create_endpoint
from aftersale.settings import Settings
from tests.integration.test_webhook_workers import ADMIN, make_events


def test_racing_claimers_never_lease_a_delivery_twice(pg_only_url: str, tmp_path: Path) -> None:
    engine = create_engine(pg_only_url)
    rt = build_runtime(Settings(database_url=pg_only_url, data_dir=tmp_path))
    try:
        create_endpoint(rt, ADMIN, url="http://127.0.0.1:9/hook", allow_private=True)
        make_events(rt, 1500)
        while fan_out(rt, limit=1000, mail_domain="aftersale.test"):
            pass
        taken: list[str] = []
        lock = threading.Lock()
        errors: list[BaseException] = []

        def claimer() -> None:
            try:
                end = time.monotonic() + 120  # a claim that finds nothing forever fails below
                while time.monotonic() < end:
                    rows = claim_due(rt, limit=7, lease=timedelta(hours=1))
                    if not rows and pending() == 0:
                        return
                    with lock:
                        taken.extend(r["id"] for r in rows)
                    record(rt, rows, [Outcome(r["id"], 200, None) for r in rows])
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        def pending() -> int:
            with engine.connect() as conn:
                query = "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'"
                return int(conn.execute(text(query)).scalar_one())

        threads = [threading.Thread(target=claimer) for _ in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert not errors
        twice = [i for i, n in Counter(taken).items() if n > 1]
        assert twice == [], f"{len(twice)} deliveries leased twice"
        assert len(taken) == 3000
    finally:
        rt.close()
        engine.dispose()


def test_a_fan_out_finding_another_under_way_takes_nothing_and_does_not_wait(
    pg_only_url: str, tmp_path: Path
) -> None:
    engine = create_engine(pg_only_url)
    rt = build_runtime(Settings(database_url=pg_only_url, data_dir=tmp_path))
    try:
        create_endpoint(rt, ADMIN, url="http://127.0.0.1:9/hook", allow_private=True)
        make_events(rt, 10)
        with engine.begin() as other:  # another worker, in the middle of its fan-out
            other.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": FAN_OUT_LOCK})
            started = time.monotonic()
            assert fan_out(rt, limit=500, mail_domain="aftersale.test") == 0
            assert time.monotonic() - started < 2, "it waited for the other's turn"
        with engine.connect() as conn:
            left = "SELECT count(*) FROM outbox WHERE dispatched_at IS NULL"
            assert conn.execute(text(left)).scalar_one() == 20  # nothing taken meanwhile
        assert fan_out(rt, limit=500, mail_domain="aftersale.test") == 20  # its turn now
    finally:
        rt.close()
        engine.dispose()
