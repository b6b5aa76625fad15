"""Clocks: the wall clock in production, a shared advanceable test clock in tests and demos."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from aftersale.adapters.db.engine import is_sqlite, make_engine
from aftersale.adapters.db.uow import SqlUnitOfWork


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        """The current moment."""
        return datetime.now(UTC)


class TestClock:
    """A frozen clock stored in the database, moved only by `advance` (like Stripe's)."""

    __test__ = False  # not a pytest test class

    def __init__(self, engine: Engine) -> None:
        # Its own small pool: the clock is read while a request already holds a connection of
        # the main pool, so sharing that pool could starve it under load.
        self.engine = (
            engine
            if is_sqlite(str(engine.url))
            else make_engine(engine.url.render_as_string(hide_password=False), pool_size=4)
        )
        with SqlUnitOfWork(self.engine) as uow:  # start it now, so reading it never has to write
            if uow.clock.get() is None:
                uow.clock.set(datetime.now(UTC).replace(microsecond=0))
                uow.commit()

    def now(self) -> datetime:
        """The test clock's current moment."""
        with SqlUnitOfWork(self.engine, readonly=True) as uow:
            now = uow.clock.get()
        if now is None:
            raise RuntimeError("the test clock table was emptied")
        return now

    def set(self, now: datetime) -> None:
        """Move the clock to a moment (never backwards)."""
        with SqlUnitOfWork(self.engine) as uow:
            current = uow.clock.get()
            if current is not None and now < current:
                raise ValueError("the test clock never goes backwards")
            uow.clock.set(now)
            uow.commit()

    def move_to_at_least(self, now: datetime) -> datetime:
        """Move the clock to `now` unless another advance already took it further."""
        with SqlUnitOfWork(self.engine) as uow:
            current = uow.clock.get()
            if current is None or now > current:
                uow.clock.set(now)
                uow.commit()
                return now
            return current

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward."""
        target = self.now() + timedelta(seconds=seconds)
        self.set(target)
        return target
