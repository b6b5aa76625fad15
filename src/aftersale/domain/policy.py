"""The policy numbers the engine enforces; each order keeps the policy it was bought under."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

from aftersale.domain.errors import ValidationFailed


@dataclass(frozen=True, slots=True)
class Policy:
    """Every configurable number of DOMAIN.md, with its defaults."""

    cancellation_answer_hours: int = 72
    refund_min_days: int = 3
    refund_max_days: int = 20
    refund_promise_working_days: int = 20
    return_window_days: int = 15
    dispute_window_days: int = 15
    seller_answer_days: int = 5
    buyer_answer_days: int = 5
    return_ship_days: int = 10
    non_receipt_days: int = 10
    unpaid_close_days: int = 20
    platform_fee_percent: int = 0
    seller_ship_days: int = 7
    delivery_protection_days: int = 60
    return_receive_days: int = 15
    dispute_rounds: int = 3
    max_disputes_per_order: int = 2
    platform_answer_days: int = 7

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValidationFailed(f"policy {f.name} must be a whole number >= 0")
        if not 1 <= self.refund_min_days <= self.refund_max_days:
            raise ValidationFailed("policy refund days must satisfy 1 <= min <= max")
        if self.platform_fee_percent > 100:
            raise ValidationFailed("policy platform_fee_percent must be at most 100")

    @property
    def cancellation_answer(self) -> timedelta:
        """How long a seller has to answer a cancellation request."""
        return timedelta(hours=self.cancellation_answer_hours)

    @property
    def return_window(self) -> timedelta:
        """How long after delivery a return may be requested."""
        return timedelta(days=self.return_window_days)

    @property
    def dispute_window(self) -> timedelta:
        """How long after delivery a dispute may be opened."""
        return timedelta(days=self.dispute_window_days)

    @property
    def seller_answer(self) -> timedelta:
        """How long a seller has to answer a return request or a dispute."""
        return timedelta(days=self.seller_answer_days)

    @property
    def buyer_answer(self) -> timedelta:
        """How long a buyer has to accept or escalate a seller's answer to a dispute."""
        return timedelta(days=self.buyer_answer_days)

    @property
    def return_ship(self) -> timedelta:
        """How long a buyer has to ship an approved return."""
        return timedelta(days=self.return_ship_days)

    @property
    def non_receipt(self) -> timedelta:
        """How long after shipment a non-delivered order may be disputed."""
        return timedelta(days=self.non_receipt_days)

    @property
    def return_receive(self) -> timedelta:
        """How long a seller has to receive a returned parcel after the buyer ships it."""
        return timedelta(days=self.return_receive_days)

    @property
    def platform_answer(self) -> timedelta:
        """The platform's target for deciding an escalated dispute."""
        return timedelta(days=self.platform_answer_days)

    @property
    def unpaid_close(self) -> timedelta:
        """How long an unpaid order stays open."""
        return timedelta(days=self.unpaid_close_days)

    def as_dict(self) -> dict[str, int]:
        """The policy as a plain dict (stored with each order)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}  # ints: no deep copy

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Policy:
        """Build a policy from a dict, refusing unknown keys; missing keys take the defaults."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValidationFailed(f"unknown policy settings: {', '.join(sorted(unknown))}")
        return cls(**data)
