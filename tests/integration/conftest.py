"""Fixtures of the import tests (test_import*.py); a module's own fixture of the same name
wins over these."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.client import Api, Party


@pytest.fixture
def parties(api: Api) -> tuple[Party, Party]:
    """A buyer and a seller."""
    return api.user("buyer"), api.user("seller")


@pytest.fixture
def base(api: Api) -> datetime:
    """A moment 30 days before the test clock's now."""
    return datetime.fromisoformat(api.now()) - timedelta(days=30)
