"""Request bodies. Types are checked here; business rules in the domain."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Body(BaseModel):
    """A JSON request body; unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore")


class NewUser(Body):
    email: str
    name: str
    role: Literal["buyer", "seller", "admin"]
    password: str | None = None
    country: str | None = None
    language: str | None = None


class Item(Body):
    sku: str
    title: str
    quantity: int
    unit_price: str


class NewOrder(Body):
    buyer_id: str
    seller_id: str
    currency: str
    items: list[Item] = Field(min_length=1, max_length=200)
    shipping_fee: str | None = None
    ship_by_days: int | None = None
    delivery_days: int | None = None


class Payment(Body):
    amount: str
    method: Literal["card", "balance"]
    reference: str


class Shipment(Body):
    carrier: str
    tracking_number: str


class CancelBody(Body):
    reason: str
    comment: str | None = None
    refund_to: Literal["original", "balance"] | None = None


class RefundDestination(Body):
    refund_to: Literal["original", "balance"]


class ReasonBody(Body):
    reason: str


class ReturnLine(Body):
    sku: str
    quantity: int


class SellerCancel(Body):
    reason: str
    items: list[ReturnLine] | None = None


class ExtendProtection(Body):
    days: int


class GoodwillRefund(Body):
    amount: str
    reason: str


class ModifyDispute(Body):
    refund_type: Literal["full", "partial"]
    amount: str | None = None
    description: str | None = None


class NewReturn(Body):
    reason: str
    items: list[ReturnLine]
    condition: Literal["unopened", "opened_unused", "used", "defective"]
    description: str | None = None


class Inspection(Body):
    condition_ok: bool
    notes: str | None = None


class NewDispute(Body):
    reason: str
    refund_type: Literal["full", "partial"]
    amount: str | None = None
    description: str


class AmountBody(Body):
    amount: str


class Resolution(Body):
    refund_amount: str
    note: str


class MessageBody(Body):
    body: str


class Advance(Body):
    seconds: float = Field(ge=0, le=10 * 365 * 86400)


def dump(model: BaseModel) -> dict[str, Any]:
    """A body as plain data."""
    return model.model_dump()
