"""Defects the contract fuzz found (tests/README.md), each from its repro."""

from __future__ import annotations

import pytest

from tests.client import Api


@pytest.mark.parametrize("limit", [0, 201, 10_000])
def test_webhook_lists_refuse_a_page_size_out_of_range(api: Api, limit: int) -> None:
    """API.md: `?limit=` is at most 200 (it was clamped, unlike every other list)."""
    made = api.ok(
        api.post("/webhook-endpoints", {"url": "https://93.184.215.14/h"}, as_=api.admin), 201
    )
    for path in ("/webhook-endpoints", f"/webhook-endpoints/{made['id']}/deliveries"):
        api.problem(api.get(path, as_=api.admin, limit=limit), 422, "validation_error")
    assert api.ok(api.get("/webhook-endpoints", as_=api.admin, limit=200))["items"]


@pytest.mark.parametrize("seconds", ["1", True, None])
def test_the_test_clock_takes_only_a_number_of_seconds(api: Api, seconds: object) -> None:
    before = api.now()
    answer = api.post("/test-clock/advance", {"seconds": seconds}, as_=api.admin)
    api.problem(answer, 422, "validation_error")
    assert api.now() == before
