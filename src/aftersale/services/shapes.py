"""The public shapes: what every API route answers with, in one description.

The views (services/views.py, and each service's `*_view`) are annotated to return these, so
mypy (strict on services/) checks that every dict they build has exactly these keys with these
types; the API routes declare the same classes as their `response_model`, so the OpenAPI
document is generated from them (entrypoints/api/contract.py adds the errors and limits).

They are TypedDicts, not models: a view stays a plain dict (built once, encoded by orjson, no
validation on the hot path), and a route that answers with a pre-built JSONResponse costs
nothing more than before. `extra="forbid"` keeps them closed: a TypeAdapter refuses a key
more (tests/integration/test_response_shapes.py), and the schema says
`additionalProperties: false` (the fuzzer checks every answer against it). Pydantic reads these
classes, FastAPI does not appear here (the import contracts in pyproject.toml).

Pydantic needs `typing_extensions.TypedDict` before Python 3.12.
"""

from typing import Annotated, Any, Literal, NotRequired

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

CLOSED = ConfigDict(extra="forbid")
Stamp = str | None  # RFC 3339 in UTC with a Z, or null
RoleName = Literal["buyer", "seller", "admin"]


@with_config(CLOSED)
class Money(TypedDict):
    """An amount in a currency's minor units, as a decimal string."""

    amount: Annotated[str, Field(examples=["12.50"])]
    currency: Annotated[str, Field(examples=["USD"])]


@with_config(CLOSED)
class Health(TypedDict):
    """Liveness."""

    status: str


@with_config(CLOSED)
class Ready(TypedDict):
    """Readiness."""

    status: Literal["ready"]


@with_config(CLOSED)
class User(TypedDict):
    """A user; `token` only in the answer that created it (shown once)."""

    id: str
    email: str
    name: str
    role: RoleName
    country: str | None
    language: str | None
    token: NotRequired[str]


@with_config(CLOSED)
class Reason(TypedDict):
    """A reason a buyer picks from."""

    code: str
    label: str


@with_config(CLOSED)
class ReturnReason(TypedDict):
    """A return reason; `seller_fault`: the shipping fee is refunded too."""

    code: str
    label: str
    seller_fault: bool


@with_config(CLOSED)
class Clock(TypedDict):
    """The test clock's time."""

    now: Stamp


@with_config(CLOSED)
class Cancellation(TypedDict):
    """A buyer's cancellation request."""

    id: str
    status: str
    reason: str
    comment: str | None
    requested_at: Stamp
    respond_by: Stamp
    responded_at: Stamp
    reject_reason: str | None


@with_config(CLOSED)
class Refund(TypedDict):
    """A refund; `overdue` (in an order, and alone) when not succeeded by its expected-by date."""

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
    overdue: NotRequired[bool]


@with_config(CLOSED)
class Return(TypedDict):
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


@with_config(CLOSED)
class DisputeStep(TypedDict):
    """One step of a dispute's history (`amount` and `note` when the step has them)."""

    at: str
    actor: str
    action: str
    amount: NotRequired[Money]
    note: NotRequired[str]


@with_config(CLOSED)
class Dispute(TypedDict):
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


@with_config(CLOSED)
class OrderItem(TypedDict):
    """One line of an order."""

    sku: str
    title: str
    quantity: int
    unit_price: Money | None
    cancelled_quantity: int
    returned_quantity: int


@with_config(CLOSED)
class TimelineEntry(TypedDict):
    """One line of an order's history."""

    at: Stamp
    actor: str
    event: str
    detail: str


@with_config(CLOSED)
class Order(TypedDict):
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


@with_config(CLOSED)
class OrderPage(TypedDict):
    """A page of orders, newest first."""

    items: list[Order]
    next_cursor: str | None


@with_config(CLOSED)
class Message(TypedDict):
    """One message of an order's thread."""

    id: str
    author_role: str
    body: str
    at: Stamp


@with_config(CLOSED)
class MessagePage(TypedDict):
    """A page of an order's messages, oldest first."""

    items: list[Message]
    next_cursor: str | None


@with_config(CLOSED)
class Evidence(TypedDict):
    """A file attached to a dispute."""

    id: str
    dispute_id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploader_role: str
    at: Stamp


@with_config(CLOSED)
class Endpoint(TypedDict):
    """A webhook endpoint; `secret` only when just made or rotated."""

    id: str
    url: str
    events: list[str]
    description: str | None
    status: Literal["enabled", "disabled"]
    created_at: Stamp
    secret: NotRequired[str]


@with_config(CLOSED)
class EndpointPage(TypedDict):
    """A page of webhook endpoints, oldest first."""

    items: list[Endpoint]
    next_cursor: str | None


@with_config(CLOSED)
class Delivery(TypedDict):
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


@with_config(CLOSED)
class DeliveryPage(TypedDict):
    """A page of an endpoint's deliveries, newest first."""

    items: list[Delivery]
    next_cursor: str | None


@with_config(CLOSED)
class EventTypes(TypedDict):
    """Every webhook event type."""

    items: list[str]


@with_config(CLOSED)
class GatewayReceipt(TypedDict):
    """What a gateway event did (`ignored`, or the refund's status)."""

    received: str


@with_config(CLOSED)
class ReturnAddress(TypedDict):
    """A seller's return address (the one approved returns are sent back to)."""

    seller_id: str
    name: str
    line1: str
    line2: str | None
    city: str
    region: str | None
    postal_code: str
    country: str
    phone: str | None
    updated_at: str
