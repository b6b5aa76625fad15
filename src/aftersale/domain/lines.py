"""Order lines as values: what was ordered, and how much of it was cancelled or returned."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aftersale.domain.errors import ValidationFailed


@dataclass(slots=True)
class OrderLine:
    """A line of an order: `quantity` ordered, of which `cancelled_quantity` the seller
    cancelled before shipment and `returned_quantity` came back in refunded returns."""

    sku: str
    title: str
    quantity: int
    unit_price: Decimal
    cancelled_quantity: int = 0
    returned_quantity: int = 0

    @property
    def subtotal(self) -> Decimal:
        """Quantity ordered times unit price."""
        return self.unit_price * self.quantity

    @property
    def remaining(self) -> int:
        """Units still on the order (not cancelled)."""
        return self.quantity - self.cancelled_quantity

    @property
    def kept(self) -> int:
        """Units the buyer keeps: neither cancelled nor returned for a refund."""
        return self.quantity - self.cancelled_quantity - self.returned_quantity

    @property
    def refunded_quantity(self) -> int:
        """Units whose price went back to the buyer (cancelled after payment, or returned)."""
        return self.cancelled_quantity + self.returned_quantity


def line_to_json(line: OrderLine) -> dict[str, Any]:
    """The stored form of a line (the orders.items JSON; counts of 0 are left out)."""
    out: dict[str, Any] = {
        "sku": line.sku,
        "title": line.title,
        "quantity": line.quantity,
        "unit_price": str(line.unit_price),
    }
    if line.cancelled_quantity:
        out["cancelled_quantity"] = line.cancelled_quantity
    if line.returned_quantity:
        out["returned_quantity"] = line.returned_quantity
    return out


def lines_to_json(lines: list[OrderLine]) -> list[dict[str, Any]]:
    """The stored form of an order's lines."""
    return [line_to_json(line) for line in lines]


def line_from_json(raw: dict[str, Any]) -> OrderLine:
    """A stored line (rows written before lines had counts read as 0)."""
    return OrderLine(
        sku=raw["sku"],
        title=raw["title"],
        quantity=int(raw["quantity"]),
        unit_price=Decimal(raw["unit_price"]),
        cancelled_quantity=int(raw.get("cancelled_quantity", 0)),
        returned_quantity=int(raw.get("returned_quantity", 0)),
    )


def line_key(line: OrderLine) -> tuple[Any, ...]:
    """What the repository compares to see whether a line changed."""
    return (
        line.sku,
        line.title,
        line.quantity,
        line.unit_price,
        line.cancelled_quantity,
        line.returned_quantity,
    )


def parse_quantities(items: object) -> dict[str, int]:
    """Validate [{"sku", "quantity"}] lines and add up quantities per SKU."""
    if not isinstance(items, list) or not items or len(items) > 100:
        raise ValidationFailed("add at least one item (at most 100)", field="items")
    wanted: dict[str, int] = {}
    for line in items:
        if not isinstance(line, dict):
            raise ValidationFailed("each item needs its SKU and a quantity", field="items")
        sku: Any = line.get("sku")
        qty: Any = line.get("quantity")
        if not isinstance(sku, str) or not sku:
            raise ValidationFailed("each item needs its SKU", field="items")
        if isinstance(qty, bool) or not isinstance(qty, int) or qty < 1:
            raise ValidationFailed("each quantity must be a whole number, 1 or more", field="items")
        wanted[sku] = wanted.get(sku, 0) + qty
    return wanted


def check_available(wanted: dict[str, int], available: dict[str, int], verb: str) -> None:
    """Refuse SKUs not on the order and quantities above what is available."""
    for sku, qty in wanted.items():
        if sku not in available:
            raise ValidationFailed(f"{sku} is not on this order", field="items")
        if qty > available[sku]:
            left = max(available[sku], 0)
            raise ValidationFailed(f"only {left} of {sku} can still be {verb}", field="items")


def parse_lines(items: object, lines: list[OrderLine], mode: str) -> dict[str, int]:
    """Validated quantities per SKU, at most each line's `remaining` units (mode)."""
    wanted = parse_quantities(items)
    check_available(wanted, {line.sku: getattr(line, mode) for line in lines}, "cancelled")
    return wanted
