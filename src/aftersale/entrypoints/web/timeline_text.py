"""Timeline lines in the page's language: each stored (English) detail matched to its message.

The domain writes a timeline entry's detail in English once, when it happens; the pages show
it in the reader's language by matching it against the sentences the domain writes. Amounts
(`12.50 USD`) and dates are formatted for the locale, and the words inside (a reason, how a
dispute was resolved) are translated too. A detail no sentence matches is shown as written.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel.dates import format_date

from aftersale.entrypoints.web.i18n import current_locale, translate

# What each timeline event is called on the pages (by its stable code).
EVENT_TITLES = {
    "placed": "Order placed",
    "imported": "Imported",
    "paid": "Paid",
    "refund_destination": "Refund destination",
    "packed": "Packed",
    "shipped": "Shipped",
    "delivered": "Delivered",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "cancellation_requested": "Cancellation requested",
    "cancellation_accepted": "Cancellation accepted",
    "cancellation_rejected": "Cancellation declined",
    "cancellation_auto_accepted": "Cancellation accepted automatically",
    "items_cancelled": "Items cancelled",
    "refund_created": "Refund issued",
    "refund_succeeded": "Refund credited",
    "refund_failed": "Refund failed",
    "return_requested": "Return requested",
    "return_approved": "Return approved",
    "return_rejected": "Return rejected",
    "return_shipped": "Return shipped",
    "return_received": "Return received",
    "return_closed": "Return closed",
    "dispute_opened": "Dispute opened",
    "dispute_modified": "Dispute changed",
    "dispute_rejected": "Dispute rejected by the seller",
    "dispute_proposal": "Seller's offer",
    "dispute_escalated": "Dispute escalated",
    "dispute_resolved": "Dispute resolved",
    "dispute_closed": "Dispute closed",
    "protection_extended": "Protection extended",
}

# Who did it, as the pages say it (the system's automatic steps included).
ACTORS = {
    "buyer": "Buyer",
    "seller": "Seller",
    "platform": "Platform",
    "system": "Automatic",
}

# Every sentence the domain writes into a timeline detail. %(money)s is "12.50 USD",
# %(date)s "2026-01-31", %(when)s "2026-01-31 10:00 UTC"; the rest is text.
SENTENCES = (
    "Order placed: %(money)s",
    "Imported from another system",
    "Paid %(money)s by %(method)s",
    "Future refunds go to the marketplace balance",
    "Future refunds go to the original payment method",
    "The seller packed the order",
    "Shipped with %(carrier)s, tracking %(tracking)s",
    "Delivered",
    "The buyer confirmed receipt",
    "Receipt confirmed automatically: the purchase protection period ended",
    "Completed; %(money)s released to the seller",
    "Cancelled automatically: not paid in time",
    "Cancelled automatically: the seller did not ship in time",
    "Order cancelled at the buyer's request: %(reason)s",
    "Order cancelled by the seller: %(reason)s",
    "Cancellation requested (%(reason)s); the seller has until %(when)s to answer",
    "The seller accepted the cancellation",
    "The seller cancelled the order, accepting the buyer's request",
    "The seller rejected the cancellation: %(reason)s",
    "The seller did not answer within %(hours)s hours: the cancellation was accepted automatically",
    "The seller did not ship in time: the cancellation was accepted automatically",
    "The seller cancelled %(what)s: %(reason)s",
    "Refund of %(money)s created (%(reason)s); expected by %(date)s",
    "Refund of %(money)s credited to the buyer",
    "Refund of %(money)s failed: %(reason)s",
    "Return requested for %(money)s (%(reason)s)",
    "Return approved",
    "Return approved automatically: the seller did not answer",
    "Return rejected: %(reason)s",
    "Return inspected: not in acceptable condition, nothing refunded",
    "Return shipped with %(carrier)s, tracking %(tracking)s",
    "Return inspected and accepted",
    "Return not received in time: refunded as if it arrived in good condition",
    "Return closed: not shipped back in time",
    "Dispute opened (%(reason)s) asking for %(money)s",
    "The buyer changed the dispute, asking for %(money)s",
    "The seller rejected the dispute: %(reason)s",
    "The seller proposed a refund of %(money)s",
    "The buyer escalated the dispute to the platform",
    "Dispute resolved %(how)s: refund of %(money)s",
    "The buyer withdrew the dispute",
    "Dispute closed: the buyer did not answer in time",
    "Purchase protection extended by %(days)s days, to %(when)s",
)

# The words the domain puts inside those sentences (reasons, how a dispute ended); shown
# translated. (A seller's own words are shown as written.)
INNER_WORDS = (
    "the order was cancelled",
    "the seller did not ship in time",
    "the seller cancelled items",
    "the returned items",
    "the dispute",
    "a goodwill gesture",
    "automatically, as the seller did not answer in time",
    "as the buyer accepted the seller's offer",
    "as the seller accepted the buyer's request",
    "by the platform",
    "the seller did not answer in time",
    "I changed my mind",
    "I found a better price elsewhere",
    "The shipping address is wrong",
    "I ordered by mistake",
    "Shipping takes too long",
    "I had a problem with the payment",
    "Other reason",
    "Item not as described",
    "Wrong item received",
    "Item arrived damaged",
    "Item does not work",
    "Size or fit is wrong",
    "No longer needed",
    "Order not received",
    "Parts or quantity missing",
    "Counterfeit item",
)

_SLOTS = {
    "money": r"(?P<money>-?\d+(?:\.\d+)? [A-Z]{3})",
    "date": r"(?P<date>\d{4}-\d{2}-\d{2})",
    "when": r"(?P<when>\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC)",
    "hours": r"(?P<hours>\d+)",
    "days": r"(?P<days>\d+)",
}
_SLOT = re.compile(r"%\((\w+)\)s")


def _pattern(sentence: str) -> re.Pattern[str]:
    parts, last = [], 0
    for slot in _SLOT.finditer(sentence):
        parts.append(re.escape(sentence[last : slot.start()]))
        name = slot.group(1)
        parts.append(_SLOTS.get(name, rf"(?P<{name}>.+?)"))
        last = slot.end()
    parts.append(re.escape(sentence[last:]))
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


@lru_cache(maxsize=1)
def _patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((s, _pattern(s)) for s in SENTENCES)


def known_words(value: Any, locale: str | None = None) -> str:
    """Words the domain wrote (a reason, an automatic note) translated; anyone's own words as
    written."""
    text = str(value or "")
    return translate(text, locale) if text in INNER_WORDS else text


_words = known_words


# The lines of "The seller cancelled 2 x SKU-1, 1 x SKU-2: ..." (quantity, SKU).
_LINE = re.compile(r"(\d+) x (\S+)")


def _lines(value: str, order: dict[str, Any] | None) -> str:
    """Cancelled lines as products with their quantities ("2 × Bulb"), not SKUs (a SKU the
    order has no line for is shown as written)."""
    if order is None:
        return value
    parts = [_LINE.fullmatch(part.strip()) for part in value.split(",")]
    if not all(parts):
        return value
    titles = {str(i["sku"]): str(i["title"]) for i in order.get("items", [])}
    return ", ".join(f"{m[1]} × {titles.get(m[2], m[2])}" for m in parts if m)


def _fill(name: str, value: str, locale: str | None, order: dict[str, Any] | None = None) -> str:
    # (imported lazily: render imports this module)
    from aftersale.entrypoints.web.render import dt, money

    if name == "what":
        return _lines(value, order)
    if name == "money":
        amount, currency = value.rsplit(" ", 1)
        return money(amount, currency, locale=locale)
    if name == "date":
        where = locale or current_locale.get()
        return format_date(datetime.fromisoformat(value).date(), "medium", locale=where)
    if name == "when":
        moment = datetime.strptime(value, "%Y-%m-%d %H:%M UTC").replace(tzinfo=UTC)
        return dt(moment, locale=locale)
    return _words(value, locale)


def sentence_of(detail: Any) -> str | None:
    """The sentence a stored detail was written from (None: none matches)."""
    text = str(detail or "")
    return next((s for s, pattern in _patterns() if pattern.match(text)), None)


def detail_text(detail: Any, locale: str | None = None, order: dict[str, Any] | None = None) -> str:
    """A stored timeline detail in the page's language (as written if no sentence matches);
    with the `order`, the lines it names are its products ("2 × Bulb"), not SKUs."""
    text = str(detail or "")
    for sentence, pattern in _patterns():
        found = pattern.match(text)
        if found:
            params = {k: _fill(k, v, locale, order) for k, v in found.groupdict().items()}
            return translate(sentence, locale, **params)
    return text


def event_title(event: Any, locale: str | None = None) -> str:
    """What a timeline event is called on the pages."""
    code = str(event or "")
    if code in EVENT_TITLES:
        return translate(EVENT_TITLES[code], locale)
    return translate(code.replace("_", " ").capitalize(), locale)


def actor_name(actor: Any, locale: str | None = None) -> str:
    """Who did it, in words (the system's steps read "Automatic")."""
    code = str(actor or "")
    return translate(ACTORS[code], locale) if code in ACTORS else code


# A refund's reason code, in words on the refund cards.
REFUND_REASONS = {
    "order_cancelled": "The order was cancelled",
    "seller_did_not_ship": "The seller did not ship in time",
    "items_cancelled": "The seller cancelled items",
    "return": "Returned items",
    "dispute": "Dispute",
    "goodwill": "Goodwill gesture",
}
# How a dispute was resolved (by `resolved_by`), in words on the dispute cards.
RESOLUTIONS = {
    "default": "The seller did not answer in time, so you won the dispute.",
    "buyer_accepted": "You accepted the seller's offer.",
    "seller_accepted": "The seller accepted your request.",
    "platform": "The platform decided.",
}


# How a dispute ended, as the seller's and the staff's pages say it (the buyer's: RESOLUTIONS),
# by how it was resolved (`resolved_by`) or why it closed (`closed_reason`).
OUTCOMES = {
    "seller": {
        "default": "You did not answer in time, so the buyer won the dispute.",
        "buyer_accepted": "The buyer accepted your offer.",
        "seller_accepted": "You accepted the buyer's request.",
        "platform": "The platform decided.",
        "withdrawn": "The buyer withdrew the dispute; no refund.",
        "buyer_timeout": "Closed with no refund: the buyer did not answer you in time.",
    },
    "staff": {
        "default": "The seller did not answer in time, so the buyer won the dispute.",
        "buyer_accepted": "The buyer accepted the seller's offer.",
        "seller_accepted": "The seller accepted the buyer's request.",
        "platform": "The platform decided.",
        "withdrawn": "The buyer withdrew the dispute; no refund.",
        "buyer_timeout": "Closed with no refund: the buyer did not answer the seller in time.",
    },
}


def dispute_outcome(dispute: dict[str, Any], party: str, locale: str | None = None) -> str:
    """How a dispute ended, in words for the `party` ("seller" or "staff"): the refund and how
    it was decided, or why it closed with none ("": it has not ended)."""
    from aftersale.entrypoints.web.render import money

    words = OUTCOMES[party]
    if dispute.get("resolved_by"):
        how = words.get(str(dispute["resolved_by"]), "")
        paid = dispute.get("resolution_amount") or {}
        amount = money(paid, locale=locale)
        refund = (
            translate("Refund of %(amount)s", locale, amount=amount)
            if Decimal(str(paid.get("amount") or 0)) > 0
            else translate("No refund", locale)
        )
        return f"{refund} — {translate(how, locale)}" if how else refund
    why = words.get(str(dispute.get("closed_reason") or ""))
    return translate(why, locale) if why else ""


def refund_reason(code: Any, locale: str | None = None) -> str:
    """A refund's reason in words."""
    key = str(code or "")
    if key in REFUND_REASONS:
        return translate(REFUND_REASONS[key], locale)
    return translate(key.replace("_", " ").capitalize(), locale)


def resolved_how(code: Any, locale: str | None = None) -> str:
    """How a dispute was resolved, in words."""
    key = str(code or "")
    return translate(RESOLUTIONS[key], locale) if key in RESOLUTIONS else ""
