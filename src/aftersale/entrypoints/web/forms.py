"""Reading the pages' forms (trimmed text fields, items with a quantity per order line), and
what a refused form says: in plain words, beside its field, with the form kept as it was sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from starlette.datastructures import FormData, UploadFile

from aftersale.domain.errors import DomainError, ValidationFailed
from aftersale.domain.validate import storable
from aftersale.entrypoints.web.i18n import ERROR_MESSAGES, detail_in, translate

# What a refused field means for the person filling the form, by the field's name.
FIELD_MESSAGES = {
    "items": "Choose at least one item and how many (at most what you can still return).",
    "amount": "Enter an amount in figures, like 12.50, no more than what can still be refunded.",
    "refund_type": "Choose a full or a partial refund.",
    "reason": "Choose a reason from the list.",
    "condition": "Choose the condition of the items.",
    "description": "Tell us in a few words what went wrong (at most 2,000 characters).",
    "comment": "Keep the comment to 500 characters at most.",
    "carrier": "Enter the carrier's name (at most 100 characters).",
    "tracking_number": "Enter the tracking number (at most 100 characters).",
    "body": "Write a message of at most 2,000 characters.",
    "file": "Choose a photo (PNG, JPEG, WebP or GIF) or a PDF of at most 5 MB.",
}
# Field names the rules use that the forms call differently.
FIELD_ALIASES = {"file": "evidence", "requested_amount": "amount"}


@dataclass
class FormState:
    """A form sent back to its page: which one, what was typed, and its error (if any)."""

    name: str = ""
    values: dict[str, str] = field(default_factory=dict)
    error: dict[str, str | None] | None = None

    def context(self) -> dict[str, Any]:
        """What a page's templates read to show the form again (_fields.html): its name, the
        values sent and the error (an empty state: no form was refused)."""
        return {"form_name": self.name, "form": self.values, "form_error": self.error}


def field_error(
    exc: DomainError,
    locale: str | None = None,
    messages: dict[str, str] | None = None,
    aliases: dict[str, str] | None = None,
) -> dict[str, str | None]:
    """The form field a refusal is about (None: the action, not a field) and what to say.

    `messages` (by field name) and `aliases` (the rule's field name -> the form's) default to
    the buyer's forms'; the seller's and staff's forms pass their own (seller.FORM_MESSAGES)."""
    said = FIELD_MESSAGES if messages is None else messages
    renamed = FIELD_ALIASES if aliases is None else aliases
    name = exc.field
    if exc.code == "payload_too_large":
        name, words = "file", ERROR_MESSAGES[exc.code]
    elif exc.code == "refund_exceeds_paid":
        name, words = "amount", said.get("refund_exceeds_paid", ERROR_MESSAGES[exc.code])
    elif exc.code in ERROR_MESSAGES:
        name, words = None, ERROR_MESSAGES[exc.code]
    elif name in said:
        words = said[name]
    else:
        return {"field": None, "message": detail_in(str(exc.detail), locale)}
    shown = renamed.get(name, name) if name else None
    return {"field": shown, "message": translate(words, locale)}


def form_status(exc: DomainError) -> int:
    """The status of a page sent back with a refused form (as the API would answer)."""
    if exc.code == "payload_too_large":
        return 413
    return 422 if isinstance(exc, ValidationFailed) or exc.code == "refund_exceeds_paid" else 409


def refuse_unstorable(form: FormData) -> None:
    """422 `validation_error` for a form whose field names, values or file names hold a NUL
    byte or text that is not valid Unicode (checked on every page POST, before it runs)."""
    for key, value in form.multi_items():
        name = value.filename or "" if isinstance(value, UploadFile) else value
        if not storable(key) or not storable(name):
            raise ValidationFailed(
                f"{key if storable(key) else 'a field'} holds a NUL byte or text that is "
                "not valid Unicode",
                field=key if storable(key) else None,
            )


async def form_fields(request: Request) -> dict[str, str]:
    """The form's text fields, trimmed (files are left out)."""
    form = await request.form()
    refuse_unstorable(form)
    return {k: v.strip() for k, v in form.items() if isinstance(v, str)}


def page_amount(value: str | None) -> str | None:
    """An amount as a page's field takes it, "12,50" as well as "12.50" (how much of the world,
    Spanish included, writes it), in the API's grammar ("12.50"); empty: None. The API's own
    amounts keep their grammar: only the pages read a comma."""
    return (value or "").strip().replace(",", ".") or None


def quantities(form: dict[str, str]) -> list[dict[str, Any]]:
    """The lines chosen in a form of `sku_N` / `qty_N` pairs: [{"sku", "quantity"}] for every
    quantity that is not empty or 0 (a quantity that is not a number goes on as written, for
    the rules to refuse)."""
    items = []
    for key, sku in form.items():
        if key.startswith("sku_"):
            qty = form.get("qty_" + key[4:], "0")
            if qty not in ("", "0"):
                items.append({"sku": sku, "quantity": int(qty) if qty.isdigit() else qty})
    return items
