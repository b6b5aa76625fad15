"""The login rate limit (issue 17, point 5), counted in the database on the normalised email
and the client address, on SQLite and PostgreSQL: padding or upper-casing the email is the
same email (the repro: 100 guesses with leading spaces used to get through); two app
instances on one database share one allowance; X-Forwarded-For counts only from a trusted
proxy."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select

from aftersale.adapters.db.auth_tables import login_attempts
from aftersale.services.login_throttle import LoginLimit, try_login
from aftersale.services.runtime import Runtime
from tests.client import Api
from tests.integration.web_login import app_client, csrf, post_login, settings_for

PASSWORD = "right-password-2026"


def blocked(response: httpx.Response) -> None:
    """A 429 login form with a Retry-After and the message."""
    assert response.status_code == 429, response.text[-300:]
    wait = int(response.headers["retry-after"])
    assert 0 < wait <= 15 * 60
    assert "Too many failed attempts. Wait 15 minutes" in response.text


def test_padded_and_upper_case_emails_count_as_one(api: Api) -> None:
    buyer = api.user("buyer", password=PASSWORD)
    http = api.http
    form = csrf(http)
    padded = "   " + buyer.email
    statuses = [post_login(http, padded, "guess", token=form).status_code for _ in range(100)]
    assert statuses == [401] * 5 + [429] * 95
    for email in (buyer.email, buyer.email.upper(), f"\t{buyer.email.upper()}  "):
        blocked(post_login(http, email, PASSWORD))
    other = api.user("buyer", password=PASSWORD)  # another email is not held back
    assert post_login(http, other.email, PASSWORD).status_code == 303


def test_mixed_spellings_share_five_tries_and_the_window_ends(api: Api, rt: Runtime) -> None:
    assert rt.test_clock is not None
    rt.wall_now = rt.test_clock.now  # (logins run on the wall clock; here, on one we move)
    buyer = api.user("buyer", password=PASSWORD)
    spellings = [buyer.email, " " + buyer.email, buyer.email.upper(), buyer.email + " ", "x"]
    for email in spellings[:4]:
        assert post_login(api.http, email, "guess").status_code == 401
    assert post_login(api.http, buyer.email.title(), "guess").status_code == 401
    blocked(post_login(api.http, buyer.email, PASSWORD))
    assert rt.test_clock is not None
    rt.test_clock.advance(15 * 60)
    assert post_login(api.http, "  " + buyer.email.upper(), PASSWORD).status_code == 303


def test_two_app_instances_share_the_allowance(db_url: str, tmp_path: Path) -> None:
    settings = settings_for(db_url, tmp_path)
    with app_client(settings) as (one, api, _), app_client(settings) as (two, _, rt_two):
        buyer = api.user("buyer", password=PASSWORD)
        assert [post_login(one, buyer.email, "guess").status_code for _ in range(3)] == [401] * 3
        assert [post_login(two, buyer.email, "guess").status_code for _ in range(2)] == [401] * 2
        blocked(post_login(one, buyer.email, PASSWORD))
        blocked(post_login(two, buyer.email, PASSWORD))
        with rt_two.uow(readonly=True) as uow:
            rows = uow.conn.execute(select(func.count()).select_from(login_attempts)).scalar()
        assert rows == 1  # one row, keyed by a hash: no email kept in the table


def test_forwarded_for_is_ignored_from_an_untrusted_peer(db_url: str, tmp_path: Path) -> None:
    settings = settings_for(db_url, tmp_path)  # no trusted proxies
    with app_client(settings, peer="127.0.0.1") as (http, api, _):
        buyer = api.user("buyer", password=PASSWORD)
        for n in range(5):
            forged = {"X-Forwarded-For": f"198.51.100.{n}"}
            assert post_login(http, buyer.email, "guess", forged).status_code == 401
        blocked(post_login(http, buyer.email, PASSWORD, {"X-Forwarded-For": "198.51.100.99"}))


def test_forwarded_for_is_honoured_from_a_trusted_proxy(db_url: str, tmp_path: Path) -> None:
    settings = settings_for(db_url, tmp_path, trusted_proxies="10.0.0.0/8, 127.0.0.1")
    with app_client(settings, peer="127.0.0.1") as (http, api, _):
        buyer = api.user("buyer", password=PASSWORD)
        guesser = {"X-Forwarded-For": "203.0.113.5, 10.1.2.3"}  # client, then an inner proxy
        for _ in range(5):
            assert post_login(http, buyer.email, "guess", guesser).status_code == 401
        blocked(post_login(http, buyer.email, PASSWORD, guesser))
        # a forged left-hand hop changes nothing: the proxy's own entry is the client
        spoofed = {"X-Forwarded-For": "192.0.2.1, 203.0.113.5"}
        blocked(post_login(http, buyer.email, PASSWORD, spoofed))
        # the same email from another client behind the proxy still logs in
        other = {"X-Forwarded-For": "203.0.113.6"}
        assert post_login(http, buyer.email, PASSWORD, other).status_code == 303


def test_parallel_tries_are_counted_one_by_one(rt: Runtime) -> None:
    limit = LoginLimit(attempts=5)
    barrier = threading.Barrier(12)

    def one(_: int) -> int | None:
        barrier.wait()
        return try_login(rt, " Someone@Example.test", "192.0.2.7", limit)

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(one, range(12)))
    assert answers.count(None) == 5  # never more tries than the limit, however they race
    assert all(0 < wait <= 15 * 60 for wait in answers if wait is not None)


def test_a_try_that_read_the_clock_before_the_window_opened_waits_at_most_the_window(
    rt: Runtime,
) -> None:
    # the race the parallel test can hit: a try reads the clock, a parallel try with a later
    # clock reading opens the window first; the wait the first is told must not pass 15 min
    opened = datetime.now(UTC)
    readings = [opened, opened - timedelta(seconds=2)]  # the second read two seconds earlier
    rt.wall_now = lambda: readings.pop(0)
    limit = LoginLimit(attempts=1)
    assert try_login(rt, "late@example.test", "192.0.2.8", limit) is None  # opens the window
    assert try_login(rt, "late@example.test", "192.0.2.8", limit) == 15 * 60
