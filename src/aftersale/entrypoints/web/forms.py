"""Reading the pages' forms: trimmed text fields, and items with a quantity per order line."""

from __future__ import annotations

from typing import Any

from fastapi import Request


async def form_fields(request: Request) -> dict[str, str]:
    """The form's text fields, trimmed (files are left out)."""
    form = await request.form()
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
