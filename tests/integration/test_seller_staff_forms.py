"""The seller's and the staff's pages over real HTTP (`aftersale serve` on SQLite and on
PostgreSQL): a form refused on a field comes back open and filled with its error beside the
field (422, 413 for a file too large) and nothing changed; the pages' words in Spanish (dispute
outcomes included); cancelled lines named by product; one word for a paid, unshipped order; one
items table; amounts typed with a decimal comma."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from aftersale.entrypoints.web.i18n import catalog
from aftersale.entrypoints.web.seller import FORM_MESSAGES
from aftersale.entrypoints.web.timeline_text import OUTCOMES
from tests.client import DAY, Api, Party
from tests.conftest import LiveServer

PASSWORD = "forms-pass-2026"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """`aftersale serve` on the parametrized database (SQLite file, then PostgreSQL)."""
    live = LiveServer(db_url, tmp_path, env={"AFTERSALE_SECRET_KEY": "forms-tests-secret-0123"})
    yield live
    live.stop()


@pytest.fixture
def api(server: LiveServer) -> Iterator[Api]:
    """The v1 API of the live server (to set the scene and to check what changed)."""
    with server.client() as http:
        yield Api(http)


class Web:
    """One person's browser-less session on the pages: cookies, CSRF token, language."""

    def __init__(self, server: LiveServer, party: Party, lang: str = "en") -> None:
        self.http = server.client()
        self.http.cookies.set("lang", lang)
        self.token = self._token(self.http.get("/login").text)
        login = {"email": party.email, "password": PASSWORD, "csrf_token": self.token}
        answer = self.http.post("/login", data=login, follow_redirects=False)
        assert answer.status_code == 303, answer.text
        self.token = self._token(self.page("/help"))

    @staticmethod
    def _token(text: str) -> str:
        found = TOKEN.search(text)
        assert found is not None
        return found[1]

    def page(self, path: str) -> str:
        """A page's HTML (it must answer 200)."""
        answer = self.http.get(path)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[-500:])
        return answer.text

    def post(self, path: str, data: dict[str, str], **kw: Any) -> httpx.Response:
        """A form POST with the session's CSRF token; redirects are not followed."""
        body = {**data, "csrf_token": self.token}
        return self.http.post(path, data=body, follow_redirects=False, **kw)

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def web(server: LiveServer) -> Iterator[Callable[..., Web]]:
    """web(party, lang="en"): a logged-in session on the pages."""
    made: list[Web] = []

    def open_(party: Party, lang: str = "en") -> Web:
        made.append(Web(server, party, lang))
        return made[-1]

    yield open_
    for w in made:
        w.close()


def people(api: Api) -> tuple[Party, Party, Party]:
    """A buyer, a seller and a staff member who can log in."""
    return tuple(api.user(r, password=PASSWORD) for r in ("buyer", "seller", "admin"))  # type: ignore[return-value]


def tag(page: str, element_id: str) -> str:
    """The opening tag of the element with this id."""
    found = re.search(
        rf'<(?:input|textarea|select|details|form|p)\b[^>]*\bid="{element_id}"[^>]*>', page
    )
    assert found is not None, element_id
    return found[0]


def value_of(page: str, element_id: str) -> str:
    """What a field holds: an input's value, a textarea's text."""
    opening = tag(page, element_id)
    if opening.startswith("<textarea"):
        found = re.search(rf'id="{element_id}"[^>]*>(.*?)</textarea>', page, re.S)
        assert found is not None
        return html.unescape(found[1])
    found = re.search(r'\bvalue="([^"]*)"', opening)
    return html.unescape(found[1]) if found else ""


def error_beside(page: str, field_id: str) -> str:
    """The error shown beside a field (marked invalid, pointing at its message), as text."""
    opening = tag(page, field_id)
    assert 'aria-invalid="true"' in opening, opening
    found = re.search(r'aria-errormessage="([^"]+)"', opening)
    assert found is not None, opening
    message = re.search(rf'<p class="field-error" id="{found[1]}" role="alert">(.*?)</p>', page)
    assert message is not None, found[1]
    return html.unescape(message[1])


def text_of(page: str) -> str:
    """A page's words: tags, scripts and styles stripped, spaces folded."""
    body = re.sub(r"<script.*?</script>|<style.*?</style>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


def paid_for(api: Api, web: Callable[..., Web]) -> tuple[list[Party], dict[str, Any], Web]:
    """[buyer, seller, staff], a paid order of theirs and the seller's session."""
    cast = list(people(api))
    return cast, api.paid_order(cast[0], cast[1]), web(cast[1])


def dispute_of(api: Api, buyer: Party, order: dict[str, Any], **body: Any) -> dict[str, Any]:
    ask = {"reason": "missing_parts", "refund_type": "full", "description": "Only 2 bulbs"}
    return api.ok(api.post(f"/orders/{order['id']}/disputes", {**ask, **body}, as_=buyer), 201)


def test_the_sellers_forms_come_back_filled_with_the_error_beside_the_field(
    api: Api, web: Callable[..., Web]
) -> None:
    (_, seller, _), order, page = paid_for(api, web)
    oid = order["id"]
    back = f"/seller/orders/{oid}"
    # ship: the carrier is blank, the tracking number was typed
    shown = page.post(
        f"/seller/orders/{oid}/ship", {"carrier": "  ", "tracking_number": "JD-77", "next": back}
    )
    assert shown.status_code == 422, shown.text[-300:]
    assert value_of(shown.text, f"tracking-{oid}") == "JD-77"
    assert error_beside(shown.text, f"carrier-{oid}") == FORM_MESSAGES["carrier"]
    assert "Please check the form" not in shown.text and "characters long" not in shown.text
    # the same refusal from the console comes back on the console
    console = page.post(
        f"/seller/orders/{oid}/ship", {"carrier": "DHL", "tracking_number": "", "next": "/seller"}
    )
    assert console.status_code == 422 and 'id="h-fulfil"' in console.text
    assert value_of(console.text, f"carrier-{oid}") == "DHL"
    assert error_beside(console.text, f"tracking-{oid}") == FORM_MESSAGES["tracking_number"]
    # cancel some items: more than remain, with the reason kept
    items = {"sku_1": "SKU-1", "qty_1": "0", "sku_2": "SKU-2", "qty_2": "4", "next": back}
    cut = page.post(f"/seller/orders/{oid}/cancel-items", {**items, "reason": "Out of stock"})
    assert cut.status_code == 422
    assert value_of(cut.text, "cancel-qty-2") == "4"
    assert value_of(cut.text, "cancel-items-reason") == "Out of stock"
    assert FORM_MESSAGES["items"] in text_of(cut.text) and "SKU-2" not in re.sub(
        r'value="SKU-2"|data-sku="SKU-2"|<span class="muted small">SKU-2</span>', "", cut.text
    )
    # a message too long
    long = "a" * 2001
    told = page.post(f"/seller/orders/{oid}/messages", {"body": long})
    assert told.status_code == 422 and value_of(told.text, "msg-body") == long
    assert error_beside(told.text, "msg-body") == FORM_MESSAGES["body"]
    after = api.get_order(oid, seller)
    assert after["status"] == "awaiting_fulfillment" and after["refunds"] == []
    assert [i["cancelled_quantity"] for i in after["items"]] == [0, 0]
    assert api.ok(api.get(f"/orders/{oid}/messages", as_=seller))["items"] == []
    # a refusal of the action itself (not of a field) is still a message on the page
    refused = page.post(f"/seller/orders/{oid}/cancellation/accept", {"next": back})
    assert refused.status_code == 303 and refused.headers["location"] == back
    assert "There is no cancellation request waiting" in page.page(back)
    # in Spanish, the same refusal speaks Spanish
    spanish = web(seller, "es")
    es = spanish.post(
        f"/seller/orders/{oid}/ship", {"carrier": "  ", "tracking_number": "JD-77", "next": back}
    )
    assert es.status_code == 422
    words = catalog("es").singular[FORM_MESSAGES["carrier"]]
    assert error_beside(es.text, f"carrier-{oid}") == words
    # shipped for real, the protection form keeps a number of days out of range
    assert (
        page.post(
            f"/seller/orders/{oid}/ship", {"carrier": "DHL", "tracking_number": "JD-77"}
        ).status_code
        == 303
    )
    days = page.post(f"/seller/orders/{oid}/extend-protection", {"days": "45", "next": back})
    assert days.status_code == 422 and value_of(days.text, "extend-days") == "45"
    assert error_beside(days.text, "extend-days") == FORM_MESSAGES["days"]


def test_dispute_and_evidence_forms_keep_their_input_and_a_large_file_is_413(
    api: Api, web: Callable[..., Web]
) -> None:
    buyer, seller, _ = people(api)
    order = api.delivered_order(buyer, seller)  # 60.00 paid
    dispute = dispute_of(api, buyer, order)
    did, page = dispute["id"], web(seller)
    proposed = page.post(f"/seller/disputes/{did}/propose", {"amount": "999,00", "next": "/seller"})
    assert proposed.status_code == 422
    assert value_of(proposed.text, f"amount-{did}") == "999,00"
    assert error_beside(proposed.text, f"amount-{did}") == FORM_MESSAGES["refund_exceeds_paid"]
    opened = re.search(
        r'<details class="form-panel" open>\s*<summary>Propose another', proposed.text
    )
    assert opened is not None  # the form is open as it was sent
    blank = page.post(f"/seller/disputes/{did}/reject", {"reason": " ", "next": "/seller"})
    assert blank.status_code == 422 and error_beside(blank.text, f"dreject-{did}")
    big = b"%PDF-1.4\n" + b"0" * (5 * 1024 * 1024)
    files = {"file": ("scan.pdf", big, "application/pdf")}
    too_large = page.post(f"/seller/disputes/{did}/evidence", {}, files=files)
    assert too_large.status_code == 413
    assert "5 MB" in error_beside(too_large.text, f"evidence-file-{did}")
    wrong = {"file": ("notes.txt", b"hello", "text/plain")}
    kind = page.post(f"/seller/disputes/{did}/evidence", {}, files=wrong)
    assert kind.status_code == 422
    assert error_beside(kind.text, f"evidence-file-{did}") == FORM_MESSAGES["file"]
    # the buyer's evidence form on the buyer's page says the same
    mine = web(buyer).post(f"/orders/{order['id']}/disputes/{did}/evidence", {}, files=wrong)
    assert mine.status_code == 422 and "evidence-file-" in mine.text
    assert error_beside(mine.text, f"evidence-file-{did}") == FORM_MESSAGES["file"]
    now = api.ok(api.get(f"/disputes/{did}", as_=buyer))
    assert now["status"] == "open" and now["proposed_amount"] is None
    listed = api.get(f"/disputes/{did}/evidence", as_=buyer)
    assert listed.status_code == 200 and listed.json() == []


def test_the_staff_forms_keep_their_input(api: Api, web: Callable[..., Web]) -> None:
    buyer, seller, admin = people(api)
    order = api.delivered_order(buyer, seller)
    dispute = dispute_of(api, buyer, order)
    did = dispute["id"]
    api.ok(api.post(f"/disputes/{did}/reject", {"reason": "Packed well"}, as_=seller))
    api.ok(api.post(f"/disputes/{did}/escalate", as_=buyer))
    desk = web(admin)
    shown = desk.post(
        f"/staff/disputes/{did}/resolve", {"refund_amount": "999", "note": "Half arrived broken"}
    )
    assert shown.status_code == 422
    assert value_of(shown.text, f"amount-{did}") == "999"
    assert value_of(shown.text, f"note-{did}") == "Half arrived broken"
    assert error_beside(shown.text, f"amount-{did}") == FORM_MESSAGES["refund_exceeds_paid"]
    goodwill = desk.post(
        f"/staff/orders/{order['id']}/refunds", {"amount": "75,00", "reason": "Late delivery"}
    )
    assert goodwill.status_code == 422
    assert value_of(goodwill.text, "goodwill-amount") == "75,00"
    assert value_of(goodwill.text, "goodwill-reason") == "Late delivery"
    assert error_beside(goodwill.text, "goodwill-amount") == FORM_MESSAGES["refund_exceeds_paid"]
    assert api.ok(api.get(f"/disputes/{did}", as_=buyer))["status"] == "escalated"
    assert api.get_order(order["id"], buyer)["refunds"] == []


def test_amount_fields_take_a_decimal_comma_and_the_api_keeps_its_grammar(
    api: Api, web: Callable[..., Web]
) -> None:
    buyer, seller, admin = people(api)
    order = api.delivered_order(buyer, seller)
    first = dispute_of(api, buyer, order)
    sold = web(seller)
    assert (
        sold.post(f"/seller/disputes/{first['id']}/propose", {"amount": "5,50"}).status_code == 303
    )
    offer = api.ok(api.get(f"/disputes/{first['id']}", as_=buyer))["proposed_amount"]
    assert offer["amount"] == "5.50"
    api.ok(api.post(f"/disputes/{first['id']}/escalate", as_=buyer))
    desk = web(admin)
    decided = desk.post(
        f"/staff/disputes/{first['id']}/resolve", {"refund_amount": "7,25", "note": "Fair"}
    )
    assert decided.status_code == 303
    done = api.ok(api.get(f"/disputes/{first['id']}", as_=buyer))
    assert (done["status"], done["resolution_amount"]["amount"]) == ("resolved", "7.25")
    gift = desk.post(f"/staff/orders/{order['id']}/refunds", {"amount": "3,5", "reason": "Sorry"})
    assert gift.status_code == 303
    amounts = sorted(r["amount"]["amount"] for r in api.get_order(order["id"], buyer)["refunds"])
    assert amounts == ["3.50", "7.25"]
    # the API's amount grammar is unchanged: a comma is refused there
    api.problem(
        api.post(
            f"/orders/{order['id']}/refunds", {"amount": "1,00", "reason": "x"}, as_=api.admin
        ),
        422,
        "validation_error",
    )


def test_a_cancelled_line_names_the_product_and_a_paid_order_awaits_shipment(
    api: Api, web: Callable[..., Web]
) -> None:
    (buyer, seller, admin), order, sold = paid_for(api, web)
    oid = order["id"]
    cut = {"sku_1": "SKU-1", "qty_1": "0", "sku_2": "SKU-2", "qty_2": "2", "reason": "Out of stock"}
    assert sold.post(f"/seller/orders/{oid}/cancel-items", cut).status_code == 303
    pages = {
        "seller": sold.page(f"/seller/orders/{oid}"),
        "staff": web(admin).page(f"/staff/orders/{oid}"),
        "buyer": web(buyer).page(f"/orders/{oid}"),
    }
    for who, page in pages.items():
        words = text_of(page)
        assert "The seller cancelled 2 × Bulb: Out of stock" in words, who
        assert "2 x SKU-2" not in words, who
        assert "Awaiting shipment" in words and "fulfillment" not in words.lower(), who
    console = text_of(sold.page("/seller"))
    assert "Awaiting shipment" in console and "fulfillment" not in console.lower()
    listing = text_of(web(buyer).page("/orders?tab=awaiting_shipment"))
    assert listing.count("Awaiting shipment") >= 2  # the tab and the card's badge
    spanish = {
        "seller": web(seller, "es").page(f"/seller/orders/{oid}"),
        "staff": web(admin, "es").page(f"/staff/orders/{oid}"),
        "buyer": web(buyer, "es").page(f"/orders/{oid}"),
    }
    for who, page in spanish.items():
        assert "Pendiente de envío" in text_of(page), who
        assert "En preparación" not in page and "Pendiente de preparar" not in page, who
        assert "2 × Bulb" in text_of(page), who


def items_table(page: str) -> str:
    """The items card of an order page (its markup, the CSRF-free part)."""
    found = re.search(r'<section class="card" aria-labelledby="h-items">.*?</section>', page, re.S)
    assert found is not None
    return found[0]


def test_the_seller_and_staff_order_pages_share_one_items_table(
    api: Api, web: Callable[..., Web]
) -> None:
    buyer, seller, admin = people(api)
    order = api.paid_order(buyer, seller)
    api.ok(
        api.post(
            f"/orders/{order['id']}/seller-cancel",
            {"reason": "Out of stock", "items": [{"sku": "SKU-1", "quantity": 1}]},
            as_=seller,
        )
    )
    mine = items_table(web(seller).page(f"/seller/orders/{order['id']}"))
    theirs = items_table(web(admin).page(f"/staff/orders/{order['id']}"))
    assert mine == theirs  # one template, one helper for its rows
    rows = re.findall(r'<tr data-sku="(SKU-\d)"><td>(\w+) .*?cancelled-qty">(\d+)<', mine)
    assert rows == [("SKU-1", "Lamp", "1"), ("SKU-2", "Bulb", "0")]


# Words a Spanish page may share with the English one (the same in both languages).
SAME_IN_SPANISH = {
    "Total",
    "PDF",
    "Email",
    "OK",
    "API",
    "English",
    "Español",
    "aftersale",
    "Webhooks",
}


def leftovers(english: str, spanish: str, data: set[str]) -> set[str]:
    """The English page's phrases the Spanish page still shows (data, such as names, aside)."""

    def phrases(page: str) -> set[str]:
        body = re.sub(r"<script.*?</script>|<style.*?</style>|<svg.*?</svg>", " ", page, flags=re.S)
        parts = (html.unescape(p).strip() for p in re.split(r"<[^>]+>", body))
        return {p for p in parts if re.search(r"[A-Za-z]{3}", p)}

    shared = phrases(english) & phrases(spanish)
    return {
        p
        for p in shared
        if p.strip(" ·") not in SAME_IN_SPANISH
        and not any(d in p for d in data)
        and not re.fullmatch(r"[a-z]{2,4}_\w{8,}", p)
    }


def test_the_seller_and_staff_pages_speak_spanish_dispute_outcomes_included(
    api: Api, web: Callable[..., Web]
) -> None:
    buyer, seller, admin = people(api)
    # a dispute the seller did not answer (the buyer won), one escalated and decided
    won = api.delivered_order(buyer, seller)
    dispute_of(api, buyer, won)
    api.advance(16 * DAY)
    decided = api.delivered_order(buyer, seller)
    case = dispute_of(api, buyer, decided, description="Cracked lamp")
    api.ok(api.post(f"/disputes/{case['id']}/reject", {"reason": "Packed well"}, as_=seller))
    api.ok(api.post(f"/disputes/{case['id']}/escalate", as_=buyer))
    api.ok(
        api.post(
            f"/disputes/{case['id']}/resolve",
            {"refund_amount": "0", "note": "The photos show no damage"},
            as_=api.admin,
        )
    )
    # and orders in other states: a return on its way back, a cancellation asked for
    returned = api.delivered_order(buyer, seller)
    back = {"reason": "damaged", "items": [{"sku": "SKU-2", "quantity": 1}], "condition": "used"}
    made = api.ok(api.post(f"/orders/{returned['id']}/returns", back, as_=buyer), 201)
    api.ok(api.post(f"/returns/{made['id']}/approve", as_=seller))
    sent = {"carrier": "Correos", "tracking_number": "RR-1"}
    api.ok(api.post(f"/returns/{made['id']}/ship", sent, as_=buyer))
    asked = api.paid_order(buyer, seller)
    api.ok(api.post(f"/orders/{asked['id']}/cancel", {"reason": "changed_mind"}, as_=buyer), 202)
    shown = {
        "seller": (web(seller), web(seller, "es"), "/seller/orders/", OUTCOMES["seller"]),
        "staff": (web(admin), web(admin, "es"), "/staff/orders/", OUTCOMES["staff"]),
    }
    es = catalog("es").singular
    data = {
        "Lamp",
        "Bulb",
        "SKU-1",
        "SKU-2",
        "Only 2 bulbs",
        "Cracked lamp",
        "Packed well",
        "DHL",
        "TRK1",
        "The photos show no damage",
        "Correos",
        "RR-1",
        "buyer ",
        "seller ",
        "admin ",
        "example.test",
    }
    for who, (english, spanish, prefix, words) in shown.items():
        for order, how in ((won, "default"), (decided, "platform")):
            en_page = english.page(prefix + order["id"])
            es_page = spanish.page(prefix + order["id"])
            assert words[how] in text_of(en_page), (who, how)
            assert es[words[how]] in text_of(es_page), (who, how)
            assert not leftovers(en_page, es_page, data), (who, how)
        for order in (returned, asked):
            en_page = english.page(prefix + order["id"])
            left = leftovers(en_page, spanish.page(prefix + order["id"]), data)
            assert not left, (who, order["status"], left)
        for path in ("/seller",) if who == "seller" else ("/staff", "/staff/dashboard"):
            left = leftovers(english.page(path), spanish.page(path), data)
            assert not left, (who, path, left)
    # every plain-words message of the forms and every outcome has its Spanish
    for message in [*FORM_MESSAGES.values(), *(w for t in OUTCOMES.values() for w in t.values())]:
        assert es.get(message), message
