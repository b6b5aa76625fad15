"""What the buyer's order page says about the order, from its current state only.

One place decides the headline status and the banner's sentences, from the order's status,
its latest cancellation request, its refunds and the actions open now (never from a status
the order has left behind), so the words cannot contradict the page.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aftersale.entrypoints.web.i18n import translate

UNSHIPPED_PAID = ("awaiting_fulfillment", "awaiting_shipment")


def _amount(money: dict[str, str] | None) -> Decimal:
    return Decimal(str((money or {}).get("amount") or 0))


def fully_refunded(order: dict[str, Any]) -> bool:
    """Whether everything paid for the order has been (or is being) refunded."""
    paid = _amount(order.get("paid_amount"))
    return paid > 0 and _amount(order.get("refunded_amount")) >= paid


def headline(order: dict[str, Any]) -> tuple[str, str]:
    """The status the page shows first: (badge kind, words)."""
    from aftersale.entrypoints.web.render import label

    status = order["status"]
    if status not in ("cancelled", "completed") and fully_refunded(order):
        return "refunded", translate("Refunded in full")
    return status, label(status)


def _sentence(text: str) -> str:
    """Someone's own words as a sentence: trimmed, ending with a full stop."""
    words = text.strip()
    return words if words[-1:] in (".", "!", "?", "…") else f"{words}."


def _refund_line(order: dict[str, Any]) -> str:
    from aftersale.entrypoints.web.render import money

    refunds = order.get("refunds") or []
    amount = money(order.get("refunded_amount"))
    if not refunds:
        return ""
    if all(r["status"] == "succeeded" for r in refunds):
        return translate(
            "You were refunded %(amount)s in full; see the refund below.", amount=amount
        )
    return translate(
        "You are being refunded %(amount)s in full; see the refund below.", amount=amount
    )


def _cancelled(order: dict[str, Any]) -> list[str]:
    c = order.get("cancellation") or {}
    by, reason = order.get("cancelled_by"), order.get("cancel_reason") or ""
    if c.get("status") == "auto_accepted":
        why = translate(
            "The seller did not answer your cancellation request in time, so it was "
            "accepted automatically."
        )
    elif reason == "seller_did_not_ship":
        why = translate(
            "The seller did not ship in time, so the order was cancelled automatically."
        )
    elif by == "system" and reason == "unpaid":
        why = translate(
            "It was not paid within %(days)s days, so it was closed automatically.",
            days=order["policy"]["unpaid_close_days"],
        )
    elif by == "seller":
        why = translate(
            "The seller cancelled it. Their reason: %(reason)s", reason=_sentence(reason)
        )
    elif by == "buyer" and c.get("status") == "accepted":
        why = translate("The seller accepted your cancellation request.")
    elif by == "buyer":
        why = translate("You cancelled it.")
    else:
        why = ""
    paid = _amount(order.get("paid_amount")) > 0
    money_line = _refund_line(order) if paid else translate("Nothing was charged.")
    return [translate("This order is cancelled."), why, money_line]


def banner(order: dict[str, Any]) -> list[str]:
    """The banner's sentences for the order as it is now (empty: no banner)."""
    status, acts = order["status"], set(order.get("allowed_actions") or [])
    if status == "cancelled":
        lines = _cancelled(order)
    elif status == "awaiting_payment":
        lines = [translate("This order is waiting for payment.")]
        if "cancel" in acts:
            lines.append(translate("You can still cancel it at once, free of charge."))
    elif status in UNSHIPPED_PAID:
        lines = []  # (the cancellation request's own banner and the timers say it all)
    elif fully_refunded(order):
        lines = [
            translate("This order is refunded in full."),
            _refund_line(order),
            translate("There is nothing more to do on it."),
        ]
    elif status == "shipped":
        lines = [translate("This order has shipped, so it can no longer be cancelled.")]
        p = order["policy"]
        lines.append(
            translate(
                "Once it is delivered you can return items within %(days)s days, or open a "
                "dispute within %(ddays)s days.",
                days=p["return_window_days"],
                ddays=p["dispute_window_days"],
            )
        )
    elif status == "delivered":
        lines = [translate("This order has been delivered.")]
        if {"open_return", "open_dispute"} <= acts:
            lines.append(
                translate("If something is wrong, you can return items or open a dispute.")
            )
        elif "open_dispute" in acts:
            lines.append(translate("If something is wrong, you can open a dispute."))
        elif "open_return" in acts:
            lines.append(translate("If something is wrong, you can return items."))
    else:  # completed
        lines = [translate("This order is complete.")]
        if _amount(order.get("refunded_amount")) > 0:
            from aftersale.entrypoints.web.render import money

            lines.append(
                translate("%(amount)s of it was refunded.", amount=money(order["refunded_amount"]))
            )
    return [line for line in lines if line]


def main_actions(order: dict[str, Any]) -> set[str]:
    """The actions the page offers as buttons or forms (messaging aside)."""
    offered = {"cancel", "request_cancellation", "confirm_receipt", "open_return", "open_dispute"}
    return offered & set(order.get("allowed_actions") or [])


def net_paid(order: dict[str, Any]) -> dict[str, str]:
    """What the buyer paid less what was refunded, as money."""
    paid, back = _amount(order.get("paid_amount")), _amount(order.get("refunded_amount"))
    return {"amount": str(paid - back), "currency": order["currency"]}
