"""Clocks: the wall clock in production, a shared advanceable test clock in tests and demos."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

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
        self.engine = engine
        with SqlUnitOfWork(engine) as uow:  # start it now, so reading it never has to write
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

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward."""
        target = self.now() + timedelta(seconds=seconds)
        self.set(target)
        return target
