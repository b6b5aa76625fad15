"""The Order aggregate: every change to an order and what it owns goes through it."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, ClassVar

from aftersale.domain.cancellation import CancellationRules
from aftersale.domain.context import Ctx
from aftersale.domain.dispute_rounds import DisputeRoundRules
from aftersale.domain.entities import OrderStatus, new_id
from aftersale.domain.errors import ValidationFailed
from aftersale.domain.lifecycle import LifecycleRules
from aftersale.domain.lines import OrderLine
from aftersale.domain.money import check_currency, parse_amount
from aftersale.domain.policy import Policy
from aftersale.domain.returns import ReturnRules
from aftersale.domain.timers import TimerRules
from aftersale.domain.validate import text


class Order(LifecycleRules, CancellationRules, ReturnRules, TimerRules, DisputeRoundRules):
    """An order with its cancellation requests, refunds, returns, disputes and timeline."""

    # deadline kind -> the rule it applies (the one list of the order's deadline kinds)
    DEADLINES: ClassVar[dict[str, str]] = {
        "cancellation_timeout": "expire_cancellation",
        "unpaid_close": "_close_unpaid",
        "order_complete": "_complete_due",
        "return_answer_timeout": "expire_return_answer",
        "return_ship_timeout": "expire_return_shipping",
        "return_receive_timeout": "expire_return_receipt",
        "dispute_answer_timeout": "expire_dispute_answer",
        "dispute_buyer_timeout": "expire_buyer_answer",
        "ship_timeout": "expire_ship_by",
        "protection_end": "expire_protection",
    }

    def fire_deadline(self, kind: str, subject_id: str, ctx: Ctx) -> None:
        """Apply the rule a deadline stands for; one whose moment has passed does nothing."""
        name = self.DEADLINES.get(kind)
        if name is None:
            raise ValueError(f"unknown deadline kind {kind!r}")
        rule: Callable[[str, Ctx], None] = getattr(self, name)
        rule(subject_id, ctx)

    def _close_unpaid(self, _subject: str, ctx: Ctx) -> None:
        self.close_unpaid(ctx)

    def _complete_due(self, _subject: str, ctx: Ctx) -> None:
        self._try_complete(ctx)


class ReplayedOrder(Order):
    """An order whose past is replayed through the same rules (the bulk import): the same
    timeline, ledger, refunds and deadlines, but no outbox events (history sends no webhooks
    or mails), so none is built."""

    def _record(
        self, ctx: Ctx, event: str, detail: str, *, by: str | None = None, **data: object
    ) -> None:
        self._note(ctx, event, detail, by=by)


ORDER_DEADLINES = frozenset(Order.DEADLINES)


def create_order(
    *,
    buyer_id: str,
    seller_id: str,
    currency: object,
    items: object,
    shipping_fee: object,
    buyer_country: str,
    policy: Policy,
    ctx: Ctx,
    order_id: str | None = None,
    kind: type[Order] = Order,
    ship_by_days: object = None,
    delivery_days: object = None,
) -> Order:
    """Place a new order awaiting payment, validating every line (`kind`: ReplayedOrder to
    replay an imported order's past)."""
    if not isinstance(currency, str):
        raise ValidationFailed("currency must be an ISO 4217 code", field="currency")
    cur = check_currency(currency)
    lines = _parse_items(items, cur)
    fee = (
        Decimal(0)
        if shipping_fee is None
        else parse_amount(shipping_fee, cur, field="shipping_fee", allow_zero=True)
    )
    total = sum((line.subtotal for line in lines), Decimal(0)) + fee
    ship_days = _days(ship_by_days, "ship_by_days", policy.seller_ship_days, 30)
    protection_days = _days(delivery_days, "delivery_days", policy.delivery_protection_days, 90)
    order = kind(
        id=order_id or new_id("ord"),
        buyer_id=buyer_id,
        seller_id=seller_id,
        currency=cur,
        items=lines,
        shipping_fee=fee,
        total=total,
        status=OrderStatus.AWAITING_PAYMENT,
        buyer_country=buyer_country,
        policy=policy,
        created_at=ctx.now,
        updated_at=ctx.now,
        ship_by_days=ship_days,
        delivery_days=protection_days,
    )
    order._schedule("unpaid_close", order.id, ctx.now + policy.unpaid_close)
    order._record(ctx, "placed", f"Order placed: {total} {cur}")
    return order


def _days(value: object, field: str, default: int, most: int) -> int:
    """A whole number of days from 1 to `most` (None: the policy's default)."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise ValidationFailed(f"{field} must be a whole number from 1 to {most}", field=field)
    return value


def _parse_items(items: object, currency: str) -> list[OrderLine]:
    """Validate order lines: unique SKUs, whole quantities, exact prices."""
    if not isinstance(items, list) or not 1 <= len(items) <= 200:
        raise ValidationFailed("add at least one line to the order (at most 200)", field="items")
    lines: list[OrderLine] = []
    for raw in items:
        if not isinstance(raw, dict):
            raise ValidationFailed("each item is an object", field="items")
        line: dict[str, Any] = raw
        qty = line.get("quantity")
        if isinstance(qty, bool) or not isinstance(qty, int) or not 1 <= qty <= 100_000:
            raise ValidationFailed(
                "quantity must be a whole number from 1 to 100000", field="items"
            )
        lines.append(
            OrderLine(
                sku=text(line.get("sku"), "sku", max_len=100),
                title=text(line.get("title"), "title", max_len=300),
                quantity=qty,
                unit_price=parse_amount(line.get("unit_price"), currency, field="unit_price"),
            )
        )
    if len({line.sku for line in lines}) != len(lines):
        raise ValidationFailed("each sku may appear once per order", field="items")
    return lines
