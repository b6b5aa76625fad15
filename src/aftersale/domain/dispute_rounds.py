"""Rule 15: what the buyer does after each answer of the seller (accept a proposal, modify
the request for another round, escalate, withdraw), the platform's decision, the timeouts."""

from __future__ import annotations

from aftersale.domain.context import Ctx
from aftersale.domain.disputes import DisputeRules, deadline_subject
from aftersale.domain.entities import Dispute, DisputeStatus
from aftersale.domain.errors import DomainError, InvalidState
from aftersale.domain.machines import move
from aftersale.domain.money import parse_amount
from aftersale.domain.validate import optional_text, text

D = DisputeStatus


class DisputeRoundRules(DisputeRules):
    """The buyer's moves after an answer, the platform's decision and the timeouts."""

    def accept_proposal(self, dispute_id: str, ctx: Ctx) -> Dispute:
        """The buyer takes the seller's offer."""
        dispute = self.find_dispute(dispute_id)
        self._dispute_in(dispute, D.SELLER_RESPONDED)
        if dispute.proposed_amount is None:
            raise InvalidState("the seller made no proposal to accept")
        self._resolve(dispute, dispute.proposed_amount, ctx, note=None, by="buyer_accepted")
        return dispute

    def modify_dispute(
        self, dispute_id: str, *, refund_type: object, amount: object, description: object, ctx: Ctx
    ) -> Dispute:
        """The buyer changes the request; the seller answers again (at most `dispute_rounds`
        answers per dispute)."""
        asked = self._asked(refund_type, amount)
        story = optional_text(description, "description", max_len=2000)
        dispute = self.find_dispute(dispute_id)
        self._dispute_in(dispute, D.SELLER_RESPONDED)
        if dispute.rounds >= self.policy.dispute_rounds:
            raise DomainError(
                f"the seller has answered {dispute.rounds} times; you can accept a proposal, "
                "escalate to the platform or withdraw",
                code="dispute_rounds_exhausted",
            )
        requested = self._requested(asked)
        move(dispute, D.OPEN)
        dispute.refund_type, dispute.requested_amount = str(refund_type), requested
        if story is not None:
            dispute.description = story
        dispute.seller_response = dispute.seller_reject_reason = None
        dispute.proposed_amount = dispute.buyer_respond_by = None
        dispute.respond_by = ctx.now + self.policy.seller_answer
        self._schedule("dispute_answer_timeout", deadline_subject(dispute), dispute.respond_by)
        self._note_history(dispute, ctx, "modified", requested, note=story)
        self._record(
            ctx,
            "dispute_modified",
            f"The buyer changed the dispute, asking for {requested} {self.currency}",
            dispute_id=dispute.id,
        )
        return dispute

    def withdraw_dispute(self, dispute_id: str, ctx: Ctx) -> Dispute:
        """The buyer gives the dispute up: closed, no refund."""
        dispute = self.find_dispute(dispute_id)
        self._dispute_in(dispute, D.OPEN, D.SELLER_RESPONDED)
        self._close_dispute(dispute, ctx, "withdrawn", "The buyer withdrew the dispute")
        return dispute

    def _close_dispute(self, dispute: Dispute, ctx: Ctx, why: str, detail: str) -> None:
        move(dispute, D.CLOSED)
        dispute.closed_at, dispute.closed_reason = ctx.now, why
        self._note_history(dispute, ctx, why)
        self._record(ctx, "dispute_closed", detail, dispute_id=dispute.id, closed_reason=why)
        self._after_dispute(ctx)

    def escalate_dispute(self, dispute_id: str, ctx: Ctx) -> Dispute:
        """The buyer asks the platform to decide (a target of `platform_answer_days`)."""
        dispute = self.find_dispute(dispute_id)
        self._dispute_in(dispute, D.SELLER_RESPONDED)
        move(dispute, D.ESCALATED)
        dispute.escalated_at = ctx.now
        dispute.decide_by = ctx.now + self.policy.platform_answer
        self._note_history(dispute, ctx, "escalated")
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

    def expire_buyer_answer(self, subject: str, ctx: Ctx) -> None:
        """A buyer who neither accepts, modifies nor escalates in time: closed, no refund."""
        dispute = self.find_dispute(subject)
        if (
            dispute.status == D.SELLER_RESPONDED
            and dispute.buyer_respond_by is not None
            and ctx.now >= dispute.buyer_respond_by
        ):
            self._close_dispute(
                dispute, ctx, "buyer_timeout", "Dispute closed: the buyer did not answer in time"
            )
