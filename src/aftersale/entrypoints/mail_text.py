"""What each mail says: a subject and a paragraph per kind (English msgids, translated through
the Babel catalogs like the pages: locales/<lang>/LC_MESSAGES/mail.po)."""

from __future__ import annotations

from typing import Any

SUBJECTS = {
    "cancellation_requested": "Order %(order_id)s: the buyer asked to cancel",
    "cancellation_reminder": "Order %(order_id)s: one day left to answer the cancellation request",
    "return_requested": "Order %(order_id)s: the buyer asked to return items",
    "dispute_opened": "Order %(order_id)s: the buyer opened a dispute",
    "dispute_modified": "Order %(order_id)s: the buyer changed the dispute",
    "dispute_escalated": "Order %(order_id)s: the dispute was escalated to the platform",
    "dispute_decided": "Order %(order_id)s: the platform decided the dispute",
    "message_from_buyer": "Order %(order_id)s: a new message from the buyer",
    "message_from_seller": "Order %(order_id)s: a new message from the seller",
    "message_from_platform": "Order %(order_id)s: a new message from the platform",
    "ship_by_reminder": "Order %(order_id)s: ship it by %(ship_by)s",
    "cancelled": "Order %(order_id)s was cancelled",
    "cancellation_accepted": "Order %(order_id)s: the seller accepted your cancellation",
    "cancellation_rejected": "Order %(order_id)s: the seller declined your cancellation",
    "cancellation_auto_accepted": "Order %(order_id)s: your cancellation was accepted",
    "refund_created": "Order %(order_id)s: a refund of %(amount)s is on its way",
    "refund_succeeded": "Order %(order_id)s: your refund of %(amount)s was credited",
    "return_approved": "Order %(order_id)s: your return was approved",
    "return_rejected": "Order %(order_id)s: your return was rejected",
    "return_refunded": "Order %(order_id)s: your return was refunded",
    "dispute_proposal": "Order %(order_id)s: the seller proposed a refund",
    "dispute_resolved": "Order %(order_id)s: your dispute was resolved",
    "dispute_closed": "Order %(order_id)s: your dispute was closed",
    "protection_reminder": "Order %(order_id)s: buyer protection ends in 5 days",
}
BODIES = {
    "cancellation_requested": (
        "The buyer asked to cancel this order (%(reason)s). Please answer by %(respond_by)s; "
        "if you do not, the cancellation is accepted automatically."
    ),
    "cancellation_reminder": (
        "The buyer's cancellation request is still waiting for your answer. If you do not "
        "answer by %(respond_by)s, it is accepted automatically."
    ),
    "return_requested": "The buyer asked to return items of this order (%(reason)s).",
    "dispute_opened": ("The buyer opened a dispute (%(reason)s). Please answer by %(respond_by)s."),
    "dispute_modified": "The buyer changed the dispute. Please answer by %(respond_by)s.",
    "dispute_escalated": "The buyer escalated the dispute; the platform will decide it.",
    "dispute_decided": "The platform decided the dispute: %(resolution)s.",
    "message_from_buyer": "The buyer wrote: %(said)s",
    "message_from_seller": "The seller wrote: %(said)s",
    "message_from_platform": "The platform wrote: %(said)s",
    "ship_by_reminder": "Please ship this order by %(ship_by)s.",
    "cancelled": "This order was cancelled by the %(cancelled_by)s: %(reason)s.",
    "cancellation_accepted": "The seller accepted your request; the order is cancelled.",
    "cancellation_rejected": "The seller declined your request: %(reject_reason)s",
    "cancellation_auto_accepted": (
        "The seller did not answer in time, so your request was accepted automatically."
    ),
    "refund_created": "A refund of %(amount)s is on its way; expect it by %(expected_by)s.",
    "refund_succeeded": "Your refund of %(amount)s was credited.",
    "return_approved": "The seller approved your return. Please send the items back.",
    "return_rejected": "The seller rejected your return.",
    "return_refunded": "Your return was refunded.",
    "dispute_proposal": "The seller proposed a refund of %(amount)s.",
    "dispute_resolved": "Your dispute was resolved: %(resolution)s.",
    "dispute_closed": "Your dispute was closed.",
    "protection_reminder": (
        "Your order has not arrived yet and buyer protection ends on %(protection_ends_at)s. "
        "If it does not arrive, open a dispute before then."
    ),
}
GREETING = "Hello %(name)s,"
LINK = "See the order"
FOOTER = "You receive this mail because you buy or sell on this marketplace."


def _find(items: list[dict[str, Any]], key: str, value: object) -> dict[str, Any]:
    """The item of a view's list with that id (empty if none)."""
    return next((i for i in items if i.get("id") == value), {})


def _money(value: dict[str, str] | None) -> str:
    return f"{value['amount']} {value['currency']}" if value else ""


def _day(value: object) -> str:
    return str(value or "")[:16].replace("T", " ") + (" UTC" if value else "")


def params(row: dict[str, Any], view: dict[str, Any]) -> dict[str, str]:
    """Every value a subject or body may use, from the event and the order as it is now."""
    event = row["context"]["event"]
    refund = _find(view.get("refunds", []), "id", event.get("refund_id"))
    dispute = _find(view.get("disputes", []), "id", event.get("dispute_id"))
    ret = _find(view.get("returns", []), "id", event.get("return_id"))
    cancellation = view.get("cancellation") or {}
    offer = dispute.get("proposed_amount") or dispute.get("resolution_amount")
    return {
        "order_id": view["id"],
        "name": row["context"].get("name", ""),
        "reason": str(
            cancellation.get("reason")
            or view.get("cancel_reason")
            or ret.get("reason")
            or dispute.get("reason")
            or ""
        ).replace("_", " "),
        "respond_by": _day(dispute.get("respond_by") or cancellation.get("respond_by")),
        "reject_reason": str(cancellation.get("reject_reason") or ""),
        "amount": _money(refund.get("amount") or offer),
        "expected_by": _day(refund.get("expected_by"))[:10],
        "cancelled_by": str(view.get("cancelled_by") or event.get("cancelled_by") or ""),
        "said": str(event.get("body") or ""),
        "resolution": str(dispute.get("resolution_note") or dispute.get("status") or ""),
        "ship_by": _day(view.get("ship_by")),
        "protection_ends_at": _day(view.get("protection_ends_at")),
    }
