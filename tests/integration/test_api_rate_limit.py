"""The API's rate limits (issue 17, point 5): AFTERSALE_API_RATE requests a minute per token
(429 rate_limited with Retry-After, on the app's routes and on the hot routes alike; other
tokens untouched), and AFTERSALE_API_FAILED_TOKENS failed bearer tokens a minute per client
address, after which no unknown token is looked up (X-Forwarded-For only from a trusted
proxy). Both live in each process's memory: the database plays no part, so SQLite only."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from aftersale.entrypoints.api.rate_limit import ApiLimits, FailureWindows, TokenBuckets
from aftersale.settings import Settings
from tests.client import Api, Party
from tests.integration.web_login import app_client, settings_for


def limited(api: Api, response: httpx.Response) -> int:
    """The seconds a 429 rate_limited answer says to wait."""
    api.problem(response, 429, "rate_limited")
    wait = int(response.headers["retry-after"])
    assert wait >= 1
    return wait


def sqlite_settings(tmp_path: Path, **kw: object) -> Settings:
    return settings_for(f"sqlite:///{tmp_path / 'aftersale.db'}", tmp_path, **kw)


def test_a_token_past_its_rate_is_429_and_others_go_on(tmp_path: Path) -> None:
    with app_client(sqlite_settings(tmp_path, api_rate=6)) as (_, api, _rt):
        buyer, other = api.user("buyer"), api.user("buyer")
        statuses = [api.get("/orders", as_=buyer).status_code for _ in range(6)]
        assert statuses == [200] * 6
        assert limited(api, api.get("/orders", as_=buyer)) == 10  # one request in 60/6 s
        api.ok(api.get("/orders", as_=other))  # another token: its own bucket


def test_the_hot_routes_apply_the_same_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []
    real = ApiLimits.check_rate

    def counted(self: ApiLimits, user_id: str) -> None:
        checked.append(user_id)
        real(self, user_id)

    monkeypatch.setattr(ApiLimits, "check_rate", counted)  # the app's path, not the hot one
    with app_client(sqlite_settings(tmp_path, api_rate=30)) as (_, api, _rt):
        buyer, seller = api.user("buyer"), api.user("seller")
        orders = [api.paid_order(buyer, seller) for _ in range(3)]
        api.ok(api.get(f"/orders/{orders[0]['id']}", as_=buyer))  # the buyer's token: known
        checked.clear()
        for order in orders:
            done = api.post(f"/orders/{order['id']}/cancel", {"reason": "changed_mind"}, as_=buyer)
            assert done.status_code == 202, done.text
        assert checked == []  # answered by the hot layer, which took from the same bucket
        headers = {**buyer.headers, "content-type": "application/json"}
        path = f"/api/v1/orders/{orders[0]['id']}/cancel"
        left = api.http.post(path, content=b'{"reason": 5}', headers=headers)  # to the app
        api.problem(left, 422, "validation_error")
        assert checked == []  # one request, one token: the app did not take it again
        spent = 5
        for _ in range(30 - spent):
            api.get("/orders", as_=buyer)
        wait = limited(
            api, api.post(f"/orders/{orders[0]['id']}/cancel", {"reason": "x"}, as_=buyer)
        )
        # (2 s for a whole token at 30 a minute; less once the bucket refilled a little, as it
        # does while a loaded box runs the requests above)
        assert 1 <= wait <= 2 and checked.count(buyer.id) == 30 - spent


def test_failed_tokens_from_one_address_are_throttled(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path, api_failed_tokens=3, trusted_proxies="127.0.0.1")
    with app_client(settings, peer="127.0.0.1") as (_, api, _rt):
        known = api.user("buyer")
        api.ok(api.get("/orders", as_=known))  # seen: answered from memory from now on
        fresh = api.user("buyer")  # a valid token not looked up yet
        guess = Party(id="", role="buyer", token="guessed-token-000000000", email="")
        behind = {"X-Forwarded-For": "203.0.113.9"}
        for _ in range(3):
            api.problem(api.get("/orders", as_=guess), 401, "unauthorized")
        limited(api, api.get("/orders", as_=guess))
        assert limited(api, api.get("/orders", as_=fresh)) <= 60  # not looked up either
        api.ok(api.get("/orders", as_=known))
        # another client behind the trusted proxy has its own count
        other = api.http.get("/api/v1/orders", headers={**fresh.headers, **behind})
        assert other.status_code == 200, other.text
        missing = api.http.get("/api/v1/orders")  # no token at all: 401, not counted as a guess
        api.problem(missing, 401, "unauthorized")


def test_zero_turns_the_limits_off() -> None:
    buckets, windows = TokenBuckets(0), FailureWindows(0)
    for n in range(1000):
        windows.failed("a", now=float(n) / 1000)
        assert buckets.take("k", now=0.0) is None and windows.blocked("a", now=1.0) is None


def test_a_bucket_fills_again_at_its_rate() -> None:
    buckets = TokenBuckets(60)  # one a second, at most 60 saved up
    assert all(buckets.take("k", now=0.0) is None for _ in range(60))
    assert buckets.take("k", now=0.0) == 1
    assert buckets.take("k", now=0.5) == 1
    assert buckets.take("k", now=1.0) is None and buckets.take("k", now=1.0) == 1
    assert all(buckets.take("k", now=1000.0) is None for _ in range(60))  # full, never more
    assert buckets.take("k", now=1000.0) == 1
