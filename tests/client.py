"""One small client for the tests: parties, orders and actions over the v1 API.

Works over an in-process TestClient or a real HTTP server (httpx.Client with a base URL)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import httpx

ADMIN_TOKEN = "test-admin-token-0123456789"
_counter = itertools.count()


@dataclass
class Party:
    """A user with its token."""

    id: str
    role: str
    token: str
    email: str

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header."""
        return {"Authorization": f"Bearer {self.token}"}


class Api:
    """Calls the API as one party or another."""

    def __init__(self, http: httpx.Client, admin_token: str = ADMIN_TOKEN) -> None:
        self.http = http
        self.admin = Party(id="admin", role="admin", token=admin_token, email="admin")

    def request(
        self,
        method: str,
        path: str,
        *,
        as_: Party | None,
        json: Any = None,
        key: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """Send a request as a party (None: without a token)."""
        headers = dict(as_.headers) if as_ else {}
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.http.request(
            method, f"/api/v1{path}", json=json, headers=headers, params=params
        )

    def post(
        self, path: str, json: Any = None, *, as_: Party | None, key: str | None = None
    ) -> httpx.Response:
        """POST as a party."""
        return self.request("POST", path, as_=as_, json=json, key=key)

    def get(self, path: str, *, as_: Party | None, **params: Any) -> httpx.Response:
        """GET as a party."""
        return self.request("GET", path, as_=as_, params=params or None)

    def ok(self, response: httpx.Response, status: int = 200) -> dict[str, Any]:
        """The JSON of a response that must have the given status."""
        assert response.status_code == status, (response.status_code, response.text)
        body: dict[str, Any] = response.json()
        return body

    def problem(self, response: httpx.Response, status: int, code: str) -> dict[str, Any]:
        """The body of a problem+json response that must have the given status and code."""
        assert response.status_code == status, (response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        body: dict[str, Any] = response.json()
        assert body["code"] == code, body
        assert body["status"] == status and body["type"] and body["title"] and body["detail"]
        return body

    def user(self, role: str, *, country: str = "US", password: str | None = None) -> Party:
        """A new user of a role."""
        n = next(_counter)
        email = f"{role}{n}-{id(self)}@example.test"
        body = self.ok(
            self.post(
                "/users",
                {
                    "email": email,
                    "name": f"{role} {n}",
                    "role": role,
                    "country": country,
                    "password": password,
                },
                as_=self.admin,
            ),
            201,
        )
        return Party(id=body["id"], role=role, token=body["token"], email=email)

    def order(
        self,
        buyer: Party,
        seller: Party,
        *,
        items: list[dict[str, Any]] | None = None,
        currency: str = "USD",
        shipping_fee: str | None = "5.00",
    ) -> dict[str, Any]:
        """A new order awaiting payment."""
        items = items or [
            {"sku": "SKU-1", "title": "Lamp", "quantity": 2, "unit_price": "20.00"},
            {"sku": "SKU-2", "title": "Bulb", "quantity": 3, "unit_price": "5.00"},
        ]
        body = {"buyer_id": buyer.id, "seller_id": seller.id, "currency": currency, "items": items}
        if shipping_fee is not None:
            body["shipping_fee"] = shipping_fee
        return self.ok(self.post("/orders", body, as_=self.admin), 201)

    def pay(
        self, order: dict[str, Any], *, method: str = "card", reference: str = "pay_test"
    ) -> dict[str, Any]:
        """Pay an order in full."""
        return self.ok(
            self.post(
                f"/orders/{order['id']}/payment",
                {"amount": order["total"]["amount"], "method": method, "reference": reference},
                as_=self.admin,
            )
        )

    def paid_order(self, buyer: Party, seller: Party, **kw: Any) -> dict[str, Any]:
        """A new paid order (awaiting fulfillment)."""
        method = kw.pop("method", "card")
        return self.pay(self.order(buyer, seller, **kw), method=method)

    def shipped_order(self, buyer: Party, seller: Party, **kw: Any) -> dict[str, Any]:
        """A new paid, shipped order."""
        order = self.paid_order(buyer, seller, **kw)
        return self.ok(
            self.post(
                f"/orders/{order['id']}/ship",
                {"carrier": "DHL", "tracking_number": "TRK1"},
                as_=seller,
            )
        )

    def delivered_order(self, buyer: Party, seller: Party, **kw: Any) -> dict[str, Any]:
        """A new delivered order."""
        order = self.shipped_order(buyer, seller, **kw)
        return self.ok(self.post(f"/orders/{order['id']}/deliver", as_=self.admin))

    def get_order(self, order_id: str, as_: Party) -> dict[str, Any]:
        """An order as a party sees it."""
        return self.ok(self.get(f"/orders/{order_id}", as_=as_))

    def advance(self, seconds: float) -> str:
        """Move the test clock forward (firing deadlines)."""
        return str(
            self.ok(self.post("/test-clock/advance", {"seconds": seconds}, as_=self.admin))["now"]
        )

    def now(self) -> str:
        """The test clock's time."""
        return str(self.ok(self.get("/test-clock", as_=self.admin))["now"])


HOUR = 3600
DAY = 86400
