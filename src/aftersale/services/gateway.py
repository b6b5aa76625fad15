"""Use cases where the payment gateway speaks: a card payment checked before it is recorded,
and a refund's settlement as the gateway's signed events report it."""

from __future__ import annotations

from datetime import timedelta

from aftersale.domain.actors import SYSTEM
from aftersale.domain.context import Ctx
from aftersale.domain.entities import OrderStatus, RefundStatus
from aftersale.domain.errors import DomainError
from aftersale.domain.money import parse_amount
from aftersale.domain.order import Order
from aftersale.services.common import change_order
from aftersale.services.runtime import Runtime

REFUSALS = {
    "payment_not_found": "the payment {ref} does not exist at the gateway or has not succeeded",
    "payment_amount_mismatch": "the payment {ref} is not for {amount} {currency}",
}


def check_card_payment(
    rt: Runtime, order: Order, *, amount: object, method: object, reference: object
) -> None:
    """Refuse a card payment the gateway does not know as made for this amount (the domain
    checks everything else, so a malformed payment is left to it)."""
    if method != "card" or not isinstance(reference, str) or not reference.strip():
        return
    if order.status != OrderStatus.AWAITING_PAYMENT:
        return
    value = parse_amount(amount, order.currency)
    code = rt.gateway.check_payment(
        reference=reference.strip(), amount=value, currency=order.currency
    )
    if code is not None:
        detail = REFUSALS[code].format(ref=reference, amount=value, currency=order.currency)
        raise DomainError(detail, code=code, field="reference")


def refund_settled_at_gateway(
    rt: Runtime, *, refund_id: str, status: str, reference: str, failure: str | None
) -> str:
    """Apply the gateway's news of a refund (succeeded or failed); returns what became of the
    refund ("unknown" when it is none of ours). A repeated or stale event changes nothing."""
    with rt.uow(readonly=True) as uow:
        order_id = uow.orders.order_id_of("refund", refund_id)
    if order_id is None:
        return "unknown"

    def settle(order: Order, ctx: Ctx) -> str:
        refund = order.find_refund(refund_id)
        if refund.status not in (RefundStatus.PENDING, RefundStatus.PROCESSING):
            return str(refund.status)
        if status == "failed":
            order.refund_failed(refund_id, failure=failure or "declined", ctx=ctx)
        elif status == "succeeded":
            if refund.status == RefundStatus.PENDING:
                order.refund_processing(refund_id, reference=reference, check_at=None, ctx=ctx)
            order.refund_succeeded(refund_id, ctx)
        elif refund.status == RefundStatus.PENDING:  # accepted, still crediting
            check_at = ctx.now + timedelta(hours=1)
            order.refund_processing(refund_id, reference=reference, check_at=check_at, ctx=ctx)
        return str(refund.status)

    view = change_order(
        rt,
        SYSTEM,
        "gateway_event",
        order_id,
        settle,
        lambda _o, _c, became: {"status": became},
    )
    return str(view["status"])
