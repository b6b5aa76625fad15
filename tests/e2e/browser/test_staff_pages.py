"""The staff pages in a real browser: escalated disputes, overdue refunds and the dashboard."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from aftersale.adapters.clock import TestClock
from aftersale.adapters.db.engine import make_engine
from tests.client import DAY, Api, Party
from tests.conftest import LiveServer
from tests.e2e.browser.conftest import screenshot


@pytest.fixture(scope="module")
def admin(people: Callable[..., Party]) -> Party:
    """A staff member who logs in to the pages."""
    return people("admin")


@pytest.fixture
def server_clock(server: LiveServer) -> Iterator[TestClock]:
    """The live server's test clock, moved directly (the server runs no deadline worker)."""
    engine = make_engine(server.env["AFTERSALE_DATABASE_URL"])
    yield TestClock(engine)
    engine.dispose()


def _dispute(api: Api, buyer: Party, order: dict[str, Any], **body: Any) -> dict[str, Any]:
    payload = {"reason": "damaged", "refund_type": "full", "description": "Broken", **body}
    return api.ok(api.post(f"/orders/{order['id']}/disputes", payload, as_=buyer), 201)


def test_the_dashboard_shows_two_cancelled_of_five_orders_as_forty_percent(
    page: Page, api: Api, people: Callable[..., Party], admin: Party, login: Callable[..., None]
) -> None:
    api.advance(7 * DAY)  # a week of its own, whatever ran before
    buyer, seller = people("buyer"), people("seller")
    placed = [api.order(buyer, seller)] + [api.paid_order(buyer, seller) for _ in range(4)]
    api.ok(api.post(f"/orders/{placed[0]['id']}/cancel", {"reason": "better_price"}, as_=buyer))
    api.ok(api.post(f"/orders/{placed[1]['id']}/seller-cancel", {"reason": "gone"}, as_=seller))
    login(page, admin)
    page.goto("/staff/dashboard")
    row = page.locator("#rates-table tbody tr").last
    expect(row.locator("[data-col=orders]")).to_have_text("5")
    expect(row.locator("[data-col=cancelled]")).to_have_text("2 (40.0%)")
    expect(row.locator("[data-col=returned]")).to_have_text("0 (0.0%)")
    this_week = [
        o
        for o in api.ok(api.get("/orders", as_=api.admin, limit=200))["items"]
        if o["created_at"] >= placed[0]["created_at"]
    ]
    assert len(this_week) == 5 and sum(o["status"] == "cancelled" for o in this_week) == 2
    chart = page.get_by_role("img", name="Cancellation, return and dispute rates per week")
    expect(chart.locator("polyline")).to_have_count(3)
    expect(chart.locator("circle title", has_text="Cancelled: 40.0%")).to_have_count(1)
    reasons = page.locator(
        "section", has=page.get_by_role("heading", name="Why orders were cancelled")
    )
    reasons.get_by_text("Show the numbers").click()
    expect(
        reasons.locator("tbody tr", has_text="I found a better price elsewhere")
    ).to_contain_text("1")
    expect(reasons.locator("tbody tr", has_text="Cancelled by the seller")).to_contain_text("1")


def test_staff_resolve_an_escalated_dispute_after_reading_both_sides(
    page: Page, api: Api, people: Callable[..., Party], admin: Party, login: Callable[..., None]
) -> None:
    buyer, seller = people("buyer"), people("seller")
    order = api.delivered_order(buyer, seller)
    api.ok(
        api.post(f"/orders/{order['id']}/messages", {"body": "The lamp is cracked"}, as_=buyer), 201
    )
    api.ok(api.post(f"/orders/{order['id']}/messages", {"body": "It left intact"}, as_=seller), 201)
    dispute = _dispute(api, buyer, order)
    api.ok(api.post(f"/disputes/{dispute['id']}/reject", {"reason": "Packed well"}, as_=seller))
    api.ok(api.post(f"/disputes/{dispute['id']}/escalate", as_=buyer))
    login(page, admin)
    page.goto("/staff")
    case = page.locator(f"#dispute-{dispute['id']}")
    expect(case).to_contain_text("The lamp is cracked")
    expect(case).to_contain_text("It left intact")
    expect(case).to_contain_text("Packed well")
    case.get_by_label("Refund to the buyer (USD)").fill("999.00")
    case.get_by_label("Note to both parties").fill("Too much")
    case.get_by_role("button", name="Resolve dispute").click()
    case = page.locator(f"#dispute-{dispute['id']}")
    expect(case.get_by_label("Refund to the buyer (USD)")).to_have_accessible_error_message(
        "That amount is more than what can still be refunded on this order."
    )
    expect(case.get_by_label("Note to both parties")).to_have_value("Too much")
    assert api.ok(api.get(f"/disputes/{dispute['id']}", as_=buyer))["status"] == "escalated"
    assert api.get_order(order["id"], buyer)["refunds"] == []
    case = page.locator(f"#dispute-{dispute['id']}")
    case.get_by_label("Refund to the buyer (USD)").fill("20.00")
    case.get_by_label("Note to both parties").fill("Half of the lamps arrived broken")
    case.get_by_role("button", name="Resolve dispute").click()
    expect(page.locator(".flash-success")).to_contain_text("Dispute resolved")
    expect(page.locator(f"#dispute-{dispute['id']}")).to_have_count(0)
    done = api.ok(api.get(f"/disputes/{dispute['id']}", as_=buyer))
    assert (done["status"], done["resolution_amount"]["amount"]) == ("resolved", "20.00")
    assert done["resolution_note"] == "Half of the lamps arrived broken"
    refunds = api.get_order(order["id"], buyer)["refunds"]
    assert [r["amount"]["amount"] for r in refunds] == ["20.00"]


def test_staff_see_a_refund_still_pending_past_its_expected_by_date(
    page: Page,
    api: Api,
    people: Callable[..., Party],
    admin: Party,
    login: Callable[..., None],
    server_clock: TestClock,
) -> None:
    buyer, seller = people("buyer"), people("seller")
    order = api.paid_order(buyer, seller)
    cancelled = api.ok(
        api.post(f"/orders/{order['id']}/seller-cancel", {"reason": "Out of stock"}, as_=seller)
    )
    refund = cancelled["refunds"][0]
    # No deadline worker runs beside this server: moving its clock without firing anything
    # is a gateway that never answered, and the refund stays pending past its promise.
    server_clock.set(server_clock.now() + timedelta(days=40))
    assert api.ok(api.get(f"/refunds/{refund['id']}", as_=buyer))["overdue"] is True
    login(page, admin)
    page.goto("/staff")
    row = page.locator("#overdue tbody tr", has_text=refund["id"])
    expect(row).to_contain_text("Pending")
    expect(row).to_contain_text("$60.00")
    row.get_by_role("link", name=order["id"]).click()
    expect(page.get_by_role("heading", name=f"Order {order['id']}")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Overdue")
    api.advance(60)  # the worker catches up: the refund is credited and leaves the list
    page.goto("/staff")
    expect(page.locator("#overdue tbody tr", has_text=refund["id"])).to_have_count(0)


def test_a_seller_is_refused_the_staff_pages(
    page: Page, people: Callable[..., Party], login: Callable[..., None]
) -> None:
    login(page, people("seller"))
    for path in ("/staff", "/staff/dashboard"):
        response = page.goto(path)
        assert response is not None and response.status == 403


def test_the_dashboard_screenshot_has_weeks_of_history(
    page: Page, api: Api, people: Callable[..., Party], admin: Party, login: Callable[..., None]
) -> None:
    buyer, seller = people("buyer"), people("seller")
    cancel_reasons = ["changed_mind", "shipping_too_slow", "better_price", "wrong_address"]
    for week in range(8):
        orders = [api.paid_order(buyer, seller) for _ in range(3 + week % 3)]
        delivered = [api.delivered_order(buyer, seller) for _ in range(2)]
        api.ok(
            api.post(
                f"/orders/{orders[0]['id']}/cancel",
                {"reason": cancel_reasons[week % 4]},
                as_=buyer,
            ),
            202,
        )
        if week % 2:
            api.ok(
                api.post(f"/orders/{orders[1]['id']}/seller-cancel", {"reason": "x"}, as_=seller)
            )
        item = {"sku": "SKU-2", "quantity": 1}
        returned = {"reason": ["damaged", "does_not_fit", "wrong_item"][week % 3], "items": [item]}
        api.ok(
            api.post(
                f"/orders/{delivered[0]['id']}/returns",
                {**returned, "condition": "used"},
                as_=buyer,
            ),
            201,
        )
        if week % 3 == 0:
            _dispute(api, buyer, delivered[1], reason=["not_as_described", "damaged"][week % 2])
        api.advance(7 * DAY)
    login(page, admin)
    page.goto("/staff/dashboard")
    expect(page.get_by_role("img", name="Days from refund to credit")).to_be_visible()
    bins = page.locator("#refund-table tbody td")
    assert sum(int(t) for t in bins.all_text_contents()) > 0
    assert screenshot(page, "staff-dashboard.png").stat().st_size > 10_000
    page.goto("/lang/es?next=/staff/dashboard")
    expect(page.get_by_role("heading", name="Panel", exact=True)).to_be_visible()
