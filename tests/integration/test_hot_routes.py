"""The hot routes (api/hot_routes.py) answer exactly as the app's full path does: the same
requests, sent to twin orders through an app with them and one without, get the same status,
headers and body (ids aside), on SQLite and PostgreSQL; and the hot layer really answered."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from aftersale.entrypoints.api import models, routes_orders
from aftersale.entrypoints.api.app import create_app
from aftersale.services import shapes
from aftersale.services.runtime import Runtime
from aftersale.settings import Settings
from tests.client import Api, Party

ID = re.compile(r"\b[a-z]{2,5}_[0-9a-f]{24}\b")
ORDER = TypeAdapter(shapes.Order)  # the hot routes' declared answer (services/shapes.py)


@pytest.fixture
def twins(settings: Settings, rt: Runtime) -> Iterator[tuple[Api, Api]]:
    """The same database and runtime served twice: with the hot routes, and without."""
    full = settings.model_copy(update={"hot_routes": False})
    with (
        TestClient(create_app(settings, runtime=rt)) as hot,
        TestClient(create_app(full, runtime=rt)) as slow,
    ):
        yield Api(hot), Api(slow)  # type: ignore[arg-type]


def same_answer(a: httpx.Response, b: httpx.Response) -> None:
    """The same status, headers and body (ids, random but of one length, aside)."""
    assert a.status_code == b.status_code, (a.text, b.text)
    assert len(a.headers.pop("x-request-id")) == len(b.headers.pop("x-request-id"))  # (new each)
    assert dict(a.headers) == dict(b.headers)
    assert ID.sub("<id>", a.text) == ID.sub("<id>", b.text)


Case = Callable[[Api, Party, Party, Party], httpx.Response]
LAMP = [{"sku": "S", "title": "Lamp", "quantity": 1, "unit_price": "20.00"}]


def _paid(api: Api, buyer: Party, seller: Party) -> str:
    return str(api.paid_order(buyer, seller)["id"])


def _requested(api: Api, buyer: Party, seller: Party) -> str:
    order_id = _paid(api, buyer, seller)
    api.ok(api.post(f"/orders/{order_id}/cancel", {"reason": "changed_mind"}, as_=buyer), 202)
    return order_id


def _raw_cancel(
    api: Api, order_id: str, who: Party, content: bytes, content_type: str | None
) -> httpx.Response:
    """A cancel request with a body sent as it is, under a Content-Type (None: without one)."""
    headers = {**who.headers, **({"content-type": content_type} if content_type else {})}
    return api.http.post(f"/api/v1/orders/{order_id}/cancel", content=content, headers=headers)


def _titled(title: str) -> dict[str, Any]:
    return {**LAMP[0], "title": title}


def _raw(api: Api, path: str, who: Party, body: Any) -> httpx.Response:
    """POST JSON text as `json.dumps` writes it (lone surrogates as \\uXXXX escapes, which
    httpx's own encoder would refuse)."""
    headers = {**who.headers, "content-type": "application/json"}
    return api.http.post(f"/api/v1{path}", content=json.dumps(body).encode(), headers=headers)


CASES: dict[str, Case] = {
    "create": lambda api, b, s, _: api.post(
        "/orders",
        {"buyer_id": b.id, "seller_id": s.id, "currency": "USD", "items": LAMP, "x": 1},
        as_=api.admin,
    ),
    "create, no items": lambda api, b, s, _: api.post(
        "/orders",
        {"buyer_id": b.id, "seller_id": s.id, "currency": "USD", "items": []},
        as_=api.admin,
    ),
    "create, unknown currency": lambda api, b, s, _: api.post(
        "/orders",
        {"buyer_id": b.id, "seller_id": s.id, "currency": "XXQ", "items": LAMP},
        as_=api.admin,
    ),
    "create as a buyer": lambda api, b, s, _: api.post(
        "/orders", {"buyer_id": b.id, "seller_id": s.id, "currency": "USD", "items": LAMP}, as_=b
    ),
    "pay": lambda api, b, s, _: api.post(
        f"/orders/{api.order(b, s)['id']}/payment",
        {"amount": "60.00", "method": "card", "reference": "r"},
        as_=api.admin,
    ),
    "pay the wrong amount": lambda api, b, s, _: api.post(
        f"/orders/{api.order(b, s)['id']}/payment",
        {"amount": "1.00", "method": "card", "reference": "r"},
        as_=api.admin,
    ),
    "pay by cheque": lambda api, b, s, _: api.post(
        f"/orders/{api.order(b, s)['id']}/payment",
        {"amount": "60.00", "method": "cheque", "reference": "r"},
        as_=api.admin,
    ),
    "cancel unpaid": lambda api, b, s, _: api.post(
        f"/orders/{api.order(b, s)['id']}/cancel", {"reason": "wrong_address"}, as_=b
    ),
    "request": lambda api, b, s, _: api.post(
        f"/orders/{_paid(api, b, s)}/cancel", {"reason": "changed_mind", "comment": "c"}, as_=b
    ),
    "request twice": lambda api, b, s, _: api.post(
        f"/orders/{_requested(api, b, s)}/cancel", {"reason": "changed_mind"}, as_=b
    ),
    "request, unknown reason": lambda api, b, s, _: api.post(
        f"/orders/{_paid(api, b, s)}/cancel", {"reason": "bored"}, as_=b
    ),
    "request, reason not a string": lambda api, b, s, _: api.post(
        f"/orders/{_paid(api, b, s)}/cancel", {"reason": 3}, as_=b
    ),
    "request, body not JSON": lambda api, b, s, _: _raw_cancel(
        api, _paid(api, b, s), b, b"{reason", "application/json"
    ),
    "request, body not JSON, as the seller": lambda api, b, s, _: _raw_cancel(
        api, _paid(api, b, s), s, b"{reason", "application/json"
    ),
    "request, text body": lambda api, b, s, _: _raw_cancel(
        api, _paid(api, b, s), b, b'{"reason": "changed_mind"}', "text/plain"
    ),
    "request, no content type": lambda api, b, s, _: _raw_cancel(
        api, _paid(api, b, s), b, b'{"reason": "changed_mind"}', None
    ),
    "request, someone else's order": lambda api, b, s, other: api.post(
        f"/orders/{_paid(api, b, s)}/cancel", {"reason": "changed_mind"}, as_=other
    ),
    "request, no such order": lambda api, b, s, _: api.post(
        "/orders/ord_000000000000000000000000/cancel", {"reason": "changed_mind"}, as_=b
    ),
    "request as the seller": lambda api, b, s, _: api.post(
        f"/orders/{_paid(api, b, s)}/cancel", {"reason": "changed_mind"}, as_=s
    ),
    "request, unknown token": lambda api, b, s, _: api.http.post(
        f"/api/v1/orders/{_paid(api, b, s)}/cancel",
        json={"reason": "changed_mind"},
        headers={"Authorization": "Bearer not-a-token-at-all"},
    ),
    # hostile input (issue 17): refused the same way on both paths, nothing written
    "create, a lone surrogate in a title": lambda api, b, s, _: _raw(
        api,
        "/orders",
        api.admin,
        {"buyer_id": b.id, "seller_id": s.id, "currency": "USD", "items": [_titled("\udc00")]},
    ),
    "create, a NUL in a title": lambda api, b, s, _: _raw(
        api,
        "/orders",
        api.admin,
        {"buyer_id": b.id, "seller_id": s.id, "currency": "USD", "items": [_titled("L\x00")]},
    ),
    "create, quantity true": lambda api, b, s, _: api.post(
        "/orders",
        {
            "buyer_id": b.id,
            "seller_id": s.id,
            "currency": "USD",
            "items": [{**LAMP[0], "quantity": True}],
        },
        as_=api.admin,
    ),
    "create, quantity a string": lambda api, b, s, _: api.post(
        "/orders",
        {
            "buyer_id": b.id,
            "seller_id": s.id,
            "currency": "USD",
            "items": [{**LAMP[0], "quantity": "1"}],
        },
        as_=api.admin,
    ),
    "create, price 1e9999": lambda api, b, s, _: api.post(
        "/orders",
        {
            "buyer_id": b.id,
            "seller_id": s.id,
            "currency": "USD",
            "items": [{**LAMP[0], "unit_price": "1e9999"}],
        },
        as_=api.admin,
    ),
    "pay, amount with a plus": lambda api, b, s, _: api.post(
        f"/orders/{api.order(b, s)['id']}/payment",
        {"amount": "+60.00", "method": "card", "reference": "r"},
        as_=api.admin,
    ),
    "pay, a NUL in the reference": lambda api, b, s, _: api.post(
        f"/orders/{api.order(b, s)['id']}/payment",
        {"amount": "60.00", "method": "card", "reference": "r\x00"},
        as_=api.admin,
    ),
    "request, a surrogate in the comment": lambda api, b, s, _: _raw(
        api,
        f"/orders/{_paid(api, b, s)}/cancel",
        b,
        {"reason": "changed_mind", "comment": "\ud800"},
    ),
    "request, 100,000-deep JSON": lambda api, b, s, _: _raw_cancel(
        api, _paid(api, b, s), b, b"[" * 100_000 + b"]" * 100_000, "application/json"
    ),
    "request, a 5,000-digit number": lambda api, b, s, _: _raw_cancel(
        api, _paid(api, b, s), b, b'{"reason": ' + b"9" * 5000 + b"}", "application/json"
    ),
    "request, bytes that are not UTF-8": lambda api, b, s, _: _raw_cancel(
        api, _paid(api, b, s), b, b'{"reason": "\xff"}', "application/json"
    ),
    "accept": lambda api, b, s, _: api.post(
        f"/orders/{_requested(api, b, s)}/cancellation/accept", {"reason": "x"}, as_=s
    ),
    "accept, no body": lambda api, b, s, _: api.post(
        f"/orders/{_requested(api, b, s)}/cancellation/accept", as_=s
    ),
    "accept, a list body": lambda api, b, s, _: api.post(
        f"/orders/{_requested(api, b, s)}/cancellation/accept", [1], as_=s
    ),
    "accept, nothing pending": lambda api, b, s, _: api.post(
        f"/orders/{_paid(api, b, s)}/cancellation/accept", as_=s
    ),
    "accept as the buyer": lambda api, b, s, _: api.post(
        f"/orders/{_requested(api, b, s)}/cancellation/accept", as_=b
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hot_and_full_paths_give_the_same_answer(twins: tuple[Api, Api], case: str) -> None:
    answers = []
    for api in twins:
        buyer, seller, other = api.user("buyer"), api.user("seller"), api.user("buyer")
        for party in (buyer, seller, other):  # each token seen once, as a busy caller's is
            api.ok(api.get("/cancellation-reasons", as_=party))
        answers.append(CASES[case](api, buyer, seller, other))
    same_answer(*answers)
    declared_answer(twins[0], answers[0])
    if case in REFUSED:
        assert answers[0].status_code == 422, answers[0].text
        assert answers[0].json()["code"] == "validation_error"


# The hostile cases, each refused with 422 validation_error (issue 17, points 1 and 4).
REFUSED = {
    name
    for name in CASES
    if any(w in name for w in ("surrogate", "NUL", "quantity", "1e9999", "plus", "-deep", "digit"))
    or name.endswith("not UTF-8")
}


def test_the_hot_layer_answers_without_the_apps_route(
    twins: tuple[Api, Api], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = routes_orders.do_cancel

    def counted(*args: Any) -> Any:
        calls.append("route")
        return real(*args)

    monkeypatch.setattr(routes_orders, "do_cancel", counted)  # what the app's route calls
    hot, full = twins
    for api, through_route in ((hot, 0), (full, 1)):
        buyer, seller = api.user("buyer"), api.user("seller")
        order_id = _paid(api, buyer, seller)
        api.ok(api.get(f"/orders/{order_id}", as_=buyer))  # the buyer's token is now known
        calls.clear()
        done = api.post(f"/orders/{order_id}/cancel", {"reason": "changed_mind"}, as_=buyer)
        assert api.ok(done, 202)["cancellation"]["status"] == "pending"
        assert len(calls) == through_route
        again = api.post(f"/orders/{order_id}/cancel", {"reason": "changed_mind"}, as_=buyer)
        api.problem(again, 409, "cancellation_already_requested")


def declared_answer(api: Api, answer: httpx.Response) -> None:
    """The hot layer's bytes (which skip FastAPI's response models) are what the contract
    declares: a success is its route's response model exactly (no field more or less), an
    error a documented status with the problem+json schema."""
    doc = api.http.app.openapi()  # type: ignore[attr-defined]
    declared = doc["paths"][_template(answer.request.url.path)]["post"]["responses"]
    assert str(answer.status_code) in declared, (answer.status_code, sorted(declared))
    if answer.status_code < 300:
        assert answer.headers["content-type"] == "application/json"
        ref = declared[str(answer.status_code)]["content"]["application/json"]["schema"]["$ref"]
        assert ref == "#/components/schemas/Order"
        ORDER.validate_json(answer.content)  # (a field more is refused too: extra="forbid")
    else:
        assert answer.headers["content-type"] == "application/problem+json"
        assert models.Problem.model_validate_json(answer.content).status == answer.status_code


def _template(path: str) -> str:
    """The OpenAPI path of a hot route's request path."""
    if path == "/api/v1/orders":
        return path
    if path.endswith("/cancellation/accept"):
        return "/api/v1/orders/{order_id}/cancellation/accept"
    return "/api/v1/orders/{order_id}/" + path.rsplit("/", 1)[-1]
