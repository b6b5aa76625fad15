"""The refund promise counts working days the way the `holidays` package does, per country."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import holidays
import pytest

from aftersale.adapters.calendars import HolidayCalendar

COUNTRIES = ["US", "DE", "SA", "IL", "EG", "IR", "CN"]


def library_nth_working_day(start: date, n: int, country: str) -> date:
    """The n-th working day after `start`, walked day by day on the library's own answer."""
    cal = holidays.country_holidays(country, years=range(start.year, start.year + 2))
    day, left = start, n
    while left:
        day += timedelta(days=1)
        if cal.is_working_day(day):
            left -= 1
    return day


@pytest.mark.parametrize("country", COUNTRIES)
def test_the_20th_working_day_matches_the_library_for_every_start_day_of_2026(
    country: str,
) -> None:
    calendar = HolidayCalendar()
    start = date(2026, 1, 1)
    for offset in range(365):
        day = start + timedelta(days=offset)
        at = datetime(day.year, day.month, day.day, 10, 30, tzinfo=UTC)
        ours = calendar.add_working_days(at, 20, country)
        assert ours.date() == library_nth_working_day(day, 20, country), (country, day)
        assert (ours.hour, ours.minute) == (10, 30)


def test_saudi_fridays_and_saturdays_are_the_weekend_and_sundays_work() -> None:
    calendar = HolidayCalendar()
    assert not calendar.is_working_day(date(2026, 3, 6), "SA")  # a Friday
    assert not calendar.is_working_day(date(2026, 3, 7), "SA")  # a Saturday
    assert calendar.is_working_day(date(2026, 3, 8), "SA")  # a Sunday
    assert calendar.is_working_day(date(2026, 3, 8), "sa")


def test_iran_works_on_saturdays_and_rests_on_fridays() -> None:
    calendar = HolidayCalendar()
    fridays = [date(2026, 5, 1) + timedelta(weeks=w) for w in range(8)]
    assert not any(calendar.is_working_day(d, "IR") for d in fridays)


def test_china_counts_its_make_up_working_days() -> None:
    cal = holidays.country_holidays("CN", years=2026)
    make_up = sorted(cal.weekend_workdays)
    assert make_up, "the library lists weekend workdays for China"
    assert all(HolidayCalendar().is_working_day(d, "CN") for d in make_up)


def test_a_country_without_a_calendar_counts_monday_to_friday() -> None:
    at = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)  # a Monday
    assert HolidayCalendar().add_working_days(at, 5, "ZZ") == at + timedelta(days=7)
