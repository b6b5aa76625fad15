"""Return addresses, message read marks (tables of migration 0010) and My Orders' list of
orders with a refund, return or dispute."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from aftersale.adapters.db import tables as t
from aftersale.adapters.db.orders_repo import decode_cursor, encode_cursor
from aftersale.adapters.db.seller_tables import message_reads, return_addresses
from aftersale.services.reads import Unread
from aftersale.services.return_address import ReturnAddress


class SqlReturnAddressRepository:
    """One return address per seller."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, seller_id: str) -> ReturnAddress | None:
        """The seller's address, if set."""
        row = (
            self.conn.execute(
                select(return_addresses).where(return_addresses.c.seller_id == seller_id)
            )
            .mappings()
            .first()
        )
        return ReturnAddress(**row) if row else None

    def put(self, address: ReturnAddress) -> None:
        """Insert or replace the seller's address."""
        values = asdict(address)
        done = self.conn.execute(
            update(return_addresses)
            .where(return_addresses.c.seller_id == address.seller_id)
            .values(**values)
        )
        if done.rowcount == 0:
            self.conn.execute(insert(return_addresses).values(**values))


class SqlReadRepository:
    """How far each user has read each order's thread, and what is unread."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def mark_read(self, user_id: str, order_id: str, now: datetime) -> None:
        """The user has read the order's thread up to its latest message."""
        m, r = t.messages.c, message_reads.c
        last = self.conn.execute(
            select(func.coalesce(func.max(m.seq), 0)).where(m.order_id == order_id)
        ).scalar_one()
        key = and_(r.user_id == user_id, r.order_id == order_id)
        row = self.conn.execute(select(r.last_seq).where(key)).first()
        if row is not None and row[0] >= last:
            return
        if row is not None:
            self.conn.execute(update(message_reads).where(key).values(last_seq=last, read_at=now))
        else:
            self.conn.execute(
                insert(message_reads).values(
                    user_id=user_id, order_id=order_id, last_seq=last, read_at=now
                )
            )

    def unread(self, user_id: str, *, limit: int) -> list[Unread]:
        """The user's orders with messages from others not read yet, latest message first."""
        m, o, r = t.messages.c, t.orders.c, message_reads.c
        joined = t.messages.join(t.orders, o.id == m.order_id).outerjoin(
            message_reads, and_(r.order_id == m.order_id, r.user_id == user_id)
        )
        query: Any = (
            select(m.order_id, func.count().label("n"), func.max(m.at).label("last_at"))
            .select_from(joined)
            .where(
                or_(o.buyer_id == user_id, o.seller_id == user_id),
                m.author_id != user_id,
                m.seq > func.coalesce(r.last_seq, 0),
            )
            .group_by(m.order_id)
            .order_by(func.max(m.at).desc())
            .limit(limit)
        )
        return [Unread(row.order_id, int(row.n), row.last_at) for row in self.conn.execute(query)]


class SqlPageQueries:
    """Lists the pages need that the order repository does not keep."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def aftersale_page(
        self, buyer_id: str, *, cursor: str | None, limit: int
    ) -> tuple[list[str], str | None]:
        """Ids of the buyer's orders with a refund, return or dispute, newest first, a page."""
        o = t.orders.c
        touched = or_(
            *(
                select(table.c.order_id).where(table.c.order_id == o.id).exists()
                for table in (t.refunds, t.returns, t.disputes)
            )
        )
        query: Any = select(o.id, o.created_at, o.seq).where(o.buyer_id == buyer_id, touched)
        if cursor:
            at, seq = decode_cursor(cursor)
            query = query.where(or_(o.created_at < at, and_(o.created_at == at, o.seq < seq)))
        rows = list(
            self.conn.execute(query.order_by(o.created_at.desc(), o.seq.desc()).limit(limit + 1))
        )
        more = len(rows) > limit
        rows = rows[:limit]
        nxt = encode_cursor(rows[-1].created_at, rows[-1].seq) if more and rows else None
        return [str(r.id) for r in rows], nxt
