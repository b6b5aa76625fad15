"""Issue 14's timers and line actions in a real browser: the buyer's countdowns and "why can't I
cancel?", the seller's partial cancellation and protection extension, staff goodwill refunds."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

from playwright.sync_api import Page, expect

from tests.client import Api, Party
from tests.e2e.browser.conftest import log_in, stamp


def _moment(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def test_the_buyer_sees_each_countdown_and_why_there_is_no_cancel_button_in_both_languages(
    page: Page, api: Api, people: Callable[..., Party]
) -> None:
    buyer, seller = people("buyer"), people("seller")
    order = api.paid_order(buyer, seller)
    log_in(page, buyer)
    page.goto(f"/orders/{order['id']}")
    ship = page.get_by_role("timer", name="Time left for the seller to ship")
    expect(ship).to_have_text(re.compile(r"^(6d|7d) \d\d:\d\d:\d\d$"))
    expect(page.locator("#timer-ship")).to_contain_text(stamp(order["ship_by"]))
    expect(page.get_by_role("heading", name="Why can't I cancel?")).to_have_count(0)

    api.ok(api.post(f"/orders/{order['id']}/cancel", {"reason": "changed_mind"}, as_=buyer), 202)
    page.reload()
    answer = "Time left for the seller to answer your cancellation request"
    expect(page.get_by_role("timer", name=answer)).to_have_text(re.compile(r"^(2d|3d) "))
    why = page.get_by_role("region", name="Why can't I cancel?")
    expect(why).to_contain_text("waiting for the seller to answer")

    reject = {"reason": "Already packed"}
    api.ok(api.post(f"/orders/{order['id']}/cancellation/reject", reject, as_=seller))
    page.reload()
    expect(why).to_contain_text("Message the seller")
    expect(page.get_by_role("timer", name=answer)).to_have_count(0)
    expect(ship).to_be_visible()

    shipping = {"carrier": "DHL", "tracking_number": "T-1"}
    shipped = api.ok(api.post(f"/orders/{order['id']}/ship", shipping, as_=seller))
    page.reload()
    protection = page.get_by_role("timer", name="Purchase protection left")
    expect(protection).to_have_text(re.compile(r"^(59d|60d) \d\d:\d\d:\d\d$"))
    expect(page.locator("#timer-protection")).to_contain_text(stamp(shipped["protection_ends_at"]))
    expect(why).to_contain_text("already shipped")
    expect(ship).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("Cancel"))).to_have_count(0)

    page.goto(f"/lang/es?next=/orders/{order['id']}")
    expect(page.get_by_role("heading", name="¿Por qué no puedo cancelar?")).to_be_visible()
    expect(page.get_by_role("region", name="¿Por qué no puedo cancelar?")).to_contain_text(
        "ya ha enviado"
    )
    expect(page.get_by_role("timer", name="Protección de compra restante")).to_be_visible()
    expect(page.locator("#timer-protection")).to_contain_text(
        stamp(shipped["protection_ends_at"], "es")
    )


def test_the_seller_cancels_some_items_then_ships_and_extends_the_buyers_protection(
    page: Page, other_page: Page, api: Api, people: Callable[..., Party]
) -> None:
    buyer, seller = people("buyer"), people("seller")
    order = api.paid_order(buyer, seller)  # 2 lamps at 20.00, 3 bulbs at 5.00, 5.00 shipping
    log_in(page, seller)
    page.goto(f"/seller/orders/{order['id']}")
    expect(page.get_by_role("timer", name="Ship by")).to_have_text(re.compile(r"^(6d|7d) "))
    expect(page.get_by_role("button", name="Cancel order")).to_be_visible()  # the full cancel
    box = page.get_by_role("region", name="Cancel some items")
    box.get_by_label("Bulb").fill("2")
    box.get_by_label("Why are you cancelling these items?").fill("Out of stock")
    box.get_by_role("button", name="Cancel these items").click()
    expect(page.locator(".flash-success")).to_contain_text("Items cancelled")
    after = api.get_order(order["id"], buyer)
    assert after["status"] == "awaiting_fulfillment"
    assert [i["cancelled_quantity"] for i in after["items"]] == [0, 2]
    assert [r["amount"]["amount"] for r in after["refunds"]] == ["10.00"]
    expect(page.locator("tr[data-sku='SKU-2'] .cancelled-qty")).to_have_text("2")
    expect(box.get_by_label("Bulb")).to_have_attribute("max", "1")
    box.get_by_label("Lamp").fill("3")  # more than remain: the rules refuse it
    box.get_by_label("Why are you cancelling these items?").fill("Out of stock")
    box.evaluate("b => b.querySelector('form').noValidate = true")
    box.get_by_role("button", name="Cancel these items").click()
    expect(box.get_by_label("Lamp")).to_have_value("3")  # the form comes back as it was sent
    expect(box.get_by_label("Why are you cancelling these items?")).to_have_value("Out of stock")
    expect(box.get_by_role("alert")).to_have_text(
        "Choose how many of each item to cancel (at most what is left of each)."
    )

    log_in(other_page, buyer)
    other_page.goto(f"/orders/{order['id']}")
    expect(other_page.locator("tbody")).to_contain_text("(2 cancelled by the seller)")

    page.get_by_label("Carrier").fill("DHL")
    page.get_by_label("Tracking number").fill("JD-9")
    page.get_by_role("button", name="Ship", exact=True).click()
    expect(page.locator(".flash-success")).to_contain_text("Order shipped")
    expect(page.get_by_role("region", name="Cancel some items")).to_have_count(0)
    before = api.get_order(order["id"], seller)["protection_ends_at"]
    page.get_by_label("Days to add to the buyer's protection (1–30)").fill("5")
    page.get_by_role("button", name="Extend protection").click()
    expect(page.locator(".flash-success")).to_contain_text("Purchase protection extended")
    later = api.get_order(order["id"], seller)["protection_ends_at"]
    assert _moment(later) - _moment(before) == timedelta(days=5)
    expect(page.locator(".protection-ends")).to_have_text(stamp(later))


def test_staff_make_a_goodwill_refund_within_what_is_still_refundable(
    page: Page, api: Api, people: Callable[..., Party]
) -> None:
    buyer, seller, admin = people("buyer"), people("seller"), people("admin")
    order = api.delivered_order(buyer, seller)  # 60.00 paid
    log_in(page, admin)
    page.goto(f"/staff/orders/{order['id']}")
    box = page.get_by_role("region", name="Goodwill refund")
    expect(box).to_contain_text("At most $60.00 can still be refunded.")
    box.get_by_label("Amount to refund (USD)").fill("75.00")
    box.get_by_label("Reason for the refund").fill("Late delivery")
    box.get_by_role("button", name="Refund as a goodwill gesture").click()
    expect(box.get_by_label("Amount to refund (USD)")).to_have_accessible_error_message(
        "That amount is more than what can still be refunded on this order."
    )
    expect(box.get_by_label("Reason for the refund")).to_have_value("Late delivery")
    assert api.get_order(order["id"], buyer)["refunds"] == []
    box.get_by_label("Amount to refund (USD)").fill("7,50")
    box.get_by_label("Reason for the refund").fill("Late delivery")
    box.get_by_role("button", name="Refund as a goodwill gesture").click()
    expect(page.locator(".flash-success")).to_contain_text("Goodwill refund created")
    refunds = api.get_order(order["id"], buyer)["refunds"]
    assert [(r["amount"]["amount"], r["reason"], r["note"]) for r in refunds] == [
        ("7.50", "goodwill", "Late delivery")
    ]
    expect(page.get_by_role("region", name="Refunds")).to_contain_text("$7.50")
    expect(box).to_contain_text("At most $52.50 can still be refunded.")
