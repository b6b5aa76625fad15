"""Rows of the dispatcher: the outbox's undispatched events, webhook endpoints and
deliveries, and mail. Claims lock with SKIP LOCKED on PostgreSQL and lease what they take
(`leased_until`, wall-clock time), so a worker killed mid-batch only delays its rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, exists, func, insert, or_, select, update
from sqlalchemy.orm import aliased

from aftersale.adapters.db import tables as t
from aftersale.adapters.db.notify_tables import mail, webhook_deliveries, webhook_endpoints
from aftersale.domain.entities import Event

E, D, M = webhook_endpoints.c, webhook_deliveries.c, mail.c
EARLIER = aliased(webhook_deliveries)
FAN_OUT_LOCK = 0x0AF7E05A1E  # the advisory lock the outbox's fan-outs take turns on
# a batch of attempts' outcomes in one statement (PostgreSQL): ~half the client's and the
# server's time of one UPDATE a row in a pipeline (bench/README.md, "Webhook deliveries")
RECORD_ATTEMPTS = (
    "UPDATE webhook_deliveries AS d SET attempts = d.attempts + 1, leased_until = NULL,"
    " status = v.status, last_status_code = v.code, last_error = v.error,"
    " next_attempt_at = v.next_at"
    " FROM unnest(%s::varchar[], %s::varchar[], %s::integer[], %s::varchar[],"
    " %s::timestamp[]) AS v(id, status, code, error, next_at) WHERE d.id = v.id"
)


class SqlNotifyRepository:
    """The dispatcher's tables, bound to one transaction."""

    def __init__(self, conn: Connection, *, skip_locked: bool) -> None:
        self.conn = conn
        self.skip_locked = skip_locked

    def _locked(self, query: Any, *of: Any) -> Any:
        """The query with FOR UPDATE SKIP LOCKED on PostgreSQL."""
        if not self.skip_locked:
            return query
        return query.with_for_update(skip_locked=True, of=of or None)

    # ---- the outbox ----------------------------------------------------------------------
    def pending_events(self, limit: int) -> list[dict[str, Any]]:
        """Undispatched outbox events in seq order, locked. Fan-outs take turns (a transaction
        lock on PostgreSQL; SQLite has one writer): two fanning out at once could publish an
        order's later event before its earlier one. An order's events are written under its
        lock, so for one order seq order is commit order. A worker that finds the lock taken
        gets nothing (another is fanning out) and goes on to attempts, the slow part, which
        are shared with SKIP LOCKED (claim_deliveries), rather than wait its turn."""
        if (
            self.skip_locked
            and not self.conn.execute(
                select(func.pg_try_advisory_xact_lock(FAN_OUT_LOCK))
            ).scalar_one()
        ):
            return []
        o = t.outbox.c
        query = select(t.outbox).where(o.dispatched_at.is_(None)).order_by(o.seq).limit(limit)
        return [dict(r) for r in self.conn.execute(query).mappings()]

    def mark_dispatched(self, seqs: list[int], at: datetime) -> None:
        """Record that these events were fanned out."""
        o = t.outbox.c
        self.conn.execute(update(t.outbox).where(o.seq.in_(seqs)).values(dispatched_at=at))

    def add_event(self, event: Event) -> None:
        """Write an event to the outbox (in the caller's transaction)."""
        self.conn.execute(
            insert(t.outbox).values(
                id=event.id, type=event.type, order_id=event.order_id, at=event.at, data=event.data
            )
        )

    def add_rows(self, table: str, rows: list[dict[str, Any]]) -> None:
        """Insert new delivery or mail rows."""
        if rows:
            target = webhook_deliveries if table == "deliveries" else mail
            self.conn.execute(insert(target), rows)

    # ---- endpoints -----------------------------------------------------------------------
    def add_endpoint(self, row: dict[str, Any]) -> None:
        """Store a new endpoint."""
        self.conn.execute(insert(webhook_endpoints).values(**row))

    def endpoint(self, endpoint_id: str) -> dict[str, Any] | None:
        """An endpoint that was not deleted."""
        query = select(webhook_endpoints).where(E.id == endpoint_id, E.deleted_at.is_(None))
        row = self.conn.execute(query).mappings().first()
        return None if row is None else dict(row)

    def endpoints(self, *, after_seq: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        """Endpoints that were not deleted, oldest first."""
        query = (
            select(webhook_endpoints)
            .where(E.deleted_at.is_(None), E.seq > after_seq)
            .order_by(E.seq)
            .limit(limit)
        )
        return [dict(r) for r in self.conn.execute(query).mappings()]

    def update_endpoint(self, endpoint_id: str, values: dict[str, Any]) -> None:
        """Change an endpoint."""
        self.conn.execute(update(webhook_endpoints).where(E.id == endpoint_id).values(**values))

    # ---- deliveries ----------------------------------------------------------------------
    def claim_deliveries(
        self, *, now: datetime, wall: datetime, lease_until: datetime, limit: int
    ) -> list[dict[str, Any]]:
        """Lease due deliveries of enabled endpoints. A first attempt waits while an earlier
        event of the same order is not yet first attempted (to the same endpoint), so each
        order's events are first attempted in the order they happened (fan-outs take turns,
        so an earlier event is never fanned out after a later one)."""
        due = (
            _due(now, wall, limit * 4).cte("due").prefix_with("MATERIALIZED", dialect="postgresql")
        )
        query = (
            select(D.id, D.event_id, D.body, D.attempts, E.url, E.secret, E.old_secret)
            .add_columns(E.old_secret_until)
            .join(webhook_endpoints, E.id == D.endpoint_id)
            .where(
                # (read once: PostgreSQL would walk the due index again for each row it locks)
                D.seq.in_(select(due.c.seq)),
                # the lease's own conditions again, on the row locked: PostgreSQL checks these
                # anew on a row another claimer leased and committed meanwhile (the subquery
                # is read from this statement's snapshot and would hand it out twice)
                *_claimable(now, wall),
                or_(D.attempts > 0, ~_waiting()),
            )
            .order_by(D.next_attempt_at, D.event_seq)
            .limit(limit)
        )
        if self.skip_locked:
            # walk the due index in its order, never sort what a bitmap scan of it found: the
            # statistics of a table that filled since it was last analysed (a fan-out of
            # thousands) make a bitmap scan look cheap, and it read every pending delivery,
            # each claim (220 ms at 4,000 pending, growing with them; 0.8 ms walking). And no
            # JIT: the estimates of that walk pass jit_above_cost, and compiling the plan took
            # ~18 ms of a 20 ms claim (EXPLAIN ANALYZE; the walk itself ~1 ms)
            self.conn.exec_driver_sql(
                "SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off;"
                " SET LOCAL jit = off"
            )
        rows = [
            dict(r) for r in self.conn.execute(self._locked(query, webhook_deliveries)).mappings()
        ]
        if rows:
            ids = [r["id"] for r in rows]
            self.conn.execute(
                update(webhook_deliveries).where(D.id.in_(ids)).values(leased_until=lease_until)
            )
        return rows

    def record_attempts(self, results: list[dict[str, Any]]) -> None:
        """Write each attempt's outcome (keys: id, status, last_status_code, last_error,
        next_attempt_at) and count it; the lease ends. On PostgreSQL one statement for the
        batch (its rows as arrays: one text, prepared once); on SQLite one executemany."""
        if not results:
            return
        names = ("status", "last_status_code", "last_error", "next_attempt_at")
        if self.skip_locked:
            as_stored = D.next_attempt_at.type.bind_processor(self.conn.dialect) or (lambda v: v)
            self.conn.exec_driver_sql(
                RECORD_ATTEMPTS,
                (
                    [r["id"] for r in results],
                    *([r[n] for r in results] for n in names[:3]),
                    [as_stored(r["next_attempt_at"]) for r in results],
                ),
            )
            return
        statement = (
            update(webhook_deliveries)
            .where(D.id == bindparam("_id"))
            .values(
                attempts=D.attempts + 1,
                leased_until=None,
                **{n: bindparam(f"_{n}", type_=D[n].type) for n in names},
            )
        )
        self.conn.execute(
            statement, [{"_id": r["id"], **{f"_{n}": r[n] for n in names}} for r in results]
        )

    def deliveries(
        self, endpoint_id: str, *, status: str | None, before_seq: int | None, limit: int
    ) -> list[dict[str, Any]]:
        """An endpoint's deliveries, newest first."""
        query = select(webhook_deliveries).where(D.endpoint_id == endpoint_id)
        if status:
            query = query.where(D.status == status)
        if before_seq is not None:
            query = query.where(D.seq < before_seq)
        query = query.order_by(D.seq.desc()).limit(limit)
        return [dict(r) for r in self.conn.execute(query).mappings()]

    def delivery(self, delivery_id: str) -> dict[str, Any] | None:
        """One delivery."""
        row = self.conn.execute(select(webhook_deliveries).where(D.id == delivery_id)).first()
        return None if row is None else dict(row._mapping)

    def update_delivery(self, delivery_id: str, values: dict[str, Any]) -> None:
        """Change one delivery."""
        self.conn.execute(update(webhook_deliveries).where(D.id == delivery_id).values(**values))

    def end_deliveries(self, endpoint_id: str, error: str) -> None:
        """Fail every pending delivery of an endpoint (it was deleted)."""
        self.conn.execute(
            update(webhook_deliveries)
            .where(D.endpoint_id == endpoint_id, D.status == "pending")
            .values(status="failed", last_error=error)
        )

    def delivery_backlog(self) -> int:
        """How many deliveries are pending."""
        query = select(func.count()).select_from(webhook_deliveries).where(D.status == "pending")
        return int(self.conn.execute(query).scalar_one())

    # ---- mail ----------------------------------------------------------------------------
    def claim_mail(
        self, *, now: datetime, wall: datetime, lease_until: datetime, limit: int
    ) -> list[dict[str, Any]]:
        """Lease mail that is due (first sends, retries and reminders)."""
        query = (
            select(mail)
            .where(
                M.status.in_(("pending", "scheduled")),
                M.next_attempt_at <= now,
                or_(M.leased_until.is_(None), M.leased_until < wall),
            )
            .order_by(M.next_attempt_at, M.seq)
            .limit(limit)
        )
        rows = [dict(r) for r in self.conn.execute(self._locked(query)).mappings()]
        if rows:
            ids = [r["id"] for r in rows]
            self.conn.execute(update(mail).where(M.id.in_(ids)).values(leased_until=lease_until))
        return rows

    def update_mail(self, mail_id: str, values: dict[str, Any]) -> None:
        """Change one mail row (its lease ends)."""
        self.conn.execute(update(mail).where(M.id == mail_id).values(leased_until=None, **values))

    def mails(
        self, *, before_seq: int | None, limit: int, order_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Mail, newest first (scheduled reminders included)."""
        query = select(mail)
        if before_seq is not None:
            query = query.where(M.seq < before_seq)
        if order_id is not None:
            query = query.where(M.order_id == order_id)
        return [
            dict(r) for r in self.conn.execute(query.order_by(M.seq.desc()).limit(limit)).mappings()
        ]

    def one_mail(self, mail_id: str) -> dict[str, Any] | None:
        """One mail."""
        row = self.conn.execute(select(mail).where(and_(M.id == mail_id))).first()
        return None if row is None else dict(row._mapping)


def _waiting() -> Any:
    """An earlier event of the delivery's order is not yet first attempted at its endpoint."""
    return exists().where(
        EARLIER.c.endpoint_id == D.endpoint_id,
        EARLIER.c.order_id == D.order_id,
        EARLIER.c.status == "pending",
        EARLIER.c.attempts == 0,
        EARLIER.c.event_seq < D.event_seq,
    )


def _due(now: datetime, wall: datetime, limit: int) -> Any:
    """The first due, unleased deliveries of enabled endpoints, by the due index: a claim
    looks at a few batches' worth, so its cost does not grow with the backlog, whatever the
    planner's statistics say."""
    return (
        select(D.seq)
        .join(webhook_endpoints, E.id == D.endpoint_id)
        .where(
            *_claimable(now, wall),
            E.status == "enabled",
            E.deleted_at.is_(None),
        )
        .order_by(D.next_attempt_at, D.event_seq)
        .limit(limit)
    )


def _claimable(now: datetime, wall: datetime) -> tuple[Any, ...]:
    """A delivery that is pending, due and not leased."""
    return (
        D.status == "pending",
        D.next_attempt_at <= now,
        or_(D.leased_until.is_(None), D.leased_until < wall),
    )
