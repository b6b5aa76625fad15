"""Read models for the pages: order lists by tab, and an order with what its page needs."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from aftersale.domain.actions import require_role
from aftersale.domain.actors import Actor
from aftersale.domain.order_state import AFTER_SHIPMENT
from aftersale.domain.reasons import CANCELLATION_REASONS, DISPUTE_REASONS, RETURN_REASONS
from aftersale.domain.returns import CONDITIONS
from aftersale.domain.validate import InvalidCursor, cursor_json
from aftersale.services.common import visible_order
from aftersale.services.evidence import list_evidence
from aftersale.services.messages import list_messages
from aftersale.services.orders import list_orders
from aftersale.services.return_address import return_address_of
from aftersale.services.runtime import Runtime
from aftersale.services.views import iso, order_view

# The tabs of "My Orders": each shows the orders in any of its statuses (none: all of them).
ORDER_TABS: dict[str, tuple[str, ...]] = {
    "all": (),
    "awaiting_payment": ("awaiting_payment",),
    "awaiting_shipment": ("awaiting_fulfillment", "awaiting_shipment"),
    "shipped": ("shipped",),
    "delivered": ("delivered",),
    "completed": ("completed",),
    "cancelled": ("cancelled",),
}


def why_no_cancel(view: dict[str, Any]) -> str | None:
    """Why the buyer has no cancel button, in one word the page explains (None: they have one,
    or the order is already cancelled): shipped, pending (the seller has yet to answer) or
    rejected (the seller declined; the thread is open)."""
    if {"cancel", "request_cancellation"} & set(view["allowed_actions"]):
        return None
    if view["status"] in AFTER_SHIPMENT:
        return "shipped"
    statuses = {(view["cancellation"] or {}).get("status")}
    if "pending" in statuses:
        return "pending"
    if "rejected" in statuses:
        return "rejected"
    return None


def _decode(cursor: str | None, statuses: Sequence[str]) -> dict[str, str | None]:
    if not cursor:
        return dict.fromkeys(statuses)
    raw = cursor_json(cursor, max_len=2048)
    if not isinstance(raw, dict) or not set(raw) <= set(statuses):
        raise InvalidCursor()
    if not all(v is None or isinstance(v, str) for v in raw.values()):
        raise InvalidCursor()
    return {str(k): v for k, v in raw.items()}


def _encode(state: dict[str, str | None]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")


def _created(view: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(view["created_at"]).replace("Z", "+00:00"))


def list_orders_in(
    rt: Runtime, actor: Actor, *, statuses: Sequence[str], cursor: str | None, limit: int
) -> dict[str, Any]:
    """The caller's orders in any of the statuses (none: all), newest first, a page at a time.

    Several statuses are merged from one keyset stream per status; the cursor carries the
    position in each stream (a stream that is used up drops out of it).
    """
    if len(statuses) <= 1:
        status = statuses[0] if statuses else None
        return list_orders(rt, actor, status=status, cursor=cursor, limit=limit)
    state = _decode(cursor, statuses)
    pages = {s: list_orders(rt, actor, status=s, cursor=c, limit=limit) for s, c in state.items()}
    pooled = [(view, s) for s, page in pages.items() for view in page["items"]]
    pooled.sort(key=lambda pair: _created(pair[0]), reverse=True)
    taken = pooled[:limit]
    nxt: dict[str, str | None] = {}
    for s, page in pages.items():
        used = sum(1 for _, status in taken if status == s)
        if used == 0 and page["items"]:
            nxt[s] = state[s]
        elif used < len(page["items"]):
            again = list_orders(rt, actor, status=s, cursor=state[s], limit=used)
            nxt[s] = again["next_cursor"]
        elif page["next_cursor"] is not None:
            nxt[s] = page["next_cursor"]
    return {"items": [view for view, _ in taken], "next_cursor": _encode(nxt) if nxt else None}


AFTERSALE_TAB = "aftersale"  # orders with a refund, return or dispute


class PageQueries(Protocol):
    """The lists of the pages that are not a status filter (the unit of work's `page_queries`)."""

    def aftersale_page(
        self, buyer_id: str, *, cursor: str | None, limit: int
    ) -> tuple[list[str], str | None]: ...


def list_aftersale(rt: Runtime, actor: Actor, *, cursor: str | None, limit: int) -> dict[str, Any]:
    """The buyer's orders with a refund, return or dispute, newest first, a page at a time."""
    require_role(actor, "read")
    with rt.uow(readonly=True) as uow:
        queries = cast(PageQueries, cast(Any, uow).page_queries)
        ids, nxt = queries.aftersale_page(actor.user_id, cursor=cursor, limit=limit)
        found = uow.orders.get_many(ids, lock=False, history=True)
        ctx = rt.ctx(actor)
        items = [order_view(found[i], ctx) for i in ids if i in found]
    return {"items": items, "next_cursor": nxt}


def store_names(rt: Runtime, seller_ids: Sequence[str]) -> dict[str, str]:
    """The store (seller) name of each seller id, for the order cards."""
    with rt.uow(readonly=True) as uow:
        found = {i: uow.users.get(i) for i in set(seller_ids)}
    return {i: (u.name if u else i) for i, u in found.items()}


def _days_left(now: datetime, until: datetime | None) -> int | None:
    if until is None or now > until:
        return None
    return max(0, (until - now + timedelta(hours=23, minutes=59)).days)


def order_page(rt: Runtime, actor: Actor, order_id: str) -> dict[str, Any]:
    """The order as the caller sees it, with its messages, reason lists and open windows."""
    require_role(actor, "read")
    with rt.uow(readonly=True) as uow:
        order = visible_order(uow, actor, order_id, lock=False)
        ctx = rt.ctx(actor)
        view = order_view(order, ctx)
        left = order.returnable_quantities()
        p = order.policy
        delivered = order.delivered_at
        return_until = delivered + p.return_window if delivered else None
        dispute_until = delivered + p.dispute_window if delivered else None
        refusal = order.dispute_refusal(ctx)
        seller_id = order.seller_id
    sending_back = any(r["status"] in ("approved", "in_transit") for r in view["returns"])
    thread = list_messages(rt, actor, order_id, cursor=None, limit=200)
    files = {d["id"]: list_evidence(rt, actor, d["id"]) for d in view["disputes"]}
    return {
        "order": view,
        "now": iso(ctx.now),
        "messages": thread["items"],
        "returnable": {item["sku"]: max(0, left[item["sku"]]) for item in view["items"]},
        "return_until": iso(return_until),
        "return_days_left": _days_left(ctx.now, return_until),
        "dispute_until": iso(dispute_until),
        "dispute_days_left": _days_left(ctx.now, dispute_until),
        "dispute_refusal": None if refusal is None else refusal.code,
        "why_no_cancel": why_no_cancel(view),
        "evidence": files,
        "return_address": return_address_of(rt, seller_id) if sending_back else None,
        "cancellation_reasons": CANCELLATION_REASONS,
        "return_reasons": RETURN_REASONS,
        "dispute_reasons": DISPUTE_REASONS,
        "conditions": CONDITIONS,
    }
