"""Fixtures of the import tests (test_import*.py) and of the notification tests; a module's
own fixture of the same name wins over these."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from aftersale.entrypoints.dispatcher import Dispatcher
from aftersale.services.runtime import Runtime
from aftersale.settings import Settings
from tests.client import Api, Party
from tests.receivers import Receiver, webhook_receiver


@pytest.fixture
def parties(api: Api) -> tuple[Party, Party]:
    """A buyer and a seller."""
    return api.user("buyer"), api.user("seller")


@pytest.fixture
def base(api: Api) -> datetime:
    """A moment 30 days before the test clock's now."""
    return datetime.fromisoformat(api.now()) - timedelta(days=30)


@pytest.fixture
def dispatcher(rt: Runtime, settings: Settings) -> Iterator[Dispatcher]:
    """A dispatcher (webhooks and mail) driven round by round by the test."""
    d = Dispatcher(rt, settings)
    yield d
    d.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP webhook receiver on the loopback."""
    with webhook_receiver() as r:
        yield r
