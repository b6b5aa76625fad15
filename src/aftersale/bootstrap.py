"""Settings -> adapters -> runtime -> app: the one place that wires things together."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from aftersale.adapters.calendars import HolidayCalendar
from aftersale.adapters.clock import SystemClock, TestClock
from aftersale.adapters.db.engine import make_engine
from aftersale.adapters.db.migrate import migrate
from aftersale.adapters.db.uow import SqlUnitOfWork
from aftersale.adapters.payments import SandboxGateway
from aftersale.domain.errors import ConcurrentModification
from aftersale.services.ports import UnitOfWork
from aftersale.services.runtime import Runtime
from aftersale.settings import Settings


def build_runtime(
    settings: Settings, *, engine: Engine | None = None, run_migrations: bool = True
) -> Runtime:
    """Build the engine, apply migrations and wire clock, calendar and gateway."""
    engine = engine or make_engine(settings.url, pool_size=settings.pool_size)
    if run_migrations:
        migrate(engine)
    test_clock = TestClock(engine) if settings.test_clock else None
    gateway = SandboxGateway(engine, card_delay=timedelta(days=settings.sandbox_refund_days))

    def uow(*, readonly: bool = False) -> UnitOfWork:
        return SqlUnitOfWork(engine, readonly=readonly)  # type: ignore[return-value]

    rt = Runtime(
        uow=uow,
        clock=test_clock or SystemClock(),
        calendar=HolidayCalendar(),
        gateway=gateway,
        policy=settings.policy(),
        test_clock=test_clock,
        retryable=(ConcurrentModification, IntegrityError, OperationalError),
    )
    rt.engine = engine  # type: ignore[attr-defined]
    rt.closers += [engine.dispose, gateway.engine.dispose]
    if test_clock is not None:
        rt.closers.append(test_clock.engine.dispose)
    return rt
