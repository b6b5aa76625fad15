"""Operations over HTTP (API.md, "Operations"): /readyz, /metrics and X-Request-ID."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from aftersale.adapters.db.engine import make_engine
from aftersale.adapters.db.ops_repo import schema_state
from aftersale.entrypoints import logs
from aftersale.entrypoints.api.app import create_app
from aftersale.entrypoints.api.routes_ops import ops_collector
from aftersale.entrypoints.worker import Worker
from aftersale.services.runtime import Runtime
from aftersale.settings import Settings
from tests.client import HOUR, Api
from tests.conftest import test_settings as make_settings

FAMILIES = {
    "aftersale_http_requests",
    "aftersale_http_request_duration_seconds",
    "aftersale_deadlines_fired",
    "aftersale_deadlines_due",
    "aftersale_deadline_lag_seconds",
    "aftersale_webhook_deliveries",
    "aftersale_webhook_backlog",
    "aftersale_mail_sent",
    "aftersale_refunds_overdue",
    "aftersale_disputes_escalated_overdue",
}
METRICS_TOKEN = "metrics-token-0123456789"


def scrape(http: TestClient, **headers: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """The scraped samples: family name -> labels -> value (parsed as Prometheus would)."""
    answer = http.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            labels = tuple(sorted(sample.labels.items()))
            out.setdefault(family.name, {})[(("_", sample.name), *labels)] = sample.value
    return out


def value(samples: dict, name: str, sample: str, **labels: str) -> float:  # type: ignore[type-arg]
    """One sample's value (0 when absent)."""
    key = (("_", sample), *sorted(labels.items()))
    return float(samples.get(name, {}).get(key, 0.0))


def test_readyz_is_ready_on_a_migrated_database(api: Api) -> None:
    answer = api.http.get("/readyz")
    assert answer.status_code == 200 and answer.json() == {"status": "ready"}


@contextmanager
def schema_behind(url: str) -> Iterator[None]:
    """The database's recorded revision set back to 0004 for a while (then restored)."""
    engine = create_engine(url)
    with engine.begin() as conn:
        head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        conn.execute(text("UPDATE alembic_version SET version_num = '0004'"))
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
        engine.dispose()


def test_readyz_is_503_not_ready_when_the_schema_is_behind_the_latest_migration(
    api: Api, settings: Settings
) -> None:
    with schema_behind(settings.url):
        api.problem(api.http.get("/readyz"), 503, "not_ready")
        assert api.http.get("/healthz").status_code == 200  # liveness is another question
    assert api.http.get("/readyz").status_code == 200


def test_a_database_that_does_not_answer_is_not_ready() -> None:
    ready, why = schema_state(make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none"))
    assert not ready and "does not answer" in why


def test_metrics_name_every_documented_family_and_count_requests_by_route_template(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.order(buyer, seller)
    pay, read = "/api/v1/orders/{order_id}/payment", "/api/v1/orders/{order_id}"
    total, count = "aftersale_http_requests_total", "aftersale_http_request_duration_seconds_count"
    family = "aftersale_http_requests"

    def figures(samples: dict) -> tuple[float, float, float]:  # type: ignore[type-arg]
        return (
            value(samples, family, total, method="POST", route=pay, status="200"),
            value(samples, family, total, method="GET", route=read, status="200"),
            value(samples, "aftersale_http_request_duration_seconds", count, route=read),
        )

    before = scrape(api.http)
    assert set(before) >= FAMILIES
    api.pay(order)  # through the hot route, outside FastAPI's routing
    api.get_order(order["id"], buyer)
    api.get_order(order["id"], buyer)
    after = scrape(api.http)
    assert [a - b for a, b in zip(figures(after), figures(before), strict=True)] == [1, 2, 2]
    api.ok(api.post(f"/orders/{order['id']}/seller-cancel", {"reason": "x"}, as_=seller))


def test_the_gauges_count_overdue_refunds_from_the_database(api: Api, rt: Runtime) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.paid_order(buyer, seller)
    api.ok(api.post(f"/orders/{order['id']}/seller-cancel", {"reason": "x"}, as_=seller))
    # (the app's collector caches its figures 10 s: read through a fresh one)
    rt.test_clock.advance(40 * 24 * HOUR)  # type: ignore[union-attr]  # nothing fired: all late
    gauges = {m.name: m.samples[0].value for m in ops_collector(rt).collect()}
    assert gauges["aftersale_refunds_overdue"] == 1
    assert gauges["aftersale_deadlines_due"] >= 1
    assert gauges["aftersale_deadline_lag_seconds"] >= 39 * 24 * HOUR


@pytest.fixture
def guarded(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """An app whose /metrics needs AFTERSALE_METRICS_TOKEN."""
    settings = make_settings(db_url, tmp_path, metrics_token=METRICS_TOKEN)
    with TestClient(create_app(settings)) as http:
        yield http


def test_metrics_need_the_metrics_token_when_one_is_set(guarded: TestClient) -> None:
    assert guarded.get("/metrics").status_code == 401
    wrong = guarded.get("/metrics", headers={"Authorization": "Bearer not-the-token-at-all"})
    assert wrong.status_code == 401
    ok = guarded.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert ok.status_code == 200 and "aftersale_http_requests_total" in ok.text


def test_every_answer_carries_a_request_id_the_callers_when_sane(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.order(buyer, seller)
    sane = {"X-Request-ID": "req-42.abc"}
    answers = [
        api.http.get("/healthz", headers=sane),
        api.http.get("/api/v1/orders", headers=sane),  # 401
        api.http.get("/nowhere", headers=sane),  # 404
        api.http.get("/login", headers=sane),  # a page
        api.http.post(  # a hot route
            f"/api/v1/orders/{order['id']}/payment",
            json={"amount": order["total"]["amount"], "method": "card", "reference": "p"},
            headers={**sane, **api.admin.headers},
        ),
    ]
    assert [a.headers["x-request-id"] for a in answers] == ["req-42.abc"] * len(answers)
    assert answers[1].status_code == 401 and answers[2].status_code == 404
    made = [
        api.http.get("/healthz", headers={"X-Request-ID": "bad id with spaces"}),
        api.http.get("/healthz", headers={"X-Request-ID": "x" * 500}),
        api.http.get("/healthz"),
    ]
    ids = [a.headers["x-request-id"] for a in made]
    assert len(set(ids)) == 3 and all(len(i) == 32 for i in ids)


def test_the_worker_counts_what_it_fires_by_kind_and_logs_each_batch(
    api: Api, rt: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.paid_order(buyer, seller)
    api.ok(api.post(f"/orders/{order['id']}/seller-cancel", {"reason": "x"}, as_=seller))
    labels = {"kind": "refund_submit"}
    before = REGISTRY.get_sample_value("aftersale_deadlines_fired_total", labels) or 0.0
    capsys.readouterr()
    assert Worker(rt).run_once() == 1
    assert REGISTRY.get_sample_value("aftersale_deadlines_fired_total", labels) == before + 1
    out = capsys.readouterr().out.splitlines()
    batches = [json.loads(line) for line in out if '"worker_batch"' in line]
    assert len(batches) == 1
    assert batches[0]["fired"] == 1 and batches[0]["kinds"] == ["refund_submit"]


def test_a_hot_routes_log_line_names_its_template_and_caller(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    """The hot routes answer outside FastAPI's routing: they hand the observer the template
    and the actor they found, so its line is as a routed request's (no second token look-up,
    no second path match)."""
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.paid_order(buyer, seller)
    capsys.readouterr()
    answer = api.http.post(
        f"/api/v1/orders/{order['id']}/cancel",
        json={"reason": "changed_mind"},
        headers=buyer.headers,
    )
    assert answer.status_code == 202, answer.text
    logs.flush()  # (request lines are written by a thread, every 50 ms)
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"request"' in x]
    mine = [x for x in lines if x["request_id"] == answer.headers["x-request-id"]]
    assert len(mine) == 1
    assert mine[0]["route"] == "/api/v1/orders/{order_id}/cancel"
    assert mine[0]["user_id"] == buyer.id and mine[0]["status"] == 202


def test_request_lines_are_written_off_the_request_path_in_order_within_50_ms(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The writer thread writes queued lines on its own (no flush asked), in the order they
    came, each whole and once."""
    import time

    logs.flush()
    capsys.readouterr()
    for i in range(500):
        logs.request_line({"component": "aftersale.http", "request_id": f"order-{i:03d}"})
    out = ""
    for _ in range(40):
        time.sleep(0.05)
        out += capsys.readouterr().out
        if out.count("\n") >= 500:
            break
    ids = [json.loads(x)["request_id"] for x in out.splitlines()]
    assert ids == [f"order-{i:03d}" for i in range(500)]
