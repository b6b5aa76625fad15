"""Read-only queries of the consoles: work queues, overdue refunds and dashboard figures.

Everything is plain SQLAlchemy Core that runs the same on SQLite and PostgreSQL (weeks are
bucketed with CASE over precomputed boundaries rather than dialect date functions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, exists, func, select

from aftersale.adapters.db import tables as t
from aftersale.domain.entities import (
    CancellationStatus,
    DisputeStatus,
    OrderStatus,
    RefundStatus,
    ReturnStatus,
)
from aftersale.services.staff import (
    EvidenceFile,
    OverdueRefund,
    RefundTiming,
    SellerQueue,
    WeekCounts,
)

OC, CC, RC, DC = t.orders.c, t.cancellations.c, t.returns.c, t.disputes.c
OPEN_REFUND = (RefundStatus.PENDING, RefundStatus.PROCESSING)


class SqlStatsRepository:
    """Aggregate and queue queries over the whole schema (never writes)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _ids(self, query: Any) -> list[str]:
        return [str(v) for v in self.conn.execute(query).scalars()]

    def seller_queue(self, seller_id: str, *, limit: int) -> SellerQueue:
        """A seller's orders to fulfil, requests to answer, returns and disputes to act on."""
        mine = OC.seller_id == seller_id
        pending = exists().where(CC.order_id == OC.id, CC.status == CancellationStatus.PENDING)
        fulfil = (
            select(OC.id)
            .where(
                mine,
                OC.status.in_([OrderStatus.AWAITING_FULFILLMENT, OrderStatus.AWAITING_SHIPMENT]),
                ~pending,
            )
            .order_by(OC.paid_at, OC.seq)
            .limit(limit)
        )
        cancels = (
            select(OC.id)
            .join(t.cancellations, CC.order_id == OC.id)
            .where(mine, CC.status == CancellationStatus.PENDING)
            .order_by(CC.respond_by)
            .limit(limit)
        )
        active = [ReturnStatus.REQUESTED, ReturnStatus.APPROVED, ReturnStatus.IN_TRANSIT]
        rets = (
            select(OC.id, func.min(RC.requested_at).label("first"))
            .join(t.returns, RC.order_id == OC.id)
            .where(mine, RC.status.in_(active))
            .group_by(OC.id)
            .order_by("first")
            .limit(limit)
        )
        disps = (
            select(OC.id)
            .join(t.disputes, DC.order_id == OC.id)
            .where(mine, DC.status == DisputeStatus.OPEN)
            .order_by(DC.respond_by)
            .limit(limit)
        )
        platform = (
            select(OC.id)
            .join(t.disputes, DC.order_id == OC.id)
            .where(mine, DC.status == DisputeStatus.ESCALATED)
            .order_by(DC.escalated_at, DC.id)
            .limit(limit)
        )
        return SellerQueue(
            fulfil=self._ids(fulfil),
            cancellations=self._ids(cancels),
            returns=[str(r[0]) for r in self.conn.execute(rets)],
            disputes=self._ids(disps),
            platform=self._ids(platform),
        )

    def escalated_disputes(self, *, limit: int) -> list[tuple[str, str]]:
        """(dispute id, order id) of escalated disputes, longest waiting first."""
        query = (
            select(DC.id, DC.order_id)
            .where(DC.status == DisputeStatus.ESCALATED)
            .order_by(DC.escalated_at, DC.id)
            .limit(limit)
        )
        return [(str(a), str(b)) for a, b in self.conn.execute(query)]

    def _evidence_cols(self) -> list[Any]:
        e = t.evidence.c
        return [e.id, e.dispute_id, e.uploader_role, e.filename, e.content_type, e.size, e.at]

    def evidence_of(self, dispute_ids: list[str]) -> list[EvidenceFile]:
        """The files attached to these disputes, oldest first."""
        if not dispute_ids:
            return []
        e = t.evidence.c
        query = select(*self._evidence_cols()).where(e.dispute_id.in_(dispute_ids)).order_by(e.at)
        return [EvidenceFile(**r) for r in self.conn.execute(query).mappings()]

    def evidence_content(self, evidence_id: str) -> tuple[EvidenceFile, bytes] | None:
        """One evidence file and its bytes."""
        query = select(*self._evidence_cols(), t.evidence.c.data).where(
            t.evidence.c.id == evidence_id
        )
        row = self.conn.execute(query).mappings().first()
        if row is None:
            return None
        meta = {k: v for k, v in row.items() if k != "data"}
        return EvidenceFile(**meta), bytes(row["data"])

    def overdue_refunds(self, now: datetime, *, limit: int) -> list[OverdueRefund]:
        """Refunds pending or processing whose expected-by date has passed, most overdue first."""
        f = t.refunds.c
        query = (
            select(f.id, f.order_id, f.amount, f.currency, f.method, f.status, f.created_at)
            .add_columns(f.expected_by)
            .where(f.status.in_(OPEN_REFUND), f.expected_by < now)
            .order_by(f.expected_by, f.id)
            .limit(limit)
        )
        return [
            OverdueRefund(**{**r, "status": str(r["status"])})
            for r in self.conn.execute(query).mappings()
        ]

    def weekly_counts(self, starts: list[datetime], end: datetime) -> list[WeekCounts]:
        """Per week (by the order's placing): orders, and of them cancelled, returned, disputed."""
        bucket = case(
            *[(OC.created_at >= s, i) for i, s in reversed(list(enumerate(starts)))], else_=-1
        ).label("bucket")
        has_return = exists().where(RC.order_id == OC.id)
        has_dispute = exists().where(DC.order_id == OC.id)

        def flag(cond: Any) -> Any:
            return func.sum(case((cond, 1), else_=0))

        query = (
            select(
                bucket,
                func.count().label("orders"),
                flag(OC.status == OrderStatus.CANCELLED).label("cancelled"),
                flag(has_return).label("returned"),
                flag(has_dispute).label("disputed"),
            )
            .where(and_(OC.created_at >= starts[0], OC.created_at <= end))
            .group_by(bucket)
        )
        found = {int(r["bucket"]): r for r in self.conn.execute(query).mappings()}
        out = []
        for i, start in enumerate(starts):
            r = found.get(i)
            vals = {k: int(r[k] or 0) if r else 0 for k in ("orders", "cancelled", "returned")}
            out.append(
                WeekCounts(week_start=start, disputed=int(r["disputed"] or 0) if r else 0, **vals)
            )
        return out

    def reason_counts(self, since: datetime) -> dict[str, list[tuple[str, int]]]:
        """How often each reason was given since a moment, per kind, most frequent first."""
        out = {"cancellation": self._cancel_reasons(since)}
        sources = {
            "return": (t.returns, RC.reason, RC.requested_at),
            "dispute": (t.disputes, DC.reason, DC.opened_at),
        }
        for kind, (table, reason, at) in sources.items():
            n = func.count().label("n")
            query = (
                select(reason, n)
                .select_from(table)
                .where(at >= since)
                .group_by(reason)
                .order_by(n.desc(), reason)
            )
            out[kind] = [(str(a), int(b)) for a, b in self.conn.execute(query)]
        return out

    def _cancel_reasons(self, since: datetime) -> list[tuple[str, int]]:
        """Cancelled orders by cause: the buyer's reason code, else who cancelled them."""
        n = func.count().label("n")
        query = (
            select(OC.cancelled_by, OC.cancel_reason, n)
            .where(OC.status == OrderStatus.CANCELLED, OC.cancelled_at >= since)
            .group_by(OC.cancelled_by, OC.cancel_reason)
        )
        merged: dict[str, int] = {}
        for by, reason, count in self.conn.execute(query):
            # A seller's reason is free text: counted together; the system's is a timeout.
            key = str(reason) if by == "buyer" else f"by_{by}"
            merged[key] = merged.get(key, 0) + int(count)
        return sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))

    def refund_timings(self, since: datetime) -> list[RefundTiming]:
        """Creation, credit and promise times of refunds credited since a moment."""
        f = t.refunds.c
        query = select(f.created_at, f.succeeded_at, f.expected_by).where(
            f.status == RefundStatus.SUCCEEDED, f.succeeded_at >= since
        )
        return [RefundTiming(**r) for r in self.conn.execute(query).mappings()]
