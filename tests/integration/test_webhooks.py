"""Webhooks against a real local HTTP receiver, on SQLite and PostgreSQL: signatures checked
with the `standardwebhooks` package, retries on the test clock, redelivery, rotation,
disabled and deleted endpoints, per-order order, no duplicates, private addresses."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from aftersale.entrypoints.api.routes_ops import ops_collector
from aftersale.entrypoints.dispatcher import Dispatcher
from aftersale.services.dispatch import fan_out
from aftersale.services.runtime import Runtime
from aftersale.settings import Settings
from tests import conftest
from tests.client import DAY, HOUR, Api, Party
from tests.receivers import Receiver


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Test settings that let webhooks reach the loopback receiver, with a 1 s timeout."""
    return conftest.test_settings(db_url, tmp_path, webhook_allow_private=True, webhook_timeout=1.0)


def endpoint(api: Api, url: str, **body: Any) -> dict[str, Any]:
    """A new endpoint (with its secret)."""
    return api.ok(api.post("/webhook-endpoints", {"url": url, **body}, as_=api.admin), 201)


def deliveries(api: Api, endpoint_id: str, **params: Any) -> list[dict[str, Any]]:
    """The endpoint's delivery log, newest first."""
    page = api.ok(api.get(f"/webhook-endpoints/{endpoint_id}/deliveries", as_=api.admin, **params))
    items: list[dict[str, Any]] = page["items"]
    return items


def pair(api: Api) -> tuple[Party, Party]:
    """A buyer and a seller."""
    return api.user("buyer"), api.user("seller")


def test_a_delivery_carries_standard_webhooks_headers_signed_with_the_secret(
    api: Api, dispatcher: Dispatcher, receiver: Receiver
) -> None:
    hook = endpoint(api, receiver.url, description="storefront")
    assert hook["secret"].startswith("whsec_") and hook["status"] == "enabled"
    order = api.order(*pair(api))
    dispatcher.run_once()
    assert len(receiver.got) == 1
    got = receiver.got[0]
    assert got.headers["content-type"] == "application/json"
    body = Webhook(hook["secret"]).verify(got.body, got.headers)
    assert body["type"] == "order.created" and body["data"]["order_id"] == order["id"]
    assert body["data"]["order"]["id"] == order["id"] and body["data"]["actor"] == "platform"
    assert body["timestamp"] == order["created_at"]
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 44).verify(got.body, got.headers)
    [log] = deliveries(api, hook["id"])
    assert (log["status"], log["attempts"], log["last_status_code"]) == ("succeeded", 1, 200)
    assert log["event_id"] == got.headers["webhook-id"] and log["type"] == "order.created"


def test_a_failing_receiver_is_retried_on_the_test_clock_with_the_same_id_and_body(
    api: Api, dispatcher: Dispatcher, receiver: Receiver
) -> None:
    hook = endpoint(api, receiver.url, events=["order.created"])
    receiver.plan = [500, 503]
    api.order(*pair(api))
    dispatcher.run_once()
    [log] = deliveries(api, hook["id"])
    assert (log["status"], log["attempts"], log["last_error"]) == ("pending", 1, "HTTP 500")
    dispatcher.run_once()
    assert len(receiver.got) == 1  # not due before 5 s of test-clock time
    api.advance(5)
    dispatcher.run_once()
    assert len(receiver.got) == 2 and deliveries(api, hook["id"])[0]["last_status_code"] == 503
    api.advance(299)
    dispatcher.run_once()
    assert len(receiver.got) == 2  # the second retry comes 5 minutes after the second attempt
    api.advance(1)
    dispatcher.run_once()
    assert len(receiver.got) == 3
    assert len(set(receiver.ids())) == 1 and len({r.body for r in receiver.got}) == 1
    [log] = deliveries(api, hook["id"], status="succeeded")
    assert log["attempts"] == 3 and log["last_status_code"] == 200


def test_a_receiver_that_does_not_answer_in_time_is_retried(
    api: Api, dispatcher: Dispatcher, receiver: Receiver
) -> None:
    hook = endpoint(api, receiver.url, events=["order.created"])
    receiver.delay = 1.5  # beyond this test's 1 s timeout
    api.order(*pair(api))
    dispatcher.run_once()
    [log] = deliveries(api, hook["id"])
    assert log["status"] == "pending" and log["last_error"] == "no answer within 1 s"
    assert log["last_status_code"] is None
    receiver.delay = 0
    api.advance(5)
    dispatcher.run_once()
    assert deliveries(api, hook["id"])[0]["status"] == "succeeded"


def test_after_eight_failed_attempts_a_delivery_fails_and_redelivery_tries_once_more(
    api: Api, dispatcher: Dispatcher, receiver: Receiver
) -> None:
    hook = endpoint(api, receiver.url, events=["order.created"])
    receiver.plan = [500] * 8
    api.order(*pair(api))
    dispatcher.run_once()
    for wait in (5, 300, 1800, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR):
        api.advance(wait)
        dispatcher.run_once()
    [log] = deliveries(api, hook["id"])
    assert (log["status"], log["attempts"], log["next_attempt_at"]) == ("failed", 8, None)
    api.advance(DAY)
    dispatcher.run_once()
    assert len(receiver.got) == 8
    again = api.post(f"/webhook-deliveries/{log['id']}/redeliver", as_=api.admin)
    assert api.ok(again, 202)["status"] == "pending"
    dispatcher.run_once()
    assert len(receiver.got) == 9 and len(set(receiver.ids())) == 1
    assert deliveries(api, hook["id"])[0]["status"] == "succeeded"


def test_a_rotated_secret_signs_beside_the_old_one_for_24_hours(
    api: Api, dispatcher: Dispatcher, receiver: Receiver
) -> None:
    old = endpoint(api, receiver.url, events=["order.created"])
    new = api.ok(api.post(f"/webhook-endpoints/{old['id']}/rotate-secret", as_=api.admin))
    assert new["secret"] != old["secret"] and new["id"] == old["id"]
    buyer, seller = pair(api)
    api.order(buyer, seller)
    dispatcher.run_once()
    got = receiver.got[0]
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    for secret in (old["secret"], new["secret"]):
        Webhook(secret).verify(got.body, got.headers)
    api.advance(DAY + 1)
    api.order(buyer, seller)
    dispatcher.run_once()
    late = receiver.got[1]
    assert len(late.headers["webhook-signature"].split(" ")) == 1
    Webhook(new["secret"]).verify(late.body, late.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old["secret"]).verify(late.body, late.headers)


def test_a_disabled_or_deleted_endpoint_gets_nothing(
    api: Api, dispatcher: Dispatcher, receiver: Receiver
) -> None:
    hook = endpoint(api, receiver.url)
    changed = api.request(
        "PATCH", f"/webhook-endpoints/{hook['id']}", as_=api.admin, json={"status": "disabled"}
    )
    assert api.ok(changed)["status"] == "disabled" and "secret" not in api.ok(changed)
    buyer, seller = pair(api)
    api.order(buyer, seller)
    dispatcher.run_once()
    assert receiver.got == [] and deliveries(api, hook["id"]) == []
    api.request(
        "PATCH", f"/webhook-endpoints/{hook['id']}", as_=api.admin, json={"status": "enabled"}
    )
    receiver.plan = [500]
    api.order(buyer, seller)
    dispatcher.run_once()
    assert len(receiver.got) == 1
    gone = api.request("DELETE", f"/webhook-endpoints/{hook['id']}", as_=api.admin)
    assert gone.status_code == 204
    api.order(buyer, seller)
    api.advance(HOUR)
    dispatcher.run_once()
    assert len(receiver.got) == 1
    api.problem(api.get(f"/webhook-endpoints/{hook['id']}", as_=api.admin), 404, "not_found")
    ids = [e["id"] for e in api.ok(api.get("/webhook-endpoints", as_=api.admin))["items"]]
    assert hook["id"] not in ids


def test_events_of_one_order_are_first_attempted_in_the_order_they_happened(
    api: Api, dispatcher: Dispatcher, receiver: Receiver
) -> None:
    endpoint(api, receiver.url)
    buyer, seller = pair(api)
    first = api.shipped_order(buyer, seller)
    second = api.paid_order(buyer, seller)
    api.ok(api.post(f"/orders/{first['id']}/messages", {"body": "On its way"}, as_=seller), 201)
    dispatcher.run_once()
    by_order: dict[str, list[str]] = {}
    for r in receiver.got:
        by_order.setdefault(r.json["data"]["order_id"], []).append(r.json["type"])
    assert by_order[first["id"]] == [
        "order.created",
        "order.paid",
        "order.shipped",
        "order.message_created",
    ]
    assert by_order[second["id"]] == ["order.created", "order.paid"]
    message = receiver.got[[r.json["type"] for r in receiver.got].index("order.message_created")]
    assert message.json["data"]["body"] == "On its way"


def test_nothing_is_delivered_twice_when_nothing_fails(
    api: Api, dispatcher: Dispatcher, receiver: Receiver
) -> None:
    endpoint(api, receiver.url)
    endpoint(api, receiver.url, events=["order.paid"])
    buyer, seller = pair(api)
    for _ in range(10):
        api.paid_order(buyer, seller)
    for _ in range(3):
        dispatcher.run_once()
    ids = receiver.ids()
    assert len(ids) == 30  # 20 events to the first endpoint, the 10 payments to the second
    assert len(set(ids)) == 20
    paid = [r for r in receiver.got if r.json["type"] == "order.paid"]
    assert len(paid) == 20 and len({r.headers["webhook-id"] for r in paid}) == 10


def test_a_round_called_from_inside_a_running_event_loop_still_delivers(
    api: Api, dispatcher: Dispatcher, receiver: Receiver
) -> None:
    """A caller inside async code (a notebook, a test run whose browser holds the thread's
    loop) gets its round on a thread of its own instead of "another loop is running"."""
    endpoint(api, receiver.url, events=["order.paid"])
    api.paid_order(*pair(api))

    async def inside() -> int:
        return dispatcher.run_once()

    assert asyncio.run(inside()) >= 1
    assert [r.json["type"] for r in receiver.got] == ["order.paid"]


def test_a_claim_that_read_before_the_fan_out_committed_does_not_end_the_round(
    api: Api, dispatcher: Dispatcher, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The round's fan-out and its first claim run side by side. A claim that read the table
    before the fan-out committed, and came back empty after it, once ended the round with the
    new delivery never attempted (seen in a loaded test run): the round claims again."""
    import time

    hook = endpoint(api, receiver.url, events=["order.created"])
    api.order(*pair(api))
    fan_out_, claim = dispatcher._fan_out, dispatcher._claim
    calls: list[int] = []

    def late_fan_out() -> int:
        time.sleep(0.2)  # (the claim reads first)
        return fan_out_()

    def slow_claim(limit: int) -> list[Any]:
        found = claim(limit)
        calls.append(len(found))
        if len(calls) == 1:
            time.sleep(1.0)  # (back after the fan-out has committed and ended)
        return found

    monkeypatch.setattr(dispatcher, "_fan_out", late_fan_out)
    monkeypatch.setattr(dispatcher, "_claim", slow_claim)
    dispatcher.run_once()
    assert calls[0] == 0 and sum(calls) == 1
    assert len(receiver.got) == 1
    [log] = deliveries(api, hook["id"])
    assert (log["status"], log["attempts"]) == ("succeeded", 1)


def test_a_lagging_database_holds_claims_back_once_a_slot_s_worth_is_unwritten(
    api: Api,
    rt: Runtime,
    db_url: str,
    tmp_path: Path,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Claims go on while the writes of ended attempts lag, up to as many unwritten as there
    are slots; beyond that they wait, so a slow database cannot leave leased rows piling up
    (and their leases running out). Every delivery still goes exactly once."""
    import time

    small = conftest.test_settings(
        db_url, tmp_path, webhook_allow_private=True, webhook_timeout=1.0, webhook_in_flight=4
    )
    endpoint(api, receiver.url, events=["order.created"])
    buyer, seller = pair(api)
    for _ in range(40):
        api.order(buyer, seller)
    dispatcher = Dispatcher(rt, small)
    claim, write = dispatcher._claim, dispatcher._write
    counts = {"claimed": 0, "written": 0}
    outstanding: list[int] = []  # leased and not yet written, as each claim ends

    def counted_claim(limit: int) -> list[Any]:
        found = claim(limit)
        counts["claimed"] += len(found)
        outstanding.append(counts["claimed"] - counts["written"])
        return found

    def slow_write(batch: list[Any]) -> int:
        time.sleep(0.2)  # (the database lags behind the attempts)
        done = write(batch)
        counts["written"] += done
        return done

    monkeypatch.setattr(dispatcher, "_claim", counted_claim)
    monkeypatch.setattr(dispatcher, "_write", slow_write)
    try:
        while dispatcher.run_once():
            pass
    finally:
        dispatcher.close()
    slots = dispatcher.attempts_batch
    bound = slots + dispatcher.prefetch + dispatcher.unwritten_allowed
    assert max(outstanding) <= bound
    assert max(outstanding) > slots + dispatcher.prefetch  # (claims did go on past the writes)
    ids = receiver.ids()
    assert len(ids) == 40 and len(set(ids)) == 40


def delivered_total() -> float:
    """This process's count of successful webhook attempts (what /metrics shows)."""
    labels = {"status": "delivered"}
    return REGISTRY.get_sample_value("aftersale_webhook_deliveries_total", labels) or 0.0


def test_attempts_and_the_backlog_are_counted_for_the_metrics(
    api: Api, rt: Runtime, dispatcher: Dispatcher, receiver: Receiver
) -> None:
    def backlog() -> float:  # (a fresh collector: the app's caches its figures 10 s)
        gauges = {m.name: m.samples[0].value for m in ops_collector(rt).collect()}
        return gauges["aftersale_webhook_backlog"]

    endpoint(api, receiver.url, events=["order.paid"])
    buyer, seller = pair(api)
    for _ in range(3):
        api.paid_order(buyer, seller)
    before = delivered_total()
    assert fan_out(rt) >= 3 and backlog() == 3
    dispatcher.run_once()
    assert delivered_total() - before == 3 and backlog() == 0


def test_private_addresses_are_refused_unless_allowed(
    api: Api, rt: Runtime, db_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    hook = endpoint(api, receiver.url, events=["order.created"])
    strict = conftest.test_settings(db_url, tmp_path, webhook_allow_private=False)
    guard = Dispatcher(rt, strict)
    try:
        api.order(*pair(api))
        guard.run_once()
    finally:
        guard.close()
    assert receiver.got == []
    [log] = deliveries(api, hook["id"])
    assert log["status"] == "pending" and "private address" in log["last_error"]


def test_endpoints_are_admin_only_and_validated(api: Api) -> None:
    buyer, seller = pair(api)
    for who in (buyer, seller):
        api.problem(api.get("/webhook-endpoints", as_=who), 403, "forbidden")
        api.problem(api.post("/webhook-endpoints", {"url": "http://x"}, as_=who), 403, "forbidden")
        api.problem(api.get("/webhook-event-types", as_=who), 403, "forbidden")
    api.problem(api.get("/webhook-endpoints", as_=None), 401, "unauthorized")
    for bad in ({"url": "ftp://example.com/"}, {"url": "http://example.com", "events": ["x.y"]}):
        api.problem(api.post("/webhook-endpoints", bad, as_=api.admin), 422, "validation_error")
    types = api.ok(api.get("/webhook-event-types", as_=api.admin))["items"]
    assert {"order.created", "order.message_created", "order.cancelled"} <= set(types)
    assert "order.placed" not in types
    made = endpoint(api, "http://127.0.0.1:9/x")
    assert made["events"] == types
    shown = api.ok(api.get(f"/webhook-endpoints/{made['id']}", as_=api.admin))
    assert "secret" not in shown and shown["url"] == "http://127.0.0.1:9/x"
    api.problem(api.get("/webhook-endpoints/whe_missing", as_=api.admin), 404, "not_found")
    missing = api.post("/webhook-deliveries/whd_missing/redeliver", as_=api.admin)
    api.problem(missing, 404, "not_found")


def test_a_loopback_url_is_refused_at_creation_without_the_setting(
    db_url: str, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from aftersale.entrypoints.api.app import create_app

    strict = conftest.test_settings(db_url, tmp_path)
    with TestClient(create_app(strict)) as http:
        api = Api(http)  # type: ignore[arg-type]
        for url in ("http://127.0.0.1:8080/hook", "http://localhost/hook", "http://10.1.2.3/"):
            body = api.problem(
                api.post("/webhook-endpoints", {"url": url}, as_=api.admin), 422, "validation_error"
            )
            assert "private" in body["detail"]
