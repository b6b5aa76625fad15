"""Rule 6 (and 15): disputes for a full or partial refund, the seller's answers, the refund."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aftersale.domain.context import Ctx
from aftersale.domain.entities import Dispute, DisputeStatus, OrderStatus, new_id
from aftersale.domain.errors import DomainError, InvalidState, NotFound, ValidationFailed
from aftersale.domain.machines import move
from aftersale.domain.money import parse_amount
from aftersale.domain.order_state import OrderState
from aftersale.domain.reasons import DISPUTE_REASONS, check_reason
from aftersale.domain.validate import text

S = OrderStatus
D = DisputeStatus
# How a dispute came to be resolved, in words for the timeline (by `resolved_by`).
RESOLVED_HOW = {
    "default": "automatically, as the seller did not answer in time",
    "buyer_accepted": "as the buyer accepted the seller's offer",
    "seller_accepted": "as the seller accepted the buyer's request",
    "platform": "by the platform",
}
NOT_SHIPPED = frozenset({S.AWAITING_PAYMENT, S.AWAITING_FULFILLMENT, S.AWAITING_SHIPMENT})


def exceeds(amount: Decimal, left: Decimal, currency: str) -> DomainError:
    """The refusal for a refund above what is still refundable."""
    return DomainError(
        f"{amount} {currency} exceeds the {left} {currency} still refundable",
        code="refund_exceeds_paid",
    )


def deadline_subject(dispute: Dispute) -> str:
    """The subject of a dispute's answer deadlines in its current round (deadlines are
    unique per kind and subject; the rule reads the dispute id before the dot)."""
    return f"{dispute.id}.{dispute.rounds}" if dispute.rounds else dispute.id


class DisputeRules(OrderState):
    """Opening disputes, the seller's answers and the refund that ends one."""

    def _after_dispute(self, ctx: Ctx) -> None:
        """Provided by TimerRules (declared here for the type checker)."""
        raise AssertionError("Order composes TimerRules")

    def find_dispute(self, dispute_id: str) -> Dispute:
        """The order's dispute with that id (a deadline's subject may carry a round)."""
        wanted = dispute_id.partition(".")[0]
        for d in self.disputes:
            if d.id == wanted:
                return d
        raise NotFound(f"dispute {dispute_id} not found")

    def dispute_refusal(self, ctx: Ctx) -> DomainError | None:
        """Why a dispute cannot be opened now, or None if it can."""
        p = self.policy
        if self.status in NOT_SHIPPED or self.status == S.CANCELLED:
            return DomainError("the order has not shipped", code="order_not_shipped")
        if self.status == S.SHIPPED:
            assert self.shipped_at is not None
            opens = self.shipped_at + p.non_receipt
            if ctx.now < opens:
                return DomainError(
                    "the order has not been delivered yet; a dispute for "
                    f"non-receipt can be opened from {opens:%Y-%m-%d}",
                    code="order_not_delivered",
                )
            if self.protection_ends_at is not None and ctx.now > self.protection_ends_at:
                return DomainError(
                    "the purchase protection of this order has ended",
                    code="dispute_window_closed",
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
        if len(self.disputes) >= p.max_disputes_per_order:
            return DomainError(
                f"an order can have at most {p.max_disputes_per_order} disputes",
                code="dispute_limit_reached",
            )
        return None

    def _asked(self, refund_type: object, amount: object) -> Decimal | None:
        """The amount a full (None: what is left) or partial request asks for."""
        if refund_type not in ("full", "partial"):
            raise ValidationFailed("refund_type must be full or partial", field="refund_type")
        if refund_type == "full":
            return None
        if amount is None:
            raise ValidationFailed(
                "enter the amount you are asking for, like 12.50", field="amount"
            )
        return parse_amount(amount, self.currency)

    def _requested(self, asked: Decimal | None) -> Decimal:
        left = self.refundable
        requested = left if asked is None else asked
        if requested > left or requested <= 0:
            raise exceeds(requested, left, self.currency)
        return requested

    def _note_history(
        self, dispute: Dispute, ctx: Ctx, action: str, amount: Decimal | None = None, **extra: Any
    ) -> None:
        """Add a step to the dispute's history (a new list: the repository diffs the old)."""
        step: dict[str, Any] = {
            "at": ctx.now.isoformat(),
            "actor": ctx.actor.timeline_name,
            "action": action,
        }
        if amount is not None:
            step["amount"] = str(amount)
        step.update({k: v for k, v in extra.items() if v is not None})
        dispute.history = [*dispute.history, step]

    def open_dispute(
        self, *, reason: object, refund_type: object, amount: object, description: object, ctx: Ctx
    ) -> Dispute:
        """The buyer asks for a full or partial refund."""
        code = check_reason(reason, DISPUTE_REASONS)
        asked = self._asked(refund_type, amount)
        story = text(description, "description", max_len=2000)
        refusal = self.dispute_refusal(ctx)
        if refusal is not None:
            raise refusal
        requested = self._requested(asked)
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
        self._note_history(dispute, ctx, "opened", requested, note=story)
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
        move(dispute, D.RESOLVED)
        dispute.resolved_at, dispute.resolved_by = ctx.now, by
        dispute.resolution_amount, dispute.resolution_note = amount, note
        self._note_history(dispute, ctx, "resolved", amount, note=note)
        self._record(
            ctx,
            "dispute_resolved",
            f"Dispute resolved {RESOLVED_HOW.get(by, by)}: refund of {amount} {self.currency}",
            dispute_id=dispute.id,
        )
        refund = self._issue_refund(
            amount, reason="dispute", source_type="dispute", source_id=dispute.id, ctx=ctx
        )
        dispute.refund_id = refund.id if refund else None
        self._after_dispute(ctx)

    def accept_dispute(self, dispute_id: str, ctx: Ctx) -> Dispute:
        """The seller agrees to the requested refund."""
        dispute = self.find_dispute(dispute_id)
        self._dispute_in(dispute, D.OPEN)
        self._resolve(dispute, dispute.requested_amount, ctx, note=None, by="seller_accepted")
        return dispute

    def _seller_answer(self, dispute: Dispute, ctx: Ctx) -> None:
        move(dispute, D.SELLER_RESPONDED)
        dispute.seller_responded_at = ctx.now
        dispute.rounds += 1
        dispute.buyer_respond_by = ctx.now + self.policy.buyer_answer
        self._schedule("dispute_buyer_timeout", deadline_subject(dispute), dispute.buyer_respond_by)

    def reject_dispute(self, dispute_id: str, *, reason: object, ctx: Ctx) -> Dispute:
        """The seller refuses the claim; the buyer may modify it, escalate or withdraw."""
        why = text(reason, "reason", max_len=500)
        dispute = self.find_dispute(dispute_id)
        self._dispute_in(dispute, D.OPEN)
        dispute.seller_response, dispute.seller_reject_reason = "rejected", why
        dispute.proposed_amount = None
        self._seller_answer(dispute, ctx)
        self._note_history(dispute, ctx, "rejected", note=why)
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
        self._note_history(dispute, ctx, "proposed", offer)
        self._record(
            ctx,
            "dispute_proposal",
            f"The seller proposed a refund of {offer} {self.currency}",
            dispute_id=dispute.id,
        )
        return dispute

    def expire_dispute_answer(self, subject: str, ctx: Ctx) -> None:
        """A seller silent past respond_by loses: the buyer is refunded what is left."""
        dispute = self.find_dispute(subject)
        if dispute.status == D.OPEN and ctx.now >= dispute.respond_by:
            amount = min(dispute.requested_amount, self.refundable)
            self._resolve(
                dispute, amount, ctx, note="the seller did not answer in time", by="default"
            )
