"""Logging in and out, the demo accounts, the login rate limit and CSRF, in a real browser."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.client import Api, Party
from tests.conftest import LiveServer
from tests.e2e.browser.conftest import PASSWORD, log_in


def test_a_bad_password_shows_a_clear_message_and_keeps_the_email(
    page: Page, people: Callable[..., Party]
) -> None:
    buyer = people("buyer")
    page.goto("/login")
    page.get_by_label("Email").fill(buyer.email)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("The email or password is not right.")
    expect(page.get_by_label("Email")).to_have_value(buyer.email)
    expect(page).to_have_url(re.compile(r"/login"))


def test_the_demo_login_page_lists_the_demo_accounts_and_their_password(page: Page) -> None:
    page.goto("/login")
    demo = page.locator(".demo-box")
    expect(demo).to_contain_text("buyer@demo.test")
    expect(demo).to_contain_text("seller@demo.test")
    expect(demo).to_contain_text("demo-pass-2026")


def test_a_visitor_is_sent_to_log_in_and_then_back_to_the_page_asked_for(
    page: Page, api: Api, people: Callable[..., Party]
) -> None:
    buyer, seller = people("buyer"), people("seller")
    order = api.paid_order(buyer, seller)
    page.goto(f"/orders/{order['id']}")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("Email").fill(buyer.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(f"/orders/{order['id']}$"))
    page.get_by_role("button", name="Log out").click()
    expect(page.locator(".flash")).to_have_text("You have logged out.")
    page.goto("/orders")
    expect(page).to_have_url(re.compile(r"/login"))


def test_a_form_posted_without_its_csrf_token_is_refused(
    page: Page, api: Api, people: Callable[..., Party]
) -> None:
    buyer, seller = people("buyer"), people("seller")
    order = api.order(buyer, seller)
    log_in(page, buyer)
    page.goto(f"/orders/{order['id']}")
    page.get_by_role("button", name="Cancel Order").click()
    page.locator("#cancel-dialog input[name=csrf_token]").evaluate("el => el.remove()")
    with page.expect_response(re.compile(r"/cancel$")) as answer:
        page.get_by_role("dialog").get_by_role("button", name="Cancel Order").click()
    assert answer.value.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Form refused")
    assert api.get_order(order["id"], buyer)["status"] == "awaiting_payment"


def test_a_seller_is_refused_the_buyer_pages(page: Page, people: Callable[..., Party]) -> None:
    seller = people("seller")
    log_in(page, seller)
    response = page.goto("/orders")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")


def test_repeated_bad_passwords_are_slowed_down_with_a_clear_message(
    server: LiveServer, people: Callable[..., Party]
) -> None:
    buyer = people("buyer")
    with server.client() as http:
        form = http.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token is not None
        data = {"email": buyer.email, "password": "wrong-password", "csrf_token": token[1]}
        statuses = [http.post("/login", data=data).status_code for _ in range(5)]
        blocked = http.post("/login", data={**data, "password": PASSWORD})
    assert statuses == [401] * 5
    assert blocked.status_code == 429
    assert "Too many failed attempts. Wait 15 minutes" in blocked.text
