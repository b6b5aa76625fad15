"""The OpenAPI document as the contract: every error status a route answers with the
problem+json schema and its codes, a bearer security scheme, `Idempotency-Key` on POSTs and
the request limits the domain enforces as schema constraints (API.md; issue 17 point 10)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from aftersale.domain.countries import ISO_3166_ALPHA2
from aftersale.domain.entities import OrderStatus
from aftersale.domain.money import MINOR_UNITS
from aftersale.domain.reasons import CANCELLATION_REASONS, DISPUTE_REASONS, RETURN_REASONS
from aftersale.entrypoints.api import models
from aftersale.services.deliveries import DELIVERY_STATUSES
from aftersale.services.notify_plan import EVENT_TYPES

PROBLEM = "application/problem+json"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA: dict[str, Any] = models.Problem.model_json_schema(
    ref_template="#/components/schemas/{model}"
)
# The codes each status carries (API.md, "Errors"); 409 is every rule's refusal of a state.
CODES: dict[int, tuple[str, ...]] = {
    400: ("invalid_signature", "http_error"),
    401: ("unauthorized",),
    403: ("forbidden",),
    404: ("not_found", "return_address_missing"),
    409: (
        "invalid_state",
        "concurrent_modification",
        "dispute_rounds_exhausted",
        "idempotency_in_progress",
        "idempotency_secret_not_replayable",
        "dispute_limit_reached",
        "dispute_window_closed",
    ),
    413: ("payload_too_large",),
    422: (
        "validation_error",
        "invalid_cursor",
        "payment_amount_mismatch",
        "payment_not_found",
        "refund_exceeds_paid",
        "idempotency_key_reused",
    ),
    429: ("rate_limited",),
    503: ("database_unavailable", "not_ready"),
}
DESCRIPTIONS = {
    400: "Bad request",
    401: "No valid bearer token",
    403: "The caller's role may not do this",
    404: "No such resource visible to the caller",
    409: "The resource's state refuses the change (each rule has its code; API.md), e.g.",
    413: "The request body is over the limit",
    422: "The request is malformed or breaks a rule on its values",
    429: "Too many requests",
    503: "The database is unavailable (retry after `Retry-After` seconds)",
}
RETRY_HEADER = {
    "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer", "minimum": 0}}
}
UNAUTHENTICATED = {"/healthz", "/readyz", "/api/v1/gateways/stripe/events"}
IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Replays the first answer to a repeat of the same request (24 h)",
    "schema": {"type": "string", "maxLength": 255, "pattern": "^[ -~]*$"},  # ("": none)
}
# Text the domain strips, then measures: at least one non-space character, no NUL byte.
TEXT_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"


def _text(max_len: int) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_len, "pattern": TEXT_PATTERN}


def _enum(values: Any) -> dict[str, Any]:
    return {"type": "string", "enum": sorted(values)}


EVENTS = {"type": "array", "minItems": 1, "items": _enum(EVENT_TYPES)}
# Request fields: (schema, field) -> the constraint the domain checks (domain/*.py, services/).
LIMITS: dict[tuple[str, str], dict[str, Any]] = {
    ("NewUser", "email"): {
        "type": "string",
        "maxLength": 320,
        "pattern": r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$",
    },
    ("NewUser", "name"): _text(200),
    ("NewUser", "password"): {"type": "string", "minLength": 8, "maxLength": 200},
    ("NewUser", "country"): _enum(ISO_3166_ALPHA2),
    ("NewUser", "language"): _enum(["en", "es"]),
    ("Item", "sku"): _text(100),
    ("Item", "title"): _text(300),
    ("NewOrder", "currency"): _enum(MINOR_UNITS),
    ("NewOrder", "ship_by_days"): {"type": "integer", "minimum": 1, "maximum": 30},
    ("NewOrder", "delivery_days"): {"type": "integer", "minimum": 1, "maximum": 90},
    ("Payment", "reference"): _text(200),
    ("Shipment", "carrier"): _text(100),
    ("Shipment", "tracking_number"): _text(100),
    ("CancelBody", "reason"): _enum(CANCELLATION_REASONS),
    ("CancelBody", "comment"): _text(1000),
    ("ReasonBody", "reason"): _text(500),
    ("SellerCancel", "reason"): _text(500),
    ("ReturnLine", "sku"): _text(100),
    ("ExtendProtection", "days"): {"type": "integer", "minimum": 1, "maximum": 30},
    ("GoodwillRefund", "reason"): _text(500),
    ("ModifyDispute", "description"): _text(2000),
    ("NewReturn", "reason"): _enum(RETURN_REASONS),
    ("NewReturn", "description"): _text(2000),
    ("Inspection", "notes"): _text(2000),
    ("NewDispute", "reason"): _enum(DISPUTE_REASONS),
    ("NewDispute", "description"): _text(2000),
    ("Resolution", "note"): _text(2000),
    ("MessageBody", "body"): _text(2000),
    ("NewEndpoint", "url"): {
        "type": "string",
        "maxLength": 2000,
        "pattern": r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[!-~]*)?$",
    },
    ("NewEndpoint", "events"): EVENTS,
    ("EndpointChange", "events"): EVENTS,
    ("NewEndpoint", "description"): {"type": "string", "maxLength": 500},
    ("EndpointChange", "url"): {
        "nullable": False,
        "type": "string",
        "maxLength": 2000,
        "pattern": r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[!-~]*)?$",
    },
    ("EndpointChange", "status"): {**_enum(["enabled", "disabled"]), "nullable": False},
    ("EndpointChange", "description"): {"type": "string", "maxLength": 500},
    # services/return_address.FIELDS and its checks
    ("ReturnAddressBody", "name"): _text(200),
    ("ReturnAddressBody", "line1"): _text(200),
    ("ReturnAddressBody", "line2"): {"type": "string", "maxLength": 200, "pattern": "^[^\x00]*$"},
    ("ReturnAddressBody", "city"): _text(100),
    ("ReturnAddressBody", "region"): {"type": "string", "maxLength": 100, "pattern": "^[^\x00]*$"},
    ("ReturnAddressBody", "postal_code"): {
        "type": "string",
        "maxLength": 20,
        "pattern": "^[A-Za-z0-9 -]*[A-Za-z0-9][A-Za-z0-9 -]*$",
    },
    ("ReturnAddressBody", "country"): _enum(ISO_3166_ALPHA2),
    ("ReturnAddressBody", "phone"): {
        "type": "string",
        "maxLength": 40,
        "pattern": "^[0-9 +().-]*$",
    },
}
# Request fields the service requires, though the model lets them be absent (to name the field
# and the reason in its own 422).
REQUIRED: dict[str, tuple[str, ...]] = {
    "ReturnAddressBody": ("name", "line1", "city", "postal_code", "country"),
}
QUERY_LIMITS: dict[str, dict[str, Any]] = {
    "status": _enum(OrderStatus),
    "/api/v1/webhook-endpoints/{endpoint_id}/deliveries status": _enum(DELIVERY_STATUSES),
    "limit": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
    "cursor": {"type": "string", "maxLength": 1024, "pattern": "^[A-Za-z0-9_=-]*$"},  # ("": none)
}


def _problem(status: int) -> dict[str, Any]:
    codes = ", ".join(f"`{c}`" for c in CODES[status])
    answer: dict[str, Any] = {
        "description": f"{DESCRIPTIONS[status]}: {codes}",
        "content": {PROBLEM: {"schema": PROBLEM_REF}},
    }
    if status in (429, 503):
        answer["headers"] = RETRY_HEADER
    if status == 401:
        answer["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    return answer


def error_statuses(path: str, method: str, op: dict[str, Any]) -> list[int]:
    """The error statuses an operation can answer."""
    writes = method in ("post", "put", "patch", "delete")
    statuses = [] if path == "/healthz" else [503]
    if path == "/api/v1/sellers/me/return-address" and method == "get":
        statuses.append(404)  # return_address_missing, until the seller sets one
    if path.endswith("/evidence") and method == "post":
        statuses.append(400)  # a multipart body that does not parse
    if path == "/api/v1/gateways/stripe/events":
        return [400, 413, 503]
    if path not in UNAUTHENTICATED:
        statuses += [401, 403, 429]
        if "{" in path:
            statuses.append(404)
        if writes:
            statuses += [409, 422]
        if op.get("parameters") or op.get("requestBody"):
            statuses.append(422)
    if method in ("post", "put", "patch"):
        statuses.append(413)
    return sorted(set(statuses))


def _narrow(schema: dict[str, Any], limit: dict[str, Any]) -> None:
    """Put a limit on a property schema (keeping its nullability)."""
    limit = dict(limit)
    if "anyOf" in schema and limit.pop("nullable", True):
        for option in schema["anyOf"]:
            if option.get("type") != "null":
                option.clear()
                option.update(limit)
        return
    title, description = schema.get("title"), schema.get("description")
    schema.clear()
    schema.update(limit)
    if title:
        schema["title"] = title
    if description:
        schema["description"] = description


def _limit_schemas(schemas: dict[str, Any]) -> None:
    for (name, field), limit in LIMITS.items():
        prop = schemas.get(name, {}).get("properties", {}).get(field)
        if prop is None:
            raise LookupError(f"no {name}.{field} in the schema: update contract.LIMITS")
        _narrow(prop, limit)
    for name, fields in REQUIRED.items():
        schema = schemas[name]
        schema["required"] = sorted({*schema.get("required", ()), *fields})
        for field in fields:  # (present, then not null)
            prop = schema["properties"][field]
            options = [o for o in prop.pop("anyOf", ()) if o.get("type") != "null"]
            prop.update(options[0] if options else {})


def _operation(path: str, method: str, op: dict[str, Any]) -> None:
    responses = op.setdefault("responses", {})
    responses.pop("422", None)
    shaped = [r["content"] for k, r in responses.items() if k.startswith("2") and "content" in r]
    for status, answer in responses.items():
        if status.startswith("2") and status != "204" and "content" not in answer and shaped:
            answer["content"] = shaped[0]  # e.g. the 202 of a requested cancellation
    for param in op.get("parameters", []):
        if param["in"] == "query":
            limit = QUERY_LIMITS.get(f"{path} {param['name']}") or QUERY_LIMITS.get(param["name"])
            if limit is not None:
                _narrow(param["schema"], limit)
        if param["in"] == "path":
            param["schema"] = {"type": "string", "minLength": 1, "maxLength": 64}
    for status in error_statuses(path, method, op):
        responses[str(status)] = _problem(status)
    if path not in UNAUTHENTICATED:
        op["security"] = [{"bearer": []}]
    if method == "post" and path.startswith("/api/v1/") and path not in UNAUTHENTICATED:
        op.setdefault("parameters", []).append(IDEMPOTENCY_KEY)


# Stateful links: an answer of this schema names the id of that path parameter.
LINKED: dict[str, dict[str, str]] = {
    "Order": {"order_id": "$response.body#/id", "refund_id": "$response.body#/refunds/0/id"},
    "Return": {"return_id": "$response.body#/id"},
    "Dispute": {"dispute_id": "$response.body#/id"},
    "Refund": {"refund_id": "$response.body#/id"},
    "Endpoint": {"endpoint_id": "$response.body#/id"},
    "Evidence": {"evidence_id": "$response.body#/id"},
}


def _links(paths: dict[str, Any]) -> None:
    """Link each answer that names a resource to the operations taking its id."""
    takers = [
        (path, method, op, [p["name"] for p in op.get("parameters", []) if p["in"] == "path"])
        for path, item in paths.items()
        for method, op in item.items()
    ]
    for item in paths.values():
        for op in item.values():
            for status, answer in op["responses"].items():
                schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
                name = schema.get("$ref", "").rsplit("/", 1)[-1]
                if not status.startswith("2") or name not in LINKED:
                    continue
                links = {}
                for path, method, other, names in takers:
                    if len(names) == 1 and names[0] in LINKED[name]:
                        link_id = (
                            f"{method}{path}".replace("/", "_").replace("{", "").replace("}", "")
                        )
                        links[link_id] = {
                            "operationId": other["operationId"],
                            "parameters": {names[0]: LINKED[name][names[0]]},
                        }
                if links:
                    answer["links"] = links


def build(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document, typed as the contract."""
    doc = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    problem = dict(PROBLEM_SCHEMA)
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    _limit_schemas(schemas)
    components["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "description": "A user's API token"}
    }
    for path, item in doc["paths"].items():
        for method, op in item.items():
            _operation(path, method, op)
    _links(doc["paths"])
    return doc


def install(app: FastAPI) -> None:
    """Serve the contract at /openapi.json (built once, on first use)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
