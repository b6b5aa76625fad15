"""Working days per country, from the `holidays` package (weekends and public holidays)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=512)
def _holidays(country: str, year: int) -> frozenset[date]:
    try:
        return frozenset(holidays.country_holidays(country, years=year).keys())
    except NotImplementedError:  # the package has no calendar for this country:
        return frozenset()  # count weekdays only, so the promise never falls later than due


class HolidayCalendar:
    """Business days of a buyer's country: Monday to Friday less public holidays."""

    def is_working_day(self, day: date, country: str) -> bool:
        """Whether `day` is a working day in `country`."""
        return day.weekday() < 5 and day not in _holidays(country.upper(), day.year)

    def add_working_days(self, start: datetime, days: int, country: str) -> datetime:
        """The same time of day, `days` working days after `start`."""
        return start + timedelta(days=_calendar_days(start.date(), days, country.upper()))


@lru_cache(maxsize=4096)
def _calendar_days(start: date, days: int, country: str) -> int:
    """How many calendar days `days` working days after `start` fall (a refund's promise is
    computed for every refund; the answer only depends on the day, so it is kept)."""
    moment, left, span = start, days, 0
    while left > 0:
        moment += timedelta(days=1)
        span += 1
        if moment.weekday() < 5 and moment not in _holidays(country, moment.year):
            left -= 1
    return span
