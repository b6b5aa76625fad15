"""The `aftersale` command: migrate, demo data and users, as an operator runs them (in this
process, typer's runner; the worker as a real `python -m aftersale` process)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import event
from sqlalchemy.pool import Pool
from typer.testing import CliRunner

from aftersale.domain.entities import OrderStatus
from aftersale.entrypoints import cli, cli_ops
from aftersale.entrypoints.cli import request_threads
from aftersale.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]


def run_cli(
    *args: str,
    data_dir: Path,
    env: dict[str, str] | None = None,
    module: str = "aftersale",
    script: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m aftersale ARGS` on a SQLite file in `data_dir` (`env`: more settings,
    e.g. another database; `module`: another command; `script`: the console script of that
    name installed beside this interpreter instead, e.g. `aftersale`)."""
    full = {**os.environ, "AFTERSALE_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    full.pop("AFTERSALE_DATABASE_URL", None)
    command = (
        [str(Path(sys.executable).with_name(script))] if script else [sys.executable, "-m", module]
    )
    return subprocess.run(
        [*command, *args],
        env={**full, **(env or {})},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@contextmanager
def every_connection_closed() -> Iterator[None]:
    """Fails if a database connection opened inside the block is still open after it (a
    command that left its engine undisposed: harmless in a process that then exits, a leak
    in one that goes on)."""
    opened: dict[int, Any] = {}

    def connected(dbapi_connection: Any, _record: Any) -> None:
        opened[id(dbapi_connection)] = dbapi_connection

    def closed(dbapi_connection: Any, *_: Any) -> None:
        opened.pop(id(dbapi_connection), None)

    hooks = [("connect", connected), ("close", closed), ("close_detached", closed)]
    for name, hook in hooks:
        event.listen(Pool, name, hook)
    try:
        yield
    finally:
        for name, hook in hooks:
            event.remove(Pool, name, hook)
    assert not opened, f"{len(opened)} database connection(s) left open"


def invoke_cli(
    *args: str, data_dir: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`aftersale ARGS` in this process (typer's CliRunner), with run_cli's settings: what it
    printed on stdout and stderr, its exit code (an unexpected exception is raised). The
    settings are read again from the environment for the command and after it; its tables
    print as wide as in run_cli's process (COLUMNS). Every database connection the command
    opened must be closed when it returns."""
    full = {"AFTERSALE_DATA_DIR": str(data_dir), "COLUMNS": "200", **(env or {})}
    width = int(full["COLUMNS"])
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("AFTERSALE_DATABASE_URL", raising=False)
        for name, value in full.items():
            patch.setenv(name, value)
        for module in (cli, cli_ops):  # (a console reads COLUMNS once, when made)
            patch.setattr(module, "console", Console(width=width))
        get_settings.cache_clear()
        try:
            with every_connection_closed():
                done = CliRunner().invoke(cli.app, list(args), catch_exceptions=False)
        finally:
            get_settings.cache_clear()
    return subprocess.CompletedProcess(
        ["aftersale", *args], done.exit_code, done.stdout, done.stderr
    )


def test_migrate_creates_the_schema_in_the_data_folder(tmp_path: Path) -> None:
    result = invoke_cli("migrate", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    tables = {
        row[0]
        for row in sqlite3.connect(tmp_path / "aftersale.db").execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
        )
    }
    assert {"orders", "refunds", "deadlines", "ledger_entries", "alembic_version"} <= tables


def test_demo_loads_orders_in_every_status_once_and_prints_the_logins(tmp_path: Path) -> None:
    first = invoke_cli("demo", data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "buyer@demo.test" in first.stdout and "demo-pass-2026" in first.stdout
    db = sqlite3.connect(tmp_path / "aftersale.db")
    statuses = {row[0] for row in db.execute("SELECT DISTINCT status FROM orders")}
    assert statuses == {s.value for s in OrderStatus}
    count = db.execute("SELECT count(*) FROM orders").fetchone()[0]
    second = invoke_cli("demo", data_dir=tmp_path)
    assert second.returncode == 0, second.stderr
    assert db.execute("SELECT count(*) FROM orders").fetchone()[0] == count


def test_users_create_prints_a_token_once_and_refuses_a_taken_email(tmp_path: Path) -> None:
    made = invoke_cli(
        "users", "create", "ops@example.test", "Ops", "--role", "admin", data_dir=tmp_path
    )
    assert made.returncode == 0, made.stderr
    assert "API token (shown once):" in made.stdout
    again = invoke_cli(
        "users", "create", "ops@example.test", "Ops", "--role", "admin", data_dir=tmp_path
    )
    assert again.returncode == 2
    assert "email_taken" in again.stdout
    rows = (
        sqlite3.connect(tmp_path / "aftersale.db")
        .execute("SELECT role, token_hash FROM users WHERE email = 'ops@example.test'")
        .fetchall()
    )
    assert len(rows) == 1 and rows[0][0] == "admin" and len(rows[0][1]) == 64


def test_worker_once_fires_what_is_due_and_exits(tmp_path: Path) -> None:
    assert invoke_cli("demo", data_dir=tmp_path).returncode == 0
    result = run_cli("worker", "--once", data_dir=tmp_path)  # (a real `python -m aftersale`)
    assert result.returncode == 0, result.stderr
    assert "fired" in result.stdout
    unfired_past = (
        sqlite3.connect(tmp_path / "aftersale.db")
        .execute(
            "SELECT count(*) FROM deadlines WHERE fired_at IS NULL AND due_at < datetime('now')"
        )
        .fetchone()[0]
    )
    assert unfired_past == 0


def test_serve_runs_one_request_thread_per_process_when_processes_fill_the_cores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert [request_threads(n) for n in (1, 2, 3)] == [4, 1, 1]
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert [request_threads(n) for n in (1, 4, 8, 16)] == [4, 4, 1, 1]
    monkeypatch.setattr(os, "cpu_count", lambda: None)  # (unknown: taken as one core)
    assert request_threads(1) == 1
