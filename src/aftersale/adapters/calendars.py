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
        moment, left = start, days
        while left > 0:
            moment += timedelta(days=1)
            if self.is_working_day(moment.date(), country):
                left -= 1
        return moment
