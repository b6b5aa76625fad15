"""A real Prometheus (Debian's package: `make prometheus-deps`) scrapes a test server with the
alert rules of deploy/prometheus/alerts.yml loaded, and its HTTP API shows our series."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.client import Api
from tests.conftest import ROOT, LiveServer, free_port

RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
TOKEN = "prometheus-scrape-token-0123"
ALERTS = {
    "AftersaleDeadlineLag",
    "AftersaleRefundsOverdue",
    "AftersaleWebhookDeliveriesFailing",
}


def binary(name: str) -> str:
    """A Prometheus tool's path; missing is a failure (install: `make prometheus-deps`)."""
    path = shutil.which(name)
    assert path is not None, f"{name} is missing: run `make prometheus-deps`"
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server on SQLite with its worker inside and its metrics behind a token."""
    folder = tmp_path_factory.mktemp("scraped")
    env = {"AFTERSALE_EMBEDDED_WORKER": "1", "AFTERSALE_METRICS_TOKEN": TOKEN}
    live = LiveServer(f"sqlite:///{folder / 'aftersale.db'}", folder, env=env)
    yield live
    live.stop()


@pytest.fixture(scope="module")
def prometheus(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Prometheus on a free port, scraping the server every second; its base URL."""
    folder = tmp_path_factory.mktemp("prometheus")
    config = folder / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: ['{RULES}']\n"
        "scrape_configs:\n"
        "  - job_name: aftersale\n"
        f"    authorization: {{credentials: {TOKEN}}}\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{server.port}']}}]\n"
    )
    port = free_port()
    log = (folder / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [
            binary("prometheus"),
            f"--config.file={config}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


def ask(base: str, path: str, **params: str) -> Any:
    """One answer of Prometheus's HTTP API (None until it is up)."""
    try:
        answer = httpx.get(f"{base}/api/v1/{path}", params=params, timeout=5)
    except httpx.HTTPError:
        return None
    return answer.json()["data"] if answer.status_code == 200 else None


def wait_for(check: Any, seconds: float = 90) -> Any:
    """Poll until `check()` gives something truthy."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError("Prometheus never showed it")


def test_the_alert_rules_pass_promtool() -> None:
    checked = subprocess.run(
        [binary("promtool"), "check", "rules", str(RULES)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout


def test_prometheus_scrapes_the_request_and_worker_series_and_loads_the_rules(
    server: LiveServer, prometheus: str
) -> None:
    with server.client() as http:
        api = Api(http)
        buyer, seller = api.user("buyer"), api.user("seller")
        order = api.paid_order(buyer, seller)
        api.ok(api.post(f"/orders/{order['id']}/seller-cancel", {"reason": "x"}, as_=seller))

    def series(query: str) -> list[Any]:
        data = ask(prometheus, "query", query=query)
        return list(data["result"]) if data else []

    requests = wait_for(lambda: series('aftersale_http_requests_total{route="/api/v1/orders"}'))
    assert requests[0]["metric"]["job"] == "aftersale"
    fired = wait_for(lambda: series('aftersale_deadlines_fired_total{kind="refund_submit"} > 0'))
    assert float(fired[0]["value"][1]) >= 1
    assert wait_for(lambda: series("aftersale_deadline_lag_seconds"))
    assert wait_for(lambda: series('up{job="aftersale"} == 1'))

    def loaded() -> set[str]:
        data = ask(prometheus, "rules")
        groups = data["groups"] if data else []
        return {r["name"] for g in groups for r in g["rules"] if r["health"] == "ok"}

    assert wait_for(lambda: loaded() >= ALERTS)
