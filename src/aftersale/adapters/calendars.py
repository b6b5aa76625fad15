"""Working days per country by the `holidays` package's own rules: each country's weekend
(Friday–Saturday in Saudi Arabia, Egypt and Israel, Friday in Iran ...), its public holidays
and its make-up working days (China's weekend workdays)."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from functools import lru_cache

import holidays

_lock = threading.Lock()  # a country's calendar fills in its years lazily, on first lookups


@lru_cache(maxsize=256)
def _country(country: str) -> holidays.HolidayBase:
    try:
        return holidays.country_holidays(country)
    except NotImplementedError:  # the package has no calendar for this country: Monday to
        return holidays.HolidayBase()  # Friday, so a promise never falls later than it is due


class HolidayCalendar:
    """Business days of a buyer's country, as the `holidays` package counts them."""

    def is_working_day(self, day: date, country: str) -> bool:
        """Whether `day` is a working day in `country`."""
        with _lock:
            return bool(_country(country.upper()).is_working_day(day))

    def add_working_days(self, start: datetime, days: int, country: str) -> datetime:
        """The same time of day, `days` working days after `start`."""
        return start + timedelta(days=_calendar_days(start.date(), days, country.upper()))


@lru_cache(maxsize=8192)
def _calendar_days(start: date, days: int, country: str) -> int:
    """How many calendar days after `start` its `days`-th working day falls (computed for
    every refund; the answer only depends on the day, so it is kept)."""
    if days <= 0:
        return 0
    with _lock:
        nth: date = _country(country).get_nth_working_day(start, days)
    return (nth - start).days
