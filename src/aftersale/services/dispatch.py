"""The dispatcher's fan-out: outbox events, in commit order, become webhook deliveries (one per
subscribed endpoint) and mail (one per recipient, reminders scheduled), in one transaction.

Runs after commit, in `aftersale worker` or the embedded server's worker thread, never inside
a request. On PostgreSQL any number of workers share the outbox (SKIP LOCKED); a worker killed
mid-batch leaves its events undispatched, so another takes them whole."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from aftersale.domain.actors import Actor, Role
from aftersale.domain.context import Ctx
from aftersale.domain.entities import new_id
from aftersale.services.notify_plan import public_type, recipients, reminders
from aftersale.services.runtime import Runtime
from aftersale.services.views import iso, order_view

PLATFORM = Actor(user_id="platform", role=Role.ADMIN)


def fan_out(rt: Runtime, *, limit: int = 500, mail_domain: str = "localhost") -> int:
    """Fan one batch of outbox events out; returns how many events were taken."""
    with rt.uow() as uow:
        events = uow.notify.pending_events(limit)
        if not events:
            return 0
        now = rt.clock.now()
        ctx = Ctx(actor=PLATFORM, now=now, calendar=rt.calendar)
        orders = uow.orders.get_many([e["order_id"] for e in events], lock=False, history=True)
        views = {oid: order_view(order, ctx) for oid, order in orders.items()}
        endpoints = [e for e in uow.notify.endpoints() if e["status"] == "enabled"]
        users: dict[str, Any] = {}
        deliveries, mails = [], []
        for event in events:
            view = views.get(event["order_id"])
            if view is None:  # (an event of an order that no longer exists: nothing to say)
                continue
            deliveries += _deliveries(event, view, endpoints, now)
            for party, kind, due in _mail_plan(event, view, now):
                user = users.get(view[f"{party}_id"]) or uow.users.get(view[f"{party}_id"])
                if user is not None:
                    users[user.id] = user
                    mails.append(
                        _mail(event, user=user, kind=kind, due=due, domain=mail_domain, now=now)
                    )
        uow.notify.add_rows("deliveries", deliveries)
        uow.notify.add_rows("mail", mails)
        uow.notify.mark_dispatched([e["seq"] for e in events], now)
        uow.commit()
        return len(events)


def webhook_body(event: dict[str, Any], view: dict[str, Any]) -> str:
    """The Standard Webhooks body: type, when it happened, the event's fields and the order
    as an admin sees it (taken now, just before the first attempt; retries send the same)."""
    data = {"order_id": event["order_id"], **event["data"], "order": view}
    body = {"type": public_type(event["type"]), "timestamp": iso(event["at"]), "data": data}
    return orjson.dumps(body, default=str).decode()  # (compact; non-ASCII as UTF-8)


def _deliveries(
    event: dict[str, Any], view: dict[str, Any], endpoints: list[dict[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    """One pending delivery per endpoint subscribed to the event's type."""
    kind = public_type(event["type"])
    wanted = [e for e in endpoints if e["events"] is None or kind in e["events"]]
    if not wanted:
        return []
    body = webhook_body(event, view)
    return [
        {
            "id": new_id("whd"),
            "endpoint_id": e["id"],
            "event_id": event["id"],
            "event_seq": event["seq"],
            "order_id": event["order_id"],
            "type": kind,
            "body": body,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for e in wanted
    ]


def _mail_plan(
    event: dict[str, Any], view: dict[str, Any], now: datetime
) -> list[tuple[str, str, datetime]]:
    """(party, kind, when) for the event's mail and reminders."""
    plan = [(party, kind, now) for party, kind in recipients(event)]
    return plan + [r for r in reminders(event, view) if r[2] > now]


def _mail(
    event: dict[str, Any],
    *,
    user: Any,
    kind: str,
    due: datetime,
    domain: str,
    now: datetime,
) -> dict[str, Any]:
    """A mail row; its Message-ID is stable per event, kind and recipient (so one mail)."""
    reminder = kind.endswith("_reminder")
    return {
        "id": new_id("mail"),
        "message_id": f"<{event['id']}.{kind}.{user.id}@{domain}>",
        "event_id": event["id"],
        "order_id": event["order_id"],
        "recipient_id": user.id,
        "to_address": user.email,
        "kind": kind,
        "language": user.locale or "en",
        "context": {"event": event["data"], "type": public_type(event["type"]), "name": user.name},
        "status": "scheduled" if reminder else "pending",
        "attempts": 0,
        "next_attempt_at": due,
        "created_at": now,
    }
