"""orders: fillfactor 80 on PostgreSQL, so an update that changes no indexed column is HOT

An order row is updated at every step of its life, and many updates change only unindexed
columns (version, updated_at, owned, amounts): a cancellation request, a refund submission, a
settlement. With full pages (fillfactor 100, PostgreSQL's default) such an update cannot stay
on its page, so it adds an entry to every one of the table's 8 indexes and, after each
checkpoint, a full-page image of each index page to the WAL. With a fifth of each page left
free the new row version stays on the page (a heap-only tuple) and no index is touched.
Pages written before this migration keep no free space until they are rewritten.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE orders SET (fillfactor = 80)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE orders RESET (fillfactor)")
