"""Pure test doubles for the domain: a weekday calendar, parties and a hand-moved clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aftersale.domain.actors import SYSTEM, Actor, Role
from aftersale.domain.context import Ctx
from aftersale.domain.order import Order, create_order
from aftersale.domain.policy import Policy

BUYER = Actor(user_id="usr_buyer", role=Role.BUYER)
SELLER = Actor(user_id="usr_seller", role=Role.SELLER)
ADMIN = Actor(user_id="usr_admin", role=Role.ADMIN)
STRANGER_BUYER = Actor(user_id="usr_other_buyer", role=Role.BUYER)
STRANGER_SELLER = Actor(user_id="usr_other_seller", role=Role.SELLER)
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
ITEMS: list[dict[str, Any]] = [
    {"sku": "SKU-1", "title": "Lamp", "quantity": 2, "unit_price": "20.00"},
    {"sku": "SKU-2", "title": "Bulb", "quantity": 3, "unit_price": "5.00"},
]


class WeekdayCalendar:
    """Monday to Friday are working days, everywhere; no public holidays."""

    def add_working_days(self, start: datetime, days: int, country: str) -> datetime:
        moment, left = start, days
        while left > 0:
            moment += timedelta(days=1)
            if moment.weekday() < 5:
                left -= 1
        return moment


@dataclass
class Clock:
    """A clock moved by hand; builds a Ctx for any actor at the current moment."""

    now: datetime = START
    calendar: WeekdayCalendar = field(default_factory=WeekdayCalendar)

    def ctx(self, actor: Actor = SYSTEM, at: datetime | None = None) -> Ctx:
        return Ctx(actor=actor, now=at or self.now, calendar=self.calendar)

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


def new_order(
    clock: Clock, *, policy: Policy | None = None, shipping_fee: str | None = "5.00"
) -> Order:
    """An order awaiting payment (total 60.00 USD with the default items and fee)."""
    return create_order(
        buyer_id=BUYER.user_id,
        seller_id=SELLER.user_id,
        currency="USD",
        items=[dict(i) for i in ITEMS],
        shipping_fee=shipping_fee,
        buyer_country="US",
        policy=policy or Policy(),
        ctx=clock.ctx(ADMIN),
    )


def paid_order(clock: Clock, *, method: str = "card", **kw: Any) -> Order:
    """An order paid in full, awaiting fulfillment."""
    order = new_order(clock, **kw)
    order.record_payment(
        amount=str(order.total), method=method, reference="pay_1", ctx=clock.ctx(ADMIN)
    )
    return order


def shipped_order(clock: Clock) -> Order:
    """A paid order the carrier has."""
    order = paid_order(clock)
    order.ship(carrier="DHL", tracking_number="T1", ctx=clock.ctx(SELLER))
    return order


def delivered_order(clock: Clock) -> Order:
    """A delivered order."""
    order = shipped_order(clock)
    order.deliver(clock.ctx(ADMIN))
    return order
