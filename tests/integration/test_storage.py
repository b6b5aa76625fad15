"""How PostgreSQL stores orders: room on each page, so an update of unindexed columns (a new
version, an amount) is a heap-only tuple and touches none of the table's indexes."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from aftersale.entrypoints.api.app import create_app
from tests import conftest
from tests.client import Api


def test_an_order_update_that_changes_no_indexed_column_touches_no_index(
    pg_only_url: str, tmp_path: Path
) -> None:
    with TestClient(create_app(conftest.test_settings(pg_only_url, tmp_path))) as http:
        api = Api(http)  # type: ignore[arg-type]
        order = api.paid_order(api.user("buyer"), api.user("seller"))
    engine = create_engine(pg_only_url)
    with engine.begin() as conn:
        options = conn.execute(text("SELECT reloptions FROM pg_class WHERE relname = 'orders'"))
        assert options.scalar_one() == ["fillfactor=80"]
        conn.execute(
            text("UPDATE orders SET version = version + 1 WHERE id = :id"), {"id": order["id"]}
        )
        counts = conn.execute(
            text(
                "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables "
                "WHERE relname = 'orders'"
            )
        ).one()
        assert tuple(counts) == (1, 1)  # one update, and it was HOT
    engine.dispose()
