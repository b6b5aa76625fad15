"""Every API answer is its route's declared shape, exactly (issue 17 point 10).

The routes' response models are the services' own TypedDicts (services/shapes.py), the ones the
views are annotated to return. A scenario drives every API route that declares one to a success
on SQLite and PostgreSQL; each 2xx body is then checked against the declared shape twice: by
pydantic (a TypeAdapter of the TypedDict, which is closed: `extra="forbid"`) and by a key-set
walk of the shape (no key more, none missing, at every depth). A route that declares a shape
but was never answered with a success fails the test, so a new route needs a step here."""

from __future__ import annotations

import re
import types
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import httpx
import pytest
from fastapi import FastAPI
from pydantic import TypeAdapter, ValidationError
from typing_extensions import get_type_hints, is_typeddict

from aftersale.services import shapes
from aftersale.services.dispatch import fan_out
from aftersale.services.runtime import Runtime
from aftersale.settings import Settings
from tests.client import Api, Party
from tests.conftest import test_settings as make_settings
from tests.integration.test_authorization_matrix import PNG, response_models
from tests.stripe_local import WEBHOOK_SECRET, signed_event

ADDRESS = {
    "name": "Returns",
    "line1": "1 Main St",
    "city": "Austin",
    "postal_code": "73301",
    "country": "US",
}


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Test settings with a Stripe webhook secret (so a signed gateway event is answered)."""
    return make_settings(db_url, tmp_path, stripe_webhook_secret=WEBHOOK_SECRET)


def key_problems(shape: Any, value: Any, where: str = "$") -> list[str]:
    """Where a value's keys are not its shape's: a key more or a required key missing, at
    every depth (objects, lists of them, nullable ones)."""
    if is_typeddict(shape):
        if not isinstance(value, dict):
            return [f"{where}: {type(value).__name__}, not an object"]
        known = shape.__required_keys__ | shape.__optional_keys__
        problems = [f"{where}: key more {k!r}" for k in sorted(set(value) - known)]
        problems += [
            f"{where}: key missing {k!r}" for k in sorted(shape.__required_keys__ - set(value))
        ]
        hints = get_type_hints(shape)
        for key in sorted(set(value) & known):
            problems += key_problems(hints[key], value[key], f"{where}.{key}")
        return problems
    origin = get_origin(shape)
    if origin is list and isinstance(value, list):
        (item,) = get_args(shape)
        return [p for i, v in enumerate(value) for p in key_problems(item, v, f"{where}[{i}]")]
    if origin in (Union, types.UnionType) and value is not None:
        objects = [a for a in get_args(shape) if is_typeddict(a) or get_origin(a) is list]
        return key_problems(objects[0], value, where) if len(objects) == 1 else []
    return []


def the_shape(model: Any) -> Any:
    """The TypedDict a response model is made of (list[X]: X)."""
    return get_args(model)[0] if get_origin(model) is list else model


def declared_shapes(app: FastAPI) -> dict[tuple[str, str], Any]:
    """The response model of each API route that answers JSON, by (method, path)."""
    return {k: m for k, m in response_models(app).items() if k[1] != "/openapi.json"}


def route_of(method: str, path: str, routes: dict[tuple[str, str], Any]) -> tuple[str, str] | None:
    """The declared route a request went to, if any."""
    for m, template in routes:
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if m == method and re.match(pattern, path):
            return m, template
    return None


def test_the_key_walk_finds_a_key_more_and_a_key_missing_at_any_depth() -> None:
    step = {"at": "2026-01-01T00:00:00Z", "actor": "buyer", "action": "opened"}
    assert key_problems(shapes.DisputeStep, step) == []
    assert key_problems(shapes.DisputeStep, {**step, "x": 1}) == ["$: key more 'x'"]
    money = {"amount": "1.00", "currency": "USD"}
    assert key_problems(shapes.DisputeStep, {**step, "amount": money}) == []
    assert key_problems(shapes.DisputeStep, {**step, "amount": {"amount": "1.00"}}) == [
        "$.amount: key missing 'currency'"
    ]
    page = {"items": [{"id": "m", "author_role": "buyer", "body": "b"}], "next_cursor": None}
    assert key_problems(shapes.MessagePage, page) == ["$.items[0]: key missing 'at'"]
    with pytest.raises(ValidationError):  # (pydantic refuses a key more too: extra="forbid")
        TypeAdapter(shapes.DisputeStep).validate_python({**step, "x": 1})


def test_every_route_declares_a_shape_of_the_services(api: Api) -> None:
    """One description: each response model is a services/shapes.py TypedDict (no copy in the
    API), closed to keys more."""
    declared = declared_shapes(api.http.app)  # type: ignore[attr-defined]
    assert len(declared) > 40
    for route, model in declared.items():
        shape = the_shape(model)
        assert is_typeddict(shape) and shape.__module__ == shapes.__name__, (route, model)
        assert shape.__pydantic_config__.get("extra") == "forbid", shape


def scenario(api: Api, rt: Runtime) -> None:
    """A success from every API route that declares a shape."""
    a = api.admin
    buyer, seller = api.user("buyer"), api.user("seller")
    for probe in ("/healthz", "/readyz"):
        assert api.http.get(probe).status_code == 200
    api.now()
    api.advance(0)
    for reasons in ("/cancellation-reasons", "/return-reasons", "/dispute-reasons"):
        api.ok(api.get(reasons, as_=buyer))
    api.ok(api.request("PUT", "/sellers/me/return-address", as_=seller, json=ADDRESS))
    api.ok(api.get("/sellers/me/return-address", as_=seller))

    def post(path: str, who: Party, body: Any = None, status: int = 200) -> dict[str, Any]:
        return api.ok(api.post(path, body, as_=who), status)

    # an order's life, a requested cancellation rejected and one accepted
    unpaid = api.order(buyer, seller)
    post(f"/orders/{unpaid['id']}/cancel", buyer, {"reason": "changed_mind"})
    for verb, body in (("accept", None), ("reject", {"reason": "no"})):
        paid = api.paid_order(buyer, seller)
        post(f"/orders/{paid['id']}/cancel", buyer, {"reason": "changed_mind"}, 202)
        post(f"/orders/{paid['id']}/cancellation/{verb}", seller, body)
    oid = paid["id"]
    post(f"/orders/{oid}/refund-destination", buyer, {"refund_to": "balance"})
    post(f"/orders/{oid}/pack", seller)
    post(f"/orders/{oid}/ship", seller, {"carrier": "DHL", "tracking_number": "T1"})
    post(f"/orders/{oid}/extend-protection", seller, {"days": 3})
    post(f"/orders/{oid}/deliver", a)
    post(f"/orders/{oid}/messages", buyer, {"body": "hello"}, 201)
    api.ok(api.get(f"/orders/{oid}/messages", as_=seller))
    post(f"/orders/{api.shipped_order(buyer, seller)['id']}/confirm-receipt", buyer)
    api.ok(api.get("/orders", as_=buyer))
    api.ok(api.get(f"/orders/{oid}", as_=seller))
    # refunds: the seller's cancellation, a failed one retried, a goodwill one
    failing = api.pay(api.order(buyer, seller), reference="fail-card-declined")
    cancelled = post(f"/orders/{failing['id']}/seller-cancel", seller, {"reason": "out of stock"})
    api.advance(1)
    refund_id = cancelled["refunds"][0]["id"]
    assert api.ok(api.get(f"/refunds/{refund_id}", as_=buyer))["status"] == "failed"
    post(f"/refunds/{refund_id}/retry", a)
    delivered = api.delivered_order(buyer, seller)
    post(f"/orders/{delivered['id']}/refunds", a, {"amount": "1.00", "reason": "sorry"}, 201)
    # returns: approved, shipped back and received; rejected
    line = {"reason": "damaged", "items": [{"sku": "SKU-1", "quantity": 1}], "condition": "used"}
    ret = post(f"/orders/{delivered['id']}/returns", buyer, line, 201)
    api.ok(api.get(f"/returns/{ret['id']}", as_=buyer))
    post(f"/returns/{ret['id']}/approve", seller)
    post(f"/returns/{ret['id']}/ship", buyer, {"carrier": "DHL", "tracking_number": "R1"})
    post(f"/returns/{ret['id']}/receive", seller, {"condition_ok": True})
    other = api.delivered_order(buyer, seller)
    refused = post(f"/orders/{other['id']}/returns", buyer, line, 201)
    post(f"/returns/{refused['id']}/reject", seller, {"reason": "no"})
    # disputes: accepted; a proposal accepted; rejected, modified, rejected, escalated and
    # resolved; withdrawn; with evidence
    full = {"reason": "damaged", "refund_type": "full", "description": "broken"}

    def dispute() -> dict[str, Any]:
        order = api.delivered_order(buyer, seller)
        return post(f"/orders/{order['id']}/disputes", buyer, full, 201)

    post(f"/disputes/{dispute()['id']}/accept", seller)
    proposed = dispute()["id"]
    post(f"/disputes/{proposed}/propose", seller, {"amount": "1.00"})
    post(f"/disputes/{proposed}/accept-proposal", buyer)
    argued = dispute()["id"]
    api.ok(api.get(f"/disputes/{argued}", as_=seller))
    evidence = {"file": ("a.png", PNG, "image/png")}
    path = f"/api/v1/disputes/{argued}/evidence"
    api.ok(api.http.post(path, files=evidence, headers=buyer.headers), 201)
    api.ok(api.http.get(path, headers=seller.headers))
    post(f"/disputes/{argued}/reject", seller, {"reason": "no"})
    post(f"/disputes/{argued}/modify", buyer, {"refund_type": "partial", "amount": "2.00"})
    post(f"/disputes/{argued}/reject", seller, {"reason": "still no"})
    post(f"/disputes/{argued}/escalate", buyer)
    post(f"/disputes/{argued}/resolve", a, {"refund_amount": "1.00", "note": "n"})
    post(f"/disputes/{dispute()['id']}/withdraw", buyer)
    # users, webhooks and the gateway
    post("/users", a, {"email": "shapes@example.test", "name": "S", "role": "buyer"}, 201)
    endpoint = post("/webhook-endpoints", a, {"url": "https://93.184.215.14/hook"}, 201)
    eid = endpoint["id"]
    api.ok(api.get("/webhook-endpoints", as_=a))
    api.ok(api.get(f"/webhook-endpoints/{eid}", as_=a))
    api.ok(api.request("PATCH", f"/webhook-endpoints/{eid}", as_=a, json={"description": "d"}))
    post(f"/webhook-endpoints/{eid}/rotate-secret", a)
    api.ok(api.get("/webhook-event-types", as_=a))
    fan_out(rt)  # (the outbox's events become deliveries)
    deliveries = api.ok(api.get(f"/webhook-endpoints/{eid}/deliveries", as_=a))["items"]
    post(f"/webhook-deliveries/{deliveries[0]['id']}/redeliver", a, None, 202)
    event = {"id": "evt_shapes", "object": "event", "type": "customer.created", "data": {}}
    payload, signature = signed_event(event)
    stripe = api.http.post(
        "/api/v1/gateways/stripe/events", content=payload, headers={"Stripe-Signature": signature}
    )
    assert api.ok(stripe) == {"received": "ignored"}


def test_every_success_is_its_declared_shape_exactly(api: Api, rt: Runtime) -> None:
    answers: list[httpx.Response] = []
    api.http.event_hooks = {"response": [answers.append]}  # (read by then: no stream)
    scenario(api, rt)
    declared = declared_shapes(api.http.app)  # type: ignore[attr-defined]
    checked: dict[tuple[str, str], int] = {}
    wrong: list[str] = []
    for answer in answers:
        route = route_of(answer.request.method, answer.request.url.path, declared)
        if route is None or not 200 <= answer.status_code < 300:
            continue
        checked[route] = checked.get(route, 0) + 1
        model = declared[route]
        try:
            TypeAdapter(model).validate_json(answer.content)
        except ValidationError as exc:
            wrong.append(f"{route} {answer.status_code}: {exc}")
        body = answer.json()
        values = body if get_origin(model) is list else [body]
        for value in values:
            wrong += [f"{route}: {p}" for p in key_problems(the_shape(model), value)]
    assert not wrong, "\n".join(wrong)
    unanswered = sorted(set(declared) - set(checked))
    assert not unanswered, f"routes the scenario never answered with a success: {unanswered}"
    assert sum(checked.values()) > 80
