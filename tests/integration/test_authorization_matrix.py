"""The authorization matrix: every API and page route (walked from the app's route table) ×
{anonymous, buyer, other buyer, seller, other seller, admin} × {own, foreign, unknown id},
against the contract's 401/403/404 and a success where allowed (issue 17 point 10).

A route with no row in API_ROWS / PAGE_ROWS and not in PUBLIC fails the test, so a new route
cannot ship without saying who may call it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from aftersale.services.dispatch import fan_out
from aftersale.services.runtime import Runtime
from tests.client import Api, Party

B, SE, A = "buyer", "seller", "admin"
ALL = frozenset({B, SE, A})
PASSWORD = "matrix-pass-2026"


@dataclass(frozen=True)
class Row:
    """Who may call a route: the roles its role check lets through, and whose resource it
    acts on ("order": the order's buyer and seller and the admin; "any": nobody's, e.g. a
    list of the caller's own; "staff": the admin's only)."""

    roles: frozenset[str]
    scope: str = "order"


def row(*roles: str, scope: str = "order") -> Row:
    return Row(frozenset(roles), scope)


STAFF = row(A, scope="staff")
API_ROWS: dict[tuple[str, str], Row] = {
    ("POST", "/api/v1/users"): row(A, scope="any"),
    ("GET", "/api/v1/test-clock"): row(A, scope="any"),
    ("POST", "/api/v1/test-clock/advance"): row(A, scope="any"),
    ("GET", "/api/v1/cancellation-reasons"): Row(ALL, "any"),
    ("GET", "/api/v1/return-reasons"): Row(ALL, "any"),
    ("GET", "/api/v1/dispute-reasons"): Row(ALL, "any"),
    ("POST", "/api/v1/orders"): row(A, scope="any"),
    ("GET", "/api/v1/orders"): Row(ALL, "any"),
    ("GET", "/api/v1/orders/{order_id}"): Row(ALL),
    ("POST", "/api/v1/orders/{order_id}/payment"): row(A),
    ("POST", "/api/v1/orders/{order_id}/pack"): row(SE),
    ("POST", "/api/v1/orders/{order_id}/ship"): row(SE),
    ("POST", "/api/v1/orders/{order_id}/deliver"): row(A),
    ("POST", "/api/v1/orders/{order_id}/confirm-receipt"): row(B),
    ("POST", "/api/v1/orders/{order_id}/cancel"): row(B),
    ("POST", "/api/v1/orders/{order_id}/cancellation/accept"): row(SE),
    ("POST", "/api/v1/orders/{order_id}/cancellation/reject"): row(SE),
    ("POST", "/api/v1/orders/{order_id}/seller-cancel"): row(SE),
    ("POST", "/api/v1/orders/{order_id}/extend-protection"): row(SE, A),
    ("POST", "/api/v1/orders/{order_id}/refunds"): row(A),
    ("GET", "/api/v1/refunds/{refund_id}"): Row(ALL),
    ("POST", "/api/v1/refunds/{refund_id}/retry"): row(A),
    ("POST", "/api/v1/orders/{order_id}/refund-destination"): row(B),
    ("POST", "/api/v1/orders/{order_id}/returns"): row(B),
    ("GET", "/api/v1/returns/{return_id}"): Row(ALL),
    ("POST", "/api/v1/returns/{return_id}/approve"): row(SE),
    ("POST", "/api/v1/returns/{return_id}/reject"): row(SE),
    ("POST", "/api/v1/returns/{return_id}/ship"): row(B),
    ("POST", "/api/v1/returns/{return_id}/receive"): row(SE, A),
    ("POST", "/api/v1/orders/{order_id}/disputes"): row(B),
    ("GET", "/api/v1/disputes/{dispute_id}"): Row(ALL),
    ("POST", "/api/v1/disputes/{dispute_id}/accept"): row(SE),
    ("POST", "/api/v1/disputes/{dispute_id}/reject"): row(SE),
    ("POST", "/api/v1/disputes/{dispute_id}/propose"): row(SE),
    ("POST", "/api/v1/disputes/{dispute_id}/accept-proposal"): row(B),
    ("POST", "/api/v1/disputes/{dispute_id}/escalate"): row(B),
    ("POST", "/api/v1/disputes/{dispute_id}/modify"): row(B),
    ("POST", "/api/v1/disputes/{dispute_id}/withdraw"): row(B),
    ("POST", "/api/v1/disputes/{dispute_id}/resolve"): row(A),
    ("GET", "/api/v1/orders/{order_id}/messages"): Row(ALL),
    ("POST", "/api/v1/orders/{order_id}/messages"): Row(ALL),
    ("POST", "/api/v1/disputes/{dispute_id}/evidence"): row(B, SE),
    ("GET", "/api/v1/disputes/{dispute_id}/evidence"): Row(ALL),
    ("GET", "/api/v1/evidence/{evidence_id}/content"): Row(ALL),
    ("POST", "/api/v1/webhook-endpoints"): row(A, scope="any"),
    ("GET", "/api/v1/webhook-endpoints"): row(A, scope="any"),
    ("GET", "/api/v1/webhook-endpoints/{endpoint_id}"): STAFF,
    ("PATCH", "/api/v1/webhook-endpoints/{endpoint_id}"): STAFF,
    ("DELETE", "/api/v1/webhook-endpoints/{endpoint_id}"): STAFF,
    ("POST", "/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret"): STAFF,
    ("GET", "/api/v1/webhook-endpoints/{endpoint_id}/deliveries"): STAFF,
    ("POST", "/api/v1/webhook-deliveries/{delivery_id}/redeliver"): STAFF,
    ("GET", "/api/v1/webhook-event-types"): row(A, scope="any"),
    ("GET", "/api/v1/sellers/me/return-address"): row(SE, scope="any"),
    ("PUT", "/api/v1/sellers/me/return-address"): row(SE, scope="any"),
}
PAGE_ROWS: dict[tuple[str, str], Row] = {
    ("GET", "/orders"): row(B, scope="any"),
    ("GET", "/orders/{order_id}"): row(B),
    ("POST", "/orders/{order_id}/cancel"): row(B),
    ("POST", "/orders/{order_id}/confirm-receipt"): row(B),
    ("POST", "/orders/{order_id}/returns"): row(B),
    ("POST", "/orders/{order_id}/disputes"): row(B),
    ("POST", "/orders/{order_id}/returns/{return_id}/ship"): row(B),
    ("POST", "/orders/{order_id}/disputes/{dispute_id}/{step}"): row(B),
    ("POST", "/orders/{order_id}/messages"): row(B),
    ("GET", "/seller"): row(SE, scope="any"),
    ("GET", "/seller/orders/{order_id}"): row(SE),
    ("POST", "/seller/orders/{order_id}/pack"): row(SE),
    ("POST", "/seller/orders/{order_id}/ship"): row(SE),
    ("POST", "/seller/orders/{order_id}/cancellation/accept"): row(SE),
    ("POST", "/seller/orders/{order_id}/cancellation/reject"): row(SE),
    ("POST", "/seller/orders/{order_id}/cancel"): row(SE),
    ("POST", "/seller/orders/{order_id}/messages"): row(SE),
    ("POST", "/seller/returns/{return_id}/{action}"): row(SE),
    ("POST", "/seller/disputes/{dispute_id}/{action}"): row(SE),
    ("POST", "/seller/orders/{order_id}/cancel-items"): row(SE),
    ("POST", "/seller/orders/{order_id}/extend-protection"): row(SE),
    ("GET", "/staff"): row(A, scope="any"),
    ("POST", "/staff/disputes/{dispute_id}/resolve"): STAFF,
    ("POST", "/staff/orders/{order_id}/refunds"): STAFF,
    ("GET", "/staff/orders/{order_id}"): STAFF,
    ("GET", "/staff/evidence/{evidence_id}"): STAFF,
    ("GET", "/staff/dashboard"): row(A, scope="any"),
    ("GET", "/staff/webhooks"): row(A, scope="any"),
    ("POST", "/staff/webhooks"): row(A, scope="any"),
    ("POST", "/staff/webhooks/{endpoint_id}/rotate"): STAFF,
    ("POST", "/staff/webhooks/{endpoint_id}/status"): STAFF,
    ("GET", "/staff/webhooks/{endpoint_id}"): STAFF,
    ("POST", "/staff/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver"): STAFF,
    ("GET", "/staff/mail"): row(A, scope="any"),
    ("GET", "/staff/search"): row(A, scope="any"),
    ("GET", "/evidence/{evidence_id}"): row(B, SE),
    ("POST", "/orders/{order_id}/disputes/{dispute_id}/evidence"): row(B),
    ("POST", "/seller/disputes/{dispute_id}/evidence"): row(SE),
    ("GET", "/seller/settings"): row(SE, scope="any"),
    ("POST", "/seller/settings/return-address"): row(SE, scope="any"),
}
# Routes anyone may call: probes, the contract, the gateway's signed events (its signature
# is its check: test_stripe_gateway.py), login and language, help, static files.
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/assets"),
    ("GET", "/redoc"),
    ("POST", "/api/v1/gateways/stripe/events"),
    ("GET", "/"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/lang/{code}"),
    ("GET", "/help"),
    ("GET", "/static"),
}
# A body that passes each API route's schema, so that the answer is the role's or the
# visibility's, not the body's (every route validates its body before it looks anything up).
BODIES: dict[str, Any] = {
    "/api/v1/users": {"email": "m@example.test", "name": "M", "role": "buyer"},
    "/api/v1/test-clock/advance": {"seconds": 0},
    "/payment": {"amount": "1.00", "method": "card", "reference": "r"},
    "/ship": {"carrier": "DHL", "tracking_number": "T"},
    "/cancel": {"reason": "changed_mind"},
    "/cancellation/reject": {"reason": "no"},
    "/seller-cancel": {"reason": "out of stock"},
    "/extend-protection": {"days": 1},
    "/refunds": {"amount": "1.00", "reason": "sorry"},
    "/refund-destination": {"refund_to": "balance"},
    "/returns": {
        "reason": "damaged",
        "items": [{"sku": "SKU-1", "quantity": 1}],
        "condition": "used",
    },
    "/reject": {"reason": "no"},
    "/receive": {"condition_ok": True},
    "/disputes": {"reason": "damaged", "refund_type": "full", "description": "broken"},
    "/propose": {"amount": "1.00"},
    "/modify": {"refund_type": "full"},
    "/resolve": {"refund_amount": "1.00", "note": "n"},
    "/messages": {"body": "hello"},
    "/api/v1/webhook-endpoints": {"url": "https://93.184.215.14/hook"},
    "/api/v1/sellers/me/return-address": {
        "name": "Returns",
        "line1": "1 Main St",
        "city": "Austin",
        "postal_code": "73301",
        "country": "US",
    },
}
# A page form with every field some page action reads, each well formed (so that the answer
# is the visibility's, not the form's: a use case validates its input before the lookup).
FORM = {
    "body": "hello",
    "reason": "other",
    "comment": "c",
    "carrier": "DHL",
    "tracking_number": "T",
    "amount": "1.00",
    "refund_amount": "1.00",
    "note": "n",
    "days": "1",
    "condition": "used",
    "notes": "n",
    "description": "d",
    "refund_type": "full",
    "status": "disabled",
}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def route_table(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app serves, included routers walked (FastAPI nests them)."""
    found: set[tuple[str, str]] = set()

    def add(path: str, methods: object) -> None:
        for method in methods or ():  # type: ignore[attr-defined]
            if method != "HEAD":
                found.add((method, path))

    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            for ctx in contexts():
                add(ctx.path, getattr(ctx.original_route, "methods", None))
        elif type(route).__name__ == "Mount":
            found.add(("GET", route.path))  # type: ignore[attr-defined]
        else:
            add(route.path, getattr(route, "methods", None))  # type: ignore[attr-defined]
    return found


def response_models(app: FastAPI) -> dict[tuple[str, str], Any]:
    """The response model each API route declares (services/shapes.py), by (method, path)."""
    found: dict[tuple[str, str], Any] = {}
    for route in app.routes:
        for ctx in getattr(route, "effective_route_contexts", list)():
            if ctx.response_model is not None:
                for method in getattr(ctx.original_route, "methods", ()):
                    found[method, ctx.path] = ctx.response_model
    return found


@dataclass
class World:
    """The parties and one of each resource, all the buyer's and the seller's."""

    parties: dict[str, Party | None]
    ids: dict[str, str]
    unknown: dict[str, str]


def build_world(api: Api, rt: Runtime) -> World:
    """Two buyers, two sellers, the admin; orders with a return, a dispute with evidence, a
    refund; a webhook endpoint with a delivery."""
    buyer, seller = api.user(B, password=PASSWORD), api.user(SE, password=PASSWORD)
    other_buyer, other_seller = api.user(B, password=PASSWORD), api.user(SE, password=PASSWORD)
    endpoint = api.ok(
        api.post("/webhook-endpoints", {"url": "https://93.184.215.14/hook"}, as_=api.admin), 201
    )
    returned = api.delivered_order(buyer, seller)
    ret = api.ok(api.post(f"/orders/{returned['id']}/returns", BODIES["/returns"], as_=buyer), 201)
    refund = api.ok(
        api.post(f"/orders/{returned['id']}/refunds", BODIES["/refunds"], as_=api.admin), 201
    )
    disputed = api.delivered_order(buyer, seller)
    dispute = api.ok(
        api.post(f"/orders/{disputed['id']}/disputes", BODIES["/disputes"], as_=buyer), 201
    )
    evidence = api.ok(
        api.http.post(
            f"/api/v1/disputes/{dispute['id']}/evidence",
            files={"file": ("a.png", PNG, "image/png")},
            headers=buyer.headers,
        ),
        201,
    )
    for who in (seller, other_seller):  # (so that each seller's GET has one to answer)
        address = BODIES["/api/v1/sellers/me/return-address"]
        api.ok(api.request("PUT", "/sellers/me/return-address", as_=who, json=address))
    fan_out(rt)  # (the dispatcher's first step: the outbox's events become deliveries)
    deliveries = api.ok(api.get(f"/webhook-endpoints/{endpoint['id']}/deliveries", as_=api.admin))
    assert deliveries["items"], "the orders above made no webhook delivery"
    ids = {
        "order_id": returned["id"],
        "return_id": ret["id"],
        "refund_id": refund["id"],
        "dispute_id": dispute["id"],
        "evidence_id": evidence["id"],
        "endpoint_id": endpoint["id"],
        "delivery_id": deliveries["items"][0]["id"],
        "step": "escalate",
        "action": "approve",
        "disputed_order_id": disputed["id"],
    }
    unknown = {
        **{k: re.sub(r"[0-9a-f]{24}$", "0" * 24, v) for k, v in ids.items()},
        "step": "escalate",
        "action": "approve",
    }
    return World(
        parties={
            "anonymous": None,
            "buyer": buyer,
            "other buyer": other_buyer,
            "seller": seller,
            "other seller": other_seller,
            "admin": api.admin,
        },
        ids=ids,
        unknown=unknown,
    )


def _ids_for(world: World, path: str, target: str) -> dict[str, str]:
    if path.startswith("/seller/disputes/"):  # (a dispute's actions are not a return's)
        return {**_ids_for(world, "", target), "action": "reject"}
    if target == "unknown":
        return world.unknown
    if path.startswith("/orders/{order_id}/disputes/{dispute_id}"):
        return {**world.ids, "order_id": world.ids["disputed_order_id"]}
    return world.ids


def expected(row_: Row, who: str, target: str, *, page: bool) -> str:
    """The answer the contract gives: "401", "403", "404", "login" or "ok"."""
    if who == "anonymous":
        return "login" if page else "401"
    if who.split()[-1] not in row_.roles:
        return "403"
    if row_.scope == "any":
        return "ok"
    if target == "unknown" or who.startswith("other"):
        return "404"  # (another's order is not found: its existence is not told)
    return "ok"


def targets(path: str) -> Iterator[str]:
    """own and unknown for a route with an id; one call for one without."""
    if "{" in path:
        yield from ("own", "unknown")
    else:
        yield "none"


def _body(path: str) -> Any:
    if path in BODIES:
        return BODIES[path]
    for suffix, body in BODIES.items():
        if path.endswith(suffix):
            return body
    return None


def api_call(
    http: httpx.Client, method: str, path: str, who: Party | None, ids: dict[str, str]
) -> httpx.Response:
    url = path.format(**ids)
    headers = dict(who.headers) if who else {}
    if path.endswith("/evidence") and method == "POST":
        return http.post(url, files={"file": ("a.png", PNG, "image/png")}, headers=headers)
    body = _body(path)
    if method in ("POST", "PATCH", "PUT"):
        return http.request(method, url, json=body or {}, headers=headers)
    return http.request(method, url, headers=headers)


def judge(answer: httpx.Response, want: str, method: str) -> bool:
    """Whether an answer is the one the contract gives."""
    status = answer.status_code
    if want == "login":
        return status == 303 and answer.headers["location"].startswith("/login")
    if want == "ok":
        if method == "GET":
            return status == 200
        return status not in (401, 403, 404) and status < 500
    return status == int(want)


def page_client(app: FastAPI, who: Party | None) -> tuple[TestClient, str]:
    """A browser-like client logged in as a party (None: anonymous), and its CSRF token."""
    client = TestClient(app, follow_redirects=False)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert csrf is not None
    if who is not None:
        data = {"email": who.email, "password": PASSWORD, "csrf_token": csrf[1]}
        assert client.post("/login", data=data).status_code == 303
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/help").text)
        assert csrf is not None  # (a new session at login: a new token)
    return client, csrf[1]


def _order(method: str, path: str) -> tuple[int, str]:
    """GETs first, then changes, deletions last (so that each finds the world in place)."""
    return ({"GET": 0, "DELETE": 2}.get(method, 1), path)


def test_every_route_has_a_row(api: Api) -> None:
    """The route table and the matrix name the same routes: a new route needs a row."""
    table = route_table(api.http.app)  # type: ignore[attr-defined]
    named = set(API_ROWS) | set(PAGE_ROWS) | PUBLIC
    assert not table - named, f"routes without a row in the matrix: {sorted(table - named)}"
    assert not named - table, f"rows for routes that do not exist: {sorted(named - table)}"


def test_authorization_matrix(api: Api, rt: Runtime) -> None:
    """Each route × party × target answers as the contract says."""
    world = build_world(api, rt)
    app = api.http.app  # type: ignore[attr-defined]
    staff = api.user(A, password=PASSWORD)
    wrong: list[str] = []
    cells = 0
    browsers = {
        who: page_client(app, staff if who == "admin" else party)
        for who, party in world.parties.items()
    }
    for method, path in sorted(PAGE_ROWS, key=lambda r: _order(*r)):
        for who in world.parties:
            client, csrf = browsers[who]
            for target in targets(path):
                want = expected(PAGE_ROWS[method, path], who, target, page=True)
                url = path.format(**_ids_for(world, path, target))
                if method == "GET":
                    answer = client.get(url)
                else:
                    answer = client.post(url, data={**FORM, "csrf_token": csrf})
                cells += 1
                if not judge(answer, want, method):
                    wrong.append(
                        f"page {method} {path} as {who} on {target}: want {want}, "
                        f"got {answer.status_code}"
                    )
    # (the API's last: its DELETE removes the endpoint the pages use)
    declared = response_models(app)
    for method, path in sorted(API_ROWS, key=lambda r: _order(*r)):
        for who, party in world.parties.items():
            for target in targets(path):
                want = expected(API_ROWS[method, path], who, target, page=False)
                answer = api_call(api.http, method, path, party, _ids_for(world, path, target))
                cells += 1
                if answer.status_code == 200 and (method, path) in declared:
                    # the answer is its declared shape exactly (services/shapes.py: extra="forbid")
                    TypeAdapter(declared[method, path]).validate_json(answer.content)
                if not judge(answer, want, method):
                    wrong.append(
                        f"{method} {path} as {who} on {target}: want {want}, got "
                        f"{answer.status_code} {answer.text[:160]}"
                    )
    assert not wrong, f"{len(wrong)} of {cells} cells:\n" + "\n".join(wrong)
    assert cells > 400
