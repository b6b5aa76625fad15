"""Exact money: decimal amounts in an ISO 4217 currency with that currency's minor units."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache

from aftersale.domain.errors import ValidationFailed

# ISO 4217 minor units of the currencies accepted (2 unless listed otherwise).
_ZERO_DECIMAL = {
    "BIF",
    "CLP",
    "DJF",
    "GNF",
    "ISK",
    "JPY",
    "KMF",
    "KRW",
    "PYG",
    "RWF",
    "UGX",
    "UYI",
    "VND",
    "VUV",
    "XAF",
    "XOF",
    "XPF",
}
_THREE_DECIMAL = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}
_TWO_DECIMAL = {
    "AED",
    "ARS",
    "AUD",
    "BDT",
    "BGN",
    "BRL",
    "CAD",
    "CHF",
    "CNY",
    "COP",
    "CZK",
    "DKK",
    "DZD",
    "EGP",
    "EUR",
    "GBP",
    "GEL",
    "GHS",
    "HKD",
    "HUF",
    "IDR",
    "ILS",
    "INR",
    "KES",
    "KZT",
    "LKR",
    "MAD",
    "MXN",
    "MYR",
    "NGN",
    "NOK",
    "NZD",
    "PEN",
    "PHP",
    "PKR",
    "PLN",
    "QAR",
    "RON",
    "RSD",
    "RUB",
    "SAR",
    "SEK",
    "SGD",
    "THB",
    "TRY",
    "TWD",
    "UAH",
    "USD",
    "UZS",
    "ZAR",
}
MINOR_UNITS: dict[str, int] = (
    {c: 0 for c in _ZERO_DECIMAL} | {c: 3 for c in _THREE_DECIMAL} | {c: 2 for c in _TWO_DECIMAL}
)
# The largest amount accepted anywhere (README, "Limits"): a billion in the currency's units.
MAX_AMOUNT = Decimal("1000000000")
# The one grammar of an amount on the wire: ASCII digits, optionally a point and 1 to 3
# decimals (the currency's minor units are checked after); no sign, exponent, spaces,
# underscores or other scripts' digits. (10 digits before the point: MAX_AMOUNT has 10.)
AMOUNT_PATTERN = r"^[0-9]{1,10}(\.[0-9]{1,3})?$"
_AMOUNT = re.compile(r"([0-9]{1,10})(?:\.([0-9]{1,3}))?")


def check_currency(currency: str) -> str:
    """Return the currency code if it is a supported ISO 4217 code, else raise."""
    if currency not in MINOR_UNITS:
        raise ValidationFailed(f"unsupported currency {currency!r}", field="currency")
    return currency


@lru_cache(maxsize=256)
def exponent(currency: str) -> Decimal:
    """The smallest unit of a currency as a Decimal exponent (0.01 for USD)."""
    return Decimal(1).scaleb(-MINOR_UNITS[check_currency(currency)])


def parse_amount(
    value: object, currency: str, *, field: str = "amount", allow_zero: bool = False
) -> Decimal:
    """Parse a decimal string into an exact amount, refusing floats, excess digits, negatives
    and anything outside the one grammar (AMOUNT_PATTERN): "1E+3", "+1", "1_000", "１２", "-0"."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValidationFailed(f"{field} must be a decimal string", field=field)
    decimals = MINOR_UNITS[check_currency(currency)]
    if isinstance(value, str):
        found = _AMOUNT.fullmatch(value)
        if found is None:
            raise ValidationFailed(
                f"{field} must be written with digits 0-9 and at most one point, "
                "with no sign, exponent or separators",
                field=field,
            )
        if len(found.group(2) or "") > decimals:
            raise ValidationFailed(
                f"{field} has more decimal places than {currency} allows", field=field
            )
        amount = Decimal(value)
    else:  # (whole numbers and Decimals from the code itself, never from the wire)
        amount = Decimal(value)
        if not amount.is_finite() or abs(amount) > MAX_AMOUNT:
            raise ValidationFailed(f"{field} is at most {MAX_AMOUNT:,} {currency}", field=field)
        if amount != amount.quantize(exponent(currency), rounding=ROUND_HALF_EVEN):
            raise ValidationFailed(
                f"{field} has more decimal places than {currency} allows", field=field
            )
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValidationFailed(f"{field} must be positive", field=field)
    if amount > MAX_AMOUNT:
        raise ValidationFailed(f"{field} is at most {MAX_AMOUNT:,} {currency}", field=field)
    return amount.quantize(exponent(currency)) + 0  # (+ 0: never a "-0.00")


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round an amount to the currency's minor unit (banker's rounding)."""
    return amount.quantize(exponent(currency), rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in one currency."""

    amount: Decimal
    currency: str

    def as_dict(self) -> dict[str, str]:
        """The wire form: {"amount": "12.34", "currency": "USD"}."""
        return {"amount": str(quantize(self.amount, self.currency)), "currency": self.currency}
