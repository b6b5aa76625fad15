"""The operator's figures, each one cheap indexed query: what is due, how late the oldest due
deadline is, overdue refunds, escalated disputes past their target, the schema's revision.
Read by /readyz, the metrics' gauges and `aftersale status`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, func, inspect, select, text

from aftersale.adapters.db import tables as t
from aftersale.adapters.db.migrate import alembic_config
from aftersale.adapters.db.notify_tables import webhook_deliveries
from aftersale.domain.entities import DisputeStatus, RefundStatus


@dataclass(frozen=True, slots=True)
class Figures:
    """What an operator watches."""

    deadlines_due: int
    oldest_due_at: datetime | None
    refunds_overdue: int
    disputes_escalated_overdue: int

    def lag_seconds(self, now: datetime) -> float:
        """How late the oldest due deadline is (0 when nothing is due)."""
        return max(0.0, (now - self.oldest_due_at).total_seconds()) if self.oldest_due_at else 0.0


def reader(engine: Engine) -> Engine:
    """The engine for reads that must not take SQLite's write lock."""
    return engine.execution_options(sqlite_begin="DEFERRED")


def figures(engine: Engine, now: datetime) -> Figures:
    """Every figure, on one connection (each query walks an index: the deadlines' partial
    due index, refunds by status and expected-by, disputes by status)."""
    d, r, ds = t.deadlines.c, t.refunds.c, t.disputes.c
    due = select(func.count(), func.min(d.due_at)).where(d.fired_at.is_(None), d.due_at <= now)
    overdue = select(func.count()).where(
        r.status.in_([RefundStatus.PENDING, RefundStatus.PROCESSING]), r.expected_by < now
    )
    escalated = select(func.count()).where(  # decide_by: the order's own policy target
        ds.status == DisputeStatus.ESCALATED, ds.decide_by < now
    )
    with reader(engine).connect() as conn:
        count, oldest = conn.execute(due).one()
        return Figures(
            deadlines_due=int(count),
            oldest_due_at=oldest,
            refunds_overdue=int(conn.execute(overdue.select_from(t.refunds)).scalar_one()),
            disputes_escalated_overdue=int(
                conn.execute(escalated.select_from(t.disputes)).scalar_one()
            ),
        )


def failed_deliveries(engine: Engine) -> int | None:
    """Webhook deliveries that failed for good (every attempt made), or None on a database
    whose schema predates the webhooks."""
    with reader(engine).connect() as conn:
        if not inspect(conn).has_table(webhook_deliveries.name):
            return None
        failed = webhook_deliveries.c.status == "failed"
        query = select(func.count()).select_from(webhook_deliveries).where(failed)
        return int(conn.execute(query).scalar_one())


def webhook_backlog(engine: Engine) -> int:
    """Webhook deliveries still to be made (pending, due or waiting for a retry): the partial
    index on pending rows answers it."""
    pending = webhook_deliveries.c.status == "pending"
    with reader(engine).connect() as conn:
        query = select(func.count()).select_from(webhook_deliveries).where(pending)
        return int(conn.execute(query).scalar_one())


@lru_cache(maxsize=1)
def migration_heads() -> frozenset[str]:
    """The packaged migrations' heads (read from the files once a process)."""
    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def revisions(conn: Connection) -> tuple[set[str], set[str]]:
    """The schema's applied revisions and the packaged migrations' heads."""
    return set(MigrationContext.configure(conn).get_current_heads()), set(migration_heads())


def schema_state(engine: Engine) -> tuple[bool, str]:
    """Whether the database answers with its schema at the latest migration, and why not."""
    try:
        with reader(engine).connect() as conn:
            conn.execute(text("SELECT 1"))
            applied, heads = revisions(conn)
    except Exception as exc:  # any failure to answer is "not ready"
        return False, f"the database does not answer: {type(exc).__name__}"
    if applied != heads:
        return False, f"the schema is at {sorted(applied) or 'nothing'}, not {sorted(heads)}"
    return True, "ready"


def refund_rows(engine: Engine, *, now: datetime, overdue: bool, limit: int) -> list[Any]:
    """Refunds, newest first (`overdue`: only those pending or processing past their
    expected-by date, most overdue first)."""
    r = t.refunds.c
    query = select(
        r.id, r.order_id, r.amount, r.currency, r.method, r.status, r.created_at, r.expected_by
    )
    if overdue:
        query = query.where(
            r.status.in_([RefundStatus.PENDING, RefundStatus.PROCESSING]), r.expected_by < now
        ).order_by(r.expected_by)
    else:
        query = query.order_by(r.created_at.desc())
    with reader(engine).connect() as conn:
        return list(conn.execute(query.limit(limit)))


def deadline_rows(
    engine: Engine, *, now: datetime, due: bool, kind: str | None, limit: int
) -> list[Any]:
    """Deadlines not fired yet, soonest first (`due`: only those due now; `kind`: one kind)."""
    d = t.deadlines.c
    query = select(d.seq, d.kind, d.order_id, d.subject_id, d.due_at, d.attempts, d.last_error)
    query = query.where(d.fired_at.is_(None))
    if due:
        query = query.where(d.due_at <= now)
    if kind:
        query = query.where(d.kind == kind)
    with reader(engine).connect() as conn:
        return list(conn.execute(query.order_by(d.due_at, d.seq).limit(limit)))
