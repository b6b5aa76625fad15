"""`aftersale serve` on the embedded default (SQLite) delivers webhooks and mail by itself,
from a thread beside the requests: first attempts within 5 seconds of the commit, retries
made due by advancing the test clock, the mail in the staff mailbox within 10 seconds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from standardwebhooks.webhooks import Webhook

from tests.client import Api
from tests.conftest import LiveServer
from tests.receivers import Receiver, webhook_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP receiver on the loopback."""
    with webhook_receiver() as r:
        yield r


@pytest.fixture
def served(tmp_path: Path) -> Iterator[LiveServer]:
    """The server on SQLite with its embedded worker and dispatcher."""
    env = {"AFTERSALE_EMBEDDED_WORKER": "1", "AFTERSALE_WEBHOOK_ALLOW_PRIVATE": "1"}
    server = LiveServer(f"sqlite:///{tmp_path / 'served.db'}", tmp_path, env=env)
    yield server
    server.stop()


def test_the_server_delivers_within_seconds_and_retries_on_the_test_clock(
    served: LiveServer, receiver: Receiver, tmp_path: Path
) -> None:
    with served.client() as http:
        api = Api(http)
        hook = api.ok(api.post("/webhook-endpoints", {"url": receiver.url}, as_=api.admin), 201)
        receiver.plan = [500]
        buyer, seller = api.user("buyer"), api.user("seller")
        started = time.monotonic()
        order = api.paid_order(buyer, seller)
        receiver.wait_for(2, timeout=10)
        assert time.monotonic() - started < 5
        first = receiver.got[0]
        assert Webhook(hook["secret"]).verify(first.body, first.headers)["type"] == "order.created"
        time.sleep(1.5)
        assert len(receiver.got) == 2  # the failed one waits for 5 s of test-clock time
        api.advance(5)
        receiver.wait_for(3, timeout=10)
        assert receiver.ids().count(first.headers["webhook-id"]) == 2
        api.ok(
            api.post(f"/orders/{order['id']}/cancel", {"reason": "changed_mind"}, as_=buyer), 202
        )
    engine = create_engine(f"sqlite:///{tmp_path / 'served.db'}")
    end, subjects = time.monotonic() + 10, []
    while time.monotonic() < end and not subjects:
        with engine.connect() as conn:
            subjects = [
                r[0] for r in conn.execute(text("SELECT subject FROM mail WHERE status = 'stored'"))
            ]
        time.sleep(0.2)
    engine.dispose()
    assert subjects == [f"Order {order['id']}: the buyer asked to cancel"]
