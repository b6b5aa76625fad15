"""Request bodies. Types are checked here; business rules in the domain."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict

from aftersale.entrypoints.api.strict import Amount, Country, Flag, Integer, Quantity, StorableText


class Body(StorableText, BaseModel):
    """A JSON request body; unknown fields are ignored; its text must be storable."""

    model_config = ConfigDict(extra="ignore")


class NewUser(Body):
    email: str
    name: str
    role: Literal["buyer", "seller", "admin"]
    password: str | None = None
    country: Country | None = None
    language: str | None = None


class Item(Body):
    sku: str
    title: str
    quantity: Quantity
    unit_price: Amount


class NewOrder(Body):
    buyer_id: str
    seller_id: str
    currency: str
    items: list[Item] = Field(min_length=1, max_length=200)
    shipping_fee: Amount | None = None
    ship_by_days: Integer | None = None
    delivery_days: Integer | None = None


class Payment(Body):
    amount: Amount
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
    quantity: Quantity


class SellerCancel(Body):
    reason: str
    items: list[ReturnLine] | None = None


class ExtendProtection(Body):
    days: Integer


class GoodwillRefund(Body):
    amount: Amount
    reason: str


class ModifyDispute(Body):
    refund_type: Literal["full", "partial"]
    amount: Amount | None = None
    description: str | None = None


class NewReturn(Body):
    reason: str
    items: list[ReturnLine]
    condition: Literal["unopened", "opened_unused", "used", "defective"]
    description: str | None = None


class Inspection(Body):
    condition_ok: Flag
    notes: str | None = None


class NewDispute(Body):
    reason: str
    refund_type: Literal["full", "partial"]
    amount: Amount | None = None
    description: str


class AmountBody(Body):
    amount: Amount


class Resolution(Body):
    refund_amount: Amount
    note: str


class MessageBody(Body):
    body: str


class Advance(Body):
    seconds: Annotated[float, Strict()] = Field(ge=0, le=10 * 365 * 86400)


def dump(model: BaseModel) -> dict[str, Any]:
    """A body as plain data."""
    return model.model_dump()
