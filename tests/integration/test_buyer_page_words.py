"""The buyer's order page says what is true now: each status and sub-state, built through the
API on the test clock, is rendered in process and its words checked against the state."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import pytest

from aftersale.entrypoints.web.timeline_text import EVENT_TITLES, sentence_of
from tests.client import DAY, HOUR, Api, Party

PASSWORD = "words-pass-2026"
# What a page may never show: internal codes and the words of states the order has left.
CODES = re.compile(r"\((?:default|order_cancelled|seller_did_not_ship|dispute|return)\)")


def _token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found[1]


def session_of(api: Api, party: Party) -> httpx.Client:
    """The app's client, logged in as a party made with PASSWORD."""
    http = api.http
    http.cookies.clear()
    login = {"email": party.email, "password": PASSWORD}
    done = http.post("/login", data={**login, "csrf_token": _token(http.get("/login").text)})
    assert done.status_code in (200, 303), done.text
    return http


def buyer_session(api: Api) -> tuple[Party, httpx.Client]:
    """A buyer who can log in, and the app's client logged in as them."""
    buyer = api.user("buyer", password=PASSWORD)
    return buyer, session_of(api, buyer)


@pytest.fixture(autouse=True)
def every_timeline_line_is_known(api: Api) -> Any:
    """After each walk: every timeline entry of every order it made has words in the pages'
    catalog (its event a title, its detail one of the sentences the pages translate)."""
    yield
    orders = api.ok(api.get("/orders", as_=api.admin, limit=200))["items"]
    assert orders
    for listed in orders:
        order = api.get_order(listed["id"], api.admin)
        for entry in order["timeline"]:
            assert entry["event"] in EVENT_TITLES, entry
            assert sentence_of(entry["detail"]) is not None, entry


def words(http: httpx.Client, order_id: str) -> str:
    """The order page's text, tags stripped and spaces folded."""
    page = http.get(f"/orders/{order_id}")
    assert page.status_code == 200, page.text
    text = re.sub(r"<script.*?</script>|<style.*?</style>", " ", page.text, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    return re.sub(r"\s+", " ", text)


def buttons(http: httpx.Client, order_id: str) -> list[str]:
    """The labels of the page's buttons and button-like links."""
    page = http.get(f"/orders/{order_id}").text
    found = re.findall(r"<button[^>]*>(.*?)</button>|role=\"button\">(.*?)</a>", page, re.S)
    return [re.sub(r"\s+", " ", a or b).strip() for a, b in found]


def post(api: Api, path: str, body: Any, as_: Party) -> dict[str, Any]:
    """A call that must succeed."""
    response = api.post(path, body, as_=as_)
    assert response.status_code in (200, 201, 202), response.text
    result: dict[str, Any] = response.json()
    return result


def test_unpaid_orders_cancelled_by_the_buyer_or_the_clock_say_nothing_was_charged(
    api: Api,
) -> None:
    buyer, http = buyer_session(api)
    seller = api.user("seller")
    unpaid = api.order(buyer, seller)
    text = words(http, unpaid["id"])
    assert "This order is waiting for payment." in text
    assert "Cancel Order" in buttons(http, unpaid["id"])

    post(api, f"/orders/{unpaid['id']}/cancel", {"reason": "changed_mind"}, buyer)
    text = words(http, unpaid["id"])
    assert "This order is cancelled. You cancelled it. Nothing was charged." in text
    assert "refunded" not in text.lower().replace("refunds are", "")
    assert "Cancel Order" not in buttons(http, unpaid["id"])

    forgotten = api.order(buyer, seller)
    api.advance(20 * DAY + 60)
    text = words(http, forgotten["id"])
    assert "It was not paid within 20 days, so it was closed automatically." in text
    assert "Nothing was charged." in text and "refunded in full" not in text
    assert "Cancelled automatically: not paid in time" in text


def test_paid_orders_cancelled_every_way_name_their_reason_and_their_refund(api: Api) -> None:
    buyer, http = buyer_session(api)
    seller = api.user("seller")
    by_seller = api.paid_order(buyer, seller)
    post(api, f"/orders/{by_seller['id']}/seller-cancel", {"reason": "Out of stock"}, seller)
    text = words(http, by_seller["id"])
    assert "The seller cancelled it. Their reason: Out of stock. You are being refunded $60.00" in (
        text
    )
    assert "Refund issued (Automatic)" in text and CODES.search(text) is None
    assert "(the order was cancelled)" in text

    accepted = api.paid_order(buyer, seller)
    post(api, f"/orders/{accepted['id']}/cancel", {"reason": "changed_mind"}, buyer)
    text = words(http, accepted["id"])
    assert "You asked to cancel this order." in text
    post(api, f"/orders/{accepted['id']}/cancellation/accept", None, seller)
    text = words(http, accepted["id"])
    assert "The seller accepted your cancellation request." in text
    assert "You asked to cancel this order." not in text

    silent = api.paid_order(buyer, seller)
    post(api, f"/orders/{silent['id']}/cancel", {"reason": "changed_mind"}, buyer)
    api.advance(72 * HOUR + 60)
    text = words(http, silent["id"])
    assert "did not answer your cancellation request in time, so it was accepted automatically" in (
        text
    )
    never_shipped = api.paid_order(buyer, seller)
    api.advance(7 * DAY + 60)
    text = words(http, never_shipped["id"])
    assert "The seller did not ship in time, so the order was cancelled automatically." in text
    assert "Paid $60.00" in text and "Refunded −$60.00" in text and "Net paid $0.00" in text


def test_a_declined_request_is_not_shown_once_the_order_shipped(api: Api) -> None:
    buyer, http = buyer_session(api)
    seller = api.user("seller")
    order = api.paid_order(buyer, seller)
    post(api, f"/orders/{order['id']}/cancel", {"reason": "changed_mind"}, buyer)
    post(api, f"/orders/{order['id']}/cancellation/reject", {"reason": "Already packed"}, seller)
    text = words(http, order["id"])
    assert "The seller declined your cancellation request." in text and "The order goes on" in text
    post(api, f"/orders/{order['id']}/ship", {"carrier": "DHL", "tracking_number": "T1"}, seller)
    text = words(http, order["id"])
    assert "The seller declined your cancellation request." not in text
    assert "The order goes on" not in text
    assert "This order has shipped, so it can no longer be cancelled." in text
    assert "Confirm receipt" in buttons(http, order["id"])
    assert "Contact the seller" in text and "There is nothing to do" not in text


def test_a_shipped_order_refunded_in_full_for_non_receipt_offers_nothing_more(api: Api) -> None:
    buyer, http = buyer_session(api)
    seller = api.user("seller")
    order = api.shipped_order(buyer, seller)
    api.advance(10 * DAY + 60)
    body = {"reason": "not_received", "refund_type": "full", "description": "Never came"}
    dispute = post(api, f"/orders/{order['id']}/disputes", body, buyer)
    post(api, f"/disputes/{dispute['id']}/accept", None, seller)
    text = words(http, order["id"])
    assert "Refunded in full" in text
    assert "This order is refunded in full." in text and "nothing more to do" in text
    assert "Once it is delivered" not in text and "return items" not in text
    assert "Purchase protection left" not in text and "Why can't I cancel?" not in text
    assert "Confirm receipt" not in buttons(http, order["id"])
    assert "Paid $60.00 Refunded −$60.00 Net paid $0.00" in text
    assert (
        "Dispute resolved (Seller) Dispute resolved as the seller accepted the buyer's request"
        in text
    )
    assert "There is nothing to do on this order right now." in text
    assert "Contact the seller" not in text and CODES.search(text) is None


def test_a_dispute_the_seller_ignores_is_resolved_in_words_not_codes(api: Api) -> None:
    buyer, http = buyer_session(api)
    seller = api.user("seller")
    order = api.delivered_order(buyer, seller)
    text = words(http, order["id"])
    assert "This order has been delivered." in text
    assert "If something is wrong, you can return items or open a dispute." in text
    assert "Why can't I cancel?" not in text and "After delivery" not in text
    body = {"reason": "damaged", "refund_type": "partial", "amount": "12.50", "description": "x"}
    post(api, f"/orders/{order['id']}/disputes", body, buyer)
    api.advance(5 * DAY + 60)
    text = words(http, order["id"])
    assert "The seller did not answer in time, so you won the dispute." in text
    assert "Dispute resolved automatically, as the seller did not answer in time" in text
    assert "(default)" not in text and "Refund issued (Automatic)" in text


def test_return_cards_name_products_and_a_completed_order_says_so(api: Api) -> None:
    buyer, seller = api.user("buyer", password=PASSWORD), api.user("seller", password=PASSWORD)
    order = api.delivered_order(buyer, seller)
    body = {"reason": "damaged", "items": [{"sku": "SKU-1", "quantity": 1}], "condition": "used"}
    ret = post(api, f"/orders/{order['id']}/returns", body, buyer)
    seller_page = session_of(api, seller).get(f"/seller/orders/{order['id']}").text
    assert "1 × Lamp" in seller_page
    post(api, f"/returns/{ret['id']}/reject", {"reason": "Used"}, seller)
    http = session_of(api, buyer)
    text = words(http, order["id"])
    assert "Lamp × 1" in text and "SKU-1 × 1" not in text
    api.advance(16 * DAY)
    text = words(http, order["id"])
    assert "This order is complete." in text
    assert "There is nothing to do on this order right now." in text
    assert "Contact the seller" not in text
    assert re.search(r"Completed; \$\d+\.\d\d released to the seller", text)


def test_in_spanish_the_timeline_the_outcome_and_the_totals_are_spanish(api: Api) -> None:
    buyer, http = buyer_session(api)
    seller = api.user("seller")
    http.cookies.set("lang", "es")
    order = api.delivered_order(buyer, seller)
    body = {"reason": "damaged", "refund_type": "partial", "amount": "12.50", "description": "x"}
    post(api, f"/orders/{order['id']}/disputes", body, buyer)
    api.advance(5 * DAY + 60)
    text = words(http, order["id"])
    assert (
        "Disputa resuelta (Automático) Disputa resuelta automáticamente, porque el vendedor "
        in (text)
    )
    assert "reembolso de 12,50 US$" in text
    assert "El vendedor no respondió a tiempo, así que ganaste la disputa." in text
    assert "Pedido realizado (Plataforma) Pedido realizado: 60,00 US$" in text
    assert "Enviado con DHL, seguimiento TRK1" in text
    assert "Pagado neto 47,50 US$" in text
    for english in ("Dispute resolved", "Refund of", "Order placed", "Shipped with", "Paid "):
        assert english not in text, english
    http.cookies.delete("lang")


def test_a_refused_return_form_comes_back_open_filled_with_plain_words_beside_the_items(
    api: Api,
) -> None:
    buyer, http = buyer_session(api)
    seller = api.user("seller")
    order = api.delivered_order(buyer, seller)
    page = http.get(f"/orders/{order['id']}").text
    form = {
        "csrf_token": _token(page),
        "sku_1": "SKU-1",
        "qty_1": "0",
        "sku_2": "SKU-2",
        "qty_2": "0",
        "reason": "defective",
        "condition": "opened_unused",
        "description": "Flickers after a minute",
    }
    sent = http.post(f"/orders/{order['id']}/returns", data=form)
    assert sent.status_code == 422
    text = sent.text
    assert '<details class="form-panel" id="return-panel" open>' in text
    assert (
        '<p class="field-error" id="return-items-error" role="alert">Choose at least one item and '
        "how many (at most what you can still return).</p>"
    ) in text
    assert ">Flickers after a minute</textarea>" in text
    assert '<option value="defective" selected>' in text
    assert '<option value="opened_unused" selected>' in text
    assert api.get_order(order["id"], buyer)["returns"] == []
    form["qty_2"] = "2"
    done = http.post(f"/orders/{order['id']}/returns", data=form, follow_redirects=False)
    assert done.status_code == 303
    assert api.get_order(order["id"], buyer)["returns"][0]["items"] == [
        {"sku": "SKU-2", "quantity": 2}
    ]
    # (in Spanish, the same error in Spanish)
    http.cookies.set("lang", "es")
    form["qty_2"] = "0"
    again = http.post(f"/orders/{order['id']}/returns", data=form)
    assert "Elige al menos un artículo y cuántos" in again.text
    # a refused action (receipt of an order already delivered) in Spanish too, not the rule's
    # English detail
    late = http.post(
        f"/orders/{order['id']}/confirm-receipt", data={"csrf_token": form["csrf_token"]}
    )
    assert "Esto ya no es posible: el pedido ha cambiado" in late.text
    assert "only a shipped order" not in late.text
    http.cookies.delete("lang")


def test_api_details_speak_plainly_and_keep_their_codes(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    bad = api.http.post(
        f"/api/v1/orders/{order['id']}/disputes",
        content=b'{"reason": x}',
        headers={**buyer.headers, "Content-Type": "application/json"},
    )
    body = api.problem(bad, 422, "validation_error")
    assert body["detail"] == "the body is not valid JSON (the error is at character 11)"
    partial = {"reason": "damaged", "refund_type": "partial", "description": "x"}
    body = api.problem(
        api.post(f"/orders/{order['id']}/disputes", partial, as_=buyer), 422, "validation_error"
    )
    assert body["detail"] == "enter the amount you are asking for, like 12.50"
    empty = {"reason": "damaged", "items": [], "condition": "used"}
    body = api.problem(
        api.post(f"/orders/{order['id']}/returns", empty, as_=buyer), 422, "validation_error"
    )
    assert body["detail"] == "add at least one item (at most 100)"


def test_packed_escalated_decided_and_returned_orders_say_where_they_stand(api: Api) -> None:
    buyer, http = buyer_session(api)
    seller = api.user("seller")
    packed = api.paid_order(buyer, seller)
    post(api, f"/orders/{packed['id']}/pack", None, seller)
    text = words(http, packed["id"])
    assert "Request Order Cancellation" in buttons(http, packed["id"])
    assert "This order is cancelled." not in text and "has shipped" not in text
    assert "Time left for the seller to ship" in text

    order = api.delivered_order(buyer, seller)
    body = {"reason": "damaged", "refund_type": "partial", "amount": "20.00", "description": "x"}
    dispute = post(api, f"/orders/{order['id']}/disputes", body, buyer)
    post(api, f"/disputes/{dispute['id']}/propose", {"amount": "5.00"}, seller)
    post(api, f"/disputes/{dispute['id']}/escalate", None, buyer)
    text = words(http, order["id"])
    assert "Dispute escalated (Buyer) The buyer escalated the dispute to the platform" in text
    decision = {"refund_amount": "15.00", "note": "Photos show the crack"}
    post(api, f"/disputes/{dispute['id']}/resolve", decision, api.admin)
    text = words(http, order["id"])
    assert (
        "Refund of $15.00 — The platform decided. The platform's note: Photos show the crack"
        in (text)
    )
    assert "Dispute resolved (Platform) Dispute resolved by the platform: refund of $15.00" in text
    assert "Paid $60.00 Refunded −$15.00 Net paid $45.00" in text

    items = [{"sku": "SKU-2", "quantity": 1}]
    ret = post(
        api,
        f"/orders/{order['id']}/returns",
        {"reason": "defective", "items": items, "condition": "opened_unused"},
        buyer,
    )
    post(api, f"/returns/{ret['id']}/approve", None, seller)
    post(api, f"/returns/{ret['id']}/ship", {"carrier": "UPS", "tracking_number": "R1"}, buyer)
    post(api, f"/returns/{ret['id']}/receive", {"condition_ok": True}, seller)
    text = words(http, order["id"])
    assert "Bulb × 1" in text and "Return received (Seller) Return inspected and accepted" in text
    assert "Refund issued (Automatic) Refund of $5.00 created (the returned items)" in text
