"""Rule 5: returns within the window, approval, shipping back, inspection and refund."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from aftersale.domain.context import Ctx
from aftersale.domain.entities import OrderStatus, Return, ReturnStatus, new_id
from aftersale.domain.errors import DomainError, InvalidState, NotFound, ValidationFailed
from aftersale.domain.lines import check_available, parse_quantities
from aftersale.domain.machines import move
from aftersale.domain.order_state import OrderState
from aftersale.domain.reasons import RETURN_REASONS, SELLER_FAULT_RETURNS, check_reason
from aftersale.domain.validate import optional_text, text

S = OrderStatus
R = ReturnStatus
CONDITIONS = ("unopened", "opened_unused", "used", "defective")
COUNTED = frozenset({R.REQUESTED, R.APPROVED, R.IN_TRANSIT, R.REFUNDED})


class ReturnRules(OrderState):
    """Returning delivered items for a refund after inspection."""

    def find_return(self, return_id: str) -> Return:
        """The order's return with that id."""
        for r in self.returns:
            if r.id == return_id:
                return r
        raise NotFound(f"return {return_id} not found")

    def returnable_quantities(self) -> Counter[str]:
        """Per SKU, how many units are not yet claimed by a live or refunded return."""
        left: Counter[str] = Counter()
        for item in self.items:
            left[item.sku] += item.remaining
        for r in self.returns:
            if r.status in COUNTED:
                for line in r.items:
                    left[line["sku"]] -= int(line["quantity"])
        return left

    def return_window_open(self, ctx: Ctx) -> bool:
        """Whether a return may be requested now."""
        return (
            self.status == S.DELIVERED
            and self.delivered_at is not None
            and ctx.now <= self.delivered_at + self.policy.return_window
        )

    def open_return(
        self, *, reason: object, items: object, condition: object, description: object, ctx: Ctx
    ) -> Return:
        """The buyer asks to return some items of a delivered order."""
        code = check_reason(reason, RETURN_REASONS)
        if condition not in CONDITIONS:
            raise ValidationFailed(
                f"condition must be one of: {', '.join(CONDITIONS)}", field="condition"
            )
        note = optional_text(description, "description", max_len=2000)
        wanted = parse_quantities(items)
        if self.status in (S.COMPLETED,) or (
            self.status == S.DELIVERED and not self.return_window_open(ctx)
        ):
            raise DomainError(
                f"returns close {self.policy.return_window_days} days after delivery",
                code="return_window_closed",
            )
        if self.status != S.DELIVERED:
            raise DomainError("the order has not been delivered yet", code="order_not_delivered")
        left = self.returnable_quantities()
        check_available(wanted, {i.sku: left[i.sku] for i in self.items}, "returned")
        prices = {i.sku: i.unit_price for i in self.items}
        amount = sum((prices[sku] * qty for sku, qty in wanted.items()), Decimal(0))
        if code in SELLER_FAULT_RETURNS and all(
            wanted.get(sku, 0) == n for sku, n in left.items()
        ):  # everything still returnable goes back, for the seller's fault: the fee too
            amount += self.shipping_fee
        ret = Return(
            id=new_id("ret"),
            order_id=self.id,
            status=R.REQUESTED,
            reason=code,
            condition=str(condition),
            description=note,
            items=[{"sku": s, "quantity": q} for s, q in wanted.items()],
            amount=amount,
            requested_at=ctx.now,
            respond_by=ctx.now + self.policy.seller_answer,
        )
        self.returns.append(ret)
        self._schedule("return_answer_timeout", ret.id, ret.respond_by)
        self._record(
            ctx,
            "return_requested",
            f"Return requested for {amount} {self.currency} ({RETURN_REASONS[code]})",
            return_id=ret.id,
        )
        return ret

    def _return_in(self, ret: Return, *states: ReturnStatus) -> None:
        if ret.status not in states:
            raise InvalidState(f"the return is {ret.status}")

    def approve_return(self, return_id: str, ctx: Ctx) -> Return:
        """The seller (or the timeout) approves a return request."""
        ret = self.find_return(return_id)
        self._return_in(ret, R.REQUESTED)
        move(ret, R.APPROVED)
        ret.approved_at = ctx.now
        ret.ship_by = ctx.now + self.policy.return_ship
        self._schedule("return_ship_timeout", ret.id, ret.ship_by)
        who = "automatically: the seller did not answer" if ctx.actor.role == "system" else ""
        self._record(ctx, "return_approved", f"Return approved {who}".strip(), return_id=ret.id)
        return ret

    def reject_return(self, return_id: str, *, reason: object, ctx: Ctx) -> Return:
        """The seller rejects a return request."""
        why = text(reason, "reason", max_len=500)
        ret = self.find_return(return_id)
        self._return_in(ret, R.REQUESTED)
        move(ret, R.REJECTED)
        ret.rejected_at, ret.reject_reason = ctx.now, why
        self._record(ctx, "return_rejected", f"Return rejected: {why}", return_id=ret.id)
        self._try_complete(ctx)
        return ret

    def ship_return(
        self, return_id: str, *, carrier: object, tracking_number: object, ctx: Ctx
    ) -> Return:
        """The buyer sends the items back."""
        carrier_name = text(carrier, "carrier", max_len=100)
        tracking = text(tracking_number, "tracking_number", max_len=100)
        ret = self.find_return(return_id)
        self._return_in(ret, R.APPROVED)
        if ret.ship_by is not None and ctx.now > ret.ship_by:
            raise InvalidState("the time to ship this return back has passed")
        move(ret, R.IN_TRANSIT)
        ret.shipped_at, ret.carrier, ret.tracking_number = ctx.now, carrier_name, tracking
        ret.receive_by = ctx.now + self.policy.return_receive
        self._schedule("return_receive_timeout", ret.id, ret.receive_by)
        self._record(
            ctx,
            "return_shipped",
            f"Return shipped with {carrier_name}, tracking {tracking}",
            return_id=ret.id,
        )
        return ret

    def receive_return(
        self, return_id: str, *, condition_ok: object, notes: object, ctx: Ctx
    ) -> Return:
        """Inspection on arrival: fine items are refunded, bad ones are not."""
        if not isinstance(condition_ok, bool):
            raise ValidationFailed("condition_ok must be true or false", field="condition_ok")
        note = optional_text(notes, "notes", max_len=2000)
        ret = self.find_return(return_id)
        self._return_in(ret, R.IN_TRANSIT)
        ret.received_at, ret.inspection_notes = ctx.now, note
        if not condition_ok:
            move(ret, R.REJECTED)
            ret.rejected_at = ctx.now
            ret.reject_reason = note or "the items failed inspection"
            self._record(
                ctx,
                "return_rejected",
                "Return inspected: not in acceptable condition, nothing refunded",
                return_id=ret.id,
            )
        else:
            move(ret, R.REFUNDED)
            for line in self.items:
                line.returned_quantity += sum(
                    int(x["quantity"]) for x in ret.items if x["sku"] == line.sku
                )
            accepted = (
                "Return not received in time: refunded as if it arrived in good condition"
                if ctx.actor.role == "system"
                else "Return inspected and accepted"
            )
            self._record(ctx, "return_received", accepted, return_id=ret.id)
            refund = self._issue_refund(
                min(ret.amount, self.refundable),
                reason="return",
                source_type="return",
                source_id=ret.id,
                ctx=ctx,
            )
            ret.refund_id = refund.id if refund else None
        self._try_complete(ctx)
        return ret

    def expire_return_answer(self, return_id: str, ctx: Ctx) -> None:
        """A return request the seller left unanswered is approved by the system."""
        ret = self.find_return(return_id)
        if ret.status == R.REQUESTED and ctx.now >= ret.respond_by:
            self.approve_return(return_id, ctx)

    def expire_return_shipping(self, return_id: str, ctx: Ctx) -> None:
        """An approved return the buyer never shipped closes."""
        ret = self.find_return(return_id)
        if ret.status == R.APPROVED and ret.ship_by is not None and ctx.now >= ret.ship_by:
            move(ret, R.CLOSED)
            ret.closed_at = ctx.now
            self._record(
                ctx, "return_closed", "Return closed: not shipped back in time", return_id=ret.id
            )
            self._try_complete(ctx)

    def expire_return_receipt(self, return_id: str, ctx: Ctx) -> None:
        """A returned parcel the seller has not received in time is refunded as if it had
        arrived in good condition (rule 12)."""
        ret = self.find_return(return_id)
        if ret.status == R.IN_TRANSIT and ret.receive_by is not None and ctx.now >= ret.receive_by:
            self.receive_return(
                return_id,
                condition_ok=True,
                notes="not received by the seller in time",
                ctx=ctx,
            )
