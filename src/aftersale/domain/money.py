"""Exact money: decimal amounts in an ISO 4217 currency with that currency's minor units."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
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
MAX_AMOUNT = Decimal("1000000000")


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
    """Parse a decimal string into an exact amount, refusing floats, excess digits and negatives."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValidationFailed(f"{field} must be a decimal string", field=field)
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationFailed(f"{field} is not a decimal number", field=field) from None
    if not amount.is_finite():
        raise ValidationFailed(f"{field} is not a finite number", field=field)
    unit = exponent(currency)
    if amount != amount.quantize(unit, rounding=ROUND_HALF_EVEN):
        raise ValidationFailed(
            f"{field} has more decimal places than {currency} allows", field=field
        )
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValidationFailed(f"{field} must be positive", field=field)
    if amount > MAX_AMOUNT:
        raise ValidationFailed(f"{field} is too large", field=field)
    return amount.quantize(unit)


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
