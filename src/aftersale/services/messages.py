"""Use cases of the buyer-seller message thread of an order."""

from __future__ import annotations

from aftersale.domain.actions import require_role
from aftersale.domain.actors import Actor
from aftersale.domain.entities import Event, new_id
from aftersale.domain.errors import ValidationFailed
from aftersale.domain.validate import seq_cursor, text
from aftersale.services import shapes
from aftersale.services.common import visible_order
from aftersale.services.records import MessageRecord
from aftersale.services.runtime import Runtime
from aftersale.services.views import iso

AUTHOR = {"buyer": "buyer", "seller": "seller", "admin": "platform"}


def message_view(m: MessageRecord) -> shapes.Message:
    """A message."""
    return {
        "id": m.id,
        "author_role": AUTHOR.get(m.author_role, m.author_role),
        "body": m.body,
        "at": iso(m.at),
    }


def post_message(rt: Runtime, actor: Actor, order_id: str, *, body: object) -> shapes.Message:
    """Add a message to the order's thread."""
    require_role(actor, "message")
    content = text(body, "body", max_len=2000)
    with rt.uow() as uow:
        visible_order(uow, actor, order_id, lock=False)
        msg = MessageRecord(
            id=new_id("msg"),
            order_id=order_id,
            author_id=actor.user_id,
            author_role=str(actor.role),
            body=content,
            at=rt.clock.now(),
        )
        uow.messages.add(msg)
        uow.notify.add_event(
            Event(
                type="order.message_created",
                order_id=order_id,
                at=msg.at,
                data={
                    "actor": actor.timeline_name,
                    "message_id": msg.id,
                    "author_role": msg.author_role,
                    "body": msg.body,
                },
            )
        )
        uow.commit()
        return message_view(msg)


def list_messages(
    rt: Runtime, actor: Actor, order_id: str, *, cursor: str | None, limit: int = 50
) -> shapes.MessagePage:
    """The thread, oldest first, a page at a time."""
    require_role(actor, "read")
    after = seq_cursor(cursor) or 0
    if not 1 <= limit <= 200:
        raise ValidationFailed("limit must be from 1 to 200", field="limit")
    with rt.uow(readonly=True) as uow:
        visible_order(uow, actor, order_id, lock=False)
        items, nxt = uow.messages.page(order_id, after_seq=after, limit=limit)
        return {
            "items": [message_view(m) for m in items],
            "next_cursor": None if nxt is None else str(nxt),
        }
