"""Every page, as the party who sees it, in the states a story visits (issue 18, points 6, 11
and 12): axe-core (axe-playwright-python) finds no violation of any impact (at a desktop's
1280 px; the login page and a dialog at a phone's 390 × 844 too); at the phone's size no page
scrolls sideways (long ids wrap), the header takes at most two rows and a dialog is centred;
the API docs at /docs render from the package alone (every request the page makes stays on
this server)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from aftersale.entrypoints.web.buyer import AFTERSALE_TAB
from tests.client import Api, Party
from tests.conftest import LiveServer
from tests.e2e.browser.conftest import log_in
from tests.integration.ledger_check import ask_dispute, ask_return

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
AXE = Axe()


@pytest.fixture(scope="module")
def scene(api: Api, people: Callable[..., Party]) -> dict[str, Any]:
    """One buyer and seller with an order in each state a story visits; a staff member."""
    buyer, seller, staff = people("buyer"), people("seller"), people("admin")
    unpaid = api.order(buyer, seller)
    asked = api.paid_order(buyer, seller)
    api.ok(api.post(f"/orders/{asked['id']}/cancel", {"reason": "changed_mind"}, as_=buyer), 202)
    shipped = api.shipped_order(buyer, seller)
    returning = api.delivered_order(buyer, seller)
    api.ok(ask_return(api, returning, buyer, [{"sku": "SKU-2", "quantity": 1}]), 201)
    disputed = api.delivered_order(buyer, seller)
    api.ok(ask_dispute(api, disputed, buyer), 201)
    orders = [unpaid, asked, shipped, returning, disputed]
    ids = [o["id"] for o in orders]
    return {
        "buyer": (
            buyer,
            ["/orders", f"/orders?tab={AFTERSALE_TAB}", "/help", *(f"/orders/{i}" for i in ids)],
        ),
        "seller": (seller, ["/seller", "/seller/settings", *(f"/seller/orders/{i}" for i in ids)]),
        "staff": (
            staff,
            # (/docs is Swagger UI's own markup, not ours: its test below is that it renders
            # from this server alone)
            ["/staff", "/staff/dashboard", "/staff/webhooks", "/staff/mail"]
            + [f"/staff/search?q={buyer.email}"]
            + [f"/staff/orders/{i}" for i in ids],
        ),
        "unpaid": unpaid,
    }


@pytest.fixture
def sized(browser: Browser, server: LiveServer) -> Iterator[Callable[[dict[str, int]], Page]]:
    """A fresh page at a viewport size."""
    contexts = []

    def make(viewport: dict[str, int]) -> Page:
        context = browser.new_context(
            base_url=server.base_url, viewport=viewport, locale="en-US", timezone_id="UTC"
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def violations(page: Page) -> list[str]:
    """axe-core's violations on the page as it is now, one line each."""
    found = AXE.run(page).response["violations"]
    return [
        f"{page.url} {v['id']} ({v['impact']}): {n['target']}" for v in found for n in v["nodes"]
    ]


def layout_problems(page: Page) -> list[str]:
    """What would make a phone's page awkward: sideways scrolling, a header over two rows."""
    found = []
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > page.viewport_size["width"]:  # type: ignore[index]
        wide = page.evaluate(
            """() => {
                 const clipped = e => {
                   for (let a = e.parentElement; a; a = a.parentElement) {
                     if (getComputedStyle(a).overflowX !== 'visible') return true;
                   }
                   return false;
                 };
                 const over = e => e.getBoundingClientRect().right > window.innerWidth + 1
                   && !clipped(e);
                 return [...document.querySelectorAll('body *')]
                   .filter(e => over(e) && ![...e.children].some(over))
                   .slice(0, 3).map(e => e.outerHTML.slice(0, 120));
               }"""
        )
        found.append(f"{page.url}: {width} px wide ({wide})")
    rows = page.evaluate(
        """() => {
             const tops = [...document.querySelectorAll('header a, header button')]
               .filter(e => e.offsetParent !== null)
               .map(e => e.getBoundingClientRect().top);
             return tops.sort((a, b) => a - b)
               .reduce((n, top, i, all) => n + (i === 0 || top - all[i - 1] > 12 ? 1 : 0), 0);
           }"""
    )
    if rows > 2:
        found.append(f"{page.url}: the header takes {rows} rows")
    return found


@pytest.mark.parametrize("role", ["buyer", "seller", "staff"])
def test_every_page_passes_axe_and_fits_a_phone(
    role: str, scene: dict[str, Any], sized: Callable[[dict[str, int]], Page]
) -> None:
    party, paths = scene[role]
    problems: list[str] = []
    for viewport in (DESKTOP, PHONE):
        page = sized(viewport)
        log_in(page, party)
        for path in paths:
            page.goto(path)
            # axe at the desktop's size (its rules do not change with the width); what a
            # phone's width changes is the layout
            problems += layout_problems(page) if viewport is PHONE else violations(page)
    if problems:
        with open("/tmp/a11y.txt", "a") as out:
            out.write("\n".join(problems) + "\n")
    assert problems == []


def test_the_login_page_passes_axe_at_both_sizes(sized: Callable[[dict[str, int]], Page]) -> None:
    for viewport in (DESKTOP, PHONE):
        page = sized(viewport)
        page.goto("/login")
        assert violations(page) + layout_problems(page) == []


def test_a_dialog_on_a_phone_is_centred(
    scene: dict[str, Any], sized: Callable[[dict[str, int]], Page]
) -> None:
    buyer, _ = scene["buyer"]
    page = sized(PHONE)
    log_in(page, buyer)
    page.goto(f"/orders/{scene['unpaid']['id']}")
    page.get_by_role("button", name="Cancel order").first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    box = dialog.bounding_box()
    assert box is not None
    left, right = box["x"], PHONE["width"] - (box["x"] + box["width"])
    assert abs(left - right) <= 2 and left >= 0, (left, right)
    assert violations(page) == []


def test_the_api_docs_render_from_this_server_alone(
    scene: dict[str, Any], sized: Callable[[dict[str, int]], Page], server: LiveServer
) -> None:
    page = sized(DESKTOP)
    elsewhere: list[str] = []
    page.on(
        "request",
        lambda r: None if r.url.startswith(server.base_url) else elsewhere.append(r.url),
    )
    page.goto("/docs")
    expect(page.get_by_text("/api/v1/orders/{order_id}/cancel").first).to_be_visible()
    assert elsewhere == []
