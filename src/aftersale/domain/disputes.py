"""Rule 6: disputes for a full or partial refund, negotiation, escalation and default outcomes."""

from __future__ import annotations

from decimal import Decimal

from aftersale.domain.context import Ctx
from aftersale.domain.entities import Dispute, DisputeStatus, OrderStatus, new_id
from aftersale.domain.errors import DomainError, InvalidState, NotFound, ValidationFailed
from aftersale.domain.money import parse_amount
from aftersale.domain.order_state import OrderState
from aftersale.domain.reasons import DISPUTE_REASONS, check_reason
from aftersale.domain.validate import text

S = OrderStatus
D = DisputeStatus


def exceeds(amount: Decimal, left: Decimal, currency: str) -> DomainError:
    """The refusal for a refund above what is still refundable."""
    return DomainError(
        f"{amount} {currency} exceeds the {left} {currency} still refundable",
        code="refund_exceeds_paid",
    )


class DisputeRules(OrderState):
    """Opening, answering, escalating and deciding disputes."""

    def find_dispute(self, dispute_id: str) -> Dispute:
        """The order's dispute with that id."""
        for d in self.disputes:
            if d.id == dispute_id:
                return d
        raise NotFound(f"dispute {dispute_id} not found")

    def dispute_refusal(self, ctx: Ctx) -> DomainError | None:
        """Why a dispute cannot be opened now, or None if it can."""
        p = self.policy
        if self.status in (
            S.AWAITING_PAYMENT,
            S.AWAITING_FULFILLMENT,
            S.AWAITING_SHIPMENT,
            S.CANCELLED,
        ):
            return DomainError("the order has not shipped", code="order_not_shipped")
        if self.status == S.SHIPPED:
            assert self.shipped_at is not None
            if ctx.now < self.shipped_at + p.non_receipt:
                opens = self.shipped_at + p.non_receipt
                return DomainError(
                    "the order has not been delivered yet; a dispute for "
                    f"non-receipt can be opened from {opens:%Y-%m-%d}",
                    code="order_not_delivered",
                )
        elif self.status == S.COMPLETED or (
            self.delivered_at is not None and ctx.now > self.delivered_at + p.dispute_window
        ):
            return DomainError(
                f"disputes close {p.dispute_window_days} days after delivery",
                code="dispute_window_closed",
            )
        if self.active_dispute is not None:
            return DomainError(
                "this order already has an open dispute", code="dispute_already_open"
            )
        return None

    def open_dispute(
        self, *, reason: object, refund_type: object, amount: object, description: object, ctx: Ctx
    ) -> Dispute:
        """The buyer asks for a full or partial refund."""
        code = check_reason(reason, DISPUTE_REASONS)
        if refund_type not in ("full", "partial"):
            raise ValidationFailed("refund_type must be full or partial", field="refund_type")
        story = text(description, "description", max_len=2000)
        asked = None
        if refund_type == "partial":
            if amount is None:
                raise ValidationFailed("a partial refund needs an amount", field="amount")
            asked = parse_amount(amount, self.currency)
        refusal = self.dispute_refusal(ctx)
        if refusal is not None:
            raise refusal
        left = self.refundable
        requested = left if asked is None else asked
        if requested > left or requested <= 0:
            raise exceeds(requested, left, self.currency)
        dispute = Dispute(
            id=new_id("dsp"),
            order_id=self.id,
            status=D.OPEN,
            reason=code,
            refund_type=str(refund_type),
            requested_amount=requested,
            description=story,
            opened_at=ctx.now,
            respond_by=ctx.now + self.policy.seller_answer,
        )
        self.disputes.append(dispute)
        self._schedule("dispute_answer_timeout", dispute.id, dispute.respond_by)
        self._record(
            ctx,
            "dispute_opened",
            f"Dispute opened ({DISPUTE_REASONS[code]}) asking for {requested} {self.currency}",
            dispute_id=dispute.id,
        )
        return dispute

    def _dispute_in(self, dispute: Dispute, *states: DisputeStatus) -> None:
        if dispute.status not in states:
            raise InvalidState(f"the dispute is {dispute.status}")

    def _resolve(
        self, dispute: Dispute, amount: Decimal, ctx: Ctx, *, note: str | None, by: str
    ) -> None:
        """Close the dispute with a refund of `amount` (checked against the ceiling first)."""
        if amount > self.refundable:
            raise exceeds(amount, self.refundable, self.currency)
        dispute.status, dispute.resolved_at, dispute.resolved_by = D.RESOLVED, ctx.now, by
        dispute.resolution_amount, dispute.resolution_note = amount, note
        self._record(
            ctx,
            "dispute_resolved",
            f"Dispute resolved ({by}): refund of {amount} {self.currency}",
            dispute_id=dispute.id,
        )
        refund = self._issue_refund(
            amount, reason="dispute", source_type="dispute", source_id=dispute.id, ctx=ctx
        )
        dispute.refund_id = refund.id if refund else None
        self._try_complete(ctx)

    def accept_dispute(self, dispute_id: str, ctx: Ctx) -> Dispute:
        """The seller agrees to the requested refund."""
        dispute = self.find_dispute(dispute_id)
        self._dispute_in(dispute, D.OPEN)
        self._resolve(dispute, dispute.requested_amount, ctx, note=None, by="seller_accepted")
        return dispute

    def _seller_answer(self, dispute: Dispute, ctx: Ctx) -> None:
        dispute.status, dispute.seller_responded_at = D.SELLER_RESPONDED, ctx.now
        dispute.buyer_respond_by = ctx.now + self.policy.buyer_answer
        self._schedule("dispute_buyer_timeout", dispute.id, dispute.buyer_respond_by)

    def reject_dispute(self, dispute_id: str, *, reason: object, ctx: Ctx) -> Dispute:
        """The seller refuses the claim; the buyer may escalate."""
        why = text(reason, "reason", max_len=500)
        dispute = self.find_dispute(dispute_id)
        self._dispute_in(dispute, D.OPEN)
        dispute.seller_response, dispute.seller_reject_reason = "rejected", why
        self._seller_answer(dispute, ctx)
        self._record(
            ctx,
            "dispute_rejected",
            f"The seller rejected the dispute: {why}",
            dispute_id=dispute.id,
        )
        return dispute

    def propose_refund(self, dispute_id: str, *, amount: object, ctx: Ctx) -> Dispute:
        """The seller offers another amount; the buyer may accept it or escalate."""
        offer = parse_amount(amount, self.currency)
        dispute = self.find_dispute(dispute_id)
        self._dispute_in(dispute, D.OPEN)
        if offer > self.refundable:
            raise exceeds(offer, self.refundable, self.currency)
        dispute.seller_response, dispute.proposed_amount = "proposed", offer
        self._seller_answer(dispute, ctx)
        self._record(
            ctx,
            "dispute_proposal",
            f"The seller proposed a refund of {offer} {self.currency}",
            dispute_id=dispute.id,
        )
        return dispute

    def accept_proposal(self, dispute_id: str, ctx: Ctx) -> Dispute:
        """The buyer takes the seller's offer."""
        dispute = self.find_dispute(dispute_id)
        self._dispute_in(dispute, D.SELLER_RESPONDED)
        if dispute.proposed_amount is None:
            raise InvalidState("the seller made no proposal to accept")
        self._resolve(dispute, dispute.proposed_amount, ctx, note=None, by="buyer_accepted")
        return dispute

    def escalate_dispute(self, dispute_id: str, ctx: Ctx) -> Dispute:
        """The buyer asks the platform to decide."""
        dispute = self.find_dispute(dispute_id)
        self._dispute_in(dispute, D.SELLER_RESPONDED)
        dispute.status, dispute.escalated_at = D.ESCALATED, ctx.now
        self._record(
            ctx,
            "dispute_escalated",
            "The buyer escalated the dispute to the platform",
            dispute_id=dispute.id,
        )
        return dispute

    def decide_dispute(
        self, dispute_id: str, *, refund_amount: object, note: object, ctx: Ctx
    ) -> Dispute:
        """Staff decide the dispute; the decision is final."""
        amount = parse_amount(refund_amount, self.currency, field="refund_amount", allow_zero=True)
        why = text(note, "note", max_len=2000)
        dispute = self.find_dispute(dispute_id)
        self._dispute_in(dispute, D.OPEN, D.SELLER_RESPONDED, D.ESCALATED)
        self._resolve(dispute, amount, ctx, note=why, by="platform")
        return dispute

    def expire_dispute_answer(self, dispute_id: str, ctx: Ctx) -> None:
        """A seller silent past respond_by loses: the buyer is refunded what is left."""
        dispute = self.find_dispute(dispute_id)
        if dispute.status == D.OPEN and ctx.now >= dispute.respond_by:
            amount = min(dispute.requested_amount, self.refundable)
            self._resolve(
                dispute, amount, ctx, note="the seller did not answer in time", by="default"
            )

    def expire_buyer_answer(self, dispute_id: str, ctx: Ctx) -> None:
        """A buyer who neither accepts nor escalates in time: closed without refund."""
        dispute = self.find_dispute(dispute_id)
        if (
            dispute.status == D.SELLER_RESPONDED
            and dispute.buyer_respond_by is not None
            and ctx.now >= dispute.buyer_respond_by
        ):
            dispute.status, dispute.closed_at = D.CLOSED, ctx.now
            self._record(
                ctx,
                "dispute_closed",
                "Dispute closed: the buyer did not answer in time",
                dispute_id=dispute.id,
            )
            self._try_complete(ctx)
