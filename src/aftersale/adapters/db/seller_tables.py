"""Tables of issue 18: sellers' return addresses and who has read an order's thread how far."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, String, Table

from aftersale.adapters.db.tables import Id, metadata
from aftersale.adapters.db.types import UTCDateTime

return_addresses = Table(
    "return_addresses",
    metadata,
    Column("seller_id", Id, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("line1", String(200), nullable=False),
    Column("line2", String(200)),
    Column("city", String(100), nullable=False),
    Column("region", String(100)),
    Column("postal_code", String(20), nullable=False),
    Column("country", String(2), nullable=False),
    Column("phone", String(40)),
    Column("updated_at", UTCDateTime, nullable=False),
)

message_reads = Table(
    "message_reads",
    metadata,
    Column("user_id", Id, primary_key=True),
    Column("order_id", Id, primary_key=True),
    Column("last_seq", BigInteger, nullable=False),
    Column("read_at", UTCDateTime, nullable=False),
    Index("ix_message_reads_order", "order_id"),
)
