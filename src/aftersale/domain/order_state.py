"""The order aggregate's state and the helpers every rule shares (refunds, ledger, timeline)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from aftersale.domain.context import Ctx
from aftersale.domain.entities import (
    CancellationRequest,
    CancellationStatus,
    Deadline,
    Dispute,
    DisputeStatus,
    Event,
    LedgerEntry,
    OrderStatus,
    Refund,
    RefundStatus,
    Return,
    ReturnStatus,
    TimelineEntry,
    new_id,
)
from aftersale.domain.errors import DomainError, InvalidState, NotFound
from aftersale.domain.lines import OrderLine
from aftersale.domain.machines import move
from aftersale.domain.money import Money, exponent
from aftersale.domain.policy import Policy

S = OrderStatus
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.AWAITING_PAYMENT: frozenset({S.AWAITING_FULFILLMENT, S.CANCELLED}),
    S.AWAITING_FULFILLMENT: frozenset({S.AWAITING_SHIPMENT, S.SHIPPED, S.CANCELLED}),
    S.AWAITING_SHIPMENT: frozenset({S.SHIPPED, S.CANCELLED}),
    S.SHIPPED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset({S.COMPLETED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
}
UNSHIPPED = frozenset({S.AWAITING_PAYMENT, S.AWAITING_FULFILLMENT, S.AWAITING_SHIPMENT})
PAID_UNSHIPPED = frozenset({S.AWAITING_FULFILLMENT, S.AWAITING_SHIPMENT})
AFTER_SHIPMENT = frozenset({S.SHIPPED, S.DELIVERED, S.COMPLETED})
ACTIVE_RETURN = frozenset({ReturnStatus.REQUESTED, ReturnStatus.APPROVED, ReturnStatus.IN_TRANSIT})
ACTIVE_DISPUTE = frozenset(
    {DisputeStatus.OPEN, DisputeStatus.SELLER_RESPONDED, DisputeStatus.ESCALATED}
)

# Ledger accounts of an order; the legs of every posting sum to zero.
BUYER, ESCROW, IN_TRANSIT, SELLER, PLATFORM = (
    "buyer_funding",
    "escrow",
    "refunds_in_transit",
    "seller_payable",
    "platform_revenue",
)


OrderItem = OrderLine  # (the older name)

# Why a refund was made, in words for the timeline (by the refund's reason code).
REFUND_WHY = {
    "order_cancelled": "the order was cancelled",
    "seller_did_not_ship": "the seller did not ship in time",
    "items_cancelled": "the seller cancelled items",
    "return": "the returned items",
    "dispute": "the dispute",
    "goodwill": "a goodwill gesture",
}


@dataclass(eq=False)
class OrderState:
    """Everything an order knows; rules live in the mixins that make up `Order`."""

    id: str
    buyer_id: str
    seller_id: str
    currency: str
    items: list[OrderLine]
    shipping_fee: Decimal
    total: Decimal
    status: OrderStatus
    buyer_country: str
    policy: Policy
    created_at: datetime
    updated_at: datetime
    version: int = 0
    paid_amount: Decimal = Decimal(0)
    refunded_amount: Decimal = Decimal(0)
    released_amount: Decimal = Decimal(0)
    payment_method: str | None = None
    refund_method: str | None = None  # None: back to the original payment method
    payment_reference: str | None = None
    paid_at: datetime | None = None
    packed_at: datetime | None = None
    shipped_at: datetime | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    delivered_at: datetime | None = None
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancelled_by: str | None = None
    cancel_reason: str | None = None
    ship_by_days: int = 7  # the seller's processing time, kept from the order's creation
    delivery_days: int = 60  # the promised delivery time (purchase protection)
    ship_by: datetime | None = None  # paid_at + ship_by_days
    protection_ends_at: datetime | None = None  # shipped_at + delivery_days + extensions
    protection_extensions: int = 0
    cancellations: list[CancellationRequest] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    returns: list[Return] = field(default_factory=list)
    disputes: list[Dispute] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)
    # Written by the repository in the same transaction, never read back into the aggregate.
    new_ledger: list[LedgerEntry] = field(default_factory=list)
    new_deadlines: list[Deadline] = field(default_factory=list)
    new_events: list[Event] = field(default_factory=list)

    # ---- reading -------------------------------------------------------------------------
    @property
    def refundable(self) -> Decimal:
        """What may still be refunded: paid, less refunds that have not failed, less releases."""
        return self.paid_amount - self.refunded_amount - self.released_amount

    @property
    def fully_refunded(self) -> bool:
        """Whether everything paid has been refunded (or is being refunded)."""
        return self.paid_amount > 0 and self.refunded_amount >= self.paid_amount

    @property
    def cancellation(self) -> CancellationRequest | None:
        """The latest cancellation request, if any."""
        return self.cancellations[-1] if self.cancellations else None

    @property
    def pending_cancellation(self) -> CancellationRequest | None:
        """The cancellation request waiting for the seller, if any."""
        c = self.cancellation
        return c if c is not None and c.status == "pending" else None

    @property
    def active_dispute(self) -> Dispute | None:
        """The dispute still in progress, if any (at most one)."""
        return next((d for d in self.disputes if d.status in ACTIVE_DISPUTE), None)

    def money(self, amount: Decimal) -> Money:
        """An amount in the order's currency."""
        return Money(amount, self.currency)

    def find_refund(self, refund_id: str) -> Refund:
        """The order's refund with that id."""
        for r in self.refunds:
            if r.id == refund_id:
                return r
        raise NotFound(f"refund {refund_id} not found")

    # ---- recording -----------------------------------------------------------------------
    def _move(self, to: OrderStatus, ctx: Ctx) -> None:
        """Change status through the transition table; an illegal move raises."""
        if to not in TRANSITIONS[self.status]:
            raise InvalidState(f"an order that is {self.status} cannot become {to}")
        self.status = to
        self.updated_at = ctx.now

    def _record(
        self, ctx: Ctx, event: str, detail: str, *, by: str | None = None, **data: object
    ) -> None:
        """Add a timeline entry (shown as `by`'s, default the actor's) and an outbox event."""
        self._note(ctx, event, detail, by=by)
        self.new_events.append(
            Event(
                type=f"order.{event}",
                order_id=self.id,
                at=ctx.now,
                data={"actor": ctx.actor.timeline_name, **data},
            )
        )

    def _note(self, ctx: Ctx, event: str, detail: str, *, by: str | None = None) -> None:
        """Add a timeline entry for what just happened (shown as `by`'s, default the actor's)."""
        self.updated_at = ctx.now
        self.timeline.append(
            TimelineEntry(
                order_id=self.id,
                at=ctx.now,
                actor=by or ctx.actor.timeline_name,
                event=event,
                detail=detail,
            )
        )

    def _schedule(self, kind: str, subject_id: str, due_at: datetime) -> None:
        """Ask the worker to apply rule `kind` to this order at `due_at`."""
        self.new_deadlines.append(
            Deadline(kind=kind, order_id=self.id, subject_id=subject_id, due_at=due_at)
        )

    def _post(self, ctx: Ctx, kind: str, *legs: tuple[str, Decimal]) -> None:
        """Write one balanced ledger posting; unbalanced legs are a programming error."""
        if sum((amount for _, amount in legs), Decimal(0)) != 0:
            raise AssertionError(f"unbalanced ledger posting {kind}: {legs}")
        txn = new_id("txn")
        for account, amount in legs:
            if amount:
                self.new_ledger.append(
                    LedgerEntry(
                        order_id=self.id,
                        txn_id=txn,
                        account=account,
                        amount=amount,
                        currency=self.currency,
                        kind=kind,
                        at=ctx.now,
                    )
                )

    def _answer_request(
        self,
        request: CancellationRequest,
        to: CancellationStatus,
        event: str,
        detail: str,
        ctx: Ctx,
    ) -> None:
        """Close a pending cancellation request (accepted, rejected or auto-accepted)."""
        move(request, to)
        request.responded_at = ctx.now
        self._record(ctx, event, detail, cancellation_id=request.id)

    def _issue_refund(
        self,
        amount: Decimal,
        *,
        reason: str,
        source_type: str,
        source_id: str,
        ctx: Ctx,
        note: str | None = None,
    ) -> Refund | None:
        """Take `amount` out of escrow as a refund to the buyer; over the ceiling raises."""
        if amount <= 0:
            return None
        if amount > self.refundable:
            raise DomainError(
                f"a refund of {amount} {self.currency} exceeds the {self.refundable} "
                f"{self.currency} still refundable",
                code="refund_exceeds_paid",
            )
        if any(r.source_type == source_type and r.source_id == source_id for r in self.refunds):
            raise InvalidState(f"{source_type} {source_id} has been refunded already")
        p = self.policy
        refund = Refund(
            id=new_id("ref"),
            order_id=self.id,
            amount=amount,
            currency=self.currency,
            method=self.refund_method or self.payment_method or "card",
            status=RefundStatus.PENDING,
            reason=reason,
            source_type=source_type,
            source_id=source_id,
            created_at=ctx.now,
            expected_by=ctx.calendar.add_working_days(
                ctx.now, p.refund_promise_working_days, self.buyer_country
            ),
            note=note,
        )
        self.refunds.append(refund)
        self.refunded_amount += amount
        self._post(ctx, "refund", (ESCROW, -amount), (IN_TRANSIT, amount))
        self._schedule("refund_submit", refund.id, ctx.now)
        # A refund that follows from a rule (cancellation, return, dispute) is the system's;
        # a goodwill refund or a retry is the staff member's.
        by_staff = source_type in ("goodwill", "retry")
        self._record(
            ctx,
            "refund_created",
            f"Refund of {amount} {self.currency} created "
            f"({note or REFUND_WHY.get(reason, reason)}); expected by "
            f"{refund.expected_by:%Y-%m-%d}",
            by=None if by_staff else "system",
            refund_id=refund.id,
            amount=str(amount),
        )
        return refund

    def windows_closed(self, ctx: Ctx) -> bool:
        """Whether the return and dispute windows have both closed.

        A window is open up to and including its last moment ("later than 15 days after
        delivery" is refused), so the order completes only after that moment."""
        if self.delivered_at is None:
            return False
        p = self.policy
        return ctx.now > self.delivered_at + max(p.return_window, p.dispute_window)

    def completion_due(self) -> datetime:
        """When the completion deadline fires: one second after the last window closed."""
        assert self.delivered_at is not None
        p = self.policy
        return self.delivered_at + max(p.return_window, p.dispute_window) + timedelta(seconds=1)

    def _try_complete(self, ctx: Ctx) -> None:
        """Complete the order and release escrow once the windows closed with nothing open."""
        if self.status != S.DELIVERED or not self.windows_closed(ctx):
            return
        if any(r.status in ACTIVE_RETURN for r in self.returns) or any(
            d.status in ACTIVE_DISPUTE for d in self.disputes
        ):
            return
        self._move(S.COMPLETED, ctx)
        self.completed_at = ctx.now
        release = self.refundable
        fee = (release * self.policy.platform_fee_percent / 100).quantize(
            exponent(self.currency), rounding=ROUND_HALF_EVEN
        )
        self.released_amount += release
        self._post(ctx, "release", (ESCROW, -release), (SELLER, release - fee), (PLATFORM, fee))
        self._record(
            ctx, "completed", f"Completed; {release - fee} {self.currency} released to the seller"
        )
