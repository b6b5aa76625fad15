"""Use cases of a seller's return address: where approved returns are sent back to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from aftersale.domain.actions import require_role
from aftersale.domain.actors import Actor
from aftersale.domain.countries import is_country
from aftersale.domain.errors import NotFound, ValidationFailed
from aftersale.domain.validate import text
from aftersale.services import shapes
from aftersale.services.ports import UnitOfWork
from aftersale.services.runtime import Runtime
from aftersale.services.views import iso

# (field, longest, required)
FIELDS: tuple[tuple[str, int, bool], ...] = (
    ("name", 200, True),
    ("line1", 200, True),
    ("line2", 200, False),
    ("city", 100, True),
    ("region", 100, False),
    ("postal_code", 20, True),
    ("country", 2, True),
    ("phone", 40, False),
)


@dataclass(frozen=True, slots=True)
class ReturnAddress:
    """A seller's return address."""

    seller_id: str
    name: str
    line1: str
    line2: str | None
    city: str
    region: str | None
    postal_code: str
    country: str
    phone: str | None
    updated_at: datetime


class ReturnAddressRepository(Protocol):
    """Where return addresses are kept (one per seller)."""

    def get(self, seller_id: str) -> ReturnAddress | None:
        """The seller's address, if set."""
        ...

    def put(self, address: ReturnAddress) -> None:
        """Store (insert or replace) the seller's address."""
        ...


class MissingReturnAddress(NotFound):
    """The seller has not given a return address yet."""

    code = "return_address_missing"


def _repo(uow: UnitOfWork) -> ReturnAddressRepository:
    return cast(ReturnAddressRepository, cast(Any, uow).return_addresses)


def address_view(a: ReturnAddress) -> shapes.ReturnAddress:
    """A return address's public description."""
    return {
        "seller_id": a.seller_id,
        "name": a.name,
        "line1": a.line1,
        "line2": a.line2,
        "city": a.city,
        "region": a.region,
        "postal_code": a.postal_code,
        "country": a.country,
        "phone": a.phone,
        "updated_at": iso(a.updated_at),
    }


class InvalidAddress(ValidationFailed):
    """A field of the address is refused; `reason` says why, in a stable word."""

    def __init__(self, detail: str, *, field: str, reason: str) -> None:
        super().__init__(detail, field=field)
        self.reason = reason


def _field(body: dict[str, Any], name: str, longest: int, required: bool) -> str | None:
    """One field, stripped, or None when optional and blank."""
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidAddress(f"{name} is required", field=name, reason="required")
        return None
    if not isinstance(value, str):
        raise InvalidAddress(f"{name} must be a string", field=name, reason="not_text")
    if len(value.strip()) > longest:
        raise InvalidAddress(
            f"{name} may be at most {longest} characters long", field=name, reason="too_long"
        )
    return text(value, name, max_len=longest)


def checked_fields(body: dict[str, Any]) -> dict[str, str | None]:
    """The address fields, stripped and checked, else a validation error naming the field."""
    out = {name: _field(body, name, n, required) for name, n, required in FIELDS}
    country = str(out["country"]).upper()
    if not is_country(country):
        raise InvalidAddress(
            "country must be an ISO 3166-1 alpha-2 code such as US or ES",
            field="country",
            reason="invalid_country",
        )
    out["country"] = country
    if not all(c.isalnum() or c in " -" for c in str(out["postal_code"])):
        raise InvalidAddress(
            "postal_code may hold only letters, digits, spaces and hyphens",
            field="postal_code",
            reason="invalid_postal_code",
        )
    phone = out["phone"]
    if phone is not None and not all(c.isdigit() or c in " +-()." for c in phone):
        raise InvalidAddress(
            "phone may hold only digits, spaces and + - ( ) .",
            field="phone",
            reason="invalid_phone",
        )
    return out


def get_return_address(rt: Runtime, actor: Actor) -> shapes.ReturnAddress:
    """The seller's own return address, else return_address_missing."""
    require_role(actor, "return_address")
    with rt.uow(readonly=True) as uow:
        found = _repo(uow).get(actor.user_id)
    if found is None:
        raise MissingReturnAddress("you have not set a return address yet")
    return address_view(found)


def put_return_address(rt: Runtime, actor: Actor, body: dict[str, Any]) -> shapes.ReturnAddress:
    """Set the seller's return address (the same body twice leaves it as it was)."""
    require_role(actor, "return_address")
    fields = checked_fields(body)
    with rt.uow() as uow:
        repo = _repo(uow)
        old = repo.get(actor.user_id)
        same = old is not None and all(getattr(old, k) == v for k, v in fields.items())
        if old is not None and same:
            return address_view(old)
        address = ReturnAddress(
            seller_id=actor.user_id, updated_at=rt.clock.now(), **cast(Any, fields)
        )
        repo.put(address)
        uow.commit()
    return address_view(address)


def return_address_of(rt: Runtime, seller_id: str) -> shapes.ReturnAddress | None:
    """An order's seller's return address, for the buyer's approved return (None: not set)."""
    with rt.uow(readonly=True) as uow:
        found = _repo(uow).get(seller_id)
    return None if found is None else address_view(found)
