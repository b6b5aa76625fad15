"""Repositories for users, messages, deadlines, idempotency keys and the test clock."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from aftersale.adapters.db import fast
from aftersale.adapters.db import tables as t
from aftersale.services.records import DueDeadline, MessageRecord, UserRecord


class SqlUserRepository:
    """Users, found by id, email or the hash of their API token."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _one(self, clause: Any) -> UserRecord | None:
        row = self.conn.execute(select(t.users).where(clause)).mappings().first()
        return UserRecord(**row) if row else None

    def get(self, user_id: str) -> UserRecord | None:
        """The user with that id."""
        return self._one(t.users.c.id == user_id)

    def by_email(self, email: str) -> UserRecord | None:
        """The user with that email (case-insensitive)."""
        return self._one(func.lower(t.users.c.email) == email.lower())

    def by_token_hash(self, token_hash: str) -> UserRecord | None:
        """The user whose API token hashes to this."""
        return self._one(t.users.c.token_hash == token_hash)

    def add(self, user: UserRecord) -> None:
        """Store a new user."""
        self.conn.execute(insert(t.users).values(**asdict(user)))

    def set_token_hash(self, user_id: str, token_hash: str, *, now: datetime | None = None) -> None:
        """Replace a user's API token (`now`: noted, so other processes forget the old one)."""
        values: dict[str, Any] = {"token_hash": token_hash}
        if now is not None:
            values["credentials_changed_at"] = now
        self.conn.execute(update(t.users).where(t.users.c.id == user_id).values(**values))

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        """Replace a user's password."""
        self.conn.execute(
            update(t.users).where(t.users.c.id == user_id).values(password_hash=password_hash)
        )

    def set_disabled(self, user_id: str, at: datetime | None, *, now: datetime) -> None:
        """Disable a user from a moment on (None: enable it again)."""
        query = update(t.users).where(t.users.c.id == user_id)
        self.conn.execute(query.values(disabled_at=at, credentials_changed_at=now))

    def credentials_stamp(self) -> datetime | None:
        """When any user was last disabled, enabled or re-keyed (one index probe)."""
        query = select(func.max(t.users.c.credentials_changed_at))
        return self.conn.execute(query).scalar_one()  # type: ignore[no-any-return]

    def listing(self, *, limit: int) -> list[UserRecord]:
        """Users, oldest first."""
        query = select(t.users).order_by(t.users.c.created_at, t.users.c.id).limit(limit)
        return [UserRecord(**row) for row in self.conn.execute(query).mappings()]

    def count(self) -> int:
        """How many users there are."""
        return int(self.conn.execute(select(func.count()).select_from(t.users)).scalar_one())


class SqlMessageRepository:
    """Order message threads, oldest first."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, msg: MessageRecord) -> None:
        """Store a message."""
        self.conn.execute(
            insert(t.messages).values(
                id=msg.id,
                order_id=msg.order_id,
                author_id=msg.author_id,
                author_role=msg.author_role,
                body=msg.body,
                at=msg.at,
            )
        )

    def page(
        self, order_id: str, *, after_seq: int, limit: int
    ) -> tuple[list[MessageRecord], int | None]:
        """Messages after a sequence number; returns the next cursor's sequence if any."""
        m = t.messages.c
        rows = list(
            self.conn.execute(
                select(t.messages)
                .where(m.order_id == order_id, m.seq > after_seq)
                .order_by(m.seq)
                .limit(limit + 1)
            ).mappings()
        )
        more = len(rows) > limit
        rows = rows[:limit]
        items = [MessageRecord(**{k: r[k] for k in MessageRecord.__slots__}) for r in rows]
        return items, (rows[-1]["seq"] if more else None)


class SqlDeadlineRepository:
    """Deadline rows: claimed with SKIP LOCKED on PostgreSQL, marked fired in the same txn."""

    def __init__(self, conn: Connection, *, skip_locked: bool) -> None:
        self.conn = conn
        self.skip_locked = skip_locked

    def next_due_at(self, until: datetime) -> datetime | None:
        """The earliest unfired due time at or before `until`."""
        d = t.deadlines.c
        value: datetime | None = self.conn.execute(
            select(d.due_at)
            .where(d.fired_at.is_(None), d.due_at <= until)
            .order_by(d.due_at)
            .limit(1)
        ).scalar_one_or_none()
        return value

    def claim(
        self, *, until: datetime, limit: int, exactly_at: datetime | None = None
    ) -> list[DueDeadline]:
        """Lock up to `limit` unfired deadlines due by `until` (or due exactly at a moment)."""
        shape = ("deadlines.claim", exactly_at is not None, self.skip_locked)
        values: dict[str, Any] = {"lim": limit, "skip": 0}
        if exactly_at is not None:
            values["at"] = exactly_at
        else:
            values["until"] = until
        found = fast.rows(self.conn, fast.compiled(self.conn, shape, self._claim(shape)), values)
        return [DueDeadline(**r) for r in found]

    def _claim(self, shape: tuple[str, bool, bool]) -> Any:
        _, exactly, skip_locked = shape

        def build() -> Any:
            d = t.deadlines.c
            query = select(d.seq, d.kind, d.order_id, d.subject_id, d.due_at, d.attempts)
            query = query.where(d.fired_at.is_(None))
            if exactly:
                query = query.where(d.due_at == bindparam("at", type_=d.due_at.type))
            else:
                query = query.where(d.due_at <= bindparam("until", type_=d.due_at.type))
            query = query.order_by(d.due_at, d.seq)
            # an explicit OFFSET 0: SQLite's compiler adds an anonymous one to a bound LIMIT
            query = query.limit(bindparam("lim")).offset(bindparam("skip"))
            return query.with_for_update(skip_locked=True) if skip_locked else query

        return build

    def mark_fired(self, seqs: list[int], at: datetime) -> None:
        """Record that these deadlines fired (only unfired rows are touched)."""
        if not seqs:
            return

        def build() -> Any:
            d = t.deadlines.c
            where = (fast.one_of(self.conn, d.seq, len(seqs)), d.fired_at.is_(None))
            return (
                update(t.deadlines)
                .where(*where)
                .values(fired_at=bindparam("at", type_=d.fired_at.type))
            )

        key = ("deadlines.fired", fast.width(self.conn, len(seqs)))
        statement = fast.compiled(self.conn, key, build)
        fast.execute(self.conn, statement, {**fast.among(self.conn, seqs), "at": at})

    def postpone(self, seq: int, *, error: str, retry_at: datetime) -> None:
        """Set a failing deadline aside to be tried again later."""
        self.conn.execute(
            update(t.deadlines)
            .where(t.deadlines.c.seq == seq)
            .values(due_at=retry_at, attempts=t.deadlines.c.attempts + 1, last_error=error[:2000])
        )

    def reschedule(self, seq: int, *, due_at: datetime) -> None:
        """Fire a deadline again at `due_at` (its rule is not done yet; not a failure)."""
        self.conn.execute(update(t.deadlines).where(t.deadlines.c.seq == seq).values(due_at=due_at))

    def pending_count(self) -> int:
        """How many deadlines have not fired."""
        return int(
            self.conn.execute(
                select(func.count())
                .select_from(t.deadlines)
                .where(t.deadlines.c.fired_at.is_(None))
            ).scalar_one()
        )


class SqlClockStore:
    """The shared test-clock time, so every process sees the same 'now'."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self) -> datetime | None:
        """The stored time, if set."""
        row = self.conn.execute(select(t.test_clock.c.now).where(t.test_clock.c.id == 1)).first()
        return row[0] if row else None

    def set(self, now: datetime) -> None:
        """Store the time."""
        if (
            self.conn.execute(
                update(t.test_clock).where(t.test_clock.c.id == 1).values(now=now)
            ).rowcount
            == 0
        ):
            self.conn.execute(insert(t.test_clock).values(id=1, now=now))


class SqlIdempotencyStore:
    """Stored answers to POSTs sent with an Idempotency-Key."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, user_id: str, key: str) -> dict[str, Any] | None:
        """The record for this caller's key."""
        k = t.idempotency_keys.c
        row = (
            self.conn.execute(select(t.idempotency_keys).where(k.user_id == user_id, k.key == key))
            .mappings()
            .first()
        )
        return dict(row) if row else None

    def claim(
        self, *, user_id: str, key: str, fingerprint: str, now: datetime, lock_for: timedelta
    ) -> None:
        """Insert an in-progress record (raises IntegrityError if the key exists)."""
        self.conn.execute(
            insert(t.idempotency_keys).values(
                user_id=user_id,
                key=key,
                fingerprint=fingerprint,
                done=False,
                created_at=now,
                locked_until=now + lock_for,
            )
        )

    def take_over(self, *, user_id: str, key: str, now: datetime, lock_for: timedelta) -> bool:
        """Re-claim an abandoned in-progress record whose lock expired."""
        k = t.idempotency_keys.c
        return bool(
            self.conn.execute(
                update(t.idempotency_keys)
                .where(k.user_id == user_id, k.key == key, k.done.is_(False), k.locked_until < now)
                .values(locked_until=now + lock_for)
            ).rowcount
        )

    def finish(
        self, *, user_id: str, key: str, status_code: int, body: bytes, content_type: str
    ) -> None:
        """Store the answer."""
        k = t.idempotency_keys.c
        self.conn.execute(
            update(t.idempotency_keys)
            .where(k.user_id == user_id, k.key == key)
            .values(done=True, status_code=status_code, body=body, content_type=content_type)
        )

    def release(self, *, user_id: str, key: str) -> None:
        """Forget a key whose request failed with a server error, so it can be retried."""
        k = t.idempotency_keys.c
        self.conn.execute(delete(t.idempotency_keys).where(k.user_id == user_id, k.key == key))

    def purge(self, older_than: datetime) -> int:
        """Delete records older than the retention time."""
        return int(
            self.conn.execute(
                delete(t.idempotency_keys).where(t.idempotency_keys.c.created_at < older_than)
            ).rowcount
        )
