"""Read-only use cases of the consoles: the seller's work queue and the staff's pages.

The SQL lives in the stats repository of the unit of work (adapters/db/stats_repo.py); this
module decides who may read what, turns rows into figures and reuses the public views."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol, cast

from aftersale.domain.actions import require_role
from aftersale.domain.actors import Actor, Role
from aftersale.domain.errors import NotFound
from aftersale.services.messages import message_view
from aftersale.services.ports import UnitOfWork
from aftersale.services.runtime import Runtime
from aftersale.services.views import dispute_view, iso, money, order_view

QUEUE_LIMIT = 100
# Bins of the refund-time histogram, in calendar days: (label, first day, last day or None).
REFUND_BINS: list[tuple[str, int, int | None]] = [
    ("0–2", 0, 2),
    ("3–5", 3, 5),
    ("6–10", 6, 10),
    ("11–15", 11, 15),
    ("16–20", 16, 20),
    ("21–28", 21, 28),
    ("29+", 29, None),
]


@dataclass(frozen=True, slots=True)
class SellerQueue:
    """Order ids of a seller's open work, most urgent first in each list."""

    fulfil: list[str]
    cancellations: list[str]
    returns: list[str]
    disputes: list[str]
    platform: list[str] = field(default_factory=list)  # escalated: waiting for the platform


@dataclass(frozen=True, slots=True)
class OverdueRefund:
    """A refund still pending or processing after its expected-by date."""

    id: str
    order_id: str
    amount: Decimal
    currency: str
    method: str
    status: str
    created_at: datetime
    expected_by: datetime


@dataclass(frozen=True, slots=True)
class EvidenceFile:
    """The description of a file attached to a dispute (not its bytes)."""

    id: str
    dispute_id: str
    uploader_role: str
    filename: str
    content_type: str
    size: int
    at: datetime


@dataclass(frozen=True, slots=True)
class WeekCounts:
    """Orders placed in a week and how many of them were cancelled, returned, disputed."""

    week_start: datetime
    orders: int
    cancelled: int
    returned: int
    disputed: int


@dataclass(frozen=True, slots=True)
class RefundTiming:
    """When a succeeded refund was created, credited and promised."""

    created_at: datetime
    succeeded_at: datetime
    expected_by: datetime


class StatsReader(Protocol):
    """The queries the consoles need (the unit of work's `stats`)."""

    def seller_queue(self, seller_id: str, *, limit: int) -> SellerQueue: ...
    def escalated_disputes(self, *, limit: int) -> list[tuple[str, str]]: ...
    def evidence_of(self, dispute_ids: list[str]) -> list[EvidenceFile]: ...
    def evidence_content(self, evidence_id: str) -> tuple[EvidenceFile, bytes] | None: ...
    def overdue_refunds(self, now: datetime, *, limit: int) -> list[OverdueRefund]: ...
    def weekly_counts(self, starts: list[datetime], end: datetime) -> list[WeekCounts]: ...
    def reason_counts(self, since: datetime) -> dict[str, list[tuple[str, int]]]: ...
    def refund_timings(self, since: datetime) -> list[RefundTiming]: ...


def _stats(uow: UnitOfWork) -> StatsReader:
    return cast(StatsReader, cast(Any, uow).stats)


def seller_queue(rt: Runtime, actor: Actor) -> dict[str, list[dict[str, Any]]]:
    """The seller's open work: orders to fulfil, requests, returns and disputes to answer, and
    the disputes escalated to the platform (waiting for its decision)."""
    require_role(actor, "pack")
    with rt.uow(readonly=True) as uow:
        queue = _stats(uow).seller_queue(actor.user_id, limit=QUEUE_LIMIT)
        ids = queue.fulfil + queue.cancellations + queue.returns + queue.disputes + queue.platform
        orders = uow.orders.get_many(ids, lock=False)
        ctx = rt.ctx(actor)
        views = {oid: order_view(o, ctx) for oid, o in orders.items()}
    return {
        name: [views[i] for i in getattr(queue, name) if i in views]
        for name in ("fulfil", "cancellations", "returns", "disputes", "platform")
    }


def escalated_disputes(rt: Runtime, actor: Actor) -> list[dict[str, Any]]:
    """Escalated disputes, oldest first, each with its order, both parties and the thread."""
    require_role(actor, "staff")
    with rt.uow(readonly=True) as uow:
        stats = _stats(uow)
        pairs = stats.escalated_disputes(limit=QUEUE_LIMIT)
        orders = uow.orders.get_many([o for _, o in pairs], lock=False)
        files = stats.evidence_of([d for d, _ in pairs])
        ctx = rt.ctx(actor)
        out = []
        for dispute_id, order_id in pairs:
            order = orders[order_id]
            thread, _ = uow.messages.page(order_id, after_seq=0, limit=200)
            buyer, seller = uow.users.get(order.buyer_id), uow.users.get(order.seller_id)
            out.append(
                {
                    "dispute": dispute_view(
                        order.find_dispute(dispute_id), order.currency, ctx, order
                    ),
                    "order": order_view(order, ctx),
                    "buyer_name": buyer.name if buyer else order.buyer_id,
                    "seller_name": seller.name if seller else order.seller_id,
                    "messages": [message_view(m) for m in thread],
                    "evidence": [f for f in files if f.dispute_id == dispute_id],
                }
            )
    return out


def evidence_content(rt: Runtime, actor: Actor, evidence_id: str) -> tuple[EvidenceFile, bytes]:
    """A dispute's evidence file, for staff."""
    require_role(actor, "staff")
    with rt.uow(readonly=True) as uow:
        found = _stats(uow).evidence_content(evidence_id)
    if found is None:
        raise NotFound(f"evidence {evidence_id} not found")
    return found


def overdue_refunds(rt: Runtime, actor: Actor) -> list[dict[str, Any]]:
    """Refunds still pending or processing after their expected-by date, most overdue first."""
    require_role(actor, "staff")
    now = rt.clock.now()
    with rt.uow(readonly=True) as uow:
        rows = _stats(uow).overdue_refunds(now, limit=QUEUE_LIMIT * 2)
    return [
        {
            "id": r.id,
            "order_id": r.order_id,
            "amount": money(r.amount, r.currency),
            "method": r.method,
            "status": r.status,
            "created_at": iso(r.created_at),
            "expected_by": iso(r.expected_by),
            "days_late": (now - r.expected_by).days,
        }
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class Dashboard:
    """The figures behind the staff dashboard's charts."""

    now: datetime
    weeks: list[WeekCounts]
    reasons: dict[str, list[tuple[str, int]]]
    refund_bins: list[tuple[str, int]]
    refunds_total: int
    refunds_on_time: int
    promise_days: int
    totals: dict[str, int] = field(default_factory=dict)


def week_starts(now: datetime, weeks: int) -> list[datetime]:
    """The Mondays (00:00 UTC) of the last `weeks` weeks, oldest first, this week last."""
    monday = (now - timedelta(days=now.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return [monday - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]


def refund_histogram(timings: list[RefundTiming]) -> list[tuple[str, int]]:
    """How many refunds took how many calendar days from creation to credit."""
    counts = dict.fromkeys((label for label, _, _ in REFUND_BINS), 0)
    for r in timings:
        days = (r.succeeded_at - r.created_at).days
        for label, low, high in REFUND_BINS:
            if days >= low and (high is None or days <= high):
                counts[label] += 1
                break
    return list(counts.items())


def dashboard(rt: Runtime, actor: Actor, *, weeks: int = 12) -> Dashboard:
    """Cancellation, return and dispute rates per week, reasons and refund times."""
    require_role(actor, "staff")
    now = rt.clock.now()
    starts = week_starts(now, weeks)
    with rt.uow(readonly=True) as uow:
        stats = _stats(uow)
        counts = stats.weekly_counts(starts, now)
        reasons = stats.reason_counts(starts[0])
        timings = stats.refund_timings(starts[0])
    totals = {
        k: sum(getattr(w, k) for w in counts)
        for k in ("orders", "cancelled", "returned", "disputed")
    }
    return Dashboard(
        now=now,
        weeks=counts,
        reasons=reasons,
        refund_bins=refund_histogram(timings),
        refunds_total=len(timings),
        refunds_on_time=sum(1 for r in timings if r.succeeded_at <= r.expected_by),
        promise_days=rt.policy.refund_promise_working_days,
        totals=totals,
    )


SEARCH_LIMIT = 50


def names_of(rt: Runtime, actor: Actor, user_ids: list[str]) -> dict[str, dict[str, str]]:
    """Each user's name and email, for staff (an unknown id maps to itself)."""
    require_role(actor, "staff")
    with rt.uow(readonly=True) as uow:
        found = {i: uow.users.get(i) for i in set(user_ids)}
    return {
        i: {"name": u.name, "email": u.email} if u else {"name": i, "email": ""}
        for i, u in found.items()
    }


def search_orders(rt: Runtime, actor: Actor, query: str) -> list[dict[str, Any]]:
    """Orders found by their id, or by the email of their buyer or seller, newest first."""
    require_role(actor, "staff")
    q = query.strip()
    if not q or len(q) > 320:
        return []
    with rt.uow(readonly=True) as uow:
        ctx = rt.ctx(actor)
        order = uow.orders.get(q, lock=False, history=False)
        if order is not None:
            return [order_view(order, ctx)]
        user = uow.users.by_email(q) if "@" in q else None
        if user is None:
            return []
        side = {"buyer_id": user.id, "seller_id": None}
        if user.role == "seller":
            side = {"buyer_id": None, "seller_id": user.id}
        found, _ = uow.orders.list_page(**side, status=None, cursor=None, limit=SEARCH_LIMIT)
        return [order_view(o, ctx) for o in found]


def is_staff(actor: Actor) -> bool:
    """Whether the actor is platform staff."""
    return actor.role == Role.ADMIN
