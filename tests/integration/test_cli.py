"""The `aftersale` command: migrate, demo data and users, as an operator runs them."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from aftersale.domain.entities import OrderStatus
from aftersale.entrypoints.cli import request_threads

ROOT = Path(__file__).resolve().parents[2]


def run_cli(
    *args: str, data_dir: Path, env: dict[str, str] | None = None, module: str = "aftersale"
) -> subprocess.CompletedProcess[str]:
    """Run `python -m aftersale ARGS` on a SQLite file in `data_dir` (`env`: more settings,
    e.g. another database; `module`: another command)."""
    full = {**os.environ, "AFTERSALE_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    full.pop("AFTERSALE_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        env={**full, **(env or {})},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_migrate_creates_the_schema_in_the_data_folder(tmp_path: Path) -> None:
    result = run_cli("migrate", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    tables = {
        row[0]
        for row in sqlite3.connect(tmp_path / "aftersale.db").execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
        )
    }
    assert {"orders", "refunds", "deadlines", "ledger_entries", "alembic_version"} <= tables


def test_demo_loads_orders_in_every_status_once_and_prints_the_logins(tmp_path: Path) -> None:
    first = run_cli("demo", data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "buyer@demo.test" in first.stdout and "demo-pass-2026" in first.stdout
    db = sqlite3.connect(tmp_path / "aftersale.db")
    statuses = {row[0] for row in db.execute("SELECT DISTINCT status FROM orders")}
    assert statuses == {s.value for s in OrderStatus}
    count = db.execute("SELECT count(*) FROM orders").fetchone()[0]
    second = run_cli("demo", data_dir=tmp_path)
    assert second.returncode == 0, second.stderr
    assert db.execute("SELECT count(*) FROM orders").fetchone()[0] == count


def test_users_create_prints_a_token_once_and_refuses_a_taken_email(tmp_path: Path) -> None:
    made = run_cli(
        "users", "create", "ops@example.test", "Ops", "--role", "admin", data_dir=tmp_path
    )
    assert made.returncode == 0, made.stderr
    assert "API token (shown once):" in made.stdout
    again = run_cli(
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
    assert run_cli("demo", data_dir=tmp_path).returncode == 0
    result = run_cli("worker", "--once", data_dir=tmp_path)
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
