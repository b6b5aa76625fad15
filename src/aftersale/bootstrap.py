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
from aftersale.services.ports import PaymentGateway, UnitOfWork
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
    sandbox = SandboxGateway(engine, card_delay=timedelta(days=settings.sandbox_refund_days))
    gateway = (
        stripe_gateway(settings, engine, sandbox)
        if settings.payment_gateway == "stripe"
        else sandbox
    )

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
    rt.closers += [engine.dispose, sandbox.engine.dispose]
    if test_clock is not None:
        rt.closers.append(test_clock.engine.dispose)
    return rt


def stripe_gateway(settings: Settings, engine: Engine, balance: SandboxGateway) -> PaymentGateway:
    """The Stripe gateway of the settings (balance refunds stay in `balance`, the ledger's)."""
    from aftersale.adapters.payments_stripe import StripeGateway, orders_of_refunds

    if not settings.stripe_api_key:
        raise ValueError("AFTERSALE_PAYMENT_GATEWAY=stripe needs AFTERSALE_STRIPE_API_KEY")
    return StripeGateway(
        api_key=settings.stripe_api_key,
        api_base=settings.stripe_api_base,
        balance=balance,
        order_of=orders_of_refunds(engine),
    )
