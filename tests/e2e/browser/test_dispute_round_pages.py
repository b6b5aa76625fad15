"""Dispute rounds in a real browser: the buyer modifies and withdraws, the seller answers by the
actions the domain offers, the history shows every step; staff see decide_by and overdue ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from tests.client import DAY, Api, Party
from tests.e2e.browser.conftest import log_in, stamp


def _dispute(api: Api, buyer: Party, order: dict[str, Any]) -> dict[str, Any]:
    body = {
        "reason": "damaged",
        "refund_type": "partial",
        "amount": "20.00",
        "description": "The lamp is cracked",
    }
    return api.ok(api.post(f"/orders/{order['id']}/disputes", body, as_=buyer), 201)


def _reject(api: Api, seller: Party, dispute: dict[str, Any], why: str) -> None:
    api.ok(api.post(f"/disputes/{dispute['id']}/reject", {"reason": why}, as_=seller))


def test_the_buyer_modifies_a_dispute_the_seller_rejects_it_and_the_buyer_withdraws_it(
    page: Page, other_page: Page, api: Api, people: Callable[..., Party]
) -> None:
    buyer, seller = people("buyer"), people("seller")
    order = api.delivered_order(buyer, seller)
    dispute = _dispute(api, buyer, order)
    api.ok(api.post(f"/disputes/{dispute['id']}/propose", {"amount": "5.00"}, as_=seller))
    log_in(page, buyer)
    page.goto(f"/orders/{order['id']}")
    box = page.locator(f"[data-dispute-id='{dispute['id']}']")
    history = box.get_by_role("table", name="History of the dispute")
    expect(history.locator("tbody tr")).to_have_count(2)
    expect(history.locator("tbody tr").nth(0)).to_contain_text("Opened")
    expect(history.locator("tbody tr").nth(0)).to_contain_text("$20.00")
    expect(history.locator("tbody tr").nth(1)).to_contain_text("Seller")
    expect(history.locator("tbody tr").nth(1)).to_contain_text("$5.00")
    expect(box).to_contain_text("Seller answers: 1 of 3")
    box.get_by_text("Modify the request").click()
    box.get_by_label("New amount for a partial refund (USD)").fill("12.00")
    box.get_by_label("What changed? (optional)").fill("Only the base is cracked")
    box.get_by_role("button", name="Send the new request").click()
    expect(page.locator(".flash")).to_contain_text("Your new request was sent")
    after = api.get_order(order["id"], buyer)["disputes"][0]
    assert (after["status"], after["requested_amount"]["amount"]) == ("open", "12.00")
    expect(box.locator("h3 .badge")).to_have_text("Open")
    expect(box.get_by_role("button", name="Escalate to the platform")).to_have_count(0)
    expect(box.get_by_role("button", name="Withdraw the dispute")).to_be_visible()

    log_in(other_page, seller)
    other_page.goto(f"/seller/orders/{order['id']}")
    panel = other_page.locator(f"#dispute-{dispute['id']}")
    modified = panel.get_by_role("table", name="History of the dispute").locator("tbody tr").nth(2)
    expect(modified).to_contain_text("Modified")
    expect(modified).to_contain_text("Only the base is cracked")
    panel.get_by_text("Reject with a reason").click()
    panel.get_by_label("Why do you reject the claim?").fill("It left us intact")
    panel.get_by_role("button", name="Reject dispute").click()
    expect(other_page.locator(".flash-success")).to_contain_text("Dispute rejected")
    expect(panel.get_by_role("button", name="Reject dispute")).to_have_count(0)  # nothing offered

    page.reload()
    expect(box).to_contain_text("Seller answers: 2 of 3")
    box.get_by_role("button", name="Withdraw the dispute").click()
    expect(page.locator(".flash")).to_contain_text("You withdrew the dispute")
    expect(box.locator("h3 .badge")).to_have_text("Closed")
    expect(box).to_contain_text("You withdrew this dispute; no refund.")
    expect(history.locator("tbody tr").last).to_contain_text("Withdrawn")
    expect(box.get_by_role("button")).to_have_count(0)
    closed = api.get_order(order["id"], buyer)["disputes"][0]
    assert (closed["status"], closed["closed_reason"], closed["refund_id"]) == (
        "closed",
        "withdrawn",
        None,
    )


def test_after_three_answers_the_buyer_escalates_and_staff_see_the_decision_date_and_lateness(
    page: Page, other_page: Page, api: Api, people: Callable[..., Party]
) -> None:
    buyer, seller, admin = people("buyer"), people("seller"), people("admin")
    order = api.delivered_order(buyer, seller)
    dispute = _dispute(api, buyer, order)
    for n in range(3):
        _reject(api, seller, dispute, f"No, round {n + 1}")
        if n < 2:
            change = {"refund_type": "partial", "amount": f"{15 - n}.00"}
            api.ok(api.post(f"/disputes/{dispute['id']}/modify", change, as_=buyer))
    log_in(page, buyer)
    page.goto(f"/orders/{order['id']}")
    box = page.locator(f"[data-dispute-id='{dispute['id']}']")
    expect(box).to_contain_text("Seller answers: 3 of 3")
    expect(box.get_by_text("Modify the request")).to_have_count(0)
    expect(box).to_contain_text("the most a dispute allows")
    box.get_by_role("button", name="Escalate to the platform").click()
    expect(box.locator("h3 .badge")).to_have_text("Escalated")
    decide_by = api.get_order(order["id"], buyer)["disputes"][0]["decide_by"]
    expect(box).to_contain_text(f"The platform decides by {stamp(decide_by)}")

    log_in(other_page, admin)
    other_page.goto("/staff")
    case = other_page.locator(f"#dispute-{dispute['id']}")
    expect(case.locator(".decide-by")).to_have_text(f"decide by {stamp(decide_by)}")
    expect(case.get_by_text("Overdue", exact=True)).to_have_count(0)
    late = other_page.get_by_role("region", name="Overdue escalations")
    expect(late).not_to_contain_text(order["id"])
    expect(case.get_by_role("button", name="Resolve dispute")).to_be_visible()
    api.advance(8 * DAY)
    other_page.reload()
    expect(late.locator("tr.late-row", has_text=order["id"]).locator("td.num")).to_have_text("1")
    expect(case.get_by_text("Overdue", exact=True)).to_be_visible()
    other_page.goto(f"/staff/orders/{order['id']}")
    history = other_page.get_by_role("table", name="History of the dispute")
    expect(history.locator("tbody tr")).to_have_count(
        7
    )  # opened, 3 rejections, 2 changes, escalated
    expect(history.locator("tbody tr").last).to_contain_text("Escalated")
