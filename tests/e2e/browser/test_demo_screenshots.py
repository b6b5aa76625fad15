"""The README's pictures, taken from the demo a newcomer sees (`make run`: `aftersale demo`,
then `serve` with the demo flag and the wall clock), in Chromium at 1280 px; each page must
show the demo's own people and orders first, so a picture can never be of an empty page."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from aftersale.entrypoints.demo import PASSWORD
from tests.conftest import LiveServer
from tests.e2e.browser.conftest import VIEWPORT, screenshot
from tests.integration.test_cli import run_cli


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The demo data, served as `make run` serves it (no test clock)."""
    folder = tmp_path_factory.mktemp("demo")
    loaded = run_cli("demo", data_dir=folder, env={"AFTERSALE_DEMO": "1"})
    assert loaded.returncode == 0, loaded.stderr
    live = LiveServer(
        f"sqlite:///{folder / 'aftersale.db'}",
        folder,
        env={"AFTERSALE_DEMO": "1", "AFTERSALE_TEST_CLOCK": "0"},
    )
    yield live
    live.stop()


@pytest.fixture
def as_demo(browser: Browser, server: LiveServer) -> Iterator[Callable[[str], Page]]:
    """log in a demo account in a fresh context: as_demo("buyer@demo.test") -> page."""
    contexts = []

    def log_in(email: str) -> Page:
        context = browser.new_context(
            base_url=server.base_url, viewport=VIEWPORT, locale="en-US", timezone_id="UTC"
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.goto("/login")
        page.locator("#email").fill(email)
        page.locator("#password").fill(PASSWORD)
        page.locator("form[action='/login'] button[type=submit]").click()
        expect(page).not_to_have_url(re.compile(r"/login"))
        return page

    yield log_in
    for context in contexts:
        context.close()


def test_the_readme_pictures_are_of_the_demo(as_demo: Callable[[str], Page]) -> None:
    buyer = as_demo("buyer@demo.test")
    buyer.goto("/orders")
    expect(buyer.locator(".order-card").first).to_be_visible()
    expect(buyer.get_by_text("Lumen Lighting Store").first).to_be_visible()
    assert screenshot(buyer, "demo-my-orders.png").stat().st_size > 10_000
    buyer.locator(".order-card").get_by_role(
        "link", name=re.compile("^Cancel order ")
    ).first.click()
    dialog = buyer.get_by_role("dialog", name="Cancel Order")
    expect(dialog).to_be_visible()
    assert screenshot(buyer, "demo-order-cancel-dialog.png").stat().st_size > 10_000

    seller = as_demo("seller@demo.test")
    seller.goto("/seller")
    expect(seller.get_by_role("heading", level=1)).to_be_visible()
    expect(seller.locator(".queue-card").first).to_be_visible()
    assert screenshot(seller, "demo-seller-console.png").stat().st_size > 10_000

    staff = as_demo("admin@demo.test")
    staff.goto("/staff/dashboard")
    expect(staff.locator("svg").first).to_be_visible()
    assert screenshot(staff, "demo-staff-dashboard.png").stat().st_size > 10_000
