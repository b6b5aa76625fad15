"""Response models: the shapes every API route answers with (services/views.py builds them).

The routes declare these as their `response_model`; most return a pre-built JSONResponse, so
FastAPI puts the schema in the OpenAPI document without validating each answer (the hot paths
keep their speed). tests/integration/test_hot_routes.py and tests/e2e/test_contract_fuzz.py
check that the bytes sent match them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Shape(BaseModel):
    """A response object: exactly these fields (extra ones are a contract break)."""

    model_config = ConfigDict(extra="forbid")


class Money(Shape):
    """An amount in a currency's minor units, as a decimal string."""

    amount: str = Field(examples=["12.50"])
    currency: str = Field(examples=["USD"])


Stamp = str | None  # RFC 3339 in UTC with a Z, or null


class Health(Shape):
    """Liveness."""

    status: str


class Ready(Shape):
    """Readiness."""

    status: Literal["ready"]


class User(Shape):
    """A user; `token` only in the answer that created it (shown once)."""

    id: str
    email: str
    name: str
    role: Literal["buyer", "seller", "admin"]
    country: str | None
    language: str | None
    token: str | None = None


class Reason(Shape):
    """A reason a buyer picks from."""

    code: str
    label: str


class ReturnReason(Reason):
    """A return reason; `seller_fault`: the shipping fee is refunded too."""

    seller_fault: bool


class Clock(Shape):
    """The test clock's time."""

    now: Stamp


class Cancellation(Shape):
    """A buyer's cancellation request."""

    id: str
    status: str
    reason: str
    comment: str | None
    requested_at: Stamp
    respond_by: Stamp
    responded_at: Stamp
    reject_reason: str | None


class Refund(Shape):
    """A refund; `overdue` when not succeeded by its expected-by date."""

    id: str
    order_id: str
    amount: Money | None
    method: str
    status: str
    reason: str
    created_at: Stamp
    expected_by: Stamp
    succeeded_at: Stamp
    failed_at: Stamp
    failure_reason: str | None
    note: str | None
    overdue: bool | None = None


class Return(Shape):
    """A return, with the actions open to the caller."""

    id: str
    order_id: str
    status: str
    reason: str
    condition: str | None
    description: str | None
    items: list[dict[str, Any]]
    amount: Money | None
    requested_at: Stamp
    respond_by: Stamp
    approved_at: Stamp
    ship_by: Stamp
    rejected_at: Stamp
    reject_reason: str | None
    carrier: str | None
    tracking_number: str | None
    shipped_at: Stamp
    received_at: Stamp
    inspection_notes: str | None
    refund_id: str | None
    closed_at: Stamp
    receive_by: Stamp
    allowed_actions: list[str]


class DisputeStep(Shape):
    """One step of a dispute's history."""

    at: str
    actor: str
    action: str
    amount: Money | None = None
    note: str | None = None


class Dispute(Shape):
    """A dispute, with the actions open to the caller."""

    id: str
    order_id: str
    status: str
    reason: str
    refund_type: str
    requested_amount: Money | None
    description: str | None
    opened_at: Stamp
    respond_by: Stamp
    seller_response: str | None
    seller_reject_reason: str | None
    proposed_amount: Money | None
    seller_responded_at: Stamp
    buyer_respond_by: Stamp
    escalated_at: Stamp
    resolved_at: Stamp
    resolved_by: str | None
    resolution_amount: Money | None
    resolution_note: str | None
    closed_at: Stamp
    closed_reason: str | None
    refund_id: str | None
    rounds: int
    decide_by: Stamp
    history: list[DisputeStep]
    allowed_actions: list[str]


class OrderItem(Shape):
    """One line of an order."""

    sku: str
    title: str
    quantity: int
    unit_price: Money | None
    cancelled_quantity: int
    returned_quantity: int


class TimelineEntry(Shape):
    """One line of an order's history."""

    at: Stamp
    actor: str
    event: str
    detail: str


class Order(Shape):
    """The whole order as the caller sees it."""

    id: str
    status: str
    buyer_id: str
    seller_id: str
    currency: str
    items: list[OrderItem]
    shipping_fee: Money | None
    total: Money | None
    paid_amount: Money | None
    refunded_amount: Money | None
    refundable_amount: Money | None
    payment_method: str | None
    refund_to: Literal["original", "balance"]
    created_at: Stamp
    paid_at: Stamp
    packed_at: Stamp
    shipped_at: Stamp
    carrier: str | None
    tracking_number: str | None
    delivered_at: Stamp
    completed_at: Stamp
    cancelled_at: Stamp
    cancelled_by: str | None
    cancel_reason: str | None
    ship_by_days: int | None
    delivery_days: int | None
    ship_by: Stamp
    protection_ends_at: Stamp
    allowed_actions: list[str]
    cancellation: Cancellation | None
    refunds: list[Refund]
    returns: list[Return]
    disputes: list[Dispute]
    timeline: list[TimelineEntry]
    policy: dict[str, int]
    version: int


class OrderPage(Shape):
    """A page of orders, newest first."""

    items: list[Order]
    next_cursor: str | None


class Message(Shape):
    """One message of an order's thread."""

    id: str
    author_role: str
    body: str
    at: Stamp


class MessagePage(Shape):
    """A page of an order's messages, oldest first."""

    items: list[Message]
    next_cursor: str | None


class Evidence(Shape):
    """A file attached to a dispute."""

    id: str
    dispute_id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploader_role: str
    at: Stamp


class Endpoint(Shape):
    """A webhook endpoint; `secret` only when just made or rotated."""

    id: str
    url: str
    events: list[str]
    description: str | None
    status: Literal["enabled", "disabled"]
    created_at: Stamp
    secret: str | None = None


class EndpointPage(Shape):
    """A page of webhook endpoints, oldest first."""

    items: list[Endpoint]
    next_cursor: str | None


class Delivery(Shape):
    """One delivery of an event to an endpoint."""

    id: str
    event_id: str
    type: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: Stamp
    created_at: Stamp


class DeliveryPage(Shape):
    """A page of an endpoint's deliveries, newest first."""

    items: list[Delivery]
    next_cursor: str | None


class EventTypes(Shape):
    """Every webhook event type."""

    items: list[str]


class GatewayReceipt(Shape):
    """What a gateway event did (`ignored`, or the refund's status)."""

    received: str


class FieldError(BaseModel):
    """One refused part of a request."""

    loc: list[str]
    msg: str
    code: str | None = None


class Problem(BaseModel):
    """RFC 9457 problem details with a stable `code` (entrypoints/api/problems.py)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    code: str
    field: str | None = None
    errors: list[FieldError] | None = None
