"""The wired-up collaborators every use case receives (built by `bootstrap`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aftersale.domain.actors import Actor
from aftersale.domain.context import Calendar, Ctx
from aftersale.domain.errors import ConcurrentModification
from aftersale.domain.policy import Policy
from aftersale.services.ports import Clock, PaymentGateway, TestClockPort, UowFactory


@dataclass
class Runtime:
    """Units of work, time, calendar, gateway and the live policy."""

    uow: UowFactory
    clock: Clock
    calendar: Calendar
    gateway: PaymentGateway
    policy: Policy
    test_clock: TestClockPort | None = None
    retryable: tuple[type[BaseException], ...] = field(
        default_factory=lambda: (ConcurrentModification,)
    )
    closers: list[Callable[[], None]] = field(default_factory=list)
    token_cache: dict[str, tuple[Actor, float]] = field(default_factory=dict)
    # the time logins and page sessions are judged by (login tries, idle and maximum age):
    # the wall clock, never the test clock (moving an order's time days ahead must not log its
    # parties out or forgive their failed logins); tests may set a clock they move
    wall_now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def close(self) -> None:
        """Release the connection pools the adapters hold."""
        for close in self.closers:
            close()

    def ctx(self, actor: Actor) -> Ctx:
        """A context for an action taken now."""
        return Ctx(actor=actor, now=self.clock.now(), calendar=self.calendar)
