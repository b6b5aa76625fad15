"""Each order keeps the policy it was bought under; a policy file changes new orders only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aftersale.bootstrap import build_runtime
from aftersale.entrypoints.api.app import create_app
from aftersale.settings import Settings
from tests.client import DAY, Api
from tests.conftest import test_settings as make_settings
from tests.integration.ledger_check import ask_dispute, ask_return

POLICY = """
[policy]
return_window_days = 30
dispute_window_days = 20
seller_answer_days = 2
"""


@pytest.fixture
def api_30(settings: Settings, tmp_path: Path, api: Api) -> Iterator[Api]:
    """A second app on the same database, started with a policy file (30-day returns)."""
    path = tmp_path / "policy.toml"
    path.write_text(POLICY)
    other = make_settings(settings.url, tmp_path, policy_file=path)
    runtime = build_runtime(other)
    with TestClient(create_app(other, runtime=runtime)) as http:
        yield Api(http)  # type: ignore[arg-type]
    runtime.engine.dispose()  # type: ignore[attr-defined]


def test_a_policy_file_changes_the_windows_of_new_orders_only(api: Api, api_30: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    old = api.delivered_order(buyer, seller)
    new = api_30.delivered_order(buyer, seller)
    assert old["policy"]["return_window_days"] == 15
    assert new["policy"]["return_window_days"] == 30
    api_30.advance(20 * DAY)
    for client in (api, api_30):  # whichever app is asked, the order's own policy rules
        response = ask_return(client, old, buyer, [{"sku": "SKU-1", "quantity": 1}])
        assert (response.status_code, response.json()["code"]) == (409, "return_window_closed")
        assert client.get_order(old["id"], buyer)["policy"]["return_window_days"] == 15
    assert api.get_order(old["id"], buyer)["status"] == "completed"
    ret = api.ok(ask_return(api, new, buyer, [{"sku": "SKU-1", "quantity": 1}]), 201)
    assert ret["status"] == "requested"
    last_moment = ask_dispute(api, new, buyer)  # its 20-day dispute window includes this moment
    assert last_moment.status_code == 201


def test_a_new_orders_deadlines_follow_its_own_policy(api: Api, api_30: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    old, new = api.delivered_order(buyer, seller), api_30.delivered_order(buyer, seller)
    old_ret = api.ok(ask_return(api, old, buyer, [{"sku": "SKU-1", "quantity": 1}]), 201)
    new_ret = api.ok(ask_return(api, new, buyer, [{"sku": "SKU-1", "quantity": 1}]), 201)
    api.advance(2 * DAY)
    assert api.ok(api.get(f"/returns/{new_ret['id']}", as_=buyer))["status"] == "approved"
    assert api.ok(api.get(f"/returns/{old_ret['id']}", as_=buyer))["status"] == "requested"
    api.advance(3 * DAY)
    assert api.ok(api.get(f"/returns/{old_ret['id']}", as_=buyer))["status"] == "approved"
