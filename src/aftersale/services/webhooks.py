"""Use cases of webhook endpoints (admin only): create, list, get, change, delete, rotate the
secret; the event types; an endpoint's deliveries and redelivery."""

from __future__ import annotations

import base64
import secrets
from datetime import timedelta
from typing import Any

from aftersale.domain.actions import require_role
from aftersale.domain.actors import Actor
from aftersale.domain.entities import new_id
from aftersale.domain.errors import NotFound, ValidationFailed
from aftersale.domain.validate import seq_cursor, text
from aftersale.services import shapes
from aftersale.services.notify_plan import EVENT_TYPES
from aftersale.services.ports import UnitOfWork
from aftersale.services.runtime import Runtime
from aftersale.services.views import iso
from aftersale.services.webhook_urls import check_url

OLD_SECRET_KEPT = timedelta(hours=24)
STATUSES = ("enabled", "disabled")


def new_secret() -> str:
    """`whsec_` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def endpoint_view(row: dict[str, Any], *, secret: bool = False) -> shapes.Endpoint:
    """An endpoint (its secret only when just made or rotated)."""
    view: shapes.Endpoint = {
        "id": row["id"],
        "url": row["url"],
        "events": list(EVENT_TYPES) if row["events"] is None else list(row["events"]),
        "description": row["description"],
        "status": row["status"],
        "created_at": iso(row["created_at"]),
    }
    if secret:
        view["secret"] = row["secret"]
    return view


def _events(value: object) -> list[str] | None:
    """The subscribed types (None: every type); an unknown type is refused."""
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ValidationFailed("events must be a non-empty list of event types", field="events")
    unknown = sorted(set(value) - set(EVENT_TYPES))
    if unknown:
        raise ValidationFailed(f"unknown event type {unknown[0]}", field="events")
    return sorted(set(value), key=EVENT_TYPES.index)


def _description(value: object) -> str | None:
    return None if value is None else text(value, "description", max_len=500, min_len=0)


def create_endpoint(
    rt: Runtime,
    actor: Actor,
    *,
    url: object,
    events: object = None,
    description: object = None,
    allow_private: bool = False,
) -> shapes.Endpoint:
    """Register an endpoint; the answer carries its secret (shown only here and on rotate)."""
    require_role(actor, "staff")
    row = {
        "id": new_id("whe"),
        "url": check_url(url, allow_private=allow_private),
        "events": _events(events),
        "description": _description(description),
        "status": "enabled",
        "secret": new_secret(),
        "created_at": rt.clock.now(),
    }
    with rt.uow() as uow:
        uow.notify.add_endpoint(row)
        uow.commit()
    return endpoint_view(row, secret=True)


def _endpoint(uow: UnitOfWork, endpoint_id: str) -> dict[str, Any]:
    found: dict[str, Any] | None = uow.notify.endpoint(endpoint_id)
    if found is None:
        raise NotFound(f"webhook endpoint {endpoint_id} not found")
    return found


def get_endpoint(rt: Runtime, actor: Actor, endpoint_id: str) -> shapes.Endpoint:
    """One endpoint (no secret)."""
    require_role(actor, "staff")
    with rt.uow(readonly=True) as uow:
        return endpoint_view(_endpoint(uow, endpoint_id))


def list_endpoints(
    rt: Runtime, actor: Actor, *, cursor: str | None = None, limit: int = 50
) -> shapes.EndpointPage:
    """Endpoints, oldest first, a page at a time."""
    require_role(actor, "staff")
    after = cursor_seq(cursor) or 0
    with rt.uow(readonly=True) as uow:
        rows = uow.notify.endpoints(after_seq=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [endpoint_view(r) for r in rows],
        "next_cursor": str(rows[-1]["seq"]) if more else None,
    }


def update_endpoint(
    rt: Runtime,
    actor: Actor,
    endpoint_id: str,
    *,
    changes: dict[str, Any],
    allow_private: bool = False,
) -> shapes.Endpoint:
    """Change url, events, description or status (disabled: no further deliveries)."""
    require_role(actor, "staff")
    values: dict[str, Any] = {}
    if "url" in changes:
        values["url"] = check_url(changes["url"], allow_private=allow_private)
    if "events" in changes:
        values["events"] = _events(changes["events"])
    if "description" in changes:
        values["description"] = _description(changes["description"])
    if "status" in changes:
        if changes["status"] not in STATUSES:
            raise ValidationFailed("status must be enabled or disabled", field="status")
        values["status"] = changes["status"]
    with rt.uow() as uow:
        row = _endpoint(uow, endpoint_id)
        if values:
            uow.notify.update_endpoint(endpoint_id, values)
            uow.commit()
        return endpoint_view({**row, **values})


def delete_endpoint(rt: Runtime, actor: Actor, endpoint_id: str) -> None:
    """Delete an endpoint: its pending deliveries end, no further ones are made."""
    require_role(actor, "staff")
    with rt.uow() as uow:
        _endpoint(uow, endpoint_id)
        uow.notify.update_endpoint(endpoint_id, {"deleted_at": rt.clock.now()})
        uow.notify.end_deliveries(endpoint_id, "the endpoint was deleted")
        uow.commit()


def rotate_secret(rt: Runtime, actor: Actor, endpoint_id: str) -> shapes.Endpoint:
    """A new secret; for 24 h deliveries are signed with the old one as well."""
    require_role(actor, "staff")
    with rt.uow() as uow:
        row = _endpoint(uow, endpoint_id)
        values = {
            "secret": new_secret(),
            "old_secret": row["secret"],
            "old_secret_until": rt.clock.now() + OLD_SECRET_KEPT,
        }
        uow.notify.update_endpoint(endpoint_id, values)
        uow.commit()
    return endpoint_view({**row, **values}, secret=True)


def event_types(actor: Actor) -> shapes.EventTypes:
    """Every event type an endpoint may subscribe to."""
    require_role(actor, "staff")
    return {"items": list(EVENT_TYPES)}


def cursor_seq(cursor: str | None) -> int | None:
    """The sequence number a page cursor stands for (422 if it is not one)."""
    return seq_cursor(cursor)
