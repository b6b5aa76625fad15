"""The Stripe gateway against localstripe, a real Stripe-protocol server: payments checked,
card refunds made once (even across a crash), their status from signed events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from aftersale.adapters.payments_stripe import _answer
from aftersale.services.ports import RefundRequest
from aftersale.services.runtime import Runtime
from aftersale.settings import Settings
from tests.client import Api, Party
from tests.conftest import free_port
from tests.conftest import test_settings as make_settings
from tests.integration.stripe_crash import DIED
from tests.integration.test_cli import run_cli
from tests.stripe_local import LocalStripe, refund_event, signed_event

EVENTS = "/api/v1/gateways/stripe/events"
CRASH_MODULE = "tests.integration.stripe_crash"


@pytest.fixture(scope="module")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStripe]:
    """One localstripe server for the module (every test makes payments of its own)."""
    server = LocalStripe(free_port(), tmp_path_factory.mktemp("localstripe") / "log")
    yield server
    server.stop()


@pytest.fixture
def settings(db_url: str, tmp_path: Path, localstripe: LocalStripe) -> Settings:
    """Test settings with the Stripe gateway on localstripe (the `rt` and `api` fixtures
    are built on them)."""
    return make_settings(db_url, tmp_path, **localstripe.settings())


def paid_by_card(api: Api, stripe: LocalStripe) -> tuple[dict[str, Any], str, Party]:
    """A new order paid with a real PaymentIntent for its total; and that intent and seller."""
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.order(buyer, seller)
    intent = stripe.payment(int(order["total"]["amount"].replace(".", "")))
    return api.pay(order, reference=intent), intent, seller


def cancelled(api: Api, order: dict[str, Any], seller: Party) -> dict[str, Any]:
    """The seller cancels a paid order: one full refund, pending."""
    return api.ok(api.post(f"/orders/{order['id']}/seller-cancel", {"reason": "x"}, as_=seller))


def test_a_card_payment_is_recorded_only_for_a_stripe_payment_of_that_amount(
    api: Api, localstripe: LocalStripe
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.order(buyer, seller)
    minor = int(order["total"]["amount"].replace(".", ""))
    path = f"/orders/{order['id']}/payment"

    def pay(reference: str) -> Any:
        body = {"amount": order["total"]["amount"], "method": "card", "reference": reference}
        return api.post(path, body, as_=api.admin)

    api.problem(pay("pi_doesnotexist"), 422, "payment_not_found")
    api.problem(pay("pay_not_a_stripe_id"), 422, "payment_not_found")
    api.problem(pay(localstripe.payment(minor + 1)), 422, "payment_amount_mismatch")
    api.problem(pay(localstripe.payment(minor, "eur")), 422, "payment_amount_mismatch")
    assert api.get_order(order["id"], buyer)["status"] == "awaiting_payment"
    paid = api.ok(pay(localstripe.payment(minor)))
    assert paid["status"] == "awaiting_fulfillment"


def test_a_balance_payment_is_not_asked_of_stripe(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.pay(api.order(buyer, seller), method="balance", reference="wallet-1")
    order = cancelled(api, order, seller)
    api.advance(60)
    assert api.get_order(order["id"], buyer)["refunds"][0]["status"] == "succeeded"


def test_a_card_refund_is_one_stripe_refund_in_minor_units_with_our_ids(
    api: Api, localstripe: LocalStripe
) -> None:
    order, intent, seller = paid_by_card(api, localstripe)
    refund_id = cancelled(api, order, seller)["refunds"][0]["id"]
    api.advance(60)
    made = localstripe.refunds_of(intent)
    assert len(made) == 1
    assert made[0]["amount"] == int(order["total"]["amount"].replace(".", ""))
    assert made[0]["metadata"] == {"order_id": order["id"], "refund_id": refund_id}
    refund = api.ok(api.get(f"/refunds/{refund_id}", as_=api.admin))
    assert refund["status"] == "succeeded"


def order_amount(order: dict[str, Any]) -> Decimal:
    """An order's total as a Decimal."""
    return Decimal(order["total"]["amount"])


def now(api: Api) -> datetime:
    """The test clock's time."""
    return datetime.fromisoformat(api.now().replace("Z", "+00:00"))


def test_sending_a_refund_again_finds_the_stripe_refund_made_before(
    rt: Runtime, api: Api, localstripe: LocalStripe
) -> None:
    order, intent, _ = paid_by_card(api, localstripe)
    request = RefundRequest("rf_again_1", order_amount(order), "USD", "card", intent, now(api))
    first = rt.gateway.refund_many([request])["rf_again_1"]
    second = rt.gateway.refund(
        key="rf_again_1",
        amount=request.amount,
        currency="USD",
        method="card",
        payment_reference=intent,
        at=request.at,
    )
    assert first.reference == second.reference and first.reference.startswith("re_")
    assert len(localstripe.refunds_of(intent)) == 1
    status = rt.gateway.refund_status(reference=first.reference, at=request.at)
    assert status.status == "succeeded"


def test_a_worker_killed_between_stripes_answer_and_its_commit_makes_one_refund(
    settings: Settings, api: Api, localstripe: LocalStripe, tmp_path: Path
) -> None:
    order, intent, seller = paid_by_card(api, localstripe)
    refund_id = cancelled(api, order, seller)["refunds"][0]["id"]
    env = {**localstripe.env(), "AFTERSALE_DATABASE_URL": settings.url}
    crash = run_cli(
        data_dir=tmp_path, env={**env, "AFTERSALE_TEST_CLOCK": "1"}, module=CRASH_MODULE
    )
    assert crash.returncode == DIED, crash.stderr
    assert len(localstripe.refunds_of(intent)) == 1  # made at Stripe, not committed here
    assert api.get_order(order["id"], seller)["refunds"][0]["status"] == "pending"
    api.advance(120)  # the restarted worker sends the refund again
    made = localstripe.refunds_of(intent)
    assert len(made) == 1
    refund = api.ok(api.get(f"/refunds/{refund_id}", as_=api.admin))
    assert refund["status"] == "succeeded"


def test_a_signed_refund_failed_event_fails_the_refund_and_a_repeat_changes_nothing(
    api: Api, localstripe: LocalStripe
) -> None:
    order, _, seller = paid_by_card(api, localstripe)
    refund_id = cancelled(api, order, seller)["refunds"][0]["id"]
    payload, signature = signed_event(refund_event("refund.failed", refund_id, "failed"))
    headers = {"Stripe-Signature": signature, "Content-Type": "application/json"}
    for _ in range(2):
        answer = api.http.post(EVENTS, content=payload, headers=headers)
        assert answer.status_code == 200 and answer.json() == {"received": "failed"}
    refund = api.ok(api.get(f"/refunds/{refund_id}", as_=api.admin))
    assert refund["status"] == "failed"
    timeline = api.get_order(order["id"], seller)["timeline"]
    assert sum(1 for e in timeline if e["event"] == "refund_failed") == 1


def test_a_signed_charge_refund_updated_event_settles_a_refund_as_succeeded(
    api: Api, localstripe: LocalStripe
) -> None:
    order, _, seller = paid_by_card(api, localstripe)
    refund_id = cancelled(api, order, seller)["refunds"][0]["id"]
    event = refund_event("charge.refund.updated", refund_id, "succeeded", reference="re_ev1")
    payload, signature = signed_event(event)
    answer = api.http.post(EVENTS, content=payload, headers={"Stripe-Signature": signature})
    assert answer.status_code == 200 and answer.json() == {"received": "succeeded"}
    assert api.ok(api.get(f"/refunds/{refund_id}", as_=api.admin))["status"] == "succeeded"


def test_an_event_with_a_bad_or_missing_signature_is_refused_with_invalid_signature(
    api: Api,
) -> None:
    payload, _ = signed_event(refund_event("refund.updated", "rf_x", "succeeded"))
    _, forged = signed_event(refund_event("refund.updated", "rf_x", "succeeded"), "whsec_other")
    api.problem(api.http.post(EVENTS, content=payload), 400, "invalid_signature")
    bad = api.http.post(EVENTS, content=payload, headers={"Stripe-Signature": forged})
    api.problem(bad, 400, "invalid_signature")


def test_other_events_and_refunds_not_ours_are_acknowledged_and_ignored(api: Api) -> None:
    other = {**refund_event("refund.updated", "rf_x", "succeeded"), "type": "customer.created"}
    for event in (other, refund_event("refund.updated", "rf_not_ours", "succeeded")):
        payload, signature = signed_event(event)
        answer = api.http.post(EVENTS, content=payload, headers={"Stripe-Signature": signature})
        assert answer.status_code == 200 and answer.json()["received"] in ("ignored", "unknown")


def test_a_stripe_refund_still_pending_is_processing_and_asked_about_in_an_hour() -> None:
    at = datetime(2026, 1, 5, 10, tzinfo=UTC)
    answer = _answer({"id": "re_1", "status": "pending"}, at)
    assert (answer.status, answer.reference) == ("processing", "re_1")
    assert answer.settles_at == at + timedelta(hours=1)
    failed = _answer({"id": "re_2", "status": "canceled", "failure_reason": None}, at)
    assert failed.status == "failed" and failed.failure == "Stripe: canceled"
