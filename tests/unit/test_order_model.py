"""The order model's parts: lines as values, the smaller machines' tables, the deadline table."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aftersale.domain.entities import DisputeStatus, RefundStatus, ReturnStatus
from aftersale.domain.errors import InvalidState, ValidationFailed
from aftersale.domain.lines import OrderLine, line_from_json, lines_to_json, parse_lines
from aftersale.domain.machines import TABLES, move
from aftersale.domain.order import ORDER_DEADLINES, Order
from aftersale.domain.timers import TimerRules
from tests.unit.fakes import Clock, paid_order


def test_a_line_round_trips_through_its_stored_form_and_old_rows_read_as_zero() -> None:
    line = OrderLine("A", "Lamp", 3, Decimal("9.99"), cancelled_quantity=1, returned_quantity=1)
    [stored] = lines_to_json([line])
    assert stored["cancelled_quantity"] == 1 and line_from_json(stored) == line
    old = {"sku": "A", "title": "Lamp", "quantity": 3, "unit_price": "9.99"}
    assert line_from_json(old) == OrderLine("A", "Lamp", 3, Decimal("9.99"))
    assert (line.remaining, line.kept, line.refunded_quantity) == (2, 1, 2)


def test_line_quantities_are_checked_against_what_remains() -> None:
    lines = [OrderLine("A", "Lamp", 2, Decimal(1), cancelled_quantity=1)]
    assert parse_lines([{"sku": "A", "quantity": 1}], lines, "remaining") == {"A": 1}
    for bad in ([{"sku": "A", "quantity": 2}], [{"sku": "B", "quantity": 1}], [], "x"):
        with pytest.raises(ValidationFailed):
            parse_lines(bad, lines, "remaining")


def test_every_status_of_every_smaller_machine_has_a_row_and_final_states_are_final() -> None:
    for enum, table in TABLES.items():
        assert set(table) == set(enum), enum
    assert TABLES[RefundStatus][RefundStatus.SUCCEEDED] == frozenset()
    assert TABLES[ReturnStatus][ReturnStatus.REFUNDED] == frozenset()
    assert TABLES[DisputeStatus][DisputeStatus.RESOLVED] == frozenset()


def test_an_illegal_move_of_a_smaller_machine_raises_and_changes_nothing() -> None:
    order = paid_order(Clock())
    order.seller_cancel(reason="no stock", ctx=Clock().ctx())
    [refund] = order.refunds
    move(refund, RefundStatus.SUCCEEDED)
    with pytest.raises(InvalidState):
        move(refund, RefundStatus.PENDING)
    assert refund.status == RefundStatus.SUCCEEDED


def test_deadline_kinds_come_from_the_orders_one_table_and_each_names_a_rule() -> None:
    assert frozenset(Order.DEADLINES) == ORDER_DEADLINES
    assert all(callable(getattr(Order, name)) for name in Order.DEADLINES.values())


def test_the_mixins_placeholders_resolve_to_the_real_rules() -> None:
    for name in ("deliver", "_cancel", "_after_dispute", "choose_refund_destination"):
        owner = next(c for c in Order.__mro__ if name in c.__dict__)
        doc = owner.__dict__[name].__doc__ or ""
        assert not doc.startswith("Provided by"), (name, owner.__name__)
    assert next(c for c in Order.__mro__ if "_after_dispute" in c.__dict__) is TimerRules
