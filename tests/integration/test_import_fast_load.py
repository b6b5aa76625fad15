"""The fast load of `aftersale import` into an empty PostgreSQL database: one transaction that
holds the order tables, their foreign keys and plain indexes off until the end. It must put
every key and index back exactly, check the rows against the keys, leave nothing behind when
it fails or is killed, and step aside (batch by batch) when orders exist or the tables are
busy."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine, text

from aftersale.adapters.db.bulk import LOADED, SqlImportStore
from aftersale.services.importer import ImportReport, import_orders
from aftersale.services.runtime import Runtime
from tests.client import ADMIN_TOKEN, Api, Party
from tests.integration.test_import import (
    ROOT,
    STATUSES,
    counts,
    mixed_file,
    order_line,
    unbalanced_txns,
    write_lines,
)


@pytest.fixture
def db_url(pg_only_url: str) -> str:
    """A clean PostgreSQL database only: the fast load is PostgreSQL's."""
    return pg_only_url


def schema(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every index and constraint of the tables an import writes, as PostgreSQL prints them."""
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        names = list(LOADED)
        indexes = conn.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
            "WHERE indrelid::regclass::text = ANY(%s) ORDER BY 1",
            (names,),
        ).fetchall()
        keys = conn.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated "
            "FROM pg_constraint WHERE conrelid::regclass::text = ANY(%s) ORDER BY 1, 2",
            (names,),
        ).fetchall()
    return {"indexes": indexes, "constraints": keys}


def load(rt: Runtime, path: Path, store: SqlImportStore, **kw: Any) -> ImportReport:
    with path.open() as lines:
        return import_orders(rt, store, lines, **kw)


def many_lines(buyer: Party, seller: Party, base: datetime, n: int) -> list[dict[str, Any]]:
    """n good lines of every status, ids unique."""
    return [
        order_line(buyer, seller, STATUSES[i % len(STATUSES)], base=base, id=f"bulk-{i}")
        for i in range(n)
    ]


def test_a_fast_load_writes_every_good_line_and_puts_back_every_key_and_index(
    rt: Runtime, parties: tuple[Party, Party], base: datetime, tmp_path: Path, pg_only_url: str
) -> None:
    before = schema(pg_only_url)
    assert before["indexes"] and any("FOREIGN KEY" in k[2] for k in before["constraints"])
    path, expected = mixed_file(tmp_path, *parties, base)
    phases: list[str] = []
    store = SqlImportStore(rt.engine)  # type: ignore[attr-defined]
    report = load(rt, path, store, batch_size=3, phase=phases.append)
    assert store.loaded_fast and phases == ["building indexes, checking foreign keys"]
    assert report.imported == len(STATUSES)
    assert sorted(p.line for p in report.errors) == sorted(expected)
    assert schema(pg_only_url) == before
    assert counts(rt)["orders"] == len(STATUSES) and unbalanced_txns(rt) == []
    # the same file again: the orders exist now, so batch by batch, every line skipped
    again = SqlImportStore(rt.engine)  # type: ignore[attr-defined]
    report = load(rt, path, again)
    assert not again.loaded_fast and (report.imported, len(report.skipped)) == (0, len(STATUSES))


def test_a_fast_load_with_worker_processes_imports_the_same_as_without(
    rt: Runtime, parties: tuple[Party, Party], base: datetime, tmp_path: Path
) -> None:
    path = write_lines(tmp_path / "o.jsonl", many_lines(*parties, base, 40))
    store = SqlImportStore(rt.engine)  # type: ignore[attr-defined]
    report = load(rt, path, store, batch_size=7, jobs=2)
    assert store.loaded_fast and (report.imported, report.errors) == (40, [])
    assert counts(rt)["orders"] == 40 and unbalanced_txns(rt) == []


def test_an_error_during_a_fast_load_leaves_nothing_and_every_key_and_index(
    rt: Runtime, parties: tuple[Party, Party], base: datetime, tmp_path: Path, pg_only_url: str
) -> None:
    before = schema(pg_only_url)
    path = write_lines(tmp_path / "o.jsonl", many_lines(*parties, base, 30))
    written: list[int] = []

    def fail_on_third_batch(n: int) -> None:
        written.append(n)
        if len(written) == 3:
            raise RuntimeError("disk full")

    store = SqlImportStore(rt.engine)  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError, match="disk full"):
        load(rt, path, store, batch_size=5, progress=fail_on_third_batch)
    assert not store.loaded_fast and len(written) == 3
    assert set(counts(rt).values()) == {0}
    assert schema(pg_only_url) == before
    retry = SqlImportStore(rt.engine)  # type: ignore[attr-defined]
    assert load(rt, path, retry, batch_size=5).imported == 30 and retry.loaded_fast


def locked(engine: Any) -> bool:
    """Whether some session holds the orders table exclusively."""
    with engine.connect() as conn:
        return bool(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE c.relname = 'orders' AND l.mode = 'AccessExclusiveLock' AND l.granted"
                )
            ).scalar_one()
        )


def timeline_bytes(engine: Any) -> int:
    """The size of the timeline's file on disk (rows not yet committed included), read
    without the table lock that pg_relation_size would wait for."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT (pg_stat_file(pg_relation_filepath('timeline'))).size")
            ).scalar_one()
        )


def test_a_killed_fast_load_leaves_nothing_and_every_key_and_index(
    rt: Runtime, parties: tuple[Party, Party], base: datetime, tmp_path: Path, pg_only_url: str
) -> None:
    before = schema(pg_only_url)
    path = write_lines(tmp_path / "o.jsonl", many_lines(*parties, base, 6000))
    env = {
        **os.environ,
        "AFTERSALE_DATABASE_URL": pg_only_url,
        "AFTERSALE_TEST_CLOCK": "1",
        "AFTERSALE_ADMIN_TOKEN": ADMIN_TOKEN,
        "AFTERSALE_DATA_DIR": str(tmp_path),
    }
    cmd = [sys.executable, "-m", "aftersale", "import", str(path), "--batch-size", "500"]
    cmd += ["--jobs", "0"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    watcher = create_engine(pg_only_url)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if locked(watcher) and timeline_bytes(watcher) > 256 * 1024:
                break  # the load holds the tables and has sent some batches
            time.sleep(0.05)
        assert proc.poll() is None, "the import ended before it could be killed"
        assert locked(watcher), "the fast load never held the tables"
        assert timeline_bytes(watcher) > 256 * 1024, "no batch was written before the kill"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        for _ in range(100):  # the server notices the lost client and rolls its work back
            if not locked(watcher):
                break
            time.sleep(0.1)
        assert not locked(watcher), "the killed load's session still holds the tables"
    finally:
        if proc.poll() is None:
            proc.kill()
        watcher.dispose()
    assert set(counts(rt).values()) == {0}
    assert schema(pg_only_url) == before


def test_a_database_with_orders_is_loaded_batch_by_batch(
    api: Api, rt: Runtime, parties: tuple[Party, Party], base: datetime, tmp_path: Path
) -> None:
    buyer, seller = parties
    api.order(buyer, seller)
    path = write_lines(tmp_path / "o.jsonl", many_lines(buyer, seller, base, 10))
    store = SqlImportStore(rt.engine)  # type: ignore[attr-defined]
    report = load(rt, path, store, batch_size=4)
    assert not store.loaded_fast and report.imported == 10
    assert counts(rt)["orders"] == 11


def test_busy_tables_are_loaded_batch_by_batch_after_the_lock_timeout(
    rt: Runtime, parties: tuple[Party, Party], base: datetime, tmp_path: Path, pg_only_url: str
) -> None:
    path = write_lines(tmp_path / "o.jsonl", many_lines(*parties, base, 10))
    with psycopg.connect(pg_only_url.replace("+psycopg", "")) as reader:
        reader.execute("LOCK TABLE orders IN ACCESS SHARE MODE")  # a long read, say
        store = SqlImportStore(rt.engine, lock_timeout="200ms")  # type: ignore[attr-defined]
        started = time.monotonic()
        report = load(rt, path, store, batch_size=4)
        waited = time.monotonic() - started
    assert not store.loaded_fast and report.imported == 10 and waited >= 0.2
    assert counts(rt)["orders"] == 10


def test_no_fast_load_is_what_the_flag_says(
    rt: Runtime, parties: tuple[Party, Party], base: datetime, tmp_path: Path
) -> None:
    path = write_lines(tmp_path / "o.jsonl", many_lines(*parties, base, 5))
    store = SqlImportStore(rt.engine, fast=False)  # type: ignore[attr-defined]
    assert load(rt, path, store).imported == 5 and not store.loaded_fast
