"""Signed events from the payment gateway (Stripe): no bearer token, the signature instead."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from aftersale.adapters.payments_stripe import InvalidSignature, refund_event
from aftersale.entrypoints.api.deps import RtDep
from aftersale.entrypoints.api.problems import ApiProblem
from aftersale.services import shapes
from aftersale.services.gateway import refund_settled_at_gateway

router = APIRouter(prefix="/api/v1/gateways", tags=["gateways"])


@router.post("/stripe/events", response_model=shapes.GatewayReceipt)
async def stripe_events(rt: RtDep, request: Request) -> shapes.GatewayReceipt:
    """A Stripe event: `refund.*` and `charge.refund.updated` settle our refunds; others are
    acknowledged and ignored. 400 `invalid_signature` unless the signature verifies."""
    secret = request.app.state.settings.stripe_webhook_secret
    payload = await request.body()
    try:
        news = refund_event(payload, request.headers.get("stripe-signature"), secret)
    except InvalidSignature as exc:
        raise ApiProblem("invalid_signature", "the Stripe-Signature does not verify") from exc
    if news is None:
        return {"received": "ignored"}
    became = await run_in_threadpool(
        refund_settled_at_gateway,
        rt,
        refund_id=news.refund_id,
        status=news.status,
        reference=news.reference,
        failure=news.failure,
    )
    return {"received": became}
