"""Tokens (401), roles (403), visibility (404), problem details, health, OpenAPI, test clock."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aftersale.entrypoints.api.app import create_app
from aftersale.services.runtime import Runtime
from aftersale.settings import Settings
from tests.client import ADMIN_TOKEN, Api, Party


def test_health_answers_ok_without_a_token(api: Api) -> None:
    response = api.http.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_openapi_lists_the_core_paths(api: Api) -> None:
    paths = set(api.http.get("/openapi.json").json()["paths"])
    assert {
        "/healthz",
        "/api/v1/users",
        "/api/v1/orders",
        "/api/v1/orders/{order_id}",
        "/api/v1/orders/{order_id}/payment",
        "/api/v1/orders/{order_id}/cancel",
        "/api/v1/orders/{order_id}/cancellation/accept",
        "/api/v1/orders/{order_id}/cancellation/reject",
        "/api/v1/orders/{order_id}/seller-cancel",
        "/api/v1/refunds/{refund_id}",
        "/api/v1/cancellation-reasons",
    } <= paths


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "x"}])
def test_a_missing_or_unknown_token_is_unauthorized(api: Api, headers: dict[str, str]) -> None:
    for method, path in (("GET", "/orders"), ("POST", "/orders"), ("POST", "/orders/x/cancel")):
        response = api.http.request(method, f"/api/v1{path}", headers=headers, json={})
        api.problem(response, 401, "unauthorized")


def test_a_user_is_created_by_an_admin_and_its_token_works_once_shown(api: Api) -> None:
    body = {"email": "new@example.test", "name": "New", "role": "seller", "country": "de"}
    made = api.ok(api.post("/users", body, as_=api.admin), 201)
    assert {"id", "email", "name", "role", "token"} <= set(made)
    assert made["role"] == "seller" and made["country"] == "DE"
    party = Party(id=made["id"], role="seller", token=made["token"], email=made["email"])
    assert api.ok(api.get("/orders", as_=party))["items"] == []
    api.problem(api.post("/users", body, as_=api.admin), 409, "email_taken")
    bad = {**body, "email": "other@example.test", "role": "owner"}
    api.problem(api.post("/users", bad, as_=api.admin), 422, "validation_error")


def test_a_role_that_may_never_act_is_forbidden_whatever_the_id(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.paid_order(buyer, seller)
    ship = {"carrier": "DHL", "tracking_number": "T"}
    cases = [
        (buyer, "/orders/{id}/ship", ship),
        (seller, "/orders/{id}/cancel", {"reason": "other"}),
        (buyer, "/orders/{id}/seller-cancel", {"reason": "x"}),
        (buyer, "/orders/{id}/cancellation/accept", None),
        (seller, "/orders/{id}/payment", {"amount": "1", "method": "card", "reference": "r"}),
        (api.admin, "/orders/{id}/cancel", {"reason": "other"}),
    ]
    for party, path, body in cases:
        for oid in (order["id"], "ord_does_not_exist"):
            response = api.post(path.format(id=oid), body, as_=party)
            api.problem(response, 403, "forbidden")
    api.problem(api.post("/users", {"email": "a@b.cd"}, as_=buyer), 403, "forbidden")
    api.problem(api.post("/orders", {}, as_=seller), 403, "forbidden")
    api.problem(api.post("/refunds/ref_x/retry", as_=buyer), 403, "forbidden")
    assert api.get_order(order["id"], buyer)["status"] == "awaiting_fulfillment"


def test_a_stranger_gets_not_found_for_someone_elses_order(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    other_buyer, other_seller = api.user("buyer"), api.user("seller")
    order = api.paid_order(buyer, seller)
    oid = order["id"]
    for stranger in (other_buyer, other_seller):
        api.problem(api.get(f"/orders/{oid}", as_=stranger), 404, "not_found")
    cancel = api.post(f"/orders/{oid}/cancel", {"reason": "other"}, as_=other_buyer)
    api.problem(cancel, 404, "not_found")
    ship = {"carrier": "DHL", "tracking_number": "T"}
    api.problem(api.post(f"/orders/{oid}/ship", ship, as_=other_seller), 404, "not_found")
    api.problem(api.post(f"/orders/{oid}/pack", as_=other_seller), 404, "not_found")
    api.problem(api.get("/orders/ord_missing", as_=api.admin), 404, "not_found")
    assert api.get_order(oid, buyer)["status"] == "awaiting_fulfillment"


def test_a_stranger_gets_not_found_for_someone_elses_refund(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.paid_order(buyer, seller)
    done = api.ok(api.post(f"/orders/{order['id']}/seller-cancel", {"reason": "x"}, as_=seller))
    rid = done["refunds"][0]["id"]
    for party in (buyer, seller, api.admin):
        assert api.ok(api.get(f"/refunds/{rid}", as_=party))["id"] == rid
    for stranger in (api.user("buyer"), api.user("seller")):
        api.problem(api.get(f"/refunds/{rid}", as_=stranger), 404, "not_found")
    api.problem(api.get("/refunds/ref_missing", as_=buyer), 404, "not_found")


def test_malformed_json_bodies_are_validation_errors(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.paid_order(buyer, seller)
    response = api.http.post(
        f"/api/v1/orders/{order['id']}/ship",
        content=b"{not json",
        headers={**seller.headers, "content-type": "application/json"},
    )
    api.problem(response, 422, "validation_error")
    api.problem(api.post(f"/orders/{order['id']}/ship", {}, as_=seller), 422, "validation_error")
    assert api.get_order(order["id"], seller)["status"] == "awaiting_fulfillment"


def test_the_test_clock_reads_and_advances_for_admins_only(api: Api) -> None:
    before = api.now()
    after = api.advance(90)
    assert after > before and api.now() == after
    buyer = api.user("buyer")
    api.problem(api.get("/test-clock", as_=buyer), 403, "forbidden")
    advance = api.post("/test-clock/advance", {"seconds": 5}, as_=buyer)
    api.problem(advance, 403, "forbidden")
    negative = api.post("/test-clock/advance", {"seconds": -5}, as_=api.admin)
    api.problem(negative, 422, "validation_error")
    assert api.now() == after


def test_test_clock_paths_are_not_found_when_the_test_clock_is_off(
    settings: Settings, rt: Runtime, tmp_path: Path
) -> None:
    off = settings.model_copy(update={"test_clock": False})
    with TestClient(create_app(off, runtime=rt)) as http:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        got = http.get("/api/v1/test-clock", headers=headers)
        assert got.status_code == 404 and got.json()["code"] == "not_found"
        moved = http.post("/api/v1/test-clock/advance", json={"seconds": 1}, headers=headers)
        assert moved.status_code == 404
        assert http.get("/healthz").status_code == 200
