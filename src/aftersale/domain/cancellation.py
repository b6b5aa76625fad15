"""Rules 1, 2, 3 and 7: buyer cancellation, cancellation requests and seller cancellation."""

from __future__ import annotations

from decimal import Decimal

from aftersale.domain.context import Ctx
from aftersale.domain.entities import CancellationRequest, CancellationStatus, OrderStatus, new_id
from aftersale.domain.errors import DomainError, ValidationFailed
from aftersale.domain.lines import parse_lines
from aftersale.domain.order_state import AFTER_SHIPMENT, PAID_UNSHIPPED, UNSHIPPED, OrderState
from aftersale.domain.reasons import CANCELLATION_REASONS, check_reason
from aftersale.domain.validate import optional_text, text

S = OrderStatus
C = CancellationStatus
SHIPPED_DETAIL = (
    "the order has shipped and can no longer be cancelled; once it is delivered "
    "you can return it or open a dispute"
)


def already_shipped() -> DomainError:
    """The refusal for any cancellation once the carrier has the order."""
    return DomainError(SHIPPED_DETAIL, code="order_already_shipped")


def already_cancelled() -> DomainError:
    """The refusal for cancelling a cancelled order."""
    return DomainError("the order is already cancelled", code="order_already_cancelled")


class CancellationRules(OrderState):
    """Cancelling before shipment, by the buyer (directly or by request) or by the seller."""

    def choose_refund_destination(self, refund_to: object, ctx: Ctx) -> None:
        """Provided by LifecycleRules (declared here for the type checker)."""
        raise AssertionError("Order composes LifecycleRules before CancellationRules")

    def cancel(
        self, *, reason: object, comment: object, ctx: Ctx, refund_to: object = None
    ) -> bool:
        """The buyer's Cancel Order: True if cancelled at once, False if a request was made."""
        code = check_reason(reason, CANCELLATION_REASONS)
        note = optional_text(comment, "comment", max_len=1000)
        if refund_to is not None and refund_to not in ("original", "balance"):
            raise ValidationFailed("refund_to must be original or balance", field="refund_to")
        if self.status == S.CANCELLED:
            raise already_cancelled()
        if self.status in AFTER_SHIPMENT:
            raise already_shipped()
        if self.status == S.AWAITING_PAYMENT:
            self._cancel(by="buyer", reason=code, ctx=ctx)
            return True
        self._request_cancellation(code, note, ctx)
        if refund_to is not None:
            self.choose_refund_destination(refund_to, ctx)
        return False

    def _request_cancellation(self, reason: str, comment: str | None, ctx: Ctx) -> None:
        """Open a cancellation request that the seller must answer in time."""
        assert self.status in PAID_UNSHIPPED
        latest = self.cancellation
        if latest is not None and latest.status == C.PENDING:
            raise DomainError(
                "a cancellation request is already waiting for the seller",
                code="cancellation_already_requested",
            )
        if any(c.status == C.REJECTED for c in self.cancellations):
            raise DomainError(
                "the seller rejected your cancellation request; you can still message the seller",
                code="cancellation_already_rejected",
            )
        request = CancellationRequest(
            id=new_id("can"),
            order_id=self.id,
            status=C.PENDING,
            reason=reason,
            comment=comment,
            requested_at=ctx.now,
            respond_by=ctx.now + self.policy.cancellation_answer,
        )
        self.cancellations.append(request)
        self._schedule("cancellation_timeout", request.id, request.respond_by)
        self._record(
            ctx,
            "cancellation_requested",
            f"Cancellation requested ({CANCELLATION_REASONS[reason]}); the seller has "
            f"until {request.respond_by:%Y-%m-%d %H:%M} UTC to answer",
            cancellation_id=request.id,
        )

    def _pending_or_raise(self) -> CancellationRequest:
        """The pending request, or the no_pending_cancellation refusal."""
        request = self.pending_cancellation
        if request is None:
            raise DomainError(
                "there is no cancellation request waiting for an answer",
                code="no_pending_cancellation",
            )
        return request

    def accept_cancellation(self, ctx: Ctx) -> None:
        """The seller accepts: the order is cancelled and fully refunded."""
        request = self._pending_or_raise()
        self._answer_request(
            request,
            C.ACCEPTED,
            "cancellation_accepted",
            "The seller accepted the cancellation",
            ctx,
        )
        self._cancel(by="buyer", reason=request.reason, ctx=ctx)

    def reject_cancellation(self, *, reason: object, ctx: Ctx) -> None:
        """The seller rejects: the order goes on and the buyer cannot ask again."""
        why = text(reason, "reason", max_len=500)
        request = self._pending_or_raise()
        request.reject_reason = why
        self._answer_request(
            request,
            C.REJECTED,
            "cancellation_rejected",
            f"The seller rejected the cancellation: {why}",
            ctx,
        )

    def expire_cancellation(self, request_id: str, ctx: Ctx) -> None:
        """At respond_by an unanswered request is accepted automatically."""
        request = self.pending_cancellation
        if request is None or request.id != request_id or ctx.now < request.respond_by:
            return
        self._answer_request(
            request,
            C.AUTO_ACCEPTED,
            "cancellation_auto_accepted",
            "The seller did not answer within "
            f"{self.policy.cancellation_answer_hours} hours: the cancellation was "
            "accepted automatically",
            ctx,
        )
        self._cancel(by="buyer", reason=request.reason, ctx=ctx)

    def seller_cancel(self, *, reason: object, ctx: Ctx, items: object = None) -> None:
        """The seller cancels an unshipped order, or some quantities of its lines (rule 13);
        a pending request is accepted when the whole order goes."""
        why = text(reason, "reason", max_len=500)
        if self.status == S.CANCELLED:
            raise already_cancelled()
        if self.status in AFTER_SHIPMENT:
            raise already_shipped()
        wanted = None if items is None else parse_lines(items, self.items, "remaining")
        if wanted is not None and any(
            wanted.get(line.sku, 0) < line.remaining for line in self.items
        ):
            self._cancel_lines(wanted, why, ctx)
            return
        request = self.pending_cancellation
        if request is not None:
            self._answer_request(
                request,
                C.ACCEPTED,
                "cancellation_accepted",
                "The seller cancelled the order, accepting the buyer's request",
                ctx,
            )
        if wanted is not None:
            self._take_lines(wanted)
        self._cancel(by="seller", reason=why, ctx=ctx)

    def _take_lines(self, wanted: dict[str, int]) -> Decimal:
        """Mark quantities cancelled; returns their price."""
        price = Decimal(0)
        for line in self.items:
            qty = wanted.get(line.sku, 0)
            line.cancelled_quantity += qty
            price += line.unit_price * qty
        return price

    def _cancel_lines(self, wanted: dict[str, int], why: str, ctx: Ctx) -> None:
        """Cancel some quantities; the order goes on with the rest (refunded if paid)."""
        price = self._take_lines(wanted)
        if self.status == S.AWAITING_PAYMENT:  # nothing paid: the buyer will owe less
            self.total -= price
        what = ", ".join(f"{qty} x {sku}" for sku, qty in wanted.items() if qty)
        marker = new_id("icl")
        self._record(
            ctx,
            "items_cancelled",
            f"The seller cancelled {what}: {why}",
            items=[{"sku": s, "quantity": q} for s, q in wanted.items() if q],
            cancellation_id=marker,
        )
        if self.paid_amount:
            self._issue_refund(
                min(price, self.refundable),
                reason="items_cancelled",
                source_type="items",
                source_id=marker,
                ctx=ctx,
            )

    def _cancel(
        self, *, by: str, reason: str, ctx: Ctx, detail: str | None = None, refund_reason: str = ""
    ) -> None:
        """Cancel an unshipped order and refund in full whatever was paid."""
        assert self.status in UNSHIPPED
        self._move(S.CANCELLED, ctx)
        self.cancelled_at, self.cancelled_by, self.cancel_reason = ctx.now, by, reason
        if detail is None:
            label = CANCELLATION_REASONS.get(reason, reason)
            who = {"buyer": "at the buyer's request", "seller": "by the seller"}.get(by, f"by {by}")
            detail = f"Order cancelled {who}: {label}"
        self._record(ctx, "cancelled", detail, cancelled_by=by, reason=reason)
        self._issue_refund(
            self.refundable,
            reason=refund_reason or "order_cancelled",
            source_type="cancellation",
            source_id=self.id,
            ctx=ctx,
        )
