"""The seller console in a real browser, against a real server; outcomes checked over the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from tests.client import DAY, Api, Party
from tests.e2e.browser.conftest import screenshot


def _card(page: Page, order: dict[str, Any]) -> Any:
    return page.locator(f"li.queue-card[data-order='{order['id']}']")


def _request_cancel(api: Api, buyer: Party, order: dict[str, Any], reason: str) -> None:
    api.ok(api.post(f"/orders/{order['id']}/cancel", {"reason": reason}, as_=buyer), 202)


def test_seller_accepts_a_cancellation_request_and_the_order_is_refunded(
    page: Page, api: Api, people: Callable[..., Party], login: Callable[..., None]
) -> None:
    buyer, seller = people("buyer"), people("seller")
    order = api.paid_order(buyer, seller)
    _request_cancel(api, buyer, order, "changed_mind")
    login(page, seller)
    page.goto("/seller")
    card = _card(page, order)
    expect(card.locator("[data-countdown]")).to_contain_text("2d")
    expect(card).to_contain_text("I changed my mind")
    card.get_by_role("button", name="Accept cancellation").click()
    expect(page.locator(".flash-success")).to_contain_text("Cancellation accepted")
    after = api.get_order(order["id"], buyer)
    assert after["status"] == "cancelled"
    assert after["cancellation"]["status"] == "accepted"
    assert [r["amount"]["amount"] for r in after["refunds"]] == [order["total"]["amount"]]


def test_seller_rejects_a_cancellation_request_with_a_reason_the_buyer_sees(
    page: Page, api: Api, people: Callable[..., Party], login: Callable[..., None]
) -> None:
    buyer, seller = people("buyer"), people("seller")
    urgent, later = api.paid_order(buyer, seller), api.paid_order(buyer, seller)
    _request_cancel(api, buyer, urgent, "better_price")
    api.advance(3600)
    _request_cancel(api, buyer, later, "ordered_by_mistake")
    login(page, seller)
    page.goto("/seller")
    cards = page.locator("#cancellations li.queue-card")
    expect(cards).to_have_count(2)
    assert cards.first.get_attribute("data-order") == urgent["id"]  # most urgent first
    card = _card(page, later)
    card.get_by_text("Reject with a reason").click()
    card.get_by_label("Why are you rejecting it?").fill("Already handed to the warehouse")
    card.get_by_role("button", name="Reject cancellation").click()
    expect(page.locator(".flash-success")).to_contain_text("rejected")
    after = api.get_order(later["id"], buyer)
    assert after["status"] == "awaiting_fulfillment"
    assert after["cancellation"]["reject_reason"] == "Already handed to the warehouse"


def test_seller_packs_and_ships_an_order_from_the_console(
    page: Page, api: Api, people: Callable[..., Party], login: Callable[..., None]
) -> None:
    buyer, seller = people("buyer"), people("seller")
    order = api.paid_order(buyer, seller)
    login(page, seller)
    page.goto("/seller")
    _card(page, order).get_by_role("button", name="Mark as packed").click()
    expect(page.locator(".flash-success")).to_contain_text("Order packed")
    assert api.get_order(order["id"], seller)["status"] == "awaiting_shipment"
    card = _card(page, order)
    card.get_by_label("Carrier").fill("DHL")
    card.get_by_label("Tracking number").fill("JD0142")
    card.get_by_role("button", name="Ship").click()
    expect(page.locator(".flash-success")).to_contain_text("Order shipped")
    shipped = api.get_order(order["id"], seller)
    assert (shipped["status"], shipped["carrier"], shipped["tracking_number"]) == (
        "shipped",
        "DHL",
        "JD0142",
    )
    expect(_card(page, order)).to_have_count(0)


def test_seller_approves_a_return_and_inspecting_it_refunds_the_buyer(
    page: Page, api: Api, people: Callable[..., Party], login: Callable[..., None]
) -> None:
    buyer, seller = people("buyer"), people("seller")
    order = api.delivered_order(buyer, seller)
    ret = api.ok(
        api.post(
            f"/orders/{order['id']}/returns",
            {
                "reason": "damaged",
                "items": [{"sku": "SKU-2", "quantity": 1}],
                "condition": "defective",
                "description": "Cracked glass",
            },
            as_=buyer,
        ),
        201,
    )
    login(page, seller)
    page.goto("/seller")
    panel = page.locator(f"#return-{ret['id']}")
    expect(panel).to_contain_text("Cracked glass")
    panel.get_by_role("button", name="Approve return").click()
    expect(page.locator(".flash-success")).to_contain_text("Return approved")
    api.ok(
        api.post(
            f"/returns/{ret['id']}/ship", {"carrier": "UPS", "tracking_number": "1Z9"}, as_=buyer
        )
    )
    page.goto(f"/seller/orders/{order['id']}")
    panel = page.locator(f"#return-{ret['id']}")
    panel.get_by_label("Condition OK: refund the buyer").check()
    panel.get_by_label("Inspection notes").fill("Glass cracked as described")
    panel.get_by_role("button", name="Record inspection").click()
    expect(page.locator(".flash-success")).to_contain_text("Inspection recorded")
    done = api.ok(api.get(f"/returns/{ret['id']}", as_=buyer))
    assert done["status"] == "refunded" and done["refund_id"]
    assert api.get_order(order["id"], buyer)["refunded_amount"]["amount"] == "5.00"


def test_seller_answers_a_dispute_with_a_proposal_and_too_much_is_refused(
    page: Page, api: Api, people: Callable[..., Party], login: Callable[..., None]
) -> None:
    buyer, seller = people("buyer"), people("seller")
    order = api.delivered_order(buyer, seller)
    dispute = api.ok(
        api.post(
            f"/orders/{order['id']}/disputes",
            {"reason": "missing_parts", "refund_type": "full", "description": "Only 2 bulbs"},
            as_=buyer,
        ),
        201,
    )
    login(page, seller)
    page.goto("/seller")
    panel = page.locator(f"#dispute-{dispute['id']}")
    expect(panel).to_contain_text("Only 2 bulbs")
    panel.get_by_text("Propose another amount").click()
    panel.get_by_label("Amount to refund (USD)").fill("999.00")
    panel.get_by_role("button", name="Send proposal").click()
    # refused beside the field, the form still open with what was typed
    amount = page.locator(f"#dispute-{dispute['id']}").get_by_label("Amount to refund (USD)")
    expect(amount).to_have_value("999.00")
    expect(amount).to_have_accessible_error_message(
        "That amount is more than what can still be refunded on this order."
    )
    assert api.ok(api.get(f"/disputes/{dispute['id']}", as_=buyer))["status"] == "open"
    panel = page.locator(f"#dispute-{dispute['id']}")
    panel.get_by_label("Amount to refund (USD)").fill("5.00")
    panel.get_by_role("button", name="Send proposal").click()
    expect(page.locator(".flash-success")).to_contain_text("proposal was sent")
    answered = api.ok(api.get(f"/disputes/{dispute['id']}", as_=buyer))
    assert answered["status"] == "seller_responded"
    assert answered["proposed_amount"]["amount"] == "5.00"


def test_seller_cancels_an_unshipped_order_and_messages_the_buyer(
    page: Page, api: Api, people: Callable[..., Party], login: Callable[..., None]
) -> None:
    buyer, seller = people("buyer"), people("seller")
    order = api.paid_order(buyer, seller)
    login(page, seller)
    page.goto(f"/seller/orders/{order['id']}")
    page.get_by_label("Reason (shown to the buyer)").fill("Out of stock")
    page.get_by_role("button", name="Cancel order").click()
    expect(page.locator(".flash-success")).to_contain_text("Order cancelled")
    page.get_by_label("Write to the buyer").fill("Sorry, the lamp sold out.")
    page.get_by_role("button", name="Send message").click()
    expect(page.locator("#messages .msg")).to_contain_text("Sorry, the lamp sold out.")
    after = api.get_order(order["id"], buyer)
    assert (after["status"], after["cancelled_by"], after["cancel_reason"]) == (
        "cancelled",
        "seller",
        "Out of stock",
    )
    thread = api.ok(api.get(f"/orders/{order['id']}/messages", as_=buyer))["items"]
    assert [(m["author_role"], m["body"]) for m in thread] == [
        ("seller", "Sorry, the lamp sold out.")
    ]


def test_a_seller_cannot_see_another_stores_order(
    page: Page, api: Api, people: Callable[..., Party], login: Callable[..., None]
) -> None:
    buyer, seller, rival = people("buyer"), people("seller"), people("seller")
    order = api.paid_order(buyer, rival)
    login(page, seller)
    response = page.goto(f"/seller/orders/{order['id']}")
    assert response is not None and response.status == 404
    expect(page.locator("main")).not_to_contain_text("Lamp")


def test_the_console_screenshot_shows_work_of_every_kind(
    page: Page, api: Api, people: Callable[..., Party], login: Callable[..., None]
) -> None:
    buyer, seller = people("buyer"), people("seller")
    for reason in ("wrong_address", "shipping_too_slow"):
        _request_cancel(api, buyer, api.paid_order(buyer, seller), reason)
        api.advance(DAY // 2)
    api.paid_order(buyer, seller)
    delivered = api.delivered_order(buyer, seller)
    api.ok(
        api.post(
            f"/orders/{delivered['id']}/disputes",
            {
                "reason": "damaged",
                "refund_type": "partial",
                "amount": "12.00",
                "description": "Dent",
            },
            as_=buyer,
        ),
        201,
    )
    login(page, seller)
    page.goto("/seller")
    expect(page.locator("#cancellations li.queue-card")).to_have_count(2)
    expect(page.get_by_role("heading", name="Seller console")).to_be_visible()
    assert screenshot(page, "seller-console.png").stat().st_size > 10_000
    page.goto("/lang/es?next=/seller")
    expect(page.get_by_role("heading", name="Consola del vendedor")).to_be_visible()
    expect(page.locator("#cancellations")).to_contain_text("Solicitudes de cancelación")
