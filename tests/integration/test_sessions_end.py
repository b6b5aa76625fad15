"""Page sessions that end (issue 17, point 6), on SQLite and PostgreSQL: a cookie saved before
logout opens nothing after it; disabling a user or changing its password ends its sessions
(enabling it again revives none); an idle session ends (on a clock the test moves), and so
does one past its absolute age; its last use is written at most once a minute. Sessions run
on the wall clock: the test clock moving an order's time days ahead logs nobody out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from aftersale.adapters.db.auth_tables import web_sessions
from aftersale.services.operators import set_disabled
from aftersale.services.runtime import Runtime
from aftersale.services.users import change_password
from aftersale.settings import Settings
from tests.client import Api, Party
from tests.integration.test_cli import run_cli
from tests.integration.web_login import COOKIE, app_client, post_login, settings_for

PASSWORD = "buyer-pass-2026"


def logged_in(api: Api, password: str = PASSWORD) -> tuple[Party, str]:
    """A buyer logged in on the api's client, and the session cookie's value."""
    buyer = api.user("buyer", password=password)
    assert post_login(api.http, buyer.email, password).status_code == 303
    return buyer, api.http.cookies[COOKIE]


def opens(http: httpx.Client, cookie: str) -> bool:
    """Whether a saved session cookie still opens the buyer's orders page."""
    http.cookies.clear()
    http.cookies.set(COOKIE, cookie)
    page = http.get("/orders", follow_redirects=False)
    assert page.status_code in (200, 303), page.status_code
    if page.status_code == 303:
        assert page.headers["location"].startswith("/login")
    return page.status_code == 200


def rows_of(rt: Runtime, user_id: str) -> list[Any]:
    """The user's session rows."""
    with rt.uow(readonly=True) as uow:
        query = select(web_sessions).where(web_sessions.c.user_id == user_id)
        return list(uow.conn.execute(query))


def csrf_of(http: httpx.Client) -> str:
    """The CSRF token a logged-in page carries."""
    import re

    found = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/orders").text)
    assert found is not None
    return found[1]


def test_a_cookie_saved_before_logout_opens_nothing(api: Api, rt: Runtime) -> None:
    buyer, saved = logged_in(api)
    assert opens(api.http, saved)
    assert len(rows_of(rt, buyer.id)) == 1
    out = api.http.post("/logout", data={"csrf_token": csrf_of(api.http)}, follow_redirects=False)
    assert out.status_code == 303
    assert rows_of(rt, buyer.id) == []
    assert not opens(api.http, saved)


def test_disabling_a_user_ends_its_sessions(api: Api, rt: Runtime) -> None:
    buyer, saved = logged_in(api)
    assert opens(api.http, saved)
    set_disabled(rt, who=buyer.email, disabled=True)
    assert rows_of(rt, buyer.id) == []
    set_disabled(rt, who=buyer.email, disabled=False)
    assert not opens(api.http, saved)  # enabled again: the old session stays ended
    api.http.cookies.clear()
    assert post_login(api.http, buyer.email, PASSWORD).status_code == 303


def test_a_password_change_ends_every_session(api: Api, rt: Runtime) -> None:
    buyer, first = logged_in(api)
    api.http.cookies.clear()
    assert post_login(api.http, buyer.email, PASSWORD).status_code == 303
    second = api.http.cookies[COOKIE]
    assert opens(api.http, first) and opens(api.http, second)
    assert change_password(rt, buyer.id, "a-new-password-2026") == 2
    assert not opens(api.http, first) and not opens(api.http, second)
    api.http.cookies.clear()
    assert post_login(api.http, buyer.email, PASSWORD).status_code == 401
    assert post_login(api.http, buyer.email, "a-new-password-2026").status_code == 303


def test_an_idle_session_ends_and_use_is_written_once_a_minute(api: Api, rt: Runtime) -> None:
    clock = rt.test_clock
    assert clock is not None
    rt.wall_now = clock.now  # (sessions run on the wall clock; here, on one we move)
    buyer, saved = logged_in(api)  # (idle timeout: the default 120 minutes)
    [row] = rows_of(rt, buyer.id)
    clock.advance(30)
    assert opens(api.http, saved)
    assert rows_of(rt, buyer.id)[0].last_seen_at == row.last_seen_at
    clock.advance(40)  # 70 s since the last write: written now
    assert opens(api.http, saved)
    seen = rows_of(rt, buyer.id)[0].last_seen_at
    assert seen == clock.now() and seen > row.last_seen_at
    clock.advance(119 * 60)  # used 119 minutes ago: still open, and used again
    assert opens(api.http, saved)
    clock.advance(120 * 60)  # unused for 120 minutes: over
    assert not opens(api.http, saved)
    assert rows_of(rt, buyer.id) == []


def test_the_test_clock_moving_days_ahead_logs_nobody_out(api: Api, rt: Runtime) -> None:
    clock = rt.test_clock
    assert clock is not None
    _, saved = logged_in(api)
    clock.advance(3 * 24 * 3600)
    assert opens(api.http, saved)


def test_a_session_ends_at_its_absolute_age(db_url: str, tmp_path: Path) -> None:
    settings = settings_for(db_url, tmp_path, session_max_hours=1, session_idle_minutes=45)
    with app_client(settings) as (http, api, rt):
        assert rt.test_clock is not None
        rt.wall_now = rt.test_clock.now  # (sessions run on the wall clock)
        buyer = api.user("buyer", password=PASSWORD)
        assert post_login(http, buyer.email, PASSWORD).status_code == 303
        saved = http.cookies[COOKIE]
        for _ in range(2):  # used every 30 minutes: never idle
            rt.test_clock.advance(30 * 60 - 1)
            assert opens(http, saved)
        rt.test_clock.advance(2)  # an hour after login
        assert not opens(http, saved)
        assert rows_of(rt, buyer.id) == []
        # a session nobody presents again goes at the next login after its end
        other = api.user("buyer", password=PASSWORD)
        http.cookies.clear()
        assert post_login(http, other.email, PASSWORD).status_code == 303
        assert len(rows_of(rt, other.id)) == 1
        rt.test_clock.advance(3600)
        http.cookies.clear()
        assert post_login(http, buyer.email, PASSWORD).status_code == 303
        assert rows_of(rt, other.id) == [] and len(rows_of(rt, buyer.id)) == 1


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # (the use case: both, above)
def test_the_set_password_command_ends_the_sessions(
    api: Api, settings: Settings, tmp_path: Path
) -> None:
    buyer, saved = logged_in(api)
    env = {"AFTERSALE_DATABASE_URL": settings.url, "AFTERSALE_TEST_CLOCK": "1"}
    new = "another-pass-2026"
    args = ("users", "set-password", buyer.email, "--password", new)
    done = run_cli(*args, data_dir=tmp_path, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 session(s) ended" in done.stdout
    assert not opens(api.http, saved)
    api.http.cookies.clear()
    assert post_login(api.http, buyer.email, PASSWORD).status_code == 401
    assert post_login(api.http, buyer.email, new).status_code == 303
