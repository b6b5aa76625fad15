"""The reason lists a buyer picks from (codes are stable; labels are English defaults)."""

from __future__ import annotations

from aftersale.domain.errors import ValidationFailed

CANCELLATION_REASONS: dict[str, str] = {
    "changed_mind": "I changed my mind",
    "better_price": "I found a better price elsewhere",
    "wrong_address": "The shipping address is wrong",
    "ordered_by_mistake": "I ordered by mistake",
    "shipping_too_slow": "Shipping takes too long",
    "payment_problem": "I had a problem with the payment",
    "other": "Other reason",
}

RETURN_REASONS: dict[str, str] = {
    "not_as_described": "Item not as described",
    "wrong_item": "Wrong item received",
    "damaged": "Item arrived damaged",
    "defective": "Item does not work",
    "does_not_fit": "Size or fit is wrong",
    "no_longer_needed": "No longer needed",
    "other": "Other reason",
}

# Return reasons that are the seller's fault: a return of everything still refundable for
# one of them refunds the shipping fee too (rule 13).
SELLER_FAULT_RETURNS = frozenset({"not_as_described", "wrong_item", "damaged", "defective"})

DISPUTE_REASONS: dict[str, str] = {
    "not_received": "Order not received",
    "not_as_described": "Item not as described",
    "damaged": "Item arrived damaged",
    "wrong_item": "Wrong item received",
    "missing_parts": "Parts or quantity missing",
    "counterfeit": "Counterfeit item",
    "other": "Other reason",
}


def check_reason(code: object, reasons: dict[str, str], *, field: str = "reason") -> str:
    """Return the code if it is on the list, else raise a validation error."""
    if not isinstance(code, str) or code not in reasons:
        raise ValidationFailed(f"{field} must be one of: {', '.join(reasons)}", field=field)
    return code
