"""The help center states the live policy, in English and Spanish; Spanish pages format money."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.client import Api, Party
from tests.conftest import LiveServer
from tests.e2e.browser.conftest import VIEWPORT, log_in

POLICY = {
    "cancellation_answer_hours": 48,
    "return_window_days": 30,
    "dispute_window_days": 21,
    "refund_min_days": 2,
    "refund_max_days": 14,
    "refund_promise_working_days": 12,
    "non_receipt_days": 40,
    "seller_answer_days": 4,
    "return_ship_days": 7,
    "seller_ship_days": 5,
    "delivery_protection_days": 45,
    "return_receive_days": 12,
    "dispute_rounds": 2,
    "max_disputes_per_order": 3,
    "platform_answer_days": 6,
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live server with a policy file whose numbers differ from the defaults."""
    folder = tmp_path_factory.mktemp("help")
    policy = folder / "policy.json"
    policy.write_text(json.dumps({"policy": POLICY}))
    live = LiveServer(
        f"sqlite:///{folder / 'aftersale.db'}", folder, env={"AFTERSALE_POLICY_FILE": str(policy)}
    )
    yield live
    live.stop()


def test_the_help_page_states_the_live_policy_numbers(page: Page) -> None:
    page.goto("/help")
    expect(page.get_by_role("heading", level=1)).to_have_text("Help center")
    text = page.locator("main").inner_text()
    assert "48 hours to accept or decline" in text
    assert "within 30 days of delivery" in text
    assert "dispute within 21 days of delivery" in text
    assert "within 2 to 14 days" in text
    assert "no later than 12 working days" in text
    assert "40 days after it shipped" in text
    assert "The seller has 4 days to accept" in text
    assert "within 7 days and enter the carrier" in text
    assert "must ship within 5 days" in text
    assert "protected for 45 days" in text
    assert "within 12 days of your shipping it" in text
    assert "at most 2 times" in text and "at most 3 disputes" in text
    assert "within 6 days" in text
    assert "72 hours" not in text and "15 days" not in text and "60 days" not in text


@pytest.fixture
def spanish(browser: Browser, server: LiveServer) -> Iterator[Page]:
    """A browser that asks for Spanish."""
    context = browser.new_context(base_url=server.base_url, viewport=VIEWPORT, locale="es-ES")
    tab = context.new_page()
    yield tab
    context.close()


def test_the_help_page_is_in_spanish_for_a_spanish_browser(spanish: Page) -> None:
    spanish.goto("/help")
    expect(spanish.get_by_role("heading", level=1)).to_have_text("Centro de ayuda")
    expect(spanish.locator("#cancel")).to_contain_text("El vendedor tiene 48 horas")
    expect(spanish.locator("html")).to_have_attribute("lang", "es")


def test_spanish_pages_show_spanish_text_and_babel_formatted_money(
    spanish: Page, api: Api, people: Callable[..., Party]
) -> None:
    buyer, seller = api.user("buyer", password="browser-pass-2026"), api.user("seller")
    items = [{"sku": "L", "title": "Lámpara", "quantity": 1, "unit_price": "1234.50"}]
    order = api.order(buyer, seller, currency="EUR", items=items, shipping_fee="0.00")
    log_in(spanish, buyer)
    expect(spanish.get_by_role("heading", level=1)).to_have_text("Mis pedidos")
    card = spanish.locator(f"[data-order-id='{order['id']}']")
    expect(card.locator(".order-total")).to_have_text(re.compile(r"^1\.234,50\s€$"))
    expect(card.locator(".badge")).to_have_text("Pendiente de pago")
    spanish.goto(f"/orders/{order['id']}")
    expect(spanish.get_by_role("button", name="Cancelar pedido")).to_be_visible()


def test_the_language_switcher_changes_the_language_and_remembers_it(page: Page) -> None:
    page.goto("/help")
    page.get_by_role("link", name="Español").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Centro de ayuda")
    page.goto("/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Iniciar sesión")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
