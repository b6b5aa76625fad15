"""Operations end to end, on `serve --workers 2` and PostgreSQL: the metrics count every
process's requests, and the JSON logs of a whole run hold no token, password, cookie or
secret."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.client import ADMIN_TOKEN, Api
from tests.conftest import LiveServer, truncate_all
from tests.integration.test_cli import run_cli

METRICS_TOKEN = "metrics-token-e2e-0123456789"
WEBHOOK_SECRET = "whsec_e2e_never_logged_0123456789"
PASSWORD = "a-long-password-never-logged"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pg_url: str) -> Iterator[LiveServer]:
    """Two API processes on PostgreSQL, metrics behind a token."""
    truncate_all(pg_url)
    env = {
        "AFTERSALE_METRICS_TOKEN": METRICS_TOKEN,
        "AFTERSALE_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    live = LiveServer(pg_url, tmp_path_factory.mktemp("ops"), workers=2, env=env)
    yield live
    live.stop()


@pytest.fixture
def fresh(server: LiveServer) -> Iterator[httpx.Client]:
    """A client opening a connection per request, so requests spread over the processes."""
    limits = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(base_url=server.base_url, timeout=60, limits=limits) as http:
        yield http


def healthz_count(http: httpx.Client) -> float:
    """aftersale_http_requests_total for GET /healthz 200, as a scrape of one process says."""
    answer = http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert answer.status_code == 200, answer.text
    for family in text_string_to_metric_families(answer.text):
        for s in family.samples:
            if s.name == "aftersale_http_requests_total" and s.labels.get("route") == "/healthz":
                return float(s.value)
    return 0.0


def test_the_request_counter_covers_every_process(fresh: httpx.Client) -> None:
    # (a request is counted just after its answer is sent: the server fixture's own last
    # /healthz may be counted after a first scrape, so wait until two scrapes agree)
    before = healthz_count(fresh)
    for _ in range(25):
        time.sleep(0.2)
        settled, before = before, healthz_count(fresh)
        if before == settled:
            break
    pids = {fresh.get("/healthz").headers["x-served-by"] for _ in range(40)}
    assert len(pids) == 2  # both processes answered some
    scrapes = [healthz_count(fresh) for _ in range(6)]  # whichever process is scraped
    assert scrapes == [before + 40] * 6


def test_the_logs_of_a_whole_run_are_json_lines_with_no_secret(
    server: LiveServer, fresh: httpx.Client
) -> None:
    api = Api(fresh)
    buyer = api.user("buyer", password=PASSWORD)
    seller = api.user("seller")
    order = api.paid_order(buyer, seller)
    api.ok(api.post(f"/orders/{order['id']}/cancel", {"reason": "changed_mind"}, as_=buyer), 202)
    api.post(f"/orders/{order['id']}/pack", as_=seller, key="idem-key-1")
    assert (
        fresh.get("/api/v1/orders", headers={"Authorization": "Bearer wrong-token-xyz"}).status_code
        == 401
    )
    with httpx.Client(base_url=server.base_url, timeout=60) as browser:  # the pages, with a cookie
        form = browser.get("/login").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert csrf is not None
        answer = browser.post(
            "/login",
            data={"email": buyer.email, "password": PASSWORD, "csrf_token": csrf.group(1)},
        )
        assert answer.status_code == 303, answer.text
        cookies = [c.value for c in browser.cookies.jar]
        assert cookies and browser.get("/orders").status_code == 200
    last = fresh.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    log = Path(server.log.name)
    for _ in range(100):  # (request lines are written by a thread, within 50 ms of the answer)
        if last.headers["x-request-id"] in log.read_text():
            break
        time.sleep(0.05)
    lines = log.read_text().splitlines()
    records = [json.loads(line) for line in lines if line.strip()]  # every line is JSON
    requests = [r for r in records if r.get("event") == "request"]
    assert len(requests) >= 10
    assert all(
        {"request_id", "method", "route", "status", "duration_ms", "user_id"} <= set(r)
        for r in requests
    )
    assert any(r["user_id"] == buyer.id for r in requests)
    text = "\n".join(lines)
    secrets = [ADMIN_TOKEN, buyer.token, seller.token, PASSWORD, METRICS_TOKEN, WEBHOOK_SECRET]
    secrets += [csrf.group(1), *cookies, "wrong-token-xyz"]
    assert [s for s in secrets if s in text] == []


def test_a_user_disabled_from_the_cli_is_refused_by_every_process_within_seconds(
    server: LiveServer, fresh: httpx.Client, pg_url: str, tmp_path: Path
) -> None:
    api = Api(fresh)
    buyer = api.user("buyer")
    for _ in range(6):  # now cached in both processes
        assert fresh.get("/api/v1/orders", headers=buyer.headers).status_code == 200
    done = run_cli(
        "users", "disable", buyer.id, data_dir=tmp_path, env={"AFTERSALE_DATABASE_URL": pg_url}
    )
    assert done.returncode == 0, done.stdout + done.stderr
    time.sleep(2.5)  # each process looks at the users' credentials stamp every second
    answers = {fresh.get("/api/v1/orders", headers=buyer.headers).status_code for _ in range(10)}
    assert answers == {401}
