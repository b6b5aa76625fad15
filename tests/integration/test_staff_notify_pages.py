"""The staff pages of webhooks and mail, over the app's HTTP interface: an endpoint created
with its secret shown once, rotated and disabled; its deliveries and redelivery; the mailbox
that holds the mail when no SMTP server is set."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from aftersale.entrypoints.dispatcher import Dispatcher
from aftersale.settings import Settings
from tests import conftest
from tests.client import Api
from tests.receivers import Receiver

PASSWORD = "staff-pass-2026"


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Webhooks may reach the loopback; no SMTP server: mail goes to the staff mailbox."""
    return conftest.test_settings(db_url, tmp_path, webhook_allow_private=True)


def token_of(page: str) -> str:
    """The CSRF token of a page's forms."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found[1]


def staff_session(api: Api) -> httpx.Client:
    """The app's client, logged in as a staff member."""
    body = {"email": "desk@example.test", "name": "Desk", "role": "admin", "password": PASSWORD}
    api.ok(api.post("/users", body, as_=api.admin), 201)
    http = api.http
    data = {"email": "desk@example.test", "password": PASSWORD}
    answer = http.post("/login", data={**data, "csrf_token": token_of(http.get("/login").text)})
    assert answer.status_code in (200, 303), answer.text
    return http


def test_staff_add_an_endpoint_see_its_secret_once_and_rotate_and_disable_it(
    api: Api, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    http = staff_session(api)
    page = http.get("/staff/webhooks")
    assert page.status_code == 200 and "No webhook endpoint yet." in page.text
    made = http.post(
        "/staff/webhooks",
        data={"url": receiver.url, "description": "shop", "csrf_token": token_of(page.text)},
    )
    secret = re.search(r'<code id="secret">(whsec_[^<]+)</code>', made.text)
    assert made.status_code == 200 and secret is not None
    listing = http.get("/staff/webhooks").text
    assert receiver.url in listing and secret[1] not in listing
    [hook] = api.ok(api.get("/webhook-endpoints", as_=api.admin))["items"]
    rotated = http.post(
        f"/staff/webhooks/{hook['id']}/rotate", data={"csrf_token": token_of(listing)}
    )
    fresh = re.search(r'<code id="secret">(whsec_[^<]+)</code>', rotated.text)
    assert fresh is not None and fresh[1] != secret[1]
    http.post(
        f"/staff/webhooks/{hook['id']}/status",
        data={"status": "disabled", "csrf_token": token_of(listing)},
    )
    assert (
        api.ok(api.get(f"/webhook-endpoints/{hook['id']}", as_=api.admin))["status"] == "disabled"
    )


def test_staff_see_an_endpoints_deliveries_and_redeliver_one(
    api: Api, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    http = staff_session(api)
    hook = api.ok(api.post("/webhook-endpoints", {"url": receiver.url}, as_=api.admin), 201)
    receiver.plan = [418]
    api.order(api.user("buyer"), api.user("seller"))
    dispatcher.run_once()
    page = http.get(f"/staff/webhooks/{hook['id']}")
    assert page.status_code == 200 and "order.created" in page.text and "HTTP 418" in page.text
    [delivery] = api.ok(api.get(f"/webhook-endpoints/{hook['id']}/deliveries", as_=api.admin))[
        "items"
    ]
    again = http.post(
        f"/staff/webhooks/{hook['id']}/deliveries/{delivery['id']}/redeliver",
        data={"csrf_token": token_of(page.text)},
    )
    assert again.status_code in (200, 303)
    dispatcher.run_once()
    assert len(receiver.got) == 2 and len(set(receiver.ids())) == 1
    assert "succeeded" in http.get(f"/staff/webhooks/{hook['id']}").text
    assert http.get("/staff/webhooks/whe_missing").status_code == 404


def test_without_smtp_the_mail_lands_in_the_staff_mailbox(api: Api, dispatcher: Dispatcher) -> None:
    http = staff_session(api)
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.paid_order(buyer, seller)
    api.ok(api.post(f"/orders/{order['id']}/cancel", {"reason": "changed_mind"}, as_=buyer), 202)
    dispatcher.run_once()
    page = http.get("/staff/mail")
    assert page.status_code == 200
    assert f"Order {order['id']}: the buyer asked to cancel" in page.text
    assert seller.email in page.text and "stored" in page.text
    assert f"/seller/orders/{order['id']}" in page.text
