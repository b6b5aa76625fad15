"""The operator's commands, as an operator runs them, on SQLite and PostgreSQL: users
list / disable / enable / rotate-token, refunds list / retry, deadlines list, status (in this
process, typer's runner; `status` once as the installed `aftersale` console script)."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from aftersale.adapters.db.engine import make_engine
from aftersale.adapters.db.notify_tables import webhook_deliveries
from aftersale.entrypoints.api.app import create_app
from aftersale.services.dispatch import fan_out
from aftersale.services.runtime import Runtime
from aftersale.settings import Settings
from tests.client import DAY, Api, Party
from tests.conftest import ROOT, free_port
from tests.integration.test_cli import invoke_cli, run_cli
from tests.integration.test_ops_http import schema_behind

Run = Callable[..., subprocess.CompletedProcess[str]]
PASSWORD = "operator-test-password"


def cli_env(settings: Settings) -> dict[str, str]:
    """The settings of a command on the test database, with the test clock."""
    return {"AFTERSALE_DATABASE_URL": settings.url, "AFTERSALE_TEST_CLOCK": "1", "COLUMNS": "250"}


@pytest.fixture
def run(settings: Settings, tmp_path: Path) -> Run:
    """`aftersale ARGS` in this process on the test database, with the test clock."""
    return functools.partial(invoke_cli, data_dir=tmp_path, env=cli_env(settings))


def status_of(settings: Settings, rt: Runtime, party: Party) -> int:
    """The status a fresh API process answers the party's token with."""
    with TestClient(create_app(settings, runtime=rt)) as http:
        return http.get("/api/v1/orders", headers=party.headers).status_code


def page_login(http: TestClient, email: str, password: str) -> int:
    """Log in through the login page; the status of the form's answer."""
    form = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/login").text)
    assert form is not None
    data = {"email": email, "password": password, "csrf_token": form.group(1)}
    return http.post("/login", data=data, follow_redirects=False).status_code


def test_a_disabled_user_can_neither_log_in_nor_keep_its_session(
    api: Api, run: Run, settings: Settings, rt: Runtime
) -> None:
    buyer = api.user("buyer", password=PASSWORD)
    with TestClient(create_app(settings, runtime=rt)) as http:
        assert page_login(http, buyer.email, PASSWORD) == 303
        assert http.get("/orders", follow_redirects=False).status_code == 200
        assert run("users", "disable", buyer.id).returncode == 0
        assert http.get("/orders", follow_redirects=False).status_code != 200
        http.cookies.clear()
        assert page_login(http, buyer.email, PASSWORD) == 401


def test_users_list_disable_enable_and_rotate_token(
    api: Api, run: Run, settings: Settings, rt: Runtime
) -> None:
    buyer = api.user("buyer")
    listed = run("users", "list")
    assert listed.returncode == 0, listed.stderr
    assert buyer.id in listed.stdout and buyer.email in listed.stdout
    assert run("users", "disable", buyer.email).returncode == 0
    rt.token_cache.clear()  # (a server forgets a token within 30 s: here, at once)
    assert status_of(settings, rt, buyer) == 401
    assert "disabled" in run("users", "list").stdout
    assert run("users", "enable", buyer.id).returncode == 0
    assert status_of(settings, rt, buyer) == 200
    rotated = run("users", "rotate-token", buyer.id)
    assert rotated.returncode == 0, rotated.stderr
    new_token = rotated.stdout.strip().rsplit(" ", 1)[-1]
    rt.token_cache.clear()
    assert status_of(settings, rt, buyer) == 401
    assert status_of(settings, rt, Party(buyer.id, "buyer", new_token, buyer.email)) == 200
    missing = run("users", "disable", "nobody@example.test")
    assert missing.returncode == 2 and "not_found" in missing.stdout


def test_refunds_list_shows_failed_and_overdue_refunds_and_retry_issues_a_new_one(
    api: Api, run: Run, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    failing = api.pay(api.order(buyer, seller), reference="fail-declined")
    failing = api.ok(
        api.post(f"/orders/{failing['id']}/seller-cancel", {"reason": "x"}, as_=seller)
    )
    failed_id = failing["refunds"][0]["id"]
    api.advance(60)
    assert api.get_order(failing["id"], buyer)["refunds"][0]["status"] == "failed"
    late = api.paid_order(buyer, seller)
    late = api.ok(api.post(f"/orders/{late['id']}/seller-cancel", {"reason": "x"}, as_=seller))
    late_id = late["refunds"][0]["id"]
    listed = run("refunds", "list")
    assert listed.returncode == 0, listed.stderr
    assert failed_id in listed.stdout and late_id in listed.stdout and "failed" in listed.stdout
    assert late_id not in run("refunds", "list", "--overdue").stdout
    assert rt.test_clock is not None
    rt.test_clock.set(rt.test_clock.now() + timedelta(days=40))  # nothing fired: it is late
    overdue = run("refunds", "list", "--overdue").stdout
    assert late_id in overdue and failed_id not in overdue
    retried = run("refunds", "retry", failed_id)
    assert retried.returncode == 0, retried.stderr
    refunds = api.get_order(failing["id"], buyer)["refunds"]
    assert [r["status"] for r in refunds] == ["failed", "pending"]
    assert refunds[1]["id"] in retried.stdout
    again = run("refunds", "retry", failed_id)
    assert again.returncode == 2 and "invalid_state" in again.stdout


def test_deadlines_list_shows_what_is_due_and_filters_by_kind(
    api: Api, run: Run, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.order(buyer, seller)  # closes unpaid after 20 days
    every = run("deadlines", "list")
    assert every.returncode == 0, every.stderr
    assert "unpaid_close" in every.stdout and order["id"] in every.stdout
    assert order["id"] not in run("deadlines", "list", "--due").stdout
    assert rt.test_clock is not None
    rt.test_clock.set(rt.test_clock.now() + timedelta(days=21))
    assert order["id"] in run("deadlines", "list", "--due", "--kind", "unpaid_close").stdout
    assert order["id"] not in run("deadlines", "list", "--kind", "refund_submit").stdout


def test_status_tells_the_database_migrations_lag_and_overdue_refunds(
    api: Api, run: Run, rt: Runtime, settings: Settings, tmp_path: Path
) -> None:
    hook = {"url": "https://hooks.example.test/in", "events": ["order.cancelled"]}
    api.ok(api.post("/webhook-endpoints", hook, as_=api.admin), 201)
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.paid_order(buyer, seller)
    api.ok(api.post(f"/orders/{order['id']}/seller-cancel", {"reason": "x"}, as_=seller))
    assert fan_out(rt) >= 1
    engine = make_engine(settings.url)
    with engine.begin() as conn:  # its 8 attempts made: failed for good
        gave_up = update(webhook_deliveries).values(status="failed")
        assert conn.execute(gave_up).rowcount == 1
    engine.dispose()
    assert rt.test_clock is not None
    rt.test_clock.set(rt.test_clock.now() + timedelta(seconds=40 * DAY))
    shown = run("status")
    assert shown.returncode == 0, shown.stderr
    lines = {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in shown.stdout.splitlines()
        if line.count("│") == 3
    }
    assert lines["database"] == "ready" and "(latest)" in lines["migrations"]
    assert int(lines["due deadlines"]) >= 1 and int(lines["overdue refunds"]) == 1
    assert float(lines["oldest due deadline's lag"].split()[0]) >= 39 * DAY
    assert lines["failed webhook deliveries"] == "1"
    with schema_behind(settings.url):  # the installed console script, in a process of its own
        behind = run_cli("status", data_dir=tmp_path, env=cli_env(settings), script="aftersale")
    assert behind.returncode == 1 and "NOT READY" in behind.stdout


def test_a_separate_worker_serves_its_counters_on_its_metrics_port(
    api: Api, settings: Settings, tmp_path: Path
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.paid_order(buyer, seller)
    api.ok(api.post(f"/orders/{order['id']}/seller-cancel", {"reason": "x"}, as_=seller))
    port = free_port()
    env = {
        **os.environ,
        "AFTERSALE_DATABASE_URL": settings.url,
        "AFTERSALE_DATA_DIR": str(tmp_path),
        "AFTERSALE_TEST_CLOCK": "1",
    }
    command = [sys.executable, "-m", "aftersale", "worker", "--metrics-port", str(port)]
    worker = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        wanted = 'aftersale_deadlines_fired_total{kind="refund_submit"} 1.0'
        deadline, seen = time.monotonic() + 60, ""
        while time.monotonic() < deadline and wanted not in seen:
            time.sleep(0.3)
            try:
                seen = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            except httpx.HTTPError:
                continue
        assert wanted in seen
    finally:
        worker.terminate()
        out, _ = worker.communicate(timeout=30)
    batches = [json.loads(line) for line in out.splitlines() if '"worker_batch"' in line]
    assert batches and batches[0]["kinds"] == ["refund_submit"]
    assert api.get_order(order["id"], buyer)["refunds"][0]["status"] == "processing"
