"""The worker's side of mail: lease the due mail (first sends, retries, reminders), the
order as it is now for the text, and each mail's outcome (retried with backoff for 24 h)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aftersale.domain.actions import require_role
from aftersale.domain.actors import Actor
from aftersale.domain.context import Ctx
from aftersale.domain.validate import InvalidCursor, seq_cursor
from aftersale.services.dispatch import PLATFORM
from aftersale.services.runtime import Runtime
from aftersale.services.views import order_view

RETRY_AFTER = tuple(
    timedelta(seconds=s) for s in (10, 60, 300, 900, 1800, 3600, 7200, 14400, 28800)
)
GIVE_UP_AFTER = timedelta(hours=24)
LEASE = timedelta(seconds=120)


def claim_mail(rt: Runtime, *, limit: int) -> list[dict[str, Any]]:
    """Lease up to `limit` mails that are due."""
    wall = datetime.now(UTC)
    with rt.uow() as uow:
        rows: list[dict[str, Any]] = uow.notify.claim_mail(
            now=rt.clock.now(), wall=wall, lease_until=wall + LEASE, limit=limit
        )
        uow.commit()
    return rows


def order_now(rt: Runtime, order_id: str) -> dict[str, Any] | None:
    """The order as staff see it now (what a mail says, whether a reminder still holds)."""
    with rt.uow(readonly=True) as uow:
        order = uow.orders.get(order_id, lock=False, history=False)
        if order is None:
            return None
        return order_view(order, Ctx(actor=PLATFORM, now=rt.clock.now(), calendar=rt.calendar))


def mail_done(rt: Runtime, mail_id: str, values: dict[str, Any]) -> None:
    """Record a mail's final state (sent, stored, skipped) and its text."""
    with rt.uow() as uow:
        uow.notify.update_mail(mail_id, {"sent_at": rt.clock.now(), **values})
        uow.commit()


def mail_failed(rt: Runtime, row: dict[str, Any], error: str, values: dict[str, Any]) -> None:
    """Retry a mail that could not be sent, with backoff, until 24 h have passed."""
    now, made = rt.clock.now(), row["attempts"] + 1
    retry = now + RETRY_AFTER[min(made, len(RETRY_AFTER)) - 1]
    status = "failed" if retry - row["created_at"] > GIVE_UP_AFTER else "pending"
    change = {"status": status, "attempts": made, "last_error": error[:500], **values}
    if status == "pending":
        change["next_attempt_at"] = retry
    with rt.uow() as uow:
        uow.notify.update_mail(row["id"], change)
        uow.commit()


def mailbox(
    rt: Runtime,
    actor: Actor,
    *,
    cursor: str | None = None,
    limit: int = 50,
    order_id: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """The outgoing mail, newest first (staff read it at /staff/mail)."""
    require_role(actor, "staff")
    try:
        before = seq_cursor(cursor)
    except InvalidCursor:
        before = None  # a link that was not made here: the first page
    with rt.uow(readonly=True) as uow:
        rows: list[dict[str, Any]] = uow.notify.mails(
            before_seq=before, limit=limit + 1, order_id=order_id
        )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (str(rows[-1]["seq"]) if more else None)
