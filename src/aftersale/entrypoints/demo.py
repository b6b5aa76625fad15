"""Demo data: three users, a seller and a spread of orders in every status."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from rich.console import Console
from rich.progress import track

from aftersale.domain.actors import Actor, Role
from aftersale.services import cancellation, disputes, orders, return_address, returns
from aftersale.services.deadlines import run_until
from aftersale.services.runtime import Runtime
from aftersale.services.users import create_user, get_user

PASSWORD = "demo-pass-2026"
PEOPLE = [
    ("admin@demo.test", "Dana Admin", "admin", "US"),
    ("buyer@demo.test", "Alex Buyer", "buyer", "DE"),
    ("buyer2@demo.test", "Sam Shopper", "buyer", "ES"),
    ("seller@demo.test", "Lumen Lighting Store", "seller", "CN"),
]
ITEMS = [
    [
        {"sku": "LAMP-01", "title": "Desk lamp", "quantity": 1, "unit_price": "24.90"},
        {"sku": "BULB-E27", "title": "LED bulb E27", "quantity": 4, "unit_price": "3.25"},
    ],
    [{"sku": "STRIP-5M", "title": "LED strip 5 m", "quantity": 2, "unit_price": "12.00"}],
    [{"sku": "SHADE-L", "title": "Linen lamp shade", "quantity": 1, "unit_price": "18.50"}],
]


def demo_token(email: str) -> str:
    """The fixed, public API token of a demo user."""
    return f"demo-{email.split('@')[0]}-token"


class ManualClock:
    """A clock the demo loader moves by hand through the past."""

    def __init__(self, now: datetime) -> None:
        self.moment = now

    def now(self) -> datetime:
        """The current demo moment."""
        return self.moment


def load_demo(rt: Runtime, *, console: Console | None = None) -> Iterator[str]:
    """Create the demo data once; always yield how to log in."""
    with rt.uow(readonly=True) as uow:
        existing = uow.users.by_email("buyer@demo.test")
    if existing is None:
        _create(rt)
    yield "[bold]aftersale demo[/bold] — open http://127.0.0.1:8000 and log in as:"
    for email, name, role, _ in PEOPLE:
        yield f"  {role:<6} {email:<20} password {PASSWORD}   ({name})"
    yield "API tokens of the demo users (demo data only; never use these in production):"
    for email, _, role, _ in PEOPLE:
        yield f"  {role:<6} Authorization: Bearer {demo_token(email)}"


def _create(rt: Runtime) -> None:
    ids = {}
    for email, name, role, country in PEOPLE:
        user = create_user(
            rt,
            None,
            email=email,
            name=name,
            role=role,
            password=PASSWORD,
            country=country,
            token=demo_token(email),
        )
        ids[email] = user["id"]
    admin = Actor(ids["admin@demo.test"], Role.ADMIN)
    seller = Actor(ids["seller@demo.test"], Role.SELLER)
    buyers = [Actor(ids["buyer@demo.test"], Role.BUYER), Actor(ids["buyer2@demo.test"], Role.BUYER)]
    return_address.put_return_address(rt, seller, DEMO_RETURN_ADDRESS)
    now = rt.clock.now()
    clock = ManualClock(now - timedelta(days=40))
    past = dataclasses.replace(rt, clock=clock)
    stories = _stories(admin, seller)
    for n, story in enumerate(track(stories, description="Creating demo orders")):
        buyer = buyers[n % 2 if n < len(stories) - 2 else 1]
        clock.moment = now - timedelta(days=story[0], hours=n)
        order = orders.place_order(
            past,
            admin,
            buyer_id=buyer.user_id,
            seller_id=seller.user_id,
            currency="USD",
            items=ITEMS[n % len(ITEMS)],
            shipping_fee="4.99",
        )
        for gap_hours, step in story[1]:
            clock.moment += timedelta(hours=gap_hours)
            step(past, buyer, order)
            run_until(past, clock.moment)
    run_until(rt, now)
    if get_user(rt, seller.user_id) is None:
        raise RuntimeError("demo seller vanished")


Step = Callable[[Runtime, Actor, dict[str, Any]], Any]
DEMO_RETURN_ADDRESS = {
    "name": "Lumen Lighting Returns",
    "line1": "88 Keyuan Road, Building 3",
    "city": "Shenzhen",
    "region": "Guangdong",
    "postal_code": "518057",
    "country": "CN",
    "phone": "+86 755 0000 0000",
}


def _stories(admin: Actor, seller: Actor) -> list[tuple[float, list[tuple[float, Step]]]]:
    def pay(rt: Runtime, _b: Actor, o: dict[str, Any]) -> Any:
        return orders.record_payment(
            rt, admin, o["id"], amount=o["total"]["amount"], method="card", reference="demo_pay"
        )

    def ship(rt: Runtime, _b: Actor, o: dict[str, Any]) -> Any:
        return orders.ship(rt, seller, o["id"], carrier="Cainiao", tracking_number="LP0042")

    def deliver(rt: Runtime, _b: Actor, o: dict[str, Any]) -> Any:
        return orders.deliver(rt, admin, o["id"])

    def pack(rt: Runtime, _b: Actor, o: dict[str, Any]) -> Any:
        return orders.pack(rt, seller, o["id"])

    def ask_cancel(rt: Runtime, b: Actor, o: dict[str, Any]) -> Any:
        return cancellation.cancel(rt, b, o["id"], reason="shipping_too_slow")

    def cancel_unpaid(rt: Runtime, b: Actor, o: dict[str, Any]) -> Any:
        return cancellation.cancel(rt, b, o["id"], reason="better_price")

    def accept_cancel(rt: Runtime, _b: Actor, o: dict[str, Any]) -> Any:
        return cancellation.accept_cancellation(rt, seller, o["id"])

    def seller_cancels(rt: Runtime, _b: Actor, o: dict[str, Any]) -> Any:
        return cancellation.seller_cancel(rt, seller, o["id"], reason="Out of stock")

    def return_items(rt: Runtime, b: Actor, o: dict[str, Any]) -> Any:
        line = o["items"][0]
        return returns.open_return(
            rt,
            b,
            o["id"],
            reason="not_as_described",
            items=[{"sku": line["sku"], "quantity": 1}],
            condition="opened_unused",
            description="The colour is not the one pictured.",
        )

    def dispute(rt: Runtime, b: Actor, o: dict[str, Any]) -> Any:
        return disputes.open_dispute(
            rt,
            b,
            o["id"],
            reason="damaged",
            refund_type="partial",
            amount="10.00",
            description="The shade arrived dented.",
        )

    def not_received(rt: Runtime, b: Actor, o: dict[str, Any]) -> Any:
        return disputes.open_dispute(
            rt,
            b,
            o["id"],
            reason="not_received",
            refund_type="full",
            amount=None,
            description="Tracking has not moved in 6 weeks.",
        )

    def cancel_some(rt: Runtime, _b: Actor, o: dict[str, Any]) -> Any:
        line = o["items"][0]
        items = [{"sku": line["sku"], "quantity": 1}]
        return cancellation.seller_cancel(rt, seller, o["id"], reason="Out of stock", items=items)

    def extend(rt: Runtime, _b: Actor, o: dict[str, Any]) -> Any:
        return orders.extend_protection(rt, seller, o["id"], days=15)

    def negotiated(rt: Runtime, b: Actor, o: dict[str, Any]) -> Any:
        d = dispute(rt, b, o)
        disputes.propose_refund(rt, seller, d["id"], amount="4.00")
        return disputes.modify(rt, b, d["id"], refund_type="partial", amount="8.00")

    def escalated(rt: Runtime, b: Actor, o: dict[str, Any]) -> Any:
        d = dispute(rt, b, o)
        disputes.reject_dispute(rt, seller, d["id"], reason="Packed with care; photo please.")
        return disputes.escalate(rt, b, d["id"])

    return [
        (1, []),
        (0.2, []),
        (2, [(1, pay)]),
        (1, [(1, pay), (2, ask_cancel)]),
        (3, [(1, pay), (5, pack)]),
        (6, [(1, pay), (20, ship)]),
        (9, [(1, pay), (20, ship), (96, deliver)]),
        (8, [(1, pay), (20, ship), (96, deliver), (24, return_items)]),
        (7, [(1, pay), (20, ship), (96, deliver), (12, escalated)]),
        (38, [(1, pay), (20, ship), (72, deliver)]),
        (20, [(2, cancel_unpaid)]),
        (12, [(1, pay), (3, seller_cancels)]),
        (14, [(1, pay), (2, ask_cancel), (30, accept_cancel)]),
        (60, [(1, pay), (20, ship), (46 * 24, not_received)]),
        (8, [(1, pay), (20, ship), (72, deliver), (24, negotiated)]),
        (4, [(1, pay), (5, cancel_some)]),
        (52, [(1, pay), (20, ship), (40 * 24, extend)]),
    ]
