"""The busiest API writes (create order, record payment, cancel, accept cancellation) answered
without FastAPI's routing, dependency solving and request parsing, which cost as much CPU per
request as the use case itself (bench/README.md, "Speed work, fifth pass").

An ASGI layer, just outside the idempotency middleware. It takes a request only when it is
plainly one of those routes and every check it needs is answered from memory: a bearer token
seen in the last 30 s, no Idempotency-Key, a JSON body that validates against the route's
model. Every other request, including every one that would be refused with 401 or 422, goes
on to the app unchanged (with its body replayed), so those answers come from one place. The
use case, its status and its response are the route's own (`routes_orders.do_*`), and a rule's
refusal becomes the same problem+json as the app's handler makes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import orjson
from pydantic import BaseModel, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aftersale.domain.actions import require_role
from aftersale.domain.errors import DomainError
from aftersale.entrypoints.api import routes_orders as r
from aftersale.entrypoints.api import schemas as s
from aftersale.entrypoints.api.deps import bearer_token
from aftersale.entrypoints.api.problems import domain_problem
from aftersale.entrypoints.api.rate_limit import RATE_TAKEN, ApiLimits, rate_limited_response
from aftersale.services.runtime import Runtime
from aftersale.services.users import cached_actor

ORDERS = "/api/v1/orders"


@dataclass(frozen=True)
class HotRoute:
    """One route: the role check's action, the body's model (None: an optional JSON object
    that is not used), what the route does, and its path template (for metrics and logs)."""

    action: str
    body: type[BaseModel] | None
    run: Callable[..., Any]
    template: str


def _by_id(suffix: str) -> str:
    return f"{ORDERS}/{{order_id}}/{suffix}"


CREATE = HotRoute("create_order", s.NewOrder, r.do_create_order, ORDERS)
BY_SUFFIX: dict[str, HotRoute] = {
    "payment": HotRoute("pay", s.Payment, r.do_pay, _by_id("payment")),
    "cancel": HotRoute("cancel", s.CancelBody, r.do_cancel, _by_id("cancel")),
    "cancellation/accept": HotRoute(
        "accept_cancellation", None, r.do_accept_cancellation, _by_id("cancellation/accept")
    ),
}
ROUTE_TEMPLATE = "route_template"  # (scope["state"]: the template a hot route answered under)


def match(path: str) -> tuple[HotRoute, str] | None:
    """The hot route a POST path names, with its order id ("" for creation), if any."""
    if path == ORDERS:
        return CREATE, ""
    if not path.startswith(ORDERS + "/"):
        return None
    order_id, slash, suffix = path[len(ORDERS) + 1 :].partition("/")
    route = BY_SUFFIX.get(suffix) if order_id and slash else None
    return (route, order_id) if route is not None else None


def _json_content(content_type: bytes | None) -> bool:
    """Whether the body is plainly JSON (FastAPI reads no body as JSON without the header)."""
    if content_type is None:
        return False
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json"


def parse_body(route: HotRoute, body: bytes, content_type: bytes | None) -> Any:
    """The route's body, or `...` if only the app's own parsing may answer (e.g. with 422)."""
    if route.body is None and not body:
        return None
    if not _json_content(content_type):
        return ...
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ...
    if route.body is None:
        return data if isinstance(data, dict) else ...
    try:
        return route.body.model_validate(data)
    except ValidationError:
        return ...


class HotRoutes:
    """The ASGI layer (see the module's text)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = (
            match(scope["path"])
            if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path")
            else None
        )
        if found is None:
            await self.app(scope, receive, send)
            return
        route, order_id = found
        headers = dict(reversed(scope["headers"]))  # (the first of a repeated header, as Starlette)
        rt: Runtime = scope["app"].state.runtime
        token = bearer_token(headers.get(b"authorization", b"").decode("latin-1"))
        actor = cached_actor(rt, token) if token and b"idempotency-key" not in headers else None
        if actor is None:
            await self.app(scope, receive, send)
            return
        limits: ApiLimits | None = getattr(scope["app"].state, "api_limits", None)
        wait = limits.tokens.take(actor.user_id) if limits is not None else None
        if wait is not None:  # (the app's own limit, taken here instead of there)
            await rate_limited_response(wait)(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state[RATE_TAKEN] = True  # (a body left to the app: not twice)
        state["actor"] = actor  # (the app's get_actor and the request's log line take it)
        body, disconnected = await _read_body(receive)
        if disconnected:  # nobody is left to answer
            return
        parsed = parse_body(route, body, headers.get(b"content-type"))
        if parsed is ...:
            await self.app(scope, _replay(body, receive), send)
            return
        state[ROUTE_TEMPLATE] = route.template  # (answered here: no FastAPI route in the scope)
        try:  # (after the body, as FastAPI: a body that is not JSON is a 422 before a 403)
            require_role(actor, route.action)
            response = await anyio.to_thread.run_sync(route.run, rt, actor, order_id, parsed)
        except DomainError as exc:
            response = domain_problem(exc)
        await response(scope, receive, send)


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The whole request body, and whether the client went away first."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks), True
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the body already read, then whatever the client sends next."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def again() -> Message:
        return pending.pop() if pending else await receive()

    return again
