"""What the use cases need from the outside world, as protocols the adapters fulfil."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from aftersale.domain.order import Order


@dataclass(frozen=True, slots=True)
class GatewayRefund:
    """A refund as the payment gateway sees it."""

    reference: str
    status: str  # processing | succeeded | failed
    settles_at: datetime | None
    failure: str | None


@dataclass(frozen=True, slots=True)
class RefundRequest:
    """One refund to send to the gateway; `key` makes sending it again harmless."""

    key: str
    amount: Decimal
    currency: str
    method: str
    payment_reference: str
    at: datetime


class PaymentGateway(Protocol):
    """Sends refunds to the original payment method; idempotent on `key`."""

    def check_payment(self, *, reference: str, amount: Decimal, currency: str) -> str | None:
        """None when the card payment `reference` exists, has succeeded and is for this amount
        and currency; else the refusal's code (payment_not_found, payment_amount_mismatch)."""
        ...

    def refund_many(self, requests: list[RefundRequest]) -> dict[str, GatewayRefund]:
        """Create several refunds (or find those made before with their keys), by key.
        A gateway without a batch call loops over `refund`."""
        ...

    def refund(
        self,
        *,
        key: str,
        amount: Decimal,
        currency: str,
        method: str,
        payment_reference: str,
        at: datetime,
    ) -> GatewayRefund:
        """Create the refund (or return the one already made with this key)."""
        ...

    def refund_status(self, *, reference: str, at: datetime) -> GatewayRefund:
        """Where a refund stands."""
        ...


class Clock(Protocol):
    """Where time comes from."""

    def now(self) -> datetime:
        """The current moment, in UTC."""
        ...


class OrderRepository(Protocol):
    """Whole order aggregates."""

    def get(self, order_id: str, *, lock: bool = True, history: bool = True) -> Order | None:
        """Load (and, when writing, lock) an order."""
        ...

    def get_many(
        self, order_ids: list[str], *, lock: bool = True, history: bool = False
    ) -> dict[str, Order]:
        """Load several orders."""
        ...

    def add(self, order: Order) -> None:
        """Insert an order."""
        ...

    def save(self, order: Order) -> None:
        """Write an order's changes with a version check."""
        ...

    def save_many(self, orders: list[Order], *, skip_unchanged: bool = True) -> None:
        """Write several orders' changes, one statement per table, each with a version check;
        with `skip_unchanged`, an order with nothing to write is left as it is."""
        ...

    def order_id_of(self, kind: str, object_id: str) -> str | None:
        """The order owning a return, dispute or refund."""
        ...

    def list_page(
        self,
        *,
        buyer_id: str | None,
        seller_id: str | None,
        status: str | None,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[Order], str | None]:
        """A page of orders, newest first."""
        ...


class UnitOfWork(Protocol):
    """One transaction and its repositories."""

    orders: OrderRepository
    users: Any
    messages: Any
    deadlines: Any
    idempotency: Any
    notify: Any  # the dispatcher's rows (adapters/db/notify_repo.py)
    auth: Any  # web sessions and login attempts (adapters/db/auth_repo.py)

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, *exc: object) -> None: ...

    def commit(self) -> None:
        """Make the changes permanent."""
        ...

    def savepoint(self) -> AbstractContextManager[None]:
        """A nested transaction."""
        ...


class UowFactory(Protocol):
    """Opens units of work."""

    def __call__(self, *, readonly: bool = False) -> UnitOfWork: ...


class TestClockPort(Clock, Protocol):
    """A clock that tests can move."""

    def set(self, now: datetime) -> None:
        """Move to a moment."""
        ...

    def advance(self, seconds: float) -> datetime:
        """Move forward."""
        ...

    def move_to_at_least(self, now: datetime) -> datetime:
        """Move to `now` unless already further; returns the clock's time."""
        ...
