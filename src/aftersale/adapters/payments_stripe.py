"""The Stripe gateway (API.md, "Payment gateways"), on the official `stripe` SDK.

Card payments are Stripe PaymentIntents (`pi_…`) or Charges (`ch_…`); card refunds are Stripe
refunds on them, in minor units, with the refund's id as idempotency key and as metadata. The
adapter does not lean on Stripe's Idempotency-Key alone (a Stripe-protocol server may ignore
it, and a key expires after 24 h): before creating a refund it looks among the payment's
refunds for one whose metadata carries this refund id, and answers with that one. So a worker
killed between Stripe's answer and its commit finds, on its next try, the refund it made.
Balance refunds never leave aftersale: they go to the ledger-only gateway given as `balance`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import stripe
from sqlalchemy import Engine, select

from aftersale.adapters.db import tables as t
from aftersale.adapters.payments import OneRefundAsABatch
from aftersale.domain.money import exponent
from aftersale.services.ports import GatewayRefund, PaymentGateway, RefundRequest

RECHECK = timedelta(hours=1)  # a refund still processing is asked about again this much later
REFUND_EVENTS = ("refund.", "charge.refund.updated")


def minor_units(amount: Decimal, currency: str) -> int:
    """An amount in the currency's smallest unit (12.34 USD -> 1234), as Stripe counts."""
    return int(amount / exponent(currency))


class StripeGateway(OneRefundAsABatch):
    """Card payments checked and card refunds made at Stripe; balance ones in the ledger."""

    def __init__(
        self,
        *,
        api_key: str,
        api_base: str | None,
        balance: PaymentGateway,
        order_of: Callable[[list[str]], dict[str, str]],
    ) -> None:
        base = {"api": api_base.rstrip("/")} if api_base else None
        self.client = stripe.StripeClient(api_key, base_addresses=base, max_network_retries=2)
        self.balance = balance
        self.order_of = order_of  # refund ids -> their orders' ids (for the metadata)

    def check_payment(self, *, reference: str, amount: Decimal, currency: str) -> str | None:
        """None when the PaymentIntent or Charge has succeeded for this amount and currency."""
        try:
            if reference.startswith("pi_"):
                paid: Any = self.client.v1.payment_intents.retrieve(reference)
                succeeded = paid.status == "succeeded"
            elif reference.startswith("ch_"):
                paid = self.client.v1.charges.retrieve(reference)
                succeeded = paid.status == "succeeded" and bool(paid.paid)
            else:
                return "payment_not_found"
        except stripe.InvalidRequestError:  # Stripe's 404 (and any refusal to look it up)
            return "payment_not_found"
        if not succeeded:
            return "payment_not_found"
        if paid.currency.upper() != currency or paid.amount != minor_units(amount, currency):
            return "payment_amount_mismatch"
        return None

    def refund_many(self, requests: list[RefundRequest]) -> dict[str, GatewayRefund]:
        """Balance refunds in one call to the ledger gateway; card refunds one by one at
        Stripe (it has no batch call), each found again if it was made before."""
        balance = [r for r in requests if r.method == "balance"]
        cards = [r for r in requests if r.method != "balance"]
        answers = self.balance.refund_many(balance) if balance else {}
        orders = self.order_of([r.key for r in cards]) if cards else {}
        for r in cards:
            answers[r.key] = self._card_refund(r, orders.get(r.key, ""))
        return answers

    def _card_refund(self, r: RefundRequest, order_id: str) -> GatewayRefund:
        """One card refund: the one made before with this refund id, else a new one."""
        target = _payment_param(r.payment_reference)
        if target is None:
            return _refused(f"the payment {r.payment_reference!r} is not a Stripe payment")
        try:
            made = self._made_before(target, r.key)
            if made is None:
                made = self.client.v1.refunds.create(
                    params={
                        **target,  # type: ignore[typeddict-item]
                        "amount": minor_units(r.amount, r.currency),
                        "metadata": {"order_id": order_id, "refund_id": r.key},
                    },
                    options={"idempotency_key": r.key},
                )
        except stripe.InvalidRequestError as exc:  # refused for good (refunded already, ...)
            return _refused(f"Stripe refused the refund: {exc.user_message or exc}")
        return _answer(made.to_dict(), r.at)

    def _made_before(self, target: dict[str, str], key: str) -> Any:
        """The payment's Stripe refund whose metadata carries refund id `key`, if any."""
        page = self.client.v1.refunds.list(params={**target, "limit": 100})  # type: ignore[typeddict-item]
        for refund in page.auto_paging_iter():
            if (refund.to_dict().get("metadata") or {}).get("refund_id") == key:
                return refund
        return None

    def refund_status(self, *, reference: str, at: datetime) -> GatewayRefund:
        """Where a refund stands: Stripe's (`re_…`) asked at Stripe, others in the ledger."""
        if not reference.startswith("re_"):
            return self.balance.refund_status(reference=reference, at=at)
        return _answer(self.client.v1.refunds.retrieve(reference).to_dict(), at)


def orders_of_refunds(engine: Engine) -> Callable[[list[str]], dict[str, str]]:
    """Refund ids -> the ids of their orders, read from the database (for Stripe's metadata)."""

    reader = engine.execution_options(sqlite_begin="DEFERRED")  # (the worker is SQLite's writer)

    def read(refund_ids: list[str]) -> dict[str, str]:
        query = select(t.refunds.c.id, t.refunds.c.order_id).where(t.refunds.c.id.in_(refund_ids))
        with reader.connect() as conn:
            return {str(row.id): str(row.order_id) for row in conn.execute(query)}

    return read


def _payment_param(reference: str) -> dict[str, str] | None:
    """The Stripe refund parameter naming the payment, if it is a Stripe payment."""
    if reference.startswith("pi_"):
        return {"payment_intent": reference}
    if reference.startswith("ch_"):
        return {"charge": reference}
    return None


def _refused(why: str) -> GatewayRefund:
    """A refund Stripe will never make."""
    return GatewayRefund(reference="", status="failed", settles_at=None, failure=why[:500])


def _answer(refund: dict[str, Any], at: datetime) -> GatewayRefund:
    """A Stripe refund as the gateway's answer (pending ones are asked about in an hour)."""
    status, reference = str(refund.get("status")), str(refund["id"])
    if status == "succeeded":
        return GatewayRefund(reference, "succeeded", at, None)
    if status in ("failed", "canceled"):
        return GatewayRefund(
            reference, "failed", None, f"Stripe: {refund.get('failure_reason') or status}"
        )
    return GatewayRefund(reference, "processing", at + RECHECK, None)


@dataclass(frozen=True, slots=True)
class RefundEvent:
    """What a signed Stripe event says about one of our refunds."""

    event_id: str
    refund_id: str
    reference: str
    status: str  # processing | succeeded | failed
    failure: str | None


class InvalidSignature(Exception):
    """The event's Stripe-Signature does not verify with the webhook secret."""


def refund_event(payload: bytes, signature: str | None, secret: str | None) -> RefundEvent | None:
    """The verified event's news of a refund of ours, or None for any other event."""
    if not secret or not signature:
        raise InvalidSignature("missing Stripe-Signature or webhook secret")
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret)
    except (ValueError, stripe.SignatureVerificationError) as exc:
        raise InvalidSignature(str(exc)) from exc
    if not event.type.startswith(REFUND_EVENTS):
        return None
    refund = event.data.object.to_dict()
    refund_id = (refund.get("metadata") or {}).get("refund_id")
    if refund.get("object") != "refund" or not refund_id:
        return None
    answer = _answer(refund, datetime.now(UTC))
    return RefundEvent(event.id, str(refund_id), answer.reference, answer.status, answer.failure)
