"""The OpenAPI document is the typed contract (issue 17 point 10): every 2xx has a schema,
every error status is problem+json with its codes, 422 is ours (not FastAPI's shape), the
bearer scheme and Idempotency-Key are declared, the domain's limits are schema constraints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aftersale.entrypoints.api.app import create_app
from tests.conftest import test_settings as settings_for

NO_BODY = {("delete", "/api/v1/webhook-endpoints/{endpoint_id}")}
BINARY = {("get", "/api/v1/evidence/{evidence_id}/content")}
PUBLIC = {"/healthz", "/readyz", "/api/v1/gateways/stripe/events"}


@pytest.fixture(scope="module")
def doc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp: Path = tmp_path_factory.mktemp("contract")
    app = create_app(settings_for(f"sqlite:///{tmp / 'c.db'}", tmp))
    return app.openapi()


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for p, item in doc["paths"].items() for m, op in item.items()]


def test_every_success_has_a_schema(doc: dict[str, Any]) -> None:
    assert len(operations(doc)) >= 56
    for method, path, op in operations(doc):
        ok = {s: r for s, r in op["responses"].items() if s.startswith("2")}
        assert ok, (method, path)
        for status, answer in ok.items():
            if (method, path) in NO_BODY:
                assert status == "204"
                continue
            media = "application/octet-stream" if (method, path) in BINARY else "application/json"
            schema = answer["content"][media].get("schema")
            assert media != "application/json" or schema, (method, path, status)
            assert schema != {}, (method, path, status)


def test_every_error_is_problem_json(doc: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    assert set(doc["components"]["schemas"]["Problem"]["required"]) >= {
        "type",
        "title",
        "status",
        "detail",
        "code",
    }
    for method, path, op in operations(doc):
        errors = {s: r for s, r in op["responses"].items() if not s.startswith("2")}
        for status, answer in errors.items():
            schema = answer["content"]["application/problem+json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Problem"}, (method, path, status)
            assert "`" in answer["description"], (method, path, status)  # its codes
        if path not in PUBLIC:
            assert {"401", "403", "429", "503"} <= set(errors), (method, path)
            assert op["security"] == [{"bearer": []}]
        if "{" in path and path not in PUBLIC:
            assert "404" in errors, (method, path)
        if method in ("post", "patch"):
            assert "413" in errors, (method, path)
        if method == "post" and path not in PUBLIC:
            names = [p["name"] for p in op["parameters"]]
            assert "Idempotency-Key" in names, path
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_limits_are_schema_constraints(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    title = schemas["Item"]["properties"]["title"]
    assert title["maxLength"] == 300 and "pattern" in title
    assert schemas["Item"]["properties"]["quantity"]["maximum"] == 100_000
    assert "pattern" in schemas["Item"]["properties"]["unit_price"]
    assert "ZZ" not in schemas["NewUser"]["properties"]["country"]["anyOf"][0]["enum"]
    assert "changed_mind" in schemas["CancelBody"]["properties"]["reason"]["enum"]
    limit = next(
        p for p in doc["paths"]["/api/v1/orders"]["get"]["parameters"] if p["name"] == "limit"
    )
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 200)
