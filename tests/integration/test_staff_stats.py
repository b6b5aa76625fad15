"""The console queries (services/staff.py over adapters/db/stats_repo.py) on both databases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from aftersale.domain.actors import Actor, Role
from aftersale.domain.errors import Forbidden
from aftersale.services import cancellation, orders, staff
from aftersale.services.deadlines import advance_test_clock
from aftersale.services.runtime import Runtime
from aftersale.services.users import create_user

ITEMS = [{"sku": "A", "title": "Lamp", "quantity": 1, "unit_price": "10.00"}]
DAY = 86400


def _party(rt: Runtime, role: str, n: int) -> Actor:
    user = create_user(rt, None, email=f"{role}{n}@stats.test", name=f"{role} {n}", role=role)
    return Actor(user["id"], Role(role))


def _world(rt: Runtime) -> dict[str, Any]:
    admin, buyer = _party(rt, "admin", 0), _party(rt, "buyer", 0)
    seller, other = _party(rt, "seller", 0), _party(rt, "seller", 1)

    def place(paid: bool, who: Actor = seller) -> str:
        order = orders.place_order(
            rt, admin, buyer_id=buyer.user_id, seller_id=who.user_id, currency="USD", items=ITEMS
        )
        if paid:
            orders.record_payment(
                rt,
                admin,
                order["id"],
                amount=order["total"]["amount"],
                method="card",
                reference="p",
            )
        return str(order["id"])

    return {"admin": admin, "buyer": buyer, "seller": seller, "other": other, "place": place}


def test_weekly_rates_count_two_cancelled_of_five_orders_placed_this_week(rt: Runtime) -> None:
    w = _world(rt)
    ids = [w["place"](paid=i > 0) for i in range(5)]
    cancellation.cancel(rt, w["buyer"], ids[0], reason="changed_mind")
    cancellation.seller_cancel(rt, w["seller"], ids[1], reason="out of stock")
    board = staff.dashboard(rt, w["admin"], weeks=4)
    this_week = board.weeks[-1]
    assert (this_week.orders, this_week.cancelled, this_week.returned) == (5, 2, 0)
    assert [w.orders for w in board.weeks[:-1]] == [0, 0, 0]
    assert board.totals["cancelled"] == 2
    assert board.reasons["cancellation"] == [("by_seller", 1), ("changed_mind", 1)]


def test_refund_times_land_in_the_bin_of_the_sandbox_delay(rt: Runtime) -> None:
    w = _world(rt)
    order_id = w["place"](paid=True)
    cancellation.seller_cancel(rt, w["seller"], order_id, reason="out of stock")
    advance_test_clock(rt, 4 * DAY)
    board = staff.dashboard(rt, w["admin"])
    assert dict(board.refund_bins)["3–5"] == 1
    assert (board.refunds_total, board.refunds_on_time) == (1, 1)


def test_a_refund_past_its_expected_by_date_is_listed_as_overdue(rt: Runtime) -> None:
    w = _world(rt)
    late, settled = w["place"](paid=True), w["place"](paid=True)
    cancellation.seller_cancel(rt, w["seller"], settled, reason="out of stock")
    advance_test_clock(rt, 4 * DAY)
    cancellation.seller_cancel(rt, w["seller"], late, reason="out of stock")
    assert rt.test_clock is not None
    # The worker is not running: moving the clock without firing leaves the refund pending.
    rt.test_clock.set(rt.test_clock.now() + timedelta(days=40))
    overdue = staff.overdue_refunds(rt, w["admin"])
    assert [r["order_id"] for r in overdue] == [late]
    assert overdue[0]["status"] == "pending" and overdue[0]["days_late"] >= 10


def test_the_seller_queue_holds_only_the_sellers_own_work_most_urgent_first(rt: Runtime) -> None:
    w = _world(rt)
    first, second, plain = (w["place"](paid=True) for _ in range(3))
    w["place"](paid=True, who=w["other"])
    cancellation.cancel(rt, w["buyer"], first, reason="changed_mind")
    advance_test_clock(rt, 3600)
    cancellation.cancel(rt, w["buyer"], second, reason="better_price")
    queue = staff.seller_queue(rt, w["seller"])
    assert [o["id"] for o in queue["cancellations"]] == [first, second]
    assert [o["id"] for o in queue["fulfil"]] == [plain]
    assert queue["returns"] == [] and queue["disputes"] == []


def test_staff_figures_are_refused_to_a_seller(rt: Runtime) -> None:
    w = _world(rt)
    with pytest.raises(Forbidden):
        staff.dashboard(rt, w["seller"])
    with pytest.raises(Forbidden):
        staff.overdue_refunds(rt, w["seller"])
