"""GET/PUT /api/v1/sellers/me/return-address on SQLite and PostgreSQL; tables of migration 0010."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from aftersale.adapters.db.migrate import migrate
from aftersale.adapters.db.tables import metadata
from tests.client import Api

PATH = "/sellers/me/return-address"
GOOD: dict[str, Any] = {
    "name": "Acme Returns",
    "line1": " 12 Harbour Road ",
    "city": "Valencia",
    "postal_code": "46001",
    "country": "es",
    "phone": "+34 600 000 000",
}


def _put(api: Api, party: Any, body: Any) -> Any:
    return api.request("PUT", PATH, as_=party, json=body)


def test_a_seller_sets_reads_and_resets_the_return_address(api: Api) -> None:
    seller = api.user("seller")
    api.problem(api.get(PATH, as_=seller), 404, "return_address_missing")
    first = api.ok(_put(api, seller, GOOD))
    assert (first["line1"], first["country"], first["line2"]) == ("12 Harbour Road", "ES", None)
    assert api.ok(api.get(PATH, as_=seller)) == first
    api.advance(60)
    again = api.ok(_put(api, seller, GOOD))  # idempotent: the same body changes nothing
    assert again == first
    moved = api.ok(_put(api, seller, {**GOOD, "city": "Madrid", "postal_code": "28001"}))
    assert (moved["city"], moved["postal_code"]) == ("Madrid", "28001")
    assert moved["updated_at"] > first["updated_at"]
    other = api.user("seller")
    api.problem(api.get(PATH, as_=other), 404, "return_address_missing")  # one per seller


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"city": "  "}, "city", "required"),
        ({"line1": None}, "line1", "required"),
        ({"country": "XX"}, "country", "invalid_country"),
        ({"postal_code": "46001; DROP"}, "postal_code", "invalid_postal_code"),
        ({"phone": "call me"}, "phone", "invalid_phone"),
        ({"name": "n" * 201}, "name", "too_long"),
    ],
)
def test_a_bad_address_is_refused_with_its_field_and_changes_nothing(
    api: Api, change: dict[str, Any], field: str, reason: str
) -> None:
    seller = api.user("seller")
    before = api.ok(_put(api, seller, GOOD))
    body = api.problem(_put(api, seller, {**GOOD, **change}), 422, "validation_error")
    assert body["field"] == field
    assert body["errors"][0]["code"] == reason
    assert api.ok(api.get(PATH, as_=seller)) == before


def test_openapi_describes_the_return_address_with_its_response_model(api: Api) -> None:
    spec = api.http.get("/openapi.json").json()
    route = spec["paths"]["/api/v1/sellers/me/return-address"]
    assert set(route) == {"get", "put"}
    ref = route["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert "postal_code" in spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]["properties"]


def test_only_a_seller_has_a_return_address(api: Api) -> None:
    buyer = api.user("buyer")
    api.problem(_put(api, buyer, GOOD), 403, "forbidden")
    api.problem(api.get(PATH, as_=buyer), 403, "forbidden")
    api.problem(api.get(PATH, as_=None), 401, "unauthorized")
    seller = api.user("seller")
    api.problem(_put(api, seller, {**GOOD, "city": 5}), 422, "validation_error")
    api.problem(api.get(PATH, as_=seller), 404, "return_address_missing")


def test_the_migrated_tables_of_0010_match_the_declared_schema(db_url: str) -> None:
    engine = create_engine(db_url)
    migrate(engine)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    ours = ("return_addresses", "message_reads")
    assert [d for d in diffs if any(f"'{name}'" in repr(d) for name in ours)] == []
