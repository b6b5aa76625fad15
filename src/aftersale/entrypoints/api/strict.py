"""Strict request types: amounts in one grammar, whole numbers that are JSON integers, booleans
that are JSON booleans, ISO 3166 countries, and text that can be stored.

Pydantic's default (lax) mode turns `true` and `"1"` into 1 and `"yes"` into True; these
refuse them with 422 `validation_error`. The rules behind them are the domain's own
(`domain/money.py`, `domain/countries.py`, `domain/validate.py`); the types put the same
limits in the OpenAPI schema.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, Strict, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from aftersale.domain.money import AMOUNT_PATTERN, MAX_AMOUNT
from aftersale.domain.validate import first_unstorable

Amount = Annotated[
    str,
    StringConstraints(pattern=AMOUNT_PATTERN),
    Field(
        description=(
            "A decimal string: ASCII digits, optionally a point and at most the currency's "
            f"minor units (2 for USD, 0 for JPY, 3 for KWD); no sign, exponent, spaces or "
            f"separators; at most {MAX_AMOUNT:,} in the currency's units"
        ),
        examples=["12.50"],
    ),
]
Quantity = Annotated[int, Strict(), Field(ge=1, le=100_000)]
Integer = Annotated[int, Strict()]
Flag = Annotated[bool, Strict()]
Country = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z]{2}$"),
    Field(description="An ISO 3166-1 alpha-2 country code", examples=["US"]),
]


class StorableText:
    """A mixin for request bodies: every string in the body (keys too, nested models and lists
    included) must be storable, i.e. valid Unicode without a NUL byte, else 422."""

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        where = first_unstorable(data)
        if where is not None:
            raise PydanticCustomError(
                "unstorable_text",
                "{where} holds a NUL byte or text that is not valid Unicode",
                {"where": where},
            )
        return data
