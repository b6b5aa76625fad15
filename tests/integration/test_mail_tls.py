"""Mail over TLS against a real aiosmtpd server with a certificate from a test CA (trustme):
STARTTLS required before anything else (`smtp+starttls://`) and TLS from the first byte
(`smtps://`), each with a login that the server accepts only over TLS; a server whose
certificate the sender does not trust gets nothing, and the mail waits to be retried."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from aftersale.entrypoints.dispatcher import Dispatcher
from aftersale.services.runtime import Runtime
from aftersale.settings import Settings
from tests import conftest
from tests.client import Api
from tests.integration.test_mail import cancel, person
from tests.receivers import Inbox, smtp_server

LOGIN = ("mailer", "s3cret-over-tls")
# aiosmtpd warns that an smtps:// server requires AUTH "without TLS": it is TLS from the start
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """A certificate authority of the test's own."""
    return trustme.CA()


@pytest.fixture(params=["smtp+starttls", "smtps"])
def scheme(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def inbox(ca: trustme.CA, scheme: str) -> Iterator[Inbox]:
    """A TLS-only SMTP server whose certificate names 127.0.0.1, signed by the test CA."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with smtp_server(tls=context, implicit_tls=scheme == "smtps", login=LOGIN) as server:
        yield server


def tls_settings(
    db_url: str, tmp_path: Path, inbox: Inbox, scheme: str, ca_file: Path | None
) -> Settings:
    user, password = LOGIN
    return conftest.test_settings(
        db_url,
        tmp_path,
        smtp_url=f"{scheme}://{user}:{password}@127.0.0.1:{inbox.port}",
        smtp_ca_file=ca_file,
        mail_from="orders@shop.example.test",
    )


@pytest.fixture
def settings(db_url: str, tmp_path: Path, inbox: Inbox, scheme: str, ca: trustme.CA) -> Settings:
    """The sender trusts the test CA."""
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return tls_settings(db_url, tmp_path, inbox, scheme, ca_file)


def test_mail_goes_over_tls_with_a_login(
    api: Api, dispatcher: Dispatcher, inbox: Inbox, scheme: str
) -> None:
    buyer, seller = person(api, "buyer"), person(api, "seller")
    cancel(api, api.paid_order(buyer, seller), buyer)
    dispatcher.run_once()
    assert [m["To"] for m in inbox.mails] == [seller.email]
    assert inbox.logins == [LOGIN[0]]


def test_an_untrusted_certificate_sends_nothing_and_the_mail_waits(
    api: Api, rt: Runtime, inbox: Inbox, scheme: str, db_url: str, tmp_path: Path
) -> None:
    buyer, seller = person(api, "buyer"), person(api, "seller")
    cancel(api, api.paid_order(buyer, seller), buyer)
    doubting = Dispatcher(rt, tls_settings(db_url, tmp_path, inbox, scheme, ca_file=None))
    try:
        doubting.run_once()
    finally:
        doubting.close()
    assert inbox.mails == [] and inbox.logins == []  # no password sent to an unknown server
    with rt.uow(readonly=True) as uow:
        [row] = [m for m in uow.notify.mails(before_seq=None, limit=10) if m["status"] == "pending"]
    assert row["attempts"] == 1 and "CERTIFICATE_VERIFY_FAILED" in row["last_error"]
