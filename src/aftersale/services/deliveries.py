"""Webhook deliveries: the log and redelivery (admin), and the worker's side: lease the due
ones, record each attempt's outcome on the retry schedule.

Due times are runtime-clock times (the test clock when it is on, so advancing past a retry
makes it due); leases are wall-clock times, so a killed worker's rows come back by
themselves, to be attempted again with the same `webhook-id` and body."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aftersale.domain.actions import require_role
from aftersale.domain.actors import Actor
from aftersale.domain.errors import NotFound, ValidationFailed
from aftersale.services import shapes
from aftersale.services.runtime import Runtime
from aftersale.services.views import iso
from aftersale.services.webhooks import cursor_seq

# after the 1st, 2nd ... 7th failed attempt; after the 8th the delivery is failed
RETRY_AFTER = tuple(timedelta(seconds=s) for s in (5, 300, 1800, 7200, 18000, 36000, 36000))
LEASE = timedelta(seconds=60)  # longer than an attempt can take (15 s timeout)
DELIVERY_STATUSES = ("pending", "succeeded", "failed")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt got: a status code (None: no answer) and an error text."""

    delivery_id: str
    status_code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return self.status_code is not None and 200 <= self.status_code < 300


def delivery_view(row: dict[str, Any]) -> shapes.Delivery:
    """A delivery as the log shows it."""
    return {
        "id": row["id"],
        "event_id": row["event_id"],
        "type": row["type"],
        "status": row["status"],
        "attempts": row["attempts"],
        "last_status_code": row["last_status_code"],
        "last_error": row["last_error"],
        "next_attempt_at": iso(row["next_attempt_at"]) if row["status"] == "pending" else None,
        "created_at": iso(row["created_at"]),
    }


def list_deliveries(
    rt: Runtime,
    actor: Actor,
    endpoint_id: str,
    *,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> shapes.DeliveryPage:
    """An endpoint's deliveries, newest first."""
    require_role(actor, "staff")
    if status is not None and status not in DELIVERY_STATUSES:
        raise ValidationFailed("status must be pending, succeeded or failed", field="status")
    with rt.uow(readonly=True) as uow:
        if uow.notify.endpoint(endpoint_id) is None:
            raise NotFound(f"webhook endpoint {endpoint_id} not found")
        rows = uow.notify.deliveries(
            endpoint_id, status=status, before_seq=cursor_seq(cursor), limit=limit + 1
        )
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [delivery_view(r) for r in rows],
        "next_cursor": str(rows[-1]["seq"]) if more else None,
    }


def redeliver(rt: Runtime, actor: Actor, delivery_id: str) -> shapes.Delivery:
    """A new attempt at once, with the same webhook-id and body."""
    require_role(actor, "staff")
    with rt.uow() as uow:
        row = uow.notify.delivery(delivery_id)
        if row is None or uow.notify.endpoint(row["endpoint_id"]) is None:
            raise NotFound(f"webhook delivery {delivery_id} not found")
        values = {"status": "pending", "next_attempt_at": rt.clock.now(), "leased_until": None}
        uow.notify.update_delivery(delivery_id, values)
        uow.commit()
    return delivery_view({**row, **values})


def claim_due(rt: Runtime, *, limit: int, lease: timedelta = LEASE) -> list[dict[str, Any]]:
    """Lease up to `limit` due deliveries (committed, so other workers pass them by)."""
    wall = datetime.now(UTC)
    with rt.uow() as uow:
        rows: list[dict[str, Any]] = uow.notify.claim_deliveries(
            now=rt.clock.now(), wall=wall, lease_until=wall + lease, limit=limit
        )
        uow.commit()
    return rows


def record(rt: Runtime, claimed: list[dict[str, Any]], outcomes: list[Outcome]) -> None:
    """Write the attempts' outcomes: succeeded, retried on the schedule, or failed."""
    now = rt.clock.now()
    attempts = {r["id"]: r["attempts"] for r in claimed}
    results = []
    for o in outcomes:
        made = attempts[o.delivery_id] + 1
        retry = None if o.ok or made > len(RETRY_AFTER) else now + RETRY_AFTER[made - 1]
        status = "succeeded" if o.ok else ("pending" if retry else "failed")
        results.append(
            {
                "id": o.delivery_id,
                "status": status,
                "last_status_code": o.status_code,
                "last_error": None if o.error is None else o.error[:500],
                "next_attempt_at": retry or now,
            }
        )
    with rt.uow() as uow:
        uow.notify.record_attempts(results)
        uow.commit()
