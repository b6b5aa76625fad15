"""Refunds: reading them, the 20-working-day promise, sandbox settlement, failure and retry."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import holidays
from fastapi.testclient import TestClient

from aftersale.bootstrap import build_runtime
from aftersale.entrypoints.api.app import create_app
from aftersale.settings import Settings
from tests.client import DAY, Api, Party


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def cancelled_paid_order(
    api: Api, buyer: Party, seller: Party, *, method: str = "card", reference: str = "pay_ok"
) -> dict[str, Any]:
    """A paid order the seller cancelled: one full refund, pending at the gateway."""
    order = api.pay(api.order(buyer, seller), method=method, reference=reference)
    return api.ok(api.post(f"/orders/{order['id']}/seller-cancel", {"reason": "x"}, as_=seller))


def refunded_sum(order: dict[str, Any]) -> Decimal:
    live = [Decimal(r["amount"]["amount"]) for r in order["refunds"] if r["status"] != "failed"]
    return sum(live, Decimal(0))


def working_days_between(start: date, end: date, country: str) -> int:
    """Working days after `start` up to and including `end` (weekends, holidays excluded)."""
    off = holidays.country_holidays(country, years=range(start.year, end.year + 1))
    days = (start + timedelta(days=n) for n in range(1, (end - start).days + 1))
    return sum(1 for d in days if d.weekday() < 5 and d not in off)


def test_a_refund_can_be_read_with_its_documented_fields(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = cancelled_paid_order(api, buyer, seller)
    listed = order["refunds"][0]
    refund = api.ok(api.get(f"/refunds/{listed['id']}", as_=buyer))
    keys = {"id", "amount", "status", "reason", "created_at", "expected_by", "succeeded_at"}
    assert keys <= set(refund)
    assert refund["amount"] == order["total"] and refund["status"] == "pending"
    assert refund["created_at"] == listed["created_at"] and refund["succeeded_at"] is None
    assert refund["overdue"] is False


def test_expected_by_is_20_working_days_of_the_buyers_country_over_christmas(api: Api) -> None:
    now = at(api.now())
    target = datetime(now.year, 12, 18, 10, tzinfo=UTC)
    if target <= now:
        target = target.replace(year=now.year + 1)
    api.advance((target - now).total_seconds())
    buyer, seller = api.user("buyer", country="DE"), api.user("seller")
    refund = cancelled_paid_order(api, buyer, seller)["refunds"][0]
    created, expected = at(refund["created_at"]), at(refund["expected_by"])
    assert created == target
    assert working_days_between(created.date(), expected.date(), "DE") == 20
    assert expected.weekday() < 5 and expected.date() not in holidays.country_holidays("DE")
    # Christmas and New Year push the promise past 20 weekdays (4 calendar weeks)
    assert expected - created > timedelta(days=28)


def test_a_us_buyers_refund_is_promised_within_20_working_days(api: Api) -> None:
    buyer, seller = api.user("buyer", country="US"), api.user("seller")
    refund = cancelled_paid_order(api, buyer, seller)["refunds"][0]
    created, expected = at(refund["created_at"]), at(refund["expected_by"])
    assert working_days_between(created.date(), expected.date(), "US") == 20


def test_a_card_refund_settles_after_the_sandbox_delay_of_3_days(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = cancelled_paid_order(api, buyer, seller, method="card")
    rid = order["refunds"][0]["id"]
    api.advance(3 * DAY - 1)
    waiting = api.ok(api.get(f"/refunds/{rid}", as_=buyer))
    assert waiting["status"] == "processing" and waiting["succeeded_at"] is None
    api.advance(1)
    done = api.ok(api.get(f"/refunds/{rid}", as_=buyer))
    assert done["status"] == "succeeded"
    assert at(done["succeeded_at"]) - at(done["created_at"]) == timedelta(days=3)
    seen = api.get_order(order["id"], buyer)
    assert seen["refunded_amount"] == order["total"] == seen["paid_amount"]
    assert seen["timeline"][-1]["event"] == "refund_succeeded"
    assert seen["timeline"][-1]["actor"] == "system"


def test_the_sandbox_card_delay_is_configurable(settings: Settings) -> None:
    slow = settings.model_copy(update={"sandbox_refund_days": 7})
    rt = build_runtime(slow)
    try:
        with TestClient(create_app(slow, runtime=rt)) as http:
            api = Api(http)  # type: ignore[arg-type]
            buyer, seller = api.user("buyer"), api.user("seller")
            rid = cancelled_paid_order(api, buyer, seller)["refunds"][0]["id"]
            api.advance(7 * DAY - 1)
            assert api.ok(api.get(f"/refunds/{rid}", as_=buyer))["status"] == "processing"
            api.advance(1)
            assert api.ok(api.get(f"/refunds/{rid}", as_=buyer))["status"] == "succeeded"
    finally:
        rt.engine.dispose()  # type: ignore[attr-defined]


def test_a_balance_refund_succeeds_at_the_next_deadline_firing(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = cancelled_paid_order(api, buyer, seller, method="balance")
    rid = order["refunds"][0]["id"]
    assert api.ok(api.get(f"/refunds/{rid}", as_=buyer))["status"] == "pending"
    api.advance(0)
    done = api.ok(api.get(f"/refunds/{rid}", as_=buyer))
    assert done["status"] == "succeeded" and done["succeeded_at"] == done["created_at"]


def test_a_failed_refund_lowers_refunded_amount_and_staff_can_retry_it(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = cancelled_paid_order(api, buyer, seller, reference="fail-card-declined")
    rid = order["refunds"][0]["id"]
    assert order["refunded_amount"] == order["total"]
    api.advance(1)
    failed = api.ok(api.get(f"/refunds/{rid}", as_=api.admin))
    assert failed["status"] == "failed" and failed["failure_reason"]
    seen = api.get_order(order["id"], buyer)
    assert seen["refunded_amount"]["amount"] == "0.00" and refunded_sum(seen) == 0
    assert seen["timeline"][-1]["event"] == "refund_failed"
    assert "Refund of 60.00 USD failed" in seen["timeline"][-1]["detail"]
    api.problem(api.post(f"/refunds/{rid}/retry", as_=seller), 403, "forbidden")
    retried = api.ok(api.post(f"/refunds/{rid}/retry", as_=api.admin))
    assert retried["id"] == order["id"]
    assert [r["status"] for r in retried["refunds"]] == ["failed", "pending"]
    new = retried["refunds"][1]
    assert new["id"] != rid and new["amount"] == order["total"]
    assert retried["refunded_amount"] == order["total"]
    assert Decimal(retried["refunded_amount"]["amount"]) == refunded_sum(retried)
    again = api.post(f"/refunds/{rid}/retry", as_=api.admin)
    api.problem(again, 409, "invalid_state")
    not_failed = api.post(f"/refunds/{new['id']}/retry", as_=api.admin)
    api.problem(not_failed, 409, "invalid_state")
    final = api.get_order(order["id"], buyer)
    assert len(final["refunds"]) == 2
    created = [e["detail"] for e in final["timeline"] if e["event"] == "refund_created"]
    assert len(created) == 2 and all("of 60.00 USD created" in d for d in created)
    assert not any("E+" in e["detail"] for e in final["timeline"])


def test_retrying_an_unknown_refund_is_not_found(api: Api) -> None:
    api.problem(api.post("/refunds/ref_nope/retry", as_=api.admin), 404, "not_found")
