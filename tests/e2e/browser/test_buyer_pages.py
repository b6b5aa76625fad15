"""A buyer's walks through My Orders and the order page, in a real browser."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

from babel.dates import format_datetime
from playwright.sync_api import Page, expect

from tests.client import Api, Party
from tests.e2e.browser.conftest import log_in, screenshot


def _stamp(iso: str) -> str:
    """A date and time as the English pages write it."""
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return format_datetime(moment, "medium", tzinfo=UTC, locale="en") + " UTC"


def test_my_orders_lists_orders_by_tab_with_return_and_dispute_badges(
    page: Page, api: Api, people: Callable[..., Party]
) -> None:
    buyer, seller = people("buyer"), people("seller")
    unpaid = api.order(buyer, seller)
    paid = api.paid_order(buyer, seller)
    delivered = api.delivered_order(buyer, seller)
    line = delivered["items"][0]
    api.ok(
        api.post(
            f"/orders/{delivered['id']}/returns",
            {
                "reason": "damaged",
                "items": [{"sku": line["sku"], "quantity": 1}],
                "condition": "unopened",
            },
            as_=buyer,
        ),
        201,
    )
    log_in(page, buyer)
    expect(page).to_have_url(re.compile(r"/orders$"))
    cards = page.locator(".order-card")
    expect(cards).to_have_count(3)
    expect(cards.first).to_contain_text(delivered["id"])  # newest first
    expect(page.locator(f"[data-order-id='{delivered['id']}'] .badges")).to_contain_text(
        "Return: Requested"
    )
    page.get_by_role("link", name="Awaiting shipment").click()
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text(paid["id"])
    page.get_by_role("link", name="Awaiting payment").click()
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text(unpaid["id"])
    page.get_by_role("link", name="All", exact=True).click()
    screenshot(page, "my-orders.png")


def test_my_orders_pages_through_older_orders_with_the_cursor(
    page: Page, api: Api, people: Callable[..., Party]
) -> None:
    buyer, seller = people("buyer"), people("seller")
    made = [api.paid_order(buyer, seller)["id"] for _ in range(12)]
    log_in(page, buyer)
    page.goto("/orders?tab=awaiting_shipment")
    expect(page.locator(".order-card")).to_have_count(10)
    page.get_by_role("link", name="Older orders").click()
    expect(page.locator(".order-card")).to_have_count(2)
    shown = page.locator(".order-card").evaluate_all("els => els.map(e => e.dataset.orderId)")
    assert shown == [made[1], made[0]]
    expect(page.get_by_role("link", name="Older orders")).to_have_count(0)


def test_buyer_cancels_an_unpaid_order_through_the_dialog(
    page: Page, api: Api, people: Callable[..., Party]
) -> None:
    buyer, seller = people("buyer"), people("seller")
    order = api.order(buyer, seller)
    log_in(page, buyer)
    page.goto(f"/orders/{order['id']}")
    page.get_by_role("button", name="Cancel Order").click()
    dialog = page.get_by_role("dialog", name="Cancel Order")
    expect(dialog).to_be_visible()
    dialog.get_by_label("I found a better price elsewhere").check()
    dialog.get_by_label("Comment (optional)").fill("Cheaper next door")
    screenshot(page, "order-cancel-dialog.png")
    dialog.get_by_role("button", name="Cancel Order").click()
    expect(page.locator(".flash")).to_have_text("Your order has been cancelled.")
    expect(page.locator(".page-head .badge")).to_have_text("Cancelled")
    assert api.get_order(order["id"], buyer)["cancel_reason"] == "better_price"
    expect(page.get_by_role("button", name="Cancel Order")).to_have_count(0)


def test_buyer_requests_cancellation_of_a_paid_order_and_sees_the_deadline(
    page: Page, api: Api, people: Callable[..., Party]
) -> None:
    buyer, seller = people("buyer"), people("seller")
    order = api.paid_order(buyer, seller)
    log_in(page, buyer)
    page.goto(f"/orders/{order['id']}")
    expect(page.get_by_role("button", name="Cancel Order")).to_have_count(0)
    page.get_by_role("button", name="Request Order Cancellation").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Shipping takes too long").check()
    dialog.get_by_role("button", name="Send request").click()
    respond_by = api.get_order(order["id"], buyer)["cancellation"]["respond_by"]
    notice = page.locator("#cancel-pending")
    expect(notice).to_contain_text("The seller has until")
    expect(notice).to_contain_text(f"The seller has until {_stamp(respond_by)} to answer.")
    expect(notice.locator(".countdown")).to_have_text(re.compile(r"^(2d|3d) \d\d:\d\d:\d\d$"))
    expect(page.get_by_role("button", name="Request Order Cancellation")).to_have_count(0)


def test_buyer_sees_the_refund_and_its_expected_date_after_the_seller_accepts(
    page: Page, api: Api, people: Callable[..., Party]
) -> None:
    buyer, seller = people("buyer"), people("seller")
    order = api.paid_order(buyer, seller)
    api.ok(api.post(f"/orders/{order['id']}/cancel", {"reason": "changed_mind"}, as_=buyer), 202)
    api.ok(api.post(f"/orders/{order['id']}/cancellation/accept", as_=seller))
    refund = api.get_order(order["id"], buyer)["refunds"][0]
    log_in(page, buyer)
    page.goto(f"/orders/{order['id']}")
    card = page.locator(f"[data-refund-id='{refund['id']}']")
    expect(card).to_contain_text(f"${order['total']['amount']}")
    expect(card.locator(".badge")).to_have_text(re.compile("Pending|Processing"))
    expect(card.locator(".expected-by")).to_have_text(_stamp(refund["expected_by"]))


def test_a_shipped_order_offers_no_cancel_button_and_says_what_to_do_instead(
    page: Page, api: Api, people: Callable[..., Party]
) -> None:
    buyer, seller = people("buyer"), people("seller")
    order = api.shipped_order(buyer, seller)
    log_in(page, buyer)
    page.goto(f"/orders/{order['id']}")
    expect(page.locator("#order-state")).to_contain_text("can no longer be cancelled")
    expect(page.locator("#order-state")).to_contain_text("return items within 15 days")
    expect(page.get_by_role("button", name=re.compile("Cancel"))).to_have_count(0)
    page.get_by_role("button", name="Confirm receipt").click()
    expect(page.locator(".page-head .badge")).to_have_text("Delivered")


def test_buyer_returns_an_item_of_a_delivered_order_and_is_refunded_after_inspection(
    page: Page, api: Api, people: Callable[..., Party]
) -> None:
    buyer, seller = people("buyer"), people("seller")
    order = api.delivered_order(buyer, seller)
    log_in(page, buyer)
    page.goto(f"/orders/{order['id']}")
    panel = page.locator("#return-panel")
    expect(panel.locator("summary")).to_contain_text("15 days left")
    panel.locator("summary").click()
    panel.get_by_label("Bulb").fill("2")
    panel.get_by_label("Reason").select_option("defective")
    panel.get_by_label("Condition of the items").select_option("opened_unused")
    panel.get_by_role("button", name="Request return").click()
    expect(page.locator(".flash")).to_have_text("Your return request was sent to the seller.")
    ret = api.get_order(order["id"], buyer)["returns"][0]
    assert ret["items"] == [{"sku": "SKU-2", "quantity": 2}]
    expect(page.locator(f"[data-return-id='{ret['id']}'] .badge")).to_have_text("Requested")
    api.ok(api.post(f"/returns/{ret['id']}/approve", as_=seller))
    page.reload()
    box = page.locator(f"[data-return-id='{ret['id']}']")
    box.get_by_label("Carrier").fill("DHL")
    box.get_by_label("Tracking number").fill("RT-778")
    box.get_by_role("button", name="I have shipped the items back").click()
    expect(box.locator(".badge")).to_have_text("In transit")
    expect(box).to_contain_text("RT-778")
    api.ok(api.post(f"/returns/{ret['id']}/receive", {"condition_ok": True}, as_=seller))
    page.reload()
    expect(box.locator(".badge")).to_have_text("Refunded")
    expect(page.locator("#refunds .refund")).to_contain_text("$10.00")


def test_buyer_opens_a_dispute_from_the_order_page_and_escalates_it(
    page: Page, api: Api, people: Callable[..., Party]
) -> None:
    buyer, seller = people("buyer"), people("seller")
    order = api.delivered_order(buyer, seller)
    log_in(page, buyer)
    page.goto(f"/orders/{order['id']}")
    panel = page.locator("#dispute-panel")
    panel.locator("summary").click()
    panel.get_by_label("Reason").select_option("damaged")
    panel.get_by_role("radio", name="Partial refund").check()
    panel.get_by_label("Amount you ask for").fill("12.50")
    panel.get_by_label("What went wrong?").fill("The lamp arrived with a cracked base.")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    panel.get_by_label("Photo or document (optional)").set_input_files(
        files=[{"name": "crack.png", "mimeType": "image/png", "buffer": png}]
    )
    panel.get_by_role("button", name="Open dispute").click()
    expect(page.locator(".flash")).to_contain_text("Your dispute is open")
    dispute = api.get_order(order["id"], buyer)["disputes"][0]
    assert dispute["requested_amount"] == {"amount": "12.50", "currency": "USD"}
    api.ok(api.post(f"/disputes/{dispute['id']}/propose", {"amount": "5.00"}, as_=seller))
    page.reload()
    box = page.locator(f"[data-dispute-id='{dispute['id']}']")
    expect(box.locator(".evidence")).to_contain_text("crack.png")
    expect(box.get_by_role("button", name="Accept the offer of $5.00")).to_be_visible()
    box.get_by_role("button", name="Escalate to the platform").click()
    expect(page.locator(".flash")).to_contain_text("escalated")
    expect(box.locator(".badge")).to_have_text("Escalated")
    assert api.get_order(order["id"], buyer)["disputes"][0]["status"] == "escalated"


def test_a_refused_action_is_shown_as_a_message_not_an_error_page(
    page: Page, api: Api, people: Callable[..., Party]
) -> None:
    buyer, seller = people("buyer"), people("seller")
    order = api.order(buyer, seller)
    log_in(page, buyer)
    page.goto(f"/orders/{order['id']}")
    page.get_by_role("button", name="Cancel Order").click()
    api.pay(order)  # meanwhile the storefront records the payment, then the seller ships
    api.ok(
        api.post(
            f"/orders/{order['id']}/ship", {"carrier": "DHL", "tracking_number": "T"}, as_=seller
        )
    )
    page.get_by_role("dialog").get_by_role("button", name="Cancel Order").click()
    expect(page.locator(".flash-error")).to_contain_text("already shipped")
    expect(page.locator(".page-head .badge")).to_have_text("Shipped")


def test_a_buyer_cannot_open_another_buyers_order_page(
    page: Page, api: Api, people: Callable[..., Party]
) -> None:
    owner, other, seller = people("buyer"), people("buyer"), people("seller")
    order = api.paid_order(owner, seller)
    log_in(page, other)
    response = page.goto(f"/orders/{order['id']}")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.locator("body")).not_to_contain_text("Lamp")


def test_the_buyer_writes_to_the_seller_on_the_order_page(
    page: Page, api: Api, people: Callable[..., Party]
) -> None:
    buyer, seller = people("buyer"), people("seller")
    order = api.paid_order(buyer, seller)
    log_in(page, buyer)
    page.goto(f"/orders/{order['id']}")
    page.get_by_label("Write to the seller").fill("Could you gift-wrap it?")
    page.get_by_role("button", name="Send message").click()
    expect(page.locator("#thread .msg-mine")).to_contain_text("Could you gift-wrap it?")
    thread = api.ok(api.get(f"/orders/{order['id']}/messages", as_=seller))
    assert [m["body"] for m in thread["items"]] == ["Could you gift-wrap it?"]
