"""Exact money (ISO 4217 minor units) and the Policy object's defaults and validation."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from aftersale.domain.errors import ValidationFailed
from aftersale.domain.money import Money, check_currency, exponent, parse_amount, quantize
from aftersale.domain.policy import Policy


def test_amount_strings_parse_to_exact_decimals() -> None:
    assert parse_amount("12.34", "USD") == Decimal("12.34")
    assert parse_amount("0.10", "EUR") + parse_amount("0.20", "EUR") == Decimal("0.30")
    assert str(parse_amount("7", "USD")) == "7.00"


def test_floats_and_booleans_are_refused_as_amounts() -> None:
    for value in (12.34, True, None, [1], {"amount": "1"}):
        with pytest.raises(ValidationFailed):
            parse_amount(value, "USD")


def test_amounts_with_more_digits_than_the_currency_allows_are_refused() -> None:
    with pytest.raises(ValidationFailed):
        parse_amount("1.001", "USD")
    with pytest.raises(ValidationFailed):
        parse_amount("100.5", "JPY")
    assert parse_amount("1.005", "KWD") == Decimal("1.005")
    assert parse_amount("100", "JPY") == Decimal("100")


def test_negative_zero_non_numeric_and_huge_amounts_are_refused() -> None:
    for bad in ("-1.00", "0", "abc", "NaN", "Infinity", "1e10", ""):
        with pytest.raises(ValidationFailed):
            parse_amount(bad, "USD")
    assert parse_amount("0", "USD", allow_zero=True) == Decimal("0.00")


def test_unknown_currencies_are_refused() -> None:
    for bad in ("usd", "XXX", "US", ""):
        with pytest.raises(ValidationFailed):
            check_currency(bad)
    with pytest.raises(ValidationFailed):
        parse_amount("1.00", "ABC")


def test_minor_units_follow_iso_4217() -> None:
    assert exponent("USD") == Decimal("0.01")
    assert exponent("JPY") == Decimal("1")
    assert exponent("BHD") == Decimal("0.001")


def test_quantize_uses_bankers_rounding() -> None:
    assert quantize(Decimal("0.125"), "USD") == Decimal("0.12")
    assert quantize(Decimal("0.135"), "USD") == Decimal("0.14")


def test_money_wire_form_is_a_decimal_string_with_the_currency_minor_units() -> None:
    assert Money(Decimal("12.3"), "USD").as_dict() == {"amount": "12.30", "currency": "USD"}
    assert Money(Decimal("500"), "JPY").as_dict() == {"amount": "500", "currency": "JPY"}
    assert Money(Decimal("1.5"), "KWD").as_dict() == {"amount": "1.500", "currency": "KWD"}


def test_policy_defaults_are_the_documented_numbers() -> None:
    p = Policy()
    assert p.cancellation_answer == timedelta(hours=72)
    assert (p.refund_min_days, p.refund_max_days, p.refund_promise_working_days) == (3, 20, 20)
    assert p.return_window == timedelta(days=15)
    assert p.dispute_window == timedelta(days=15)
    assert p.seller_answer == timedelta(days=5)
    assert p.return_ship == timedelta(days=10)
    assert p.non_receipt == timedelta(days=10)
    assert p.unpaid_close == timedelta(days=20)
    assert (p.seller_ship_days, p.delivery_protection_days) == (7, 60)
    assert p.return_receive == timedelta(days=15)
    assert (p.dispute_rounds, p.max_disputes_per_order) == (3, 2)
    assert p.platform_answer == timedelta(days=7)


def test_policy_round_trips_through_a_dict() -> None:
    p = Policy(cancellation_answer_hours=48, return_window_days=30)
    assert Policy.from_dict(p.as_dict()) == p
    assert Policy.from_dict({}) == Policy()


def test_policy_refuses_unknown_keys_negative_and_inconsistent_numbers() -> None:
    with pytest.raises(ValidationFailed):
        Policy.from_dict({"cancel_hours": 1})
    with pytest.raises(ValidationFailed):
        Policy(cancellation_answer_hours=-1)
    with pytest.raises(ValidationFailed):
        Policy(refund_min_days=10, refund_max_days=5)
    with pytest.raises(ValidationFailed):
        Policy(platform_fee_percent=101)
    with pytest.raises(ValidationFailed):
        Policy(return_window_days=True)
