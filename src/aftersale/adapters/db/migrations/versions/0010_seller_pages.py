"""return_addresses (a seller's address for returns) and message_reads (how far each user has
read an order's message thread, for the unread marks)

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "return_addresses",
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("line1", sa.String(length=200), nullable=False),
        sa.Column("line2", sa.String(length=200), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("postal_code", sa.String(length=20), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seller_id", name=op.f("pk_return_addresses")),
    )
    op.create_table(
        "message_reads",
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "order_id", name=op.f("pk_message_reads")),
    )
    with op.batch_alter_table("message_reads", schema=None) as batch_op:
        batch_op.create_index("ix_message_reads_order", ["order_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("message_reads", schema=None) as batch_op:
        batch_op.drop_index("ix_message_reads_order")
    op.drop_table("message_reads")
    op.drop_table("return_addresses")
