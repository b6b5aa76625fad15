"""Browser fixtures: one live server per test module, one Chromium per session, a page per test.

`api` is the v1 API client on the same server (tests/client.py), for setting the scene;
`people` makes users who can log in to the pages; `login(page, party)` logs a party in.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.dates import format_datetime
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.client import Api, Party
from tests.conftest import LiveServer

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "browser-pass-2026"
VIEWPORT = {"width": 1280, "height": 800}
SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`aftersale serve` on a fresh SQLite file, demo flag and test clock on."""
    folder = tmp_path_factory.mktemp("web")
    live = LiveServer(
        f"sqlite:///{folder / 'aftersale.db'}",
        folder,
        env={"AFTERSALE_DEMO": "1", "AFTERSALE_SECRET_KEY": "browser-tests-secret-key-0123"},
    )
    yield live
    live.stop()


@pytest.fixture(scope="module")
def api(server: LiveServer) -> Iterator[Api]:
    """The v1 API of the live server, as the admin and any party it creates."""
    with server.client() as http:
        yield Api(http)


@pytest.fixture(scope="module")
def people(api: Api) -> Callable[..., Party]:
    """Make a user of a role who can log in with PASSWORD: people("buyer")."""

    def make(role: str, *, country: str = "US") -> Party:
        return api.user(role, country=country, password=PASSWORD)

    return make


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, never reaching outside services."""
    assert os.path.exists(CHROMIUM), "apt-get install -y chromium"
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, server: LiveServer) -> Iterator[Page]:
    """A fresh browser context (no cookies) at 1280x800, in English, on the live server."""
    context = browser.new_context(
        base_url=server.base_url, viewport=VIEWPORT, locale="en-US", timezone_id="UTC"
    )
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


def log_in(page: Page, party: Party, *, password: str = PASSWORD) -> None:
    """Log a party in through the login form and wait for its home page."""
    page.goto("/login")
    page.locator("#email").fill(party.email)
    page.locator("#password").fill(password)
    page.locator("form[action='/login'] button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


@pytest.fixture
def other_page(browser: Browser, server: LiveServer) -> Iterator[Page]:
    """A second browser context (its own cookies) for the other party of a story."""
    context = browser.new_context(
        base_url=server.base_url, viewport=VIEWPORT, locale="en-US", timezone_id="UTC"
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def stamp(iso: str, locale: str = "en") -> str:
    """A date and time as the pages write it (medium format, UTC)."""
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return format_datetime(moment, "medium", tzinfo=UTC, locale=locale) + " UTC"


@pytest.fixture
def login() -> Callable[..., None]:
    """log_in(page, party) as a fixture."""
    return log_in


def screenshot(page: Page, name: str) -> Path:
    """Save a screenshot of the page into docs/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path))
    return path
