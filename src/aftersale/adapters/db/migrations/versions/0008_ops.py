"""users.disabled_at, users.credentials_changed_at: an operator can disable a user or give it a
new token, and every API process forgets its cached tokens within a second

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disabled_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("credentials_changed_at", sa.DateTime(), nullable=True))
        batch_op.create_index(
            "ix_users_credentials_changed", ["credentials_changed_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_credentials_changed")
        batch_op.drop_column("credentials_changed_at")
        batch_op.drop_column("disabled_at")
