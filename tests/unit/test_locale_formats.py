"""Numbers, percentages, money and dates on the pages use the locale's own formats, and every
page writes a moment the same way (the locale's medium format, with the time zone)."""

from __future__ import annotations

from datetime import UTC, datetime

from aftersale.entrypoints.web import timeline_text
from aftersale.entrypoints.web.render import date, dt, money, number, percent

MOMENT = datetime(2026, 3, 5, 14, 7, 9, tzinfo=UTC)


def test_numbers_and_percentages_follow_the_locale() -> None:
    assert number(12345, "en") == "12,345" and number(12345, "es") == "12.345"
    assert percent(0.4, "en") == "40.0%" and percent(0.125, "es") == "12,5\xa0%"
    assert percent(1, "en", digits=0) == "100%"


def test_one_date_format_on_every_page() -> None:
    assert dt(MOMENT, locale="en") == "Mar 5, 2026, 2:07:09\u202fPM UTC"
    assert dt(MOMENT, "short", locale="en") == dt(MOMENT, locale="en")  # (no other format)
    assert date(MOMENT, "long", locale="es") == dt(MOMENT, locale="es")
    assert dt(MOMENT, locale="es") == "5 mar 2026, 14:07:09 UTC"


def test_a_timeline_line_is_shown_in_the_page_language_with_local_money_and_dates() -> None:
    stored = "Refund of 28.99 USD created (the order was cancelled); expected by 2026-03-31"
    assert timeline_text.detail_text(stored, "en") == (
        "Refund of $28.99 created (the order was cancelled); expected by Mar 31, 2026"
    )
    spanish = timeline_text.detail_text(stored, "es")
    assert spanish == (
        "Reembolso de 28,99\xa0US$ creado (el pedido se canceló); previsto para el 31 mar 2026"
    )
    assert money("28.99", "USD") == "$28.99"
    assert timeline_text.detail_text("Something new happened", "es") == "Something new happened"
    assert timeline_text.event_title("dispute_resolved", "es") == "Disputa resuelta"
    assert timeline_text.actor_name("system", "en") == "Automatic"


def test_the_dashboards_chart_writes_its_percentages_in_the_locale() -> None:
    from aftersale.entrypoints.web import charts

    args = {
        "title": "t",
        "desc": "d",
        "labels": ["a", "b"],
        "series": [("Cancelled", [40.0, 12.5])],
    }
    spanish = str(charts.line_chart(**args, locale="es"))  # type: ignore[arg-type]
    english = str(charts.line_chart(**args))  # type: ignore[arg-type]
    assert "<title>Cancelled: 40,0\xa0%</title>" in spanish and ">37,5\xa0%<" in spanish
    assert "<title>Cancelled: 12.5%</title>" in english and ">50%<" in english
