"""Random sequences of domain actions on one Order keep money, ledger and actions consistent."""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from aftersale.domain.actions import allowed_actions, dispute_actions, return_actions
from aftersale.domain.actors import Actor
from aftersale.domain.errors import DomainError
from aftersale.domain.order import Order
from aftersale.domain.order_state import ESCROW, IN_TRANSIT
from tests.unit.fakes import ADMIN, BUYER, SELLER, Clock, new_order

AMOUNTS = st.sampled_from(["0.01", "1.00", "10.00", "30.00", "60.00", "61.00"])
REASONS = st.sampled_from(["changed_mind", "other", "bogus"])
TEXTS = st.sampled_from(["out of stock", ""])
INDEX = st.integers(0, 3)
DAY = 86400
STEPS = [1, 3600, 71 * 3600, 72 * 3600, 3 * DAY, 5 * DAY, 7 * DAY, 10 * DAY, 16 * DAY, 60 * DAY]
REFUND_KINDS = {"refund_submit", "refund_settle"}
CANCELS = {"cancel", "request_cancellation", "seller_cancel"}
REFUSED = object()


def pick(items: list[Any], i: int) -> str:
    """The id of the i-th item (cyclically), or an unknown id when there is none."""
    return str(items[i % len(items)].id) if items else "missing"


Call = tuple[Actor, Callable[[Order, Any], object]]


def dispute_calls(did: str) -> dict[str, Call]:
    """Each dispute action name with who takes it and how."""
    return {
        "accept": (SELLER, lambda t, c: t.accept_dispute(did, c)),
        "reject": (SELLER, lambda t, c: t.reject_dispute(did, reason="no", ctx=c)),
        "propose": (SELLER, lambda t, c: t.propose_refund(did, amount="0.01", ctx=c)),
        "accept_proposal": (BUYER, lambda t, c: t.accept_proposal(did, c)),
        "modify": (
            BUYER,
            lambda t, c: t.modify_dispute(
                did, refund_type="partial", amount="0.01", description=None, ctx=c
            ),
        ),
        "withdraw": (BUYER, lambda t, c: t.withdraw_dispute(did, c)),
        "escalate": (BUYER, lambda t, c: t.escalate_dispute(did, c)),
        "resolve": (ADMIN, lambda t, c: t.decide_dispute(did, refund_amount="0", note="n", ctx=c)),
    }


def return_calls(rid: str) -> dict[str, Call]:
    """Each return action name with who takes it and how."""
    return {
        "approve": (SELLER, lambda t, c: t.approve_return(rid, c)),
        "reject": (SELLER, lambda t, c: t.reject_return(rid, reason="no", ctx=c)),
        "ship": (BUYER, lambda t, c: t.ship_return(rid, carrier="U", tracking_number="1", ctx=c)),
        "receive": (
            SELLER,
            lambda t, c: t.receive_return(rid, condition_ok=False, notes=None, ctx=c),
        ),
    }


class OrderMachine(RuleBasedStateMachine):
    """Drives one order through random actions, refusals, deadlines and settlements."""

    order: Order

    @initialize(
        stage=st.sampled_from(["placed", "paid", "packed", "shipped", "delivered", "delivered"]),
        method=st.sampled_from(["card", "balance"]),
    )
    def place(self, stage: str, method: str) -> None:
        self.clock = Clock()
        self.order = new_order(self.clock)
        self.fired = 0  # how many of order.new_deadlines have been handled
        o, ctx = self.order, self.clock.ctx
        steps: list[Callable[[], object]] = [
            lambda: o.record_payment(amount="60.00", method=method, reference="p", ctx=ctx(ADMIN)),
            lambda: o.pack(ctx(SELLER)),
            lambda: o.ship(carrier="DHL", tracking_number="T", ctx=ctx(SELLER)),
            lambda: o.deliver(ctx(ADMIN)),
        ]
        for step in steps[: ["placed", "paid", "packed", "shipped", "delivered"].index(stage)]:
            step()

    # ---- running actions ---------------------------------------------------------------
    def attempt(self, actor: Actor, action: Callable[[Order, Any], object]) -> None:
        """Run an action; a refusal must leave the order exactly as it was."""
        before = copy.deepcopy(self.order.__dict__)
        try:
            action(self.order, self.clock.ctx(actor))
        except DomainError:
            assert self.order.__dict__ == before, "a refused action changed the order"

    def fire_due(self, until: Any) -> None:
        """Fire deadlines due by `until` in due order, each as of its own due time."""
        while True:
            waiting = [
                (d.due_at, n, d)
                for n, d in enumerate(self.order.new_deadlines)
                if n >= self.fired and d.due_at <= until
            ]
            if not waiting:
                return
            due_at, n, d = min(waiting, key=lambda w: (w[0], w[1]))
            # deadlines are handled in list order; move the earliest due one to the front
            deadlines = self.order.new_deadlines
            deadlines.insert(self.fired, deadlines.pop(n))
            self.fired += 1
            if d.kind not in REFUND_KINDS:  # refunds are settled by the rules below
                self.order.fire_deadline(d.kind, d.subject_id, self.clock.ctx(at=due_at))

    # ---- the rules -----------------------------------------------------------------------
    @rule(amount=st.sampled_from(["60.00", "59.99"]), method=st.sampled_from(["card", "balance"]))
    def pay(self, amount: str, method: str) -> None:
        self.attempt(
            ADMIN,
            lambda o, c: o.record_payment(amount=amount, method=method, reference="p", ctx=c),
        )

    @rule()
    def pack(self) -> None:
        self.attempt(SELLER, lambda o, c: o.pack(c))

    @rule()
    def ship(self) -> None:
        self.attempt(SELLER, lambda o, c: o.ship(carrier="DHL", tracking_number="T", ctx=c))

    @rule(by_buyer=st.booleans())
    def deliver(self, by_buyer: bool) -> None:
        self.attempt(BUYER if by_buyer else ADMIN, lambda o, c: o.deliver(c))

    @rule(reason=REASONS)
    def cancel(self, reason: str) -> None:
        self.attempt(BUYER, lambda o, c: o.cancel(reason=reason, comment=None, ctx=c))

    @rule()
    def accept_cancellation(self) -> None:
        self.attempt(SELLER, lambda o, c: o.accept_cancellation(c))

    @rule(reason=TEXTS)
    def reject_cancellation(self, reason: str) -> None:
        self.attempt(SELLER, lambda o, c: o.reject_cancellation(reason=reason, ctx=c))

    @rule(reason=TEXTS)
    def seller_cancel(self, reason: str) -> None:
        self.attempt(SELLER, lambda o, c: o.seller_cancel(reason=reason, ctx=c))

    @rule(sku=st.sampled_from(["SKU-1", "SKU-2", "SKU-9"]), qty=st.integers(1, 3))
    def open_return(self, sku: str, qty: int) -> None:
        items = [{"sku": sku, "quantity": qty}]
        self.attempt(
            BUYER,
            lambda o, c: o.open_return(
                reason="damaged", items=items, condition="unopened", description=None, ctx=c
            ),
        )

    @precondition(lambda self: bool(self.order.returns))
    @rule(i=INDEX, action=st.sampled_from(["approve", "reject", "ship"]))
    def answer_return(self, i: int, action: str) -> None:
        rid = pick(self.order.returns, i)
        if action == "approve":
            self.attempt(SELLER, lambda o, c: o.approve_return(rid, c))
        elif action == "reject":
            self.attempt(SELLER, lambda o, c: o.reject_return(rid, reason="worn", ctx=c))
        else:
            self.attempt(
                BUYER, lambda o, c: o.ship_return(rid, carrier="UPS", tracking_number="R", ctx=c)
            )

    @precondition(lambda self: bool(self.order.returns))
    @rule(i=INDEX, ok=st.booleans())
    def receive_return(self, i: int, ok: bool) -> None:
        rid = pick(self.order.returns, i)
        self.attempt(SELLER, lambda o, c: o.receive_return(rid, condition_ok=ok, notes=None, ctx=c))

    @rule(full=st.booleans(), amount=AMOUNTS)
    def open_dispute(self, full: bool, amount: str) -> None:
        self.attempt(
            BUYER,
            lambda o, c: o.open_dispute(
                reason="not_received",
                refund_type="full" if full else "partial",
                amount=None if full else amount,
                description="where is it",
                ctx=c,
            ),
        )

    @precondition(lambda self: bool(self.order.disputes))
    @rule(i=INDEX, action=st.sampled_from(["accept", "reject", "accept_proposal", "escalate"]))
    def answer_dispute(self, i: int, action: str) -> None:
        did = pick(self.order.disputes, i)
        if action == "accept":
            self.attempt(SELLER, lambda o, c: o.accept_dispute(did, c))
        elif action == "reject":
            self.attempt(SELLER, lambda o, c: o.reject_dispute(did, reason="no", ctx=c))
        elif action == "accept_proposal":
            self.attempt(BUYER, lambda o, c: o.accept_proposal(did, c))
        else:
            self.attempt(BUYER, lambda o, c: o.escalate_dispute(did, c))

    @precondition(lambda self: bool(self.order.disputes))
    @rule(i=INDEX, amount=AMOUNTS)
    def propose_refund(self, i: int, amount: str) -> None:
        did = pick(self.order.disputes, i)
        self.attempt(SELLER, lambda o, c: o.propose_refund(did, amount=amount, ctx=c))

    @precondition(lambda self: bool(self.order.disputes))
    @rule(i=INDEX, amount=AMOUNTS)
    def decide_dispute(self, i: int, amount: str) -> None:
        did = pick(self.order.disputes, i)
        self.attempt(
            ADMIN, lambda o, c: o.decide_dispute(did, refund_amount=amount, note="ok", ctx=c)
        )

    @rule(sku=st.sampled_from(["SKU-1", "SKU-2", "SKU-9"]), qty=st.integers(1, 3))
    def seller_cancel_lines(self, sku: str, qty: int) -> None:
        items = [{"sku": sku, "quantity": qty}]
        self.attempt(SELLER, lambda o, c: o.seller_cancel(reason="no stock", items=items, ctx=c))

    @rule(days=st.sampled_from([1, 10, 30, 31]))
    def extend_protection(self, days: int) -> None:
        self.attempt(SELLER, lambda o, c: o.extend_protection(days=days, ctx=c))

    @rule(amount=AMOUNTS)
    def goodwill_refund(self, amount: str) -> None:
        self.attempt(ADMIN, lambda o, c: o.goodwill_refund(amount=amount, reason="sorry", ctx=c))

    @precondition(lambda self: bool(self.order.disputes))
    @rule(i=INDEX, full=st.booleans(), amount=AMOUNTS, withdraw=st.booleans())
    def buyer_moves_on_a_dispute(self, i: int, full: bool, amount: str, withdraw: bool) -> None:
        did = pick(self.order.disputes, i)
        if withdraw:
            self.attempt(BUYER, lambda o, c: o.withdraw_dispute(did, c))
            return
        self.attempt(
            BUYER,
            lambda o, c: o.modify_dispute(
                did,
                refund_type="full" if full else "partial",
                amount=None if full else amount,
                description=None,
                ctx=c,
            ),
        )

    @precondition(lambda self: bool(self.order.refunds))
    @rule(i=INDEX, outcome=st.sampled_from(["processing", "succeeded", "failed", "retry"]))
    def settle_refund(self, i: int, outcome: str) -> None:
        fid = pick(self.order.refunds, i)
        if outcome == "processing":
            self.attempt(
                ADMIN, lambda o, c: o.refund_processing(fid, reference="g", check_at=None, ctx=c)
            )
        elif outcome == "succeeded":
            self.attempt(ADMIN, lambda o, c: o.refund_succeeded(fid, c))
        elif outcome == "failed":
            self.attempt(ADMIN, lambda o, c: o.refund_failed(fid, failure="declined", ctx=c))
        else:
            self.attempt(ADMIN, lambda o, c: o.retry_refund(fid, c))

    @rule(seconds=st.sampled_from(STEPS))
    def advance(self, seconds: int) -> None:
        target = self.clock.now + timedelta(seconds=seconds)
        self.fire_due(target)
        self.clock.now = target

    @rule()
    def fire_what_is_due_now(self) -> None:
        self.fire_due(self.clock.now)

    # ---- invariants, checked after every step --------------------------------------------
    @invariant()
    def refunds_add_up_and_never_exceed_what_was_paid(self) -> None:
        o = self.order
        live = sum((r.amount for r in o.refunds if r.status != "failed"), Decimal(0))
        assert live == o.refunded_amount
        assert 0 <= o.refunded_amount <= o.paid_amount - o.released_amount
        sources = [(r.source_type, r.source_id) for r in o.refunds]
        assert len(sources) == len(set(sources)), "a cause was refunded twice"
        assert sum(1 for r in o.refunds if r.source_type == "cancellation") <= 1

    @invariant()
    def the_ledger_balances(self) -> None:
        o = self.order
        by_txn: dict[str, Decimal] = defaultdict(Decimal)
        by_account: dict[str, Decimal] = defaultdict(Decimal)
        for leg in o.new_ledger:
            by_txn[leg.txn_id] += leg.amount
            by_account[leg.account] += leg.amount
        assert all(v == 0 for v in by_txn.values()), by_txn
        assert sum(by_account.values(), Decimal(0)) == 0
        assert by_account[ESCROW] == o.paid_amount - o.refunded_amount - o.released_amount
        in_flight = [r.amount for r in o.refunds if r.status in ("pending", "processing")]
        assert by_account[IN_TRANSIT] == sum(in_flight, Decimal(0))

    @invariant()
    def no_order_waits_forever(self) -> None:
        """Every order neither completed nor cancelled has a pending deadline that will move
        it, or, where only a party can move it, that party has an allowed action."""
        o = self.order
        pending = self.order.new_deadlines[self.fired :]

        def due(kind: str, at: object, subject: str | None = None) -> bool:
            return any(
                d.kind == kind
                and d.due_at == at
                and (subject is None or d.subject_id.partition(".")[0] == subject)
                for d in pending
            )

        def moves_dispute(d: Any) -> bool:
            if d.status == "open":
                return due("dispute_answer_timeout", d.respond_by, d.id)
            if d.status == "seller_responded":
                return due("dispute_buyer_timeout", d.buyer_respond_by, d.id)
            return "resolve" in dispute_actions(o, d, self.clock.ctx(ADMIN))

        def moves_return(r: Any) -> bool:
            kind, at = {
                "requested": ("return_answer_timeout", r.respond_by),
                "approved": ("return_ship_timeout", r.ship_by),
                "in_transit": ("return_receive_timeout", r.receive_by),
            }[r.status]
            return due(kind, at, r.id)

        disputes = [d for d in o.disputes if d.status in ("open", "seller_responded", "escalated")]
        returns = [r for r in o.returns if r.status in ("requested", "approved", "in_transit")]
        assert all(moves_dispute(d) for d in disputes), "a dispute waits forever"
        assert all(moves_return(r) for r in returns), "a return waits forever"
        if o.status == "awaiting_payment":
            assert any(d.kind == "unpaid_close" for d in pending)
        elif o.status in ("awaiting_fulfillment", "awaiting_shipment"):
            assert due("ship_timeout", o.ship_by), "a paid order waits forever for shipment"
        elif o.status == "shipped":
            assert disputes or due("protection_end", o.protection_ends_at), "never delivered"
        elif o.status == "delivered":
            assert disputes or returns or due("order_complete", o.completion_due())

    @invariant()
    def every_offered_dispute_and_return_action_works_and_no_other(self) -> None:
        def works(actor: Actor, action: Callable[[Order, Any], object]) -> bool:
            trial = copy.deepcopy(self.order)
            try:
                action(trial, self.clock.ctx(actor))
            except DomainError:
                return False
            return True

        o = self.order
        for d in o.disputes:
            for name, (actor, call) in dispute_calls(d.id).items():
                offered = name in dispute_actions(o, d, self.clock.ctx(actor))
                if o.refundable < Decimal("0.01") and name in ("propose", "modify"):
                    continue  # offered, but no amount is left to ask for
                if name == "accept" and d.requested_amount > o.refundable:
                    continue  # offered; the ceiling refuses it (refund_exceeds_paid)
                assert offered == works(actor, call), (name, d.status)
        for r in o.returns:
            for name, (actor, call) in return_calls(r.id).items():
                offered = name in return_actions(r, self.clock.ctx(actor))
                assert offered == works(actor, call), (name, r.status)

    @invariant()
    def status_and_allowed_actions_agree(self) -> None:
        o = self.order
        buyer, seller, admin = (
            allowed_actions(o, self.clock.ctx(a)) for a in (BUYER, SELLER, ADMIN)
        )
        if o.status in ("shipped", "delivered", "completed", "cancelled"):
            assert not CANCELS & (set(buyer) | set(seller) | set(admin))
        if o.status == "awaiting_payment":
            assert "cancel" in buyer and "seller_cancel" in seller
        if o.pending_cancellation is not None:
            assert o.status in ("awaiting_fulfillment", "awaiting_shipment")
            assert {"accept_cancellation", "reject_cancellation"} <= set(seller)
            assert "ship" not in seller
        assert "message" in buyer and "message" in seller and admin == ["message"]

    @invariant()
    def every_offered_action_is_accepted_and_no_other(self) -> None:
        def works(actor: Actor, action: Callable[[Order, Any], object]) -> object:
            trial = copy.deepcopy(self.order)
            try:
                return action(trial, self.clock.ctx(actor))
            except DomainError:
                return REFUSED

        o = self.order
        buyer = set(allowed_actions(o, self.clock.ctx(BUYER)))
        seller = set(allowed_actions(o, self.clock.ctx(SELLER)))
        cancelled = works(BUYER, lambda t, c: t.cancel(reason="other", comment=None, ctx=c))
        assert ("cancel" in buyer) == (cancelled is True)
        assert ("request_cancellation" in buyer) == (cancelled is False)
        delivered = works(BUYER, lambda t, c: t.deliver(c))
        assert ("confirm_receipt" in buyer) == (delivered is not REFUSED)
        sku = next((s for s, q in o.returnable_quantities().items() if q > 0), "SKU-1")
        opened = works(
            BUYER,
            lambda t, c: t.open_return(
                reason="damaged",
                items=[{"sku": sku, "quantity": 1}],
                condition="unopened",
                description=None,
                ctx=c,
            ),
        )
        assert ("open_return" in buyer) == (opened is not REFUSED)
        disputed = works(
            BUYER,
            lambda t, c: t.open_dispute(
                reason="other", refund_type="full", amount=None, description="x", ctx=c
            ),
        )
        assert ("open_dispute" in buyer) == (disputed is not REFUSED)
        for name, action in (
            ("accept_cancellation", lambda t, c: t.accept_cancellation(c)),
            ("reject_cancellation", lambda t, c: t.reject_cancellation(reason="no", ctx=c)),
            ("seller_cancel", lambda t, c: t.seller_cancel(reason="no stock", ctx=c)),
            ("pack", lambda t, c: t.pack(c)),
            ("ship", lambda t, c: t.ship(carrier="DHL", tracking_number="T", ctx=c)),
            ("extend_protection", lambda t, c: t.extend_protection(days=1, ctx=c)),
        ):
            assert (name in seller) == (works(SELLER, action) is not REFUSED), name


OrderMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_random_order_histories_keep_money_ledger_and_actions_consistent = OrderMachine.TestCase
