"""Rules 10 and 11: the seller's processing time and the buyer's purchase protection, so that
no order waits forever for a party that never acts."""

from __future__ import annotations

from datetime import timedelta

from aftersale.domain.actors import SYSTEM
from aftersale.domain.context import Ctx
from aftersale.domain.entities import CancellationStatus, OrderStatus
from aftersale.domain.errors import InvalidState, ValidationFailed
from aftersale.domain.order_state import PAID_UNSHIPPED, OrderState

S = OrderStatus
MAX_EXTENSION_DAYS = 30


class TimerRules(OrderState):
    """What happens when the seller does not ship, or the parcel never arrives."""

    def deliver(self, ctx: Ctx) -> None:
        """Provided by LifecycleRules (declared here for the type checker)."""
        raise AssertionError("Order composes LifecycleRules before TimerRules")

    def _cancel(
        self, *, by: str, reason: str, ctx: Ctx, detail: str | None = None, refund_reason: str = ""
    ) -> None:
        """Provided by CancellationRules (declared here for the type checker)."""
        raise AssertionError("Order composes CancellationRules before TimerRules")

    def expire_ship_by(self, _subject: str, ctx: Ctx) -> None:
        """At `ship_by` a paid order still unshipped is cancelled and refunded in full."""
        if self.status not in PAID_UNSHIPPED or self.ship_by is None or ctx.now < self.ship_by:
            return
        request = self.pending_cancellation
        if request is not None:
            self._answer_request(
                request,
                CancellationStatus.AUTO_ACCEPTED,
                "cancellation_auto_accepted",
                "The seller did not ship in time: the cancellation was accepted automatically",
                ctx,
            )
        self._cancel(
            by="system",
            reason="seller_did_not_ship",
            ctx=ctx,
            detail="Cancelled automatically: the seller did not ship in time",
            refund_reason="seller_did_not_ship",
        )

    def extend_protection(self, *, days: object, ctx: Ctx) -> None:
        """The seller (or staff) gives the parcel more time before receipt is confirmed."""
        if isinstance(days, bool) or not isinstance(days, int):
            raise ValidationFailed("days must be a whole number", field="days")
        if not 1 <= days <= MAX_EXTENSION_DAYS:
            raise ValidationFailed(f"days must be from 1 to {MAX_EXTENSION_DAYS}", field="days")
        if self.status != S.SHIPPED or self.protection_ends_at is None:
            raise InvalidState(
                f"the order is {self.status}; only a shipped order's protection can be extended"
            )
        self.protection_ends_at += timedelta(days=days)
        self.protection_extensions += 1
        # a deadline of its own per extension (deadlines are unique per kind and subject)
        self._schedule(
            "protection_end", f"{self.id}.{self.protection_extensions}", self.protection_ends_at
        )
        self._record(
            ctx,
            "protection_extended",
            f"Purchase protection extended by {days} days, to "
            f"{self.protection_ends_at:%Y-%m-%d %H:%M} UTC",
            days=days,
            protection_ends_at=self.protection_ends_at.isoformat(),
        )

    def protection_over(self, ctx: Ctx) -> bool:
        """Whether a shipped order's purchase protection has run out."""
        return (
            self.status == S.SHIPPED
            and self.protection_ends_at is not None
            and ctx.now >= self.protection_ends_at
        )

    def expire_protection(self, _subject: str, ctx: Ctx) -> None:
        """At the end of purchase protection, an undelivered order with no dispute open is
        taken as received; the return and dispute windows run from then."""
        if self.protection_over(ctx) and self.active_dispute is None:
            self.deliver(Ctx(actor=SYSTEM, now=ctx.now, calendar=ctx.calendar))

    def _after_dispute(self, ctx: Ctx) -> None:
        """A dispute ended: confirm receipt if protection ran out meanwhile, or complete."""
        if self.protection_over(ctx) and self.active_dispute is None:
            self.deliver(Ctx(actor=SYSTEM, now=ctx.now, calendar=ctx.calendar))
        self._try_complete(ctx)
