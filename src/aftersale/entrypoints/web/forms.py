"""Reading the pages' forms: trimmed text fields, and items with a quantity per order line."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.datastructures import FormData, UploadFile

from aftersale.domain.errors import ValidationFailed
from aftersale.domain.validate import storable


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
