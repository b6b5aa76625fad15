"""deadlines: the due index covers (due_at, seq), the order the worker claims in

With the index on due_at alone, deadlines sharing one due time (a wave of 72-hour timeouts, a
batch's refund submissions) had to be sorted in full on every claim: measured at 100,000 due
cancellations, the claim became a sort of every unfired deadline per batch of 500.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UNFIRED = sa.text("fired_at IS NULL")


def upgrade() -> None:
    op.drop_index("ix_deadlines_due", table_name="deadlines")
    op.create_index(
        "ix_deadlines_due",
        "deadlines",
        ["due_at", "seq"],
        postgresql_where=UNFIRED,
        sqlite_where=UNFIRED,
    )


def downgrade() -> None:
    op.drop_index("ix_deadlines_due", table_name="deadlines")
    op.create_index(
        "ix_deadlines_due", "deadlines", ["due_at"], postgresql_where=UNFIRED, sqlite_where=UNFIRED
    )
