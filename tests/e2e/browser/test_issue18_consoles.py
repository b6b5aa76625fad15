"""Issue 18, points 2, 3, 7, 9 and 10 in a real browser: evidence both ways, the return address,
the seller console's reasons, queues and unread marks, the staff's order page and search, and
My Orders' tab, store names and card actions. Outcomes are checked over the API."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.client import Api, Party
from tests.e2e.browser.conftest import screenshot

PHONE = {"width": 390, "height": 844}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%test\n"


@pytest.fixture(scope="module")
def admin(people: Callable[..., Party]) -> Party:
    """A staff member who logs in to the pages."""
    return people("admin")


def _dispute(api: Api, buyer: Party, order: dict[str, Any], **body: Any) -> dict[str, Any]:
    payload = {"reason": "damaged", "refund_type": "full", "description": "Cracked", **body}
    return api.ok(api.post(f"/orders/{order['id']}/disputes", payload, as_=buyer), 201)


def _fits_a_phone(page: Page) -> None:
    """At 390 px the page does not scroll sideways."""
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.set_viewport_size({"width": 1280, "height": 800})


def _store(api: Api, name: str) -> Party:
    """A seller whose name (the store's) the test chooses."""
    email = f"{name.lower().replace(' ', '-')}-{id(api)}@example.test"
    made = api.ok(
        api.post("/users", {"email": email, "name": name, "role": "seller"}, as_=api.admin), 201
    )
    return Party(id=made["id"], role="seller", token=made["token"], email=email)


def _file(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_buyer_and_seller_add_evidence_to_an_open_dispute_and_all_three_see_it(
    page: Page,
    other_page: Page,
    api: Api,
    people: Callable[..., Party],
    admin: Party,
    login: Callable[..., None],
    tmp_path: Path,
) -> None:
    buyer, seller = people("buyer"), people("seller")
    order = api.delivered_order(buyer, seller)
    dispute = _dispute(api, buyer, order)
    login(other_page, buyer)
    other_page.goto(f"/orders/{order['id']}")
    box = other_page.locator(f"#evidence-{dispute['id']}")
    box.get_by_label("Add a photo or document").set_input_files(
        _file(tmp_path, "cracked-lamp.png", PNG)
    )
    box.get_by_role("button", name="Add evidence").click()
    expect(other_page.locator(".flash-success")).to_contain_text("The file was added")
    login(page, seller)
    page.goto(f"/seller/orders/{order['id']}")
    box = page.locator(f"#evidence-{dispute['id']}")
    expect(box.get_by_role("link", name="cracked-lamp.png")).to_be_visible()  # the buyer's
    box.get_by_label("Add a photo or document").set_input_files(_file(tmp_path, "photo.txt", b"hi"))
    box.get_by_role("button", name="Add evidence").click()
    expect(box.get_by_label("Add a photo or document")).to_have_accessible_error_message(
        "Choose a photo (PNG, JPEG, WebP or GIF) or a PDF of at most 5 MB."
    )
    box = page.locator(f"#evidence-{dispute['id']}")
    box.get_by_label("Add a photo or document").set_input_files(
        _file(tmp_path, "packing-slip.pdf", PDF)
    )
    box.get_by_role("button", name="Add evidence").click()
    expect(page.locator(".flash-success")).to_contain_text("The file was added")
    with page.expect_download() as got:
        page.locator(f"#evidence-{dispute['id']}").get_by_role(
            "link", name="cracked-lamp.png"
        ).click()
    assert Path(got.value.path()).read_bytes() == PNG
    page.locator(f"#evidence-{dispute['id']}").scroll_into_view_if_needed()
    screenshot(page, "seller-dispute-evidence.png")
    files = api.ok(api.get(f"/disputes/{dispute['id']}/evidence", as_=seller))
    assert [(f["filename"], f["uploader_role"]) for f in files] == [  # type: ignore[index]
        ("cracked-lamp.png", "buyer"),
        ("packing-slip.pdf", "seller"),
    ]
    other_page.reload()
    expect(other_page.locator(f"#evidence-{dispute['id']}")).to_contain_text("packing-slip.pdf")
    page.context.clear_cookies()
    login(page, admin)
    page.goto(f"/staff/orders/{order['id']}")
    expect(page.get_by_role("link", name="cracked-lamp.png")).to_be_visible()
    expect(page.get_by_role("link", name="packing-slip.pdf")).to_be_visible()


def test_the_seller_sets_a_return_address_and_the_approved_return_shows_it(
    page: Page,
    other_page: Page,
    api: Api,
    people: Callable[..., Party],
    login: Callable[..., None],
) -> None:
    buyer, seller = people("buyer"), people("seller")
    login(page, seller)
    page.goto("/seller")
    page.get_by_role("link", name="Store settings").click()
    page.get_by_label("Name on the parcel").fill("Lamp Shop Returns")
    page.get_by_label("Address line 1").fill("12 Harbour Road")
    page.get_by_label("City").fill("Valencia")
    page.get_by_label("Postal code").fill("46001; DROP")
    page.get_by_label("Country").select_option("ES")
    page.get_by_role("button", name="Save return address").click()
    postal = page.get_by_label("Postal code")
    expect(postal).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#ra-postal_code-error")).to_have_text(
        "Use only letters, digits, spaces and hyphens."
    )
    expect(page.get_by_label("City")).to_have_value("Valencia")  # the form kept its input
    _fits_a_phone(page)
    api.problem(api.get("/sellers/me/return-address", as_=seller), 404, "return_address_missing")
    postal.fill("46001")
    page.get_by_role("button", name="Save return address").click()
    expect(page.locator(".flash-success")).to_contain_text("Return address saved")
    saved = api.ok(api.get("/sellers/me/return-address", as_=seller))
    assert (saved["city"], saved["postal_code"], saved["country"]) == ("Valencia", "46001", "ES")
    order = api.delivered_order(buyer, seller)
    line = order["items"][0]
    ret = api.ok(
        api.post(
            f"/orders/{order['id']}/returns",
            {"reason": "damaged", "items": [{"sku": line["sku"], "quantity": 1}]}
            | {"condition": "unopened"},
            as_=buyer,
        ),
        201,
    )
    api.ok(api.post(f"/returns/{ret['id']}/approve", as_=seller))
    login(other_page, buyer)
    other_page.goto(f"/orders/{order['id']}")
    card = other_page.locator(f"[data-return-id='{ret['id']}']")
    address = card.locator("address")
    expect(address).to_contain_text("Lamp Shop Returns")
    expect(address).to_contain_text("46001 Valencia")
    expect(card.locator(".inspection-days")).to_contain_text("the seller has 15 days to inspect")


def test_the_console_says_why_an_order_cannot_ship_lists_escalations_and_unread_messages(
    page: Page,
    other_page: Page,
    api: Api,
    people: Callable[..., Party],
    login: Callable[..., None],
) -> None:
    buyer, seller = people("buyer"), people("seller")
    held = api.paid_order(buyer, seller)
    api.ok(api.post(f"/orders/{held['id']}/cancel", {"reason": "changed_mind"}, as_=buyer), 202)
    disputed = api.delivered_order(buyer, seller)
    dispute = _dispute(api, buyer, disputed)
    api.ok(api.post(f"/disputes/{dispute['id']}/reject", {"reason": "Packed well"}, as_=seller))
    api.ok(api.post(f"/disputes/{dispute['id']}/escalate", as_=buyer))
    for body in ("Is it on its way?", "Please answer"):
        api.ok(api.post(f"/orders/{held['id']}/messages", {"body": body}, as_=buyer), 201)
    login(page, seller)
    page.goto("/seller")
    blocked = page.locator(f"#fulfil li[data-blocked='{held['id']}']")
    expect(blocked).to_contain_text(
        "You cannot ship this order yet: answer the cancellation request first."
    )
    expect(blocked.get_by_role("button", name="Ship")).to_have_count(0)
    expect(page.locator(f"#platform li[data-platform='{disputed['id']}']")).to_contain_text(
        "escalated"
    )
    inbox = page.locator(f"#inbox li[data-inbox='{held['id']}']")
    expect(inbox).to_contain_text("2 unread messages")
    expect(page.locator("#h-recent").locator("..")).to_contain_text("2 unread messages")
    screenshot(page, "seller-console-queues.png")
    _fits_a_phone(page)
    inbox.get_by_role("link").click()
    expect(page.get_by_role("note")).to_contain_text("answer the cancellation request first")
    page.get_by_label("Write to the buyer").fill("Answering your request now")
    page.get_by_role("button", name="Send message").click()
    page.goto("/seller")
    expect(page.locator(f"#inbox li[data-inbox='{held['id']}']")).to_have_count(0)
    login(other_page, buyer)
    other_page.goto("/orders")
    card = other_page.locator(f"[data-order-id='{held['id']}']")
    expect(card.locator(".unread")).to_have_text("1 unread message")
    expect(other_page.locator(".inbox-note")).to_contain_text("1 unread message from sellers")
    card.get_by_role("link", name=re.compile(held["id"])).click()
    other_page.goto("/orders")
    expect(other_page.locator(f"[data-order-id='{held['id']}'] .unread")).to_have_count(0)
    expect(other_page.locator(".inbox-note")).to_have_count(0)


def test_staff_find_an_order_read_its_items_parties_and_decision_and_pick_an_amount(
    page: Page,
    api: Api,
    people: Callable[..., Party],
    admin: Party,
    login: Callable[..., None],
) -> None:
    buyer, seller = people("buyer"), people("seller")
    decided, open_case = api.delivered_order(buyer, seller), api.delivered_order(buyer, seller)
    first = _dispute(api, buyer, decided)
    api.ok(api.post(f"/disputes/{first['id']}/reject", {"reason": "Packed well"}, as_=seller))
    api.ok(api.post(f"/disputes/{first['id']}/escalate", as_=buyer))
    note = "Half of the lamps arrived broken"
    api.ok(
        api.post(
            f"/disputes/{first['id']}/resolve",
            {"refund_amount": "20.00", "note": note},
            as_=api.admin,
        )
    )
    second = _dispute(api, buyer, open_case)
    api.ok(api.post(f"/disputes/{second['id']}/propose", {"amount": "7.50"}, as_=seller))
    api.ok(api.post(f"/disputes/{second['id']}/escalate", as_=buyer))
    login(page, admin)
    page.goto("/staff")
    page.get_by_label("Find an order").fill(buyer.email)
    page.get_by_role("button", name="Search").click()
    rows = page.locator("tr.found-row")
    expect(rows).to_have_count(2)
    _fits_a_phone(page)
    page.get_by_label("Find an order").fill(decided["id"])
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(f"/staff/orders/{decided['id']}$"))
    expect(page.locator(".buyer-name")).to_contain_text(buyer.email)
    expect(page.locator(".seller-name")).to_contain_text(seller.email)
    items = page.get_by_role("table").filter(has_text="Unit price")
    expect(items).to_contain_text("Lamp")
    expect(items).to_contain_text("Bulb")
    expect(page.locator(".decision-note")).to_have_text(note)
    expect(page.locator(".dispute-history")).to_contain_text("Packed well")
    page.goto("/staff")
    case = page.locator(f"#dispute-{second['id']}")
    case.get_by_role("button", name="The seller's offer: $7.50").click()
    expect(case.get_by_label("Refund to the buyer (USD)")).to_have_value("7.50")
    case.get_by_role("button", name=re.compile("The buyer's ask")).click()
    expect(case.get_by_label("Refund to the buyer (USD)")).to_have_value(
        second["requested_amount"]["amount"]
    )
    case.get_by_label("Note to both parties").fill("The full amount")
    case.get_by_role("button", name="Resolve dispute").click()
    expect(page.locator(".flash-success")).to_contain_text("Dispute resolved")
    after = api.ok(api.get(f"/disputes/{second['id']}", as_=buyer))
    assert after["resolution_amount"]["amount"] == second["requested_amount"]["amount"]


def test_my_orders_has_a_refunds_tab_store_names_and_each_cards_main_action(
    page: Page, api: Api, people: Callable[..., Party], login: Callable[..., None]
) -> None:
    buyer, seller = people("buyer"), _store(api, "Lamp Corner")
    unpaid, shipped = api.order(buyer, seller), api.shipped_order(buyer, seller)
    delivered = api.delivered_order(buyer, seller)
    _dispute(api, buyer, delivered)
    refunded = api.paid_order(buyer, seller)
    api.ok(api.post(f"/orders/{refunded['id']}/seller-cancel", {"reason": "gone"}, as_=seller))
    login(page, buyer)
    page.goto("/orders")
    expect(page.locator(f"[data-order-id='{unpaid['id']}'] .order-store")).to_have_text(
        "Store: Lamp Corner"
    )
    page.get_by_role("link", name="Refunds & disputes").click()
    shown = page.locator(".order-card").evaluate_all("els => els.map(e => e.dataset.orderId)")
    assert shown == [refunded["id"], delivered["id"]]
    screenshot(page, "my-orders-refunds-tab.png")
    _fits_a_phone(page)
    page.get_by_role("link", name="All", exact=True).click()
    # one click, no confirmation (issue 18 point 4)
    page.get_by_role("button", name=f"Confirm receipt of order {shipped['id']}").click()
    expect(page.locator(".flash-success")).to_contain_text("marked as delivered")
    assert api.get_order(shipped["id"], buyer)["status"] == "delivered"
    page.goto("/orders")
    page.get_by_role("link", name=f"Cancel order {unpaid['id']}").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    page.goto("/orders")
    page.locator(f"[data-order-id='{delivered['id']}'] .card-title").click()
    expect(page).to_have_url(re.compile(f"/orders/{delivered['id']}$"))
