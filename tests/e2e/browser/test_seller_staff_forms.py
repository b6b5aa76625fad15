"""The seller's and the staff's forms in Chromium: a refused field comes back with the form
still open and filled, the error beside the field (as its accessible error message) in the
page's language; an amount typed with a decimal comma is taken."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from tests.client import Api, Party


def _post_status(page: Page, click: Callable[[], None]) -> int:
    """The status of the form POST a click sends."""
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        click()
    return answer.value.status


def _dispute(api: Api, buyer: Party, order: dict[str, Any]) -> dict[str, Any]:
    body = {"reason": "missing_parts", "refund_type": "full", "description": "Only 2 bulbs"}
    return api.ok(api.post(f"/orders/{order['id']}/disputes", body, as_=buyer), 201)


def _escalated(api: Api, buyer: Party, seller: Party) -> dict[str, Any]:
    """A dispute on a delivered order (60.00 paid) the seller rejected and the buyer escalated."""
    dispute = _dispute(api, buyer, api.delivered_order(buyer, seller))
    api.ok(api.post(f"/disputes/{dispute['id']}/reject", {"reason": "Packed well"}, as_=seller))
    return api.ok(api.post(f"/disputes/{dispute['id']}/escalate", as_=buyer))


def test_a_refused_ship_form_keeps_what_the_seller_typed(
    page: Page, api: Api, people: Callable[..., Party], login: Callable[..., None]
) -> None:
    seller = people("seller")
    order = api.paid_order(people("buyer"), seller)
    login(page, seller)
    page.goto(f"/seller/orders/{order['id']}")
    fulfil = page.get_by_role("region", name="Fulfil")
    fulfil.get_by_label("Carrier").fill("   ")  # only spaces: the rules refuse it
    fulfil.get_by_label("Tracking number").fill("JD-2026-77")
    status = _post_status(page, fulfil.get_by_role("button", name="Ship", exact=True).click)
    assert status == 422
    fulfil = page.get_by_role("region", name="Fulfil")
    expect(fulfil.get_by_label("Tracking number")).to_have_value("JD-2026-77")
    expect(fulfil.get_by_label("Carrier")).to_have_accessible_error_message(
        "Enter the carrier's name (at most 100 characters)."
    )
    assert api.get_order(order["id"], seller)["status"] == "awaiting_fulfillment"
    fulfil.get_by_label("Carrier").fill("DHL")
    fulfil.get_by_role("button", name="Ship", exact=True).click()
    expect(page.locator(".flash-success")).to_contain_text("Order shipped")
    shipped = api.get_order(order["id"], seller)
    assert (shipped["status"], shipped["tracking_number"]) == ("shipped", "JD-2026-77")


def test_a_refused_rejection_reason_stays_open_on_the_console(
    page: Page, api: Api, people: Callable[..., Party], login: Callable[..., None]
) -> None:
    buyer, seller = people("buyer"), people("seller")
    order = api.paid_order(buyer, seller)
    api.ok(api.post(f"/orders/{order['id']}/cancel", {"reason": "changed_mind"}, as_=buyer), 202)
    login(page, seller)
    page.goto("/seller")
    page.get_by_text("Reject with a reason").click()  # the seller's one cancellation request
    reason = page.get_by_label("Why are you rejecting it?")
    reason.fill(" ")
    status = _post_status(page, page.get_by_role("button", name="Reject cancellation").click)
    assert status == 422
    reason = page.get_by_label("Why are you rejecting it?")
    expect(reason).to_be_visible()  # the panel is open again
    expect(reason).to_have_accessible_error_message(
        "Write the reason in a few words (at most 500 characters)."
    )
    assert api.get_order(order["id"], seller)["cancellation"]["status"] == "pending"


def test_in_spanish_a_proposal_too_large_is_refused_beside_it_and_a_comma_amount_is_taken(
    page: Page, api: Api, people: Callable[..., Party], login: Callable[..., None]
) -> None:
    buyer, seller = people("buyer"), people("seller")
    order = api.delivered_order(buyer, seller)  # 60.00 paid
    dispute = _dispute(api, buyer, order)
    login(page, seller)
    page.goto(f"/lang/es?next=/seller/orders/{order['id']}")
    panel = page.locator(f"#dispute-{dispute['id']}")
    panel.get_by_text("Proponer otro importe").click()
    panel.get_by_label("Importe a reembolsar (USD)").fill("999,00")
    status = _post_status(page, panel.get_by_role("button", name="Enviar la propuesta").click)
    assert status == 422
    amount = page.locator(f"#dispute-{dispute['id']}").get_by_label("Importe a reembolsar (USD)")
    expect(amount).to_have_value("999,00")
    expect(amount).to_have_accessible_error_message(
        "Ese importe supera lo que aún se puede reembolsar en este pedido."
    )
    amount.fill("12,50")
    page.locator(f"#dispute-{dispute['id']}").get_by_role(
        "button", name="Enviar la propuesta"
    ).click()
    expect(page.locator(".flash-success")).to_be_visible()
    offer = api.ok(api.get(f"/disputes/{dispute['id']}", as_=buyer))["proposed_amount"]
    assert offer["amount"] == "12.50"


def test_staff_decision_form_keeps_its_note_and_takes_a_comma(
    page: Page, api: Api, people: Callable[..., Party], login: Callable[..., None]
) -> None:
    buyer = people("buyer")
    dispute = _escalated(api, buyer, people("seller"))
    login(page, people("admin"))
    page.goto("/staff")
    case = page.locator(f"#dispute-{dispute['id']}")
    case.get_by_label("Refund to the buyer (USD)").fill("70,00")
    case.get_by_label("Note to both parties").fill("Two bulbs were missing")
    status = _post_status(page, case.get_by_role("button", name="Resolve dispute").click)
    assert status == 422
    case = page.locator(f"#dispute-{dispute['id']}")
    expect(case.get_by_label("Note to both parties")).to_have_value("Two bulbs were missing")
    expect(case.get_by_label("Refund to the buyer (USD)")).to_have_value("70,00")
    expect(case.get_by_label("Refund to the buyer (USD)")).to_have_accessible_error_message(
        "That amount is more than what can still be refunded on this order."
    )
    case.get_by_label("Refund to the buyer (USD)").fill("10,25")
    case.get_by_role("button", name="Resolve dispute").click()
    expect(page.locator(".flash-success")).to_contain_text("Dispute resolved")
    done = api.ok(api.get(f"/disputes/{dispute['id']}", as_=buyer))
    assert (done["status"], done["resolution_amount"]["amount"]) == ("resolved", "10.25")
