"""Rules of an order's normal life: payment, packing, shipping, delivery, completion, refunds."""

from __future__ import annotations

from datetime import datetime, timedelta

from aftersale.domain.context import Ctx
from aftersale.domain.entities import OrderStatus, Refund, RefundStatus, new_id
from aftersale.domain.errors import DomainError, InvalidState, ValidationFailed
from aftersale.domain.machines import move
from aftersale.domain.money import parse_amount
from aftersale.domain.order_state import BUYER, ESCROW, IN_TRANSIT, OrderState
from aftersale.domain.validate import text

S = OrderStatus
PAYMENT_METHODS = ("card", "balance")
REFUND_DESTINATIONS = ("original", "balance")


class LifecycleRules(OrderState):
    """Payment, fulfilment, delivery, completion and refund settlement."""

    def record_payment(
        self, *, amount: object, method: object, reference: object, ctx: Ctx
    ) -> None:
        """Record the buyer's payment of the whole total into escrow."""
        value = parse_amount(amount, self.currency)
        if method not in PAYMENT_METHODS:
            raise ValidationFailed("method must be card or balance", field="method")
        ref = text(reference, "reference", max_len=200)
        if self.status != S.AWAITING_PAYMENT:
            raise InvalidState(f"the order is {self.status}; it cannot be paid")
        if value != self.total:
            raise DomainError(
                f"the payment of {value} does not match the order total "
                f"{self.total} {self.currency}",
                code="payment_amount_mismatch",
            )
        self._move(S.AWAITING_FULFILLMENT, ctx)
        self.paid_amount, self.payment_method, self.payment_reference = value, str(method), ref
        self.paid_at = ctx.now
        self.ship_by = ctx.now + timedelta(days=self.ship_by_days)
        self._schedule("ship_timeout", self.id, self.ship_by)
        self._post(ctx, "payment", (BUYER, -value), (ESCROW, value))
        self._record(ctx, "paid", f"Paid {value} {self.currency} by {method}")

    def choose_refund_destination(self, refund_to: object, ctx: Ctx) -> None:
        """The buyer sends future refunds to the original payment method or to the balance."""
        if refund_to not in REFUND_DESTINATIONS:
            raise ValidationFailed("refund_to must be original or balance", field="refund_to")
        if self.status in (S.COMPLETED,):
            raise InvalidState("the order is completed; nothing more will be refunded")
        method = None if refund_to == "original" else "balance"
        if method == self.refund_method:
            return
        self.refund_method = method
        where = "the marketplace balance" if method else "the original payment method"
        self._record(ctx, "refund_destination", f"Future refunds go to {where}")

    def pack(self, ctx: Ctx) -> None:
        """The seller has packed the order."""
        if self.status != S.AWAITING_FULFILLMENT:
            raise InvalidState(
                f"the order is {self.status}; only an order awaiting fulfillment can be packed"
            )
        self._move(S.AWAITING_SHIPMENT, ctx)
        self.packed_at = ctx.now
        self._record(ctx, "packed", "The seller packed the order")

    def ship(self, *, carrier: object, tracking_number: object, ctx: Ctx) -> None:
        """The carrier has the order; a pending cancellation request must be answered first."""
        carrier_name = text(carrier, "carrier", max_len=100)
        tracking = text(tracking_number, "tracking_number", max_len=100)
        if self.status not in (S.AWAITING_FULFILLMENT, S.AWAITING_SHIPMENT):
            raise InvalidState(f"the order is {self.status}; it cannot be shipped")
        if self.pending_cancellation is not None:
            raise DomainError(
                "the buyer asked to cancel this order: accept or reject the "
                "request before shipping",
                code="cancellation_pending",
            )
        self._move(S.SHIPPED, ctx)
        self.shipped_at, self.carrier, self.tracking_number = ctx.now, carrier_name, tracking
        self.protection_ends_at = ctx.now + timedelta(days=self.delivery_days)
        self._schedule("protection_end", self.id, self.protection_ends_at)
        self._record(ctx, "shipped", f"Shipped with {carrier_name}, tracking {tracking}")

    def deliver(self, ctx: Ctx) -> None:
        """The order reached the buyer (carrier event or the buyer's confirmation)."""
        if self.status != S.SHIPPED:
            raise InvalidState(f"the order is {self.status}; only a shipped order can be delivered")
        if ctx.actor.role == "buyer" and self.fully_refunded:
            raise InvalidState("the order is refunded in full, so there is no receipt to confirm")
        self._move(S.DELIVERED, ctx)
        self.delivered_at = ctx.now
        self._schedule("order_complete", self.id, self.completion_due())
        who = {
            "buyer": "The buyer confirmed receipt",
            "system": "Receipt confirmed automatically: the purchase protection period ended",
        }.get(str(ctx.actor.role), "Delivered")
        self._record(ctx, "delivered", who)

    def close_unpaid(self, ctx: Ctx) -> None:
        """Cancel an order that stayed unpaid past the policy limit."""
        if self.status != S.AWAITING_PAYMENT:
            return
        self._move(S.CANCELLED, ctx)
        self.cancelled_at, self.cancelled_by, self.cancel_reason = ctx.now, "system", "unpaid"
        self._record(ctx, "cancelled", "Cancelled automatically: not paid in time")

    # ---- refund settlement, as reported by the payment gateway -----------------------------
    def refund_processing(
        self, refund_id: str, *, reference: str, check_at: datetime | None, ctx: Ctx
    ) -> None:
        """The gateway accepted the refund and is crediting it; look again at `check_at`."""
        refund = self.find_refund(refund_id)
        if refund.status != RefundStatus.PENDING:
            raise InvalidState(f"refund {refund_id} is {refund.status}")
        move(refund, RefundStatus.PROCESSING)
        refund.gateway_reference, refund.processing_at = reference, ctx.now
        self.updated_at = ctx.now
        if check_at is not None:
            self._schedule("refund_settle", refund.id, check_at)

    def refund_succeeded(self, refund_id: str, ctx: Ctx) -> None:
        """The refund has been credited to the buyer."""
        refund = self.find_refund(refund_id)
        move(refund, RefundStatus.SUCCEEDED)
        refund.succeeded_at = ctx.now
        self._post(ctx, "refund_settled", (IN_TRANSIT, -refund.amount), (BUYER, refund.amount))
        self._record(
            ctx,
            "refund_succeeded",
            f"Refund of {refund.amount} {self.currency} credited to the buyer",
            refund_id=refund.id,
        )

    def refund_failed(self, refund_id: str, *, failure: str, ctx: Ctx) -> None:
        """The gateway could not credit the refund: the money goes back to escrow."""
        refund = self.find_refund(refund_id)
        move(refund, RefundStatus.FAILED)
        refund.failed_at, refund.failure_reason = ctx.now, failure[:500]
        self.refunded_amount -= refund.amount
        self._post(ctx, "refund_failed", (IN_TRANSIT, -refund.amount), (ESCROW, refund.amount))
        self._record(
            ctx,
            "refund_failed",
            f"Refund of {refund.amount} {self.currency} failed: {failure[:200]}",
            refund_id=refund.id,
        )

    def retry_refund(self, refund_id: str, ctx: Ctx) -> None:
        """Staff issue a failed refund again (a new refund, keyed on the failed one)."""
        failed = self.find_refund(refund_id)
        if failed.status != RefundStatus.FAILED:
            raise InvalidState(
                f"refund {refund_id} is {failed.status}; only a failed refund can be retried"
            )
        if any(r.source_type == "retry" and r.source_id == failed.id for r in self.refunds):
            raise InvalidState(f"refund {refund_id} has been retried already")
        amount = min(failed.amount, self.refundable)
        if amount <= 0:
            raise InvalidState("nothing is left to refund on this order")
        self._issue_refund(
            amount,
            reason=failed.reason,
            source_type="retry",
            source_id=failed.id,
            ctx=ctx,
        )

    def goodwill_refund(self, *, amount: object, reason: object, ctx: Ctx) -> Refund:
        """Staff refund part of an order as a goodwill gesture (rule 14)."""
        value = parse_amount(amount, self.currency)
        why = text(reason, "reason", max_len=500)
        if self.status in (S.AWAITING_PAYMENT, S.CANCELLED, S.COMPLETED):
            raise InvalidState(
                f"the order is {self.status}; only a paid order that is still open can be refunded"
            )
        if value > self.refundable:
            raise DomainError(
                f"a refund of {value} {self.currency} exceeds the {self.refundable} "
                f"{self.currency} still refundable",
                code="refund_exceeds_paid",
            )
        refund = self._issue_refund(
            value,
            reason="goodwill",
            source_type="goodwill",
            source_id=new_id("gwr"),
            ctx=ctx,
            note=why,
        )
        assert refund is not None  # (the amount is positive)
        return refund
