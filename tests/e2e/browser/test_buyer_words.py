"""The buyer's order page in a real browser: words that follow the state, a refused form that
keeps what was typed, receipt confirmed in one click, and the page in Spanish."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.client import DAY, Api, Party
from tests.e2e.browser.conftest import log_in


def test_a_refused_dispute_form_stays_open_and_filled_with_the_error_beside_the_amount(
    page: Page, api: Api, people: Callable[..., Party]
) -> None:
    buyer, seller = people("buyer"), people("seller")
    order = api.delivered_order(buyer, seller)  # $60.00 paid
    log_in(page, buyer)
    page.goto(f"/orders/{order['id']}")
    expect(page.locator("#order-state")).to_contain_text("This order has been delivered.")
    panel = page.locator("#dispute-panel")
    panel.locator("summary").click()
    reason = panel.get_by_label("Reason")
    expect(reason).to_have_value("not_as_described")  # (not "Order not received": it came)
    amount = panel.get_by_label("Amount you ask for")
    expect(amount).to_have_value("60.00")  # (shown, prefilled, for a full refund too)
    reason.select_option("damaged")
    panel.get_by_role("radio", name="Partial refund").check()
    amount.fill("75.00")
    panel.get_by_label("What went wrong?").fill("The base is cracked.")
    panel.get_by_role("button", name="Open dispute").click()
    panel = page.locator("#dispute-panel")
    expect(panel).to_have_attribute("open", "")
    error = panel.get_by_role("alert")
    expect(error).to_have_text(
        "That amount is more than what can still be refunded for this order."
    )
    expect(panel.get_by_label("Amount you ask for")).to_have_value("75.00")
    expect(panel.get_by_label("Amount you ask for")).to_have_attribute("aria-invalid", "true")
    expect(panel.get_by_label("What went wrong?")).to_have_value("The base is cracked.")
    expect(panel.get_by_label("Reason")).to_have_value("damaged")
    expect(panel.get_by_role("radio", name="Partial refund")).to_be_checked()
    assert api.get_order(order["id"], buyer)["disputes"] == []
    panel.get_by_label("Amount you ask for").fill("12.50")
    panel.get_by_role("button", name="Open dispute").click()
    expect(page.locator(".flash")).to_contain_text("Your dispute is open")
    [dispute] = api.get_order(order["id"], buyer)["disputes"]
    assert dispute["requested_amount"]["amount"] == "12.50"


def test_confirm_receipt_takes_one_click_and_the_spanish_page_speaks_spanish(
    page: Page, api: Api, people: Callable[..., Party]
) -> None:
    buyer, seller = people("buyer"), people("seller")
    order = api.shipped_order(buyer, seller)
    log_in(page, buyer)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"/orders/{order['id']}")
    expect(page.locator("#order-state")).to_contain_text("This order has shipped")
    page.get_by_role("button", name="Confirm receipt").click()
    expect(page.locator(".page-head .badge")).to_have_text("Delivered")
    assert dialogs == []
    expect(page.locator("#order-state")).to_contain_text("This order has been delivered.")
    expect(page.get_by_role("button", name="Confirm receipt")).to_have_count(0)

    api.advance(16 * DAY)  # the windows close: the order completes
    page.context.add_cookies([{"name": "lang", "value": "es", "url": page.url}])
    page.reload()
    expect(page.locator("#order-state")).to_contain_text("Este pedido está completado.")
    timeline = page.get_by_role("region", name="Historial")
    expect(timeline).to_contain_text("Enviado con DHL, seguimiento TRK1")
    expect(timeline).to_contain_text("El comprador confirmó la recepción")
    expect(timeline).to_contain_text("Completado (Automático)")
    expect(timeline).not_to_contain_text("Shipped with")
    expect(page.locator("#nothing-to-do")).to_contain_text("no hay nada que hacer")
