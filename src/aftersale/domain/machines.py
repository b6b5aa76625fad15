"""The transition tables of the smaller state machines an order owns (the order's own table
is `order_state.TRANSITIONS`): a move not in its table raises, it is never ignored."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from aftersale.domain.entities import (
    CancellationStatus,
    DisputeStatus,
    RefundStatus,
    ReturnStatus,
)
from aftersale.domain.errors import InvalidState

C, F, R, D = CancellationStatus, RefundStatus, ReturnStatus, DisputeStatus

CANCELLATION: dict[CancellationStatus, frozenset[CancellationStatus]] = {
    C.PENDING: frozenset({C.ACCEPTED, C.REJECTED, C.AUTO_ACCEPTED}),
    C.ACCEPTED: frozenset(),
    C.REJECTED: frozenset(),
    C.AUTO_ACCEPTED: frozenset(),
}
REFUND: dict[RefundStatus, frozenset[RefundStatus]] = {
    F.PENDING: frozenset({F.PROCESSING, F.SUCCEEDED, F.FAILED}),
    F.PROCESSING: frozenset({F.SUCCEEDED, F.FAILED}),
    F.SUCCEEDED: frozenset(),
    F.FAILED: frozenset(),
}
RETURN: dict[ReturnStatus, frozenset[ReturnStatus]] = {
    R.REQUESTED: frozenset({R.APPROVED, R.REJECTED}),
    R.APPROVED: frozenset({R.IN_TRANSIT, R.CLOSED}),
    R.IN_TRANSIT: frozenset({R.REFUNDED, R.REJECTED}),
    R.REJECTED: frozenset(),
    R.REFUNDED: frozenset(),
    R.CLOSED: frozenset(),
}
DISPUTE: dict[DisputeStatus, frozenset[DisputeStatus]] = {
    D.OPEN: frozenset({D.SELLER_RESPONDED, D.RESOLVED, D.CLOSED}),
    D.SELLER_RESPONDED: frozenset({D.OPEN, D.ESCALATED, D.RESOLVED, D.CLOSED}),
    D.ESCALATED: frozenset({D.RESOLVED}),
    D.RESOLVED: frozenset(),
    D.CLOSED: frozenset(),
}
TABLES: dict[type[StrEnum], dict[Any, frozenset[Any]]] = {
    CancellationStatus: CANCELLATION,
    RefundStatus: REFUND,
    ReturnStatus: RETURN,
    DisputeStatus: DISPUTE,
}
NAMES = {
    CancellationStatus: "cancellation request",
    RefundStatus: "refund",
    ReturnStatus: "return",
    DisputeStatus: "dispute",
}


def move(obj: Any, to: StrEnum) -> None:
    """Set `obj.status` to `to` through its machine's table; an illegal move raises."""
    kind = type(to)
    if to not in TABLES[kind][obj.status]:
        raise InvalidState(f"a {NAMES[kind]} that is {obj.status} cannot become {to}")
    obj.status = to
