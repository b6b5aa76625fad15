"""What every domain action is given: the moment, the actor and the working-day calendar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from aftersale.domain.actors import Actor


class Calendar(Protocol):
    """Working days of a country (public holidays excluded)."""

    def add_working_days(self, start: datetime, days: int, country: str) -> datetime:
        """The moment `days` working days after `start` in `country`."""
        ...


@dataclass(frozen=True, slots=True)
class Ctx:
    """The actor, the time of the action and the calendar used for refund promises."""

    actor: Actor
    now: datetime
    calendar: Calendar
