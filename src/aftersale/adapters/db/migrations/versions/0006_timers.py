"""timers that protect both sides, order lines, dispute rounds (DOMAIN.md rules 10–15)

orders get the seller's processing time (`ship_by_days`, `ship_by`) and the promised delivery
time (`delivery_days`, `protection_ends_at`, `protection_extensions`); refunds a staff `note`;
returns a `receive_by`; disputes `rounds`, `decide_by`, `closed_reason` and `history`.

Orders already in the database are brought under the new timers, so that none of them waits
forever: a paid order not yet shipped gets `ship_by` = paid_at + 7 days and its ship-by
deadline; a shipped one `protection_ends_at` = shipped_at + 60 days and its protection
deadline; a return in transit `receive_by` = its shipment + 15 days and its deadline; an
escalated dispute `decide_by` = escalated_at + 7 days; a dispute the seller has answered
counts one round. Times are computed in SQL on both engines (on SQLite the stored text keeps
its fractional seconds), so a large database migrates in a few statements.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ORDER_COLUMNS = (
    ("ship_by_days", sa.Integer(), "7"),
    ("delivery_days", sa.Integer(), "60"),
    ("protection_extensions", sa.Integer(), "0"),
)


def _plus_days(column: str, days: str) -> str:
    """SQL for `column` + `days` days (an integer expression), on this engine."""
    if op.get_bind().dialect.name == "postgresql":
        return f"{column} + make_interval(days => {days})"
    # SQLite stores 'YYYY-MM-DD HH:MM:SS.ffffff': shift the first 19 characters, keep the rest
    return f"strftime('%Y-%m-%d %H:%M:%S', {column}, '+' || ({days}) || ' days') || substr({column}, 20)"


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        for name, kind, default in ORDER_COLUMNS:
            batch_op.add_column(sa.Column(name, kind, nullable=False, server_default=default))
        batch_op.add_column(sa.Column("ship_by", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("protection_ends_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("note", sa.String(length=500), nullable=True))
    with op.batch_alter_table("returns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("receive_by", sa.DateTime(), nullable=True))
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rounds", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("decide_by", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("closed_reason", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column("history", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
    _bring_under_timers()


def _bring_under_timers() -> None:
    paid = "status IN ('awaiting_fulfillment', 'awaiting_shipment') AND paid_at IS NOT NULL"
    op.execute(f"UPDATE orders SET ship_by = {_plus_days('paid_at', 'ship_by_days')} WHERE {paid}")
    shipped = "status = 'shipped' AND shipped_at IS NOT NULL"
    op.execute(
        f"UPDATE orders SET protection_ends_at = {_plus_days('shipped_at', 'delivery_days')} "
        f"WHERE {shipped}"
    )
    op.execute(
        f"UPDATE returns SET receive_by = {_plus_days('shipped_at', '15')} "
        "WHERE status = 'in_transit' AND shipped_at IS NOT NULL"
    )
    op.execute(
        f"UPDATE disputes SET decide_by = {_plus_days('escalated_at', '7')} "
        "WHERE escalated_at IS NOT NULL"
    )
    op.execute("UPDATE disputes SET rounds = 1 WHERE seller_response IS NOT NULL")
    for kind, table, due, where in (
        ("ship_timeout", "orders", "ship_by", "ship_by IS NOT NULL"),
        ("protection_end", "orders", "protection_ends_at", "protection_ends_at IS NOT NULL"),
        ("return_receive_timeout", "returns", "receive_by", "receive_by IS NOT NULL"),
    ):
        order_id = "id" if table == "orders" else "order_id"
        op.execute(
            "INSERT INTO deadlines (kind, order_id, subject_id, due_at, attempts) "
            f"SELECT '{kind}', {order_id}, id, {due}, 0 FROM {table} WHERE {where}"
        )


def downgrade() -> None:
    op.execute(
        "DELETE FROM deadlines WHERE kind IN "
        "('ship_timeout', 'protection_end', 'return_receive_timeout') AND fired_at IS NULL"
    )
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        for name in ("history", "closed_reason", "decide_by", "rounds"):
            batch_op.drop_column(name)
    with op.batch_alter_table("returns", schema=None) as batch_op:
        batch_op.drop_column("receive_by")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_column("note")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        for name in ("protection_ends_at", "ship_by", *(n for n, _, _ in ORDER_COLUMNS)):
            batch_op.drop_column(name)
