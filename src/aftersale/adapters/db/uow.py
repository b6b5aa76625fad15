"""The unit of work: one transaction; leaving it without commit() rolls back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from aftersale.adapters.db.auth_repo import SqlAuthRepository
from aftersale.adapters.db.evidence_repo import SqlEvidenceRepository
from aftersale.adapters.db.notify_repo import SqlNotifyRepository
from aftersale.adapters.db.orders_repo import SqlOrderRepository
from aftersale.adapters.db.repos import (
    SqlClockStore,
    SqlDeadlineRepository,
    SqlIdempotencyStore,
    SqlMessageRepository,
    SqlUserRepository,
)
from aftersale.adapters.db.seller_repo import (
    SqlPageQueries,
    SqlReadRepository,
    SqlReturnAddressRepository,
)
from aftersale.adapters.db.stats_repo import SqlStatsRepository
from aftersale.domain.errors import ConcurrentModification


class SqlUnitOfWork:
    """A transaction with the repositories bound to it."""

    def __init__(self, engine: Engine, *, readonly: bool = False) -> None:
        self.engine = engine
        self.readonly = readonly
        self.sqlite = engine.dialect.name == "sqlite"  # (parsing the URL was 40 µs a request)
        self.conn: Connection

    def __enter__(self) -> SqlUnitOfWork:
        conn = self.engine.connect()
        if self.sqlite and self.readonly:
            conn = conn.execution_options(sqlite_begin="DEFERRED")
        self.conn = conn
        self.conn.begin()
        pg = not self.sqlite
        self.orders = SqlOrderRepository(conn, locking=pg, readonly=self.readonly)
        self.users = SqlUserRepository(conn)
        self.messages = SqlMessageRepository(conn)
        self.deadlines = SqlDeadlineRepository(conn, skip_locked=pg)
        self.idempotency = SqlIdempotencyStore(conn)
        self.clock = SqlClockStore(conn)
        self.evidence = SqlEvidenceRepository(conn)
        self.stats = SqlStatsRepository(conn)
        self.notify = SqlNotifyRepository(conn, skip_locked=pg)
        self.return_addresses = SqlReturnAddressRepository(conn)
        self.reads = SqlReadRepository(conn)
        self.page_queries = SqlPageQueries(conn)
        self.auth = SqlAuthRepository(conn)  # web sessions, login attempts
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self.conn.in_transaction():
                self.conn.rollback()
        finally:
            self.conn.close()

    def commit(self) -> None:
        """Make the transaction's changes permanent."""
        try:
            self.conn.commit()
        except (IntegrityError, OperationalError) as exc:
            raise ConcurrentModification(f"the change conflicted with another: {exc.orig}") from exc

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: an error inside undoes only what happened inside."""
        nested = self.conn.begin_nested()
        try:
            yield
        except BaseException:
            if nested.is_active:
                nested.rollback()
            raise
        else:
            nested.commit()
