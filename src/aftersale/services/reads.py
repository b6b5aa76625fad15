"""Use cases of read tracking: which order threads hold messages the user has not read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from aftersale.domain.actions import require_role
from aftersale.domain.actors import Actor
from aftersale.services.common import visible_order
from aftersale.services.ports import UnitOfWork
from aftersale.services.runtime import Runtime
from aftersale.services.views import iso

UNREAD_LIMIT = 200


@dataclass(frozen=True, slots=True)
class Unread:
    """An order whose thread has `count` messages from others the user has not read."""

    order_id: str
    count: int
    last_at: datetime


class ReadRepository(Protocol):
    """Read marks per user and order."""

    def mark_read(self, user_id: str, order_id: str, now: datetime) -> None:
        """The user has read the order's thread up to its latest message."""
        ...

    def unread(self, user_id: str, *, limit: int) -> list[Unread]:
        """The user's orders with unread messages from others, latest first."""
        ...


def _repo(uow: UnitOfWork) -> ReadRepository:
    return cast(ReadRepository, cast(Any, uow).reads)


def mark_read(rt: Runtime, actor: Actor, order_id: str) -> None:
    """Note that the buyer or seller has seen the order's whole thread (staff are not tracked)."""
    require_role(actor, "read")
    if str(actor.role) not in ("buyer", "seller"):
        return
    with rt.uow() as uow:
        visible_order(uow, actor, order_id, lock=False)
        _repo(uow).mark_read(actor.user_id, order_id, rt.clock.now())
        uow.commit()


def unread_counts(rt: Runtime, actor: Actor) -> dict[str, int]:
    """Unread messages per order of the buyer or seller (orders with none are left out)."""
    return {u["order_id"]: u["count"] for u in inbox(rt, actor)}


def inbox(rt: Runtime, actor: Actor) -> list[dict[str, Any]]:
    """The orders with unread messages, latest first: id, count and the latest one's time."""
    require_role(actor, "read")
    with rt.uow(readonly=True) as uow:
        rows = _repo(uow).unread(actor.user_id, limit=UNREAD_LIMIT)
    return [{"order_id": u.order_id, "count": u.count, "last_at": iso(u.last_at)} for u in rows]
