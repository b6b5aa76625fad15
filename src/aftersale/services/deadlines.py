"""The deadline worker's use case: fire due deadlines exactly once, in batches."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

from aftersale.domain.actors import SYSTEM
from aftersale.domain.context import Ctx
from aftersale.domain.order import ORDER_DEADLINES, Order
from aftersale.services.ports import GatewayRefund, RefundRequest, UnitOfWork
from aftersale.services.records import DueDeadline
from aftersale.services.runtime import Runtime

log = logging.getLogger("aftersale.worker")
REFUND_DEADLINES = frozenset({"refund_submit", "refund_settle"})
RECHECK = timedelta(hours=1)  # how soon to ask again about a refund still processing
MIN_RECHECK = timedelta(minutes=1)


def fire_due(
    rt: Runtime,
    *,
    until: datetime | None = None,
    limit: int = 500,
    exactly_at: datetime | None = None,
    one_per_order: bool = False,
) -> int:
    """Fire one batch of deadlines due by `until`; returns how many were taken (with
    `one_per_order`, only each order's earliest: the test clock's due order, see run_until).

    The batch is first applied in memory and written with one statement per table (inside one
    savepoint). If anything in it fails, that savepoint is rolled back — the claimed deadlines
    and the orders stay locked — and the batch is fired again item by item, each in a savepoint
    of its own, so a failing item is set aside (postponed) and never blocks the others."""
    until = until or rt.clock.now()
    with rt.uow() as uow:
        batch = uow.deadlines.claim(until=until, limit=limit, exactly_at=exactly_at)
        if one_per_order:  # (the rest stay unfired, and are unlocked at the commit)
            batch = _earliest_per_order(batch)
        if not batch:
            return 0
        order_ids = [d.order_id for d in batch]
        # locked before the savepoint, so rolling the savepoint back keeps the locks
        orders = uow.orders.get_many(order_ids, lock=True, history=False)
        later: Later = {}
        try:
            with uow.savepoint():
                _fire_together(rt, uow, batch, orders, later)
            fired = [d.seq for d in batch if d.seq not in later]
        except Exception:
            log.warning("a deadline of the batch failed; firing it item by item", exc_info=True)
            # the batch's writes were undone: reload the orders, go one by one
            later.clear()
            orders = uow.orders.get_many(order_ids, lock=True, history=False)
            fired = _fire_one_by_one(rt, uow, batch, orders, later)
        if rt.test_clock is None:
            at = rt.clock.now()
        else:  # the test clock's moment: an advance fires each as of (about) its own time
            at = max(d.due_at for d in batch) if one_per_order else until
        uow.deadlines.mark_fired(fired, at)
        for seq, due_at in later.items():  # a refund still processing: look again then
            uow.deadlines.reschedule(seq, due_at=due_at)
        uow.commit()
        return len(batch)


Later = dict[int, datetime]  # deadlines to fire again later (seq -> new due time)


def _fire_together(
    rt: Runtime,
    uow: UnitOfWork,
    batch: list[DueDeadline],
    orders: dict[str, Order],
    later: Later,
) -> None:
    """The fast path: apply every deadline in memory, in the batch's order, then write each
    table once for the whole batch. Raises on the first item that fails."""
    touched: dict[str, Order] = {}
    sent = _send_refunds(rt, batch, orders)
    for d in batch:
        order = orders.get(d.order_id)
        if order is None:
            raise LookupError(f"order {d.order_id} does not exist")
        again = _apply(rt, order, d, sent)
        if again is not None:
            later[d.seq] = again
        touched[order.id] = order
    uow.orders.save_many(list(touched.values()))


def _fire_one_by_one(
    rt: Runtime,
    uow: UnitOfWork,
    batch: list[DueDeadline],
    orders: dict[str, Order],
    later: Later,
) -> list[int]:
    """The safe path: each deadline in a savepoint of its own; a failing one is postponed."""
    fired: list[int] = []
    for d in batch:
        order = orders.get(d.order_id)
        try:
            with uow.savepoint():
                if order is None:
                    raise LookupError(f"order {d.order_id} does not exist")
                again = _apply(rt, order, d)
                uow.orders.save_many([order])
            if again is None:
                fired.append(d.seq)
            else:
                later[d.seq] = again
        except Exception as exc:  # one bad item is set aside, never blocks the batch
            log.exception("deadline %s %s failed", d.kind, d.subject_id)
            # the order's in-memory state may be half-changed: reload it for later items
            orders.update(uow.orders.get_many([d.order_id], lock=True, history=False))
            uow.deadlines.postpone(
                d.seq,
                error=repr(exc),
                retry_at=d.due_at + timedelta(seconds=min(60 * 2**d.attempts, 3600)),
            )
    return fired


Sent = dict[str, tuple[RefundRequest, GatewayRefund]]


def _refund_request(order: Order, refund_id: str, at: datetime) -> RefundRequest | None:
    """What to send the gateway for a refund still pending, else None."""
    refund = order.find_refund(refund_id)
    if refund.status != "pending":
        return None
    return RefundRequest(
        key=refund.id,
        amount=refund.amount,
        currency=refund.currency,
        method=refund.method,
        payment_reference=order.payment_reference or "",
        at=at,
    )


def _send_refunds(rt: Runtime, batch: list[DueDeadline], orders: dict[str, Order]) -> Sent:
    """The batch's pending refunds, sent to the gateway in one call before the batch is
    applied (the orders are locked, so they stay pending until their deadline is applied;
    `_settle_refund` uses an answer only if its refund still matches what was sent)."""
    requests = []
    for d in batch:
        order = orders.get(d.order_id)
        if d.kind == "refund_submit" and order is not None:
            request = _refund_request(order, d.subject_id, d.due_at)
            if request is not None:
                requests.append(request)
    if not requests:
        return {}
    answers = rt.gateway.refund_many(requests)
    return {r.key: (r, answers[r.key]) for r in requests}


def _apply(rt: Runtime, order: Order, d: DueDeadline, sent: Sent | None = None) -> datetime | None:
    """Apply one deadline to its order in memory, as of the deadline's own due time; returns
    when to fire it again, if the rule is not done (a refund still processing)."""
    ctx = Ctx(actor=SYSTEM, now=d.due_at, calendar=rt.calendar)
    if d.kind in ORDER_DEADLINES:
        order.fire_deadline(d.kind, d.subject_id, ctx)
        return None
    if d.kind in REFUND_DEADLINES:
        return _settle_refund(rt, order, d, ctx, sent or {})
    raise ValueError(f"unknown deadline kind {d.kind}")


def _settle_refund(
    rt: Runtime, order: Order, d: DueDeadline, ctx: Ctx, sent: Sent
) -> datetime | None:
    """Send a refund to the gateway (idempotent on the refund id) or check on it; returns
    when to look again while the gateway is still crediting it."""
    refund = order.find_refund(d.subject_id)
    if refund.status not in ("pending", "processing"):
        return None
    if refund.status == "pending":
        request = _refund_request(order, refund.id, ctx.now)
        assert request is not None
        earlier = sent.get(refund.id)
        if earlier is not None and earlier[0] == request:
            answer = earlier[1]
        else:
            answer = rt.gateway.refund_many([request])[refund.id]
    else:
        answer = rt.gateway.refund_status(reference=refund.gateway_reference or "", at=ctx.now)
    if answer.status == "failed":
        order.refund_failed(refund.id, failure=answer.failure or "declined", ctx=ctx)
    elif answer.status == "succeeded":
        if refund.status == "pending":
            order.refund_processing(refund.id, reference=answer.reference, check_at=None, ctx=ctx)
        order.refund_succeeded(refund.id, ctx)
    elif refund.status == "pending":
        order.refund_processing(
            refund.id,
            reference=answer.reference,
            check_at=answer.settles_at or ctx.now + timedelta(days=1),
            ctx=ctx,
        )
    else:  # still processing: the same deadline looks again later
        return max(answer.settles_at or ctx.now + RECHECK, ctx.now + MIN_RECHECK)
    return None


def _earliest_per_order(batch: list[DueDeadline]) -> list[DueDeadline]:
    """Each order's first deadline of a batch claimed in due order."""
    seen: set[str] = set()
    first = []
    for d in batch:
        if d.order_id not in seen:
            seen.add(d.order_id)
            first.append(d)
    return first


def run_until(rt: Runtime, target: datetime, *, limit: int = 500) -> int:
    """Fire every deadline due by `target`, each as of its own due time and, for each order,
    in due-time order, including the ones that firing creates; used by the test clock.

    Orders are independent aggregates, so only the order of one order's deadlines matters:
    each batch takes every order's earliest unfired deadline (a deadline that firing creates
    is then among the next batch's candidates), not one due moment per transaction, which
    made advancing a database of imported orders take a transaction per order."""
    total = 0
    while True:
        taken = fire_due(rt, until=target, limit=limit, one_per_order=True)
        total += taken
        if taken:
            continue
        with rt.uow(readonly=True) as uow:
            if uow.deadlines.next_due_at(target) is None:
                return total
        time.sleep(0.01)  # due, but locked by another worker: it is firing them


_advancing = threading.Lock()


def advance_test_clock(rt: Runtime, seconds: float) -> datetime:
    """Move the test clock forward, firing what falls due on the way (one advance at a time
    in a process; across processes the clock only ever moves forward)."""
    assert rt.test_clock is not None
    with _advancing:
        target = rt.test_clock.now() + timedelta(seconds=seconds)
        run_until(rt, target)
        return rt.test_clock.move_to_at_least(target)
