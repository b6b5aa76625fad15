"""Mail to buyers and sellers against a real aiosmtpd server, on SQLite and PostgreSQL: each
mail of the list, its language, its two parts and link, the reminder on the test clock, SMTP
failing then recovering, one mail per event and recipient."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from aftersale.entrypoints.dispatcher import Dispatcher
from aftersale.services.runtime import Runtime
from aftersale.settings import Settings
from tests import conftest
from tests.client import DAY, HOUR, Api, Party
from tests.receivers import Inbox, smtp_server

PUBLIC = "https://shop.example.test"
_n = itertools.count()


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    """A real SMTP server on the loopback."""
    with smtp_server() as server:
        yield server


@pytest.fixture
def settings(db_url: str, tmp_path: Path, inbox: Inbox) -> Settings:
    """Test settings that send mail to the test's SMTP server."""
    return conftest.test_settings(
        db_url,
        tmp_path,
        smtp_url=inbox.url,
        mail_from="orders@shop.example.test",
        public_url=PUBLIC,
    )


def person(api: Api, role: str, language: str = "en") -> Party:
    """A user who reads mail in a language."""
    email = f"{role}{next(_n)}-{id(api)}@example.test"
    body = {"email": email, "name": f"Ana {role}", "role": role, "language": language}
    made = api.ok(api.post("/users", body, as_=api.admin), 201)
    assert made["language"] == language
    return Party(id=made["id"], role=role, token=made["token"], email=email)


def parts(mail: Message) -> dict[str, str]:
    """The text of each part by content type."""
    assert mail.get_content_type() == "multipart/alternative"
    found = {}
    for part in mail.walk():
        if not part.is_multipart():
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            found[part.get_content_type()] = payload.decode(part.get_content_charset() or "utf-8")
    return found


def to(inbox: Inbox, who: Party) -> list[Message]:
    """The mail one party received."""
    return [m for m in inbox.mails if m["To"] == who.email]


def cancel(api: Api, order: dict[str, Any], buyer: Party) -> None:
    """The buyer asks to cancel a paid order."""
    api.ok(api.post(f"/orders/{order['id']}/cancel", {"reason": "changed_mind"}, as_=buyer), 202)


def test_the_seller_hears_of_a_cancellation_request_in_spanish_with_both_parts_and_a_link(
    api: Api, dispatcher: Dispatcher, inbox: Inbox
) -> None:
    buyer, seller = person(api, "buyer"), person(api, "seller", "es")
    order = api.paid_order(buyer, seller)
    cancel(api, order, buyer)
    dispatcher.run_once()
    [mail] = to(inbox, seller)
    assert mail["Subject"] == f"Pedido {order['id']}: el comprador pidió cancelar"
    assert mail["From"] == "orders@shop.example.test"
    assert mail["Message-ID"].endswith("@shop.example.test>")
    text, html = parts(mail)["text/plain"], parts(mail)["text/html"]
    respond_by = api.get_order(order["id"], seller)["cancellation"]["respond_by"]
    assert "Hola, Ana seller:" in text and respond_by[:10] in text
    assert f"{PUBLIC}/seller/orders/{order['id']}" in text
    assert f'href="{PUBLIC}/seller/orders/{order["id"]}"' in html and 'lang="es"' in html
    assert to(inbox, buyer) == []  # the buyer asked; only the seller must act


def test_the_buyer_hears_of_the_answer_the_cancellation_and_the_refund(
    api: Api, dispatcher: Dispatcher, inbox: Inbox
) -> None:
    buyer, seller = person(api, "buyer"), person(api, "seller")
    order = api.paid_order(buyer, seller)
    cancel(api, order, buyer)
    api.ok(api.post(f"/orders/{order['id']}/cancellation/accept", as_=seller))
    dispatcher.run_once()
    subjects = sorted(m["Subject"] for m in to(inbox, buyer))
    oid = order["id"]
    assert subjects == sorted(
        [
            f"Order {oid}: the seller accepted your cancellation",
            f"Order {oid} was cancelled",
            f"Order {oid}: a refund of 60.00 USD is on its way",
        ]
    )
    refund = next(m for m in to(inbox, buyer) if "refund" in m["Subject"])
    assert "expect it by" in parts(refund)["text/plain"]
    assert f"{PUBLIC}/orders/{oid}" in parts(refund)["text/plain"]
    api.advance(20 * DAY)
    dispatcher.run_once()
    assert f"Order {oid}: your refund of 60.00 USD was credited" in {
        m["Subject"] for m in to(inbox, buyer)
    }


def test_a_rejection_tells_the_buyer_the_sellers_reason(
    api: Api, dispatcher: Dispatcher, inbox: Inbox
) -> None:
    buyer, seller = person(api, "buyer", "es"), person(api, "seller")
    order = api.paid_order(buyer, seller)
    cancel(api, order, buyer)
    answer = {"reason": "Ya está empaquetado"}
    api.ok(api.post(f"/orders/{order['id']}/cancellation/reject", answer, as_=seller))
    dispatcher.run_once()
    [mail] = to(inbox, buyer)
    assert mail["Subject"] == f"Pedido {order['id']}: el vendedor rechazó tu cancelación"
    assert "Ya está empaquetado" in parts(mail)["text/plain"]


def test_the_seller_is_reminded_a_day_before_respond_by_only_while_the_request_waits(
    api: Api, dispatcher: Dispatcher, inbox: Inbox
) -> None:
    buyer, seller = person(api, "buyer"), person(api, "seller")
    waiting, answered = api.paid_order(buyer, seller), api.paid_order(buyer, seller)
    cancel(api, waiting, buyer)
    cancel(api, answered, buyer)
    dispatcher.run_once()
    assert len(to(inbox, seller)) == 2
    api.ok(api.post(f"/orders/{answered['id']}/cancellation/reject", {"reason": "no"}, as_=seller))
    api.advance(47 * HOUR)
    dispatcher.run_once()
    assert len(to(inbox, seller)) == 2
    api.advance(HOUR)
    dispatcher.run_once()
    reminders = [m for m in to(inbox, seller) if "one day left" in m["Subject"]]
    assert [m["Subject"] for m in reminders] == [
        f"Order {waiting['id']}: one day left to answer the cancellation request"
    ]
    api.advance(DAY)
    dispatcher.run_once()
    assert len([m for m in to(inbox, seller) if "one day left" in m["Subject"]]) == 1


def test_messages_are_mailed_to_the_other_party(
    api: Api, dispatcher: Dispatcher, inbox: Inbox
) -> None:
    buyer, seller = person(api, "buyer"), person(api, "seller")
    order = api.paid_order(buyer, seller)
    api.ok(api.post(f"/orders/{order['id']}/messages", {"body": "Is it blue?"}, as_=buyer), 201)
    api.ok(api.post(f"/orders/{order['id']}/messages", {"body": "Yes"}, as_=seller), 201)
    dispatcher.run_once()
    [to_seller], [to_buyer] = to(inbox, seller), to(inbox, buyer)
    assert "The buyer wrote: Is it blue?" in parts(to_seller)["text/plain"]
    assert "The seller wrote: Yes" in parts(to_buyer)["text/plain"]


def test_smtp_failing_then_recovering_sends_each_mail_once(
    api: Api, dispatcher: Dispatcher, inbox: Inbox, rt: Runtime
) -> None:
    def counted(status: str) -> float:  # this process's aftersale_mail_sent_total
        return REGISTRY.get_sample_value("aftersale_mail_sent_total", {"status": status}) or 0.0

    before = {s: counted(s) for s in ("sent", "failed")}
    buyer, seller = person(api, "buyer"), person(api, "seller")
    order = api.paid_order(buyer, seller)
    inbox.refuse = True
    cancel(api, order, buyer)
    dispatcher.run_once()
    assert inbox.mails == [] and counted("failed") - before["failed"] == 1
    with rt.uow(readonly=True) as uow:
        [row] = [m for m in uow.notify.mails(before_seq=None, limit=10) if m["status"] == "pending"]
    assert row["attempts"] == 1 and "451" in row["last_error"]
    inbox.refuse = False
    dispatcher.run_once()
    assert inbox.mails == []  # the retry is due 10 s later (test-clock time)
    api.advance(10)
    for _ in range(3):
        dispatcher.run_once()
    [mail] = inbox.mails
    assert mail["Message-ID"] == row["message_id"]
    assert counted("sent") - before["sent"] == 1


def test_a_language_without_a_catalog_is_refused(api: Api) -> None:
    body = {"email": "fr@example.test", "name": "Fr", "role": "buyer", "language": "fr"}
    api.problem(api.post("/users", body, as_=api.admin), 422, "validation_error")
