"""The notification tables made by migration 0007 are the ones tables.py declares."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from aftersale.adapters.db.migrate import migrate
from aftersale.adapters.db.notify_tables import mail, webhook_deliveries, webhook_endpoints
from aftersale.adapters.db.tables import metadata

OURS = {webhook_endpoints.name, webhook_deliveries.name, mail.name}


def _touches_ours(diff: object) -> bool:
    text = repr(diff)
    return any(f"'{name}'" in text or f"Table('{name}'" in text for name in OURS)


def test_the_migrated_notification_tables_match_the_declared_schema(db_url: str) -> None:
    engine = create_engine(db_url)
    migrate(engine)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert [d for d in diffs if _touches_ours(d)] == []
