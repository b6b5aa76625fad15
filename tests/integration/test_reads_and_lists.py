"""Read marks, My Orders' refunds-and-disputes list and the staff's order search, on both
databases (services over adapters/db/seller_repo.py)."""

from __future__ import annotations

import pytest

from aftersale.domain.errors import Forbidden, NotFound
from aftersale.domain.validate import InvalidCursor
from aftersale.services import cancellation, messages, orders, reads, staff
from aftersale.services.deadlines import advance_test_clock
from aftersale.services.pages import list_aftersale
from aftersale.services.runtime import Runtime
from tests.integration.test_staff_stats import _party, _world


def test_unread_counts_follow_the_other_partys_messages_until_the_thread_is_opened(
    rt: Runtime,
) -> None:
    w = _world(rt)
    first, second = w["place"](paid=True), w["place"](paid=True)
    messages.post_message(rt, w["buyer"], first, body="Where is it?")
    advance_test_clock(rt, 60)
    messages.post_message(rt, w["buyer"], second, body="Hello")
    messages.post_message(rt, w["buyer"], second, body="Anyone?")
    messages.post_message(rt, w["seller"], second, body="Here")  # one's own never counts
    inbox = reads.inbox(rt, w["seller"])
    assert [(u["order_id"], u["count"]) for u in inbox] == [(second, 2), (first, 1)]
    assert reads.unread_counts(rt, w["buyer"]) == {second: 1}
    reads.mark_read(rt, w["seller"], second)
    reads.mark_read(rt, w["seller"], second)  # again: nothing changes
    assert reads.unread_counts(rt, w["seller"]) == {first: 1}
    messages.post_message(rt, w["buyer"], second, body="Thanks")
    assert reads.unread_counts(rt, w["seller"]) == {first: 1, second: 1}
    assert reads.unread_counts(rt, w["other"]) == {}  # another store's threads are not its
    with pytest.raises(NotFound):
        reads.mark_read(rt, w["other"], first)


def test_the_refunds_and_disputes_list_holds_only_orders_with_one_newest_first(
    rt: Runtime,
) -> None:
    w = _world(rt)
    plain, cancelled = w["place"](paid=True), w["place"](paid=True)
    advance_test_clock(rt, 60)
    later = w["place"](paid=True)
    cancellation.seller_cancel(rt, w["seller"], cancelled, reason="out of stock")
    cancellation.seller_cancel(rt, w["seller"], later, reason="out of stock")
    page = list_aftersale(rt, w["buyer"], cursor=None, limit=1)
    assert [o["id"] for o in page["items"]] == [later]
    rest = list_aftersale(rt, w["buyer"], cursor=page["next_cursor"], limit=10)
    assert [o["id"] for o in rest["items"]] == [cancelled] and rest["next_cursor"] is None
    assert plain not in {o["id"] for o in rest["items"] + page["items"]}
    other_buyer = _party(rt, "buyer", 9)
    assert list_aftersale(rt, other_buyer, cursor=None, limit=10)["items"] == []
    with pytest.raises(InvalidCursor):
        list_aftersale(rt, w["buyer"], cursor="forged", limit=10)


def test_staff_find_orders_by_id_or_by_a_partys_email_and_nobody_else_may(rt: Runtime) -> None:
    w = _world(rt)
    mine, theirs = w["place"](paid=False), w["place"](paid=False, who=w["other"])
    assert [o["id"] for o in staff.search_orders(rt, w["admin"], f" {mine} ")] == [mine]
    by_buyer = {o["id"] for o in staff.search_orders(rt, w["admin"], "BUYER0@stats.test")}
    assert by_buyer == {mine, theirs}
    by_seller = [o["id"] for o in staff.search_orders(rt, w["admin"], "seller1@stats.test")]
    assert by_seller == [theirs]
    assert staff.search_orders(rt, w["admin"], "nobody@stats.test") == []
    assert staff.search_orders(rt, w["admin"], "") == []
    names = staff.names_of(rt, w["admin"], [w["buyer"].user_id])
    assert names[w["buyer"].user_id] == {"name": "buyer 0", "email": "buyer0@stats.test"}
    with pytest.raises(Forbidden):
        staff.search_orders(rt, w["seller"], mine)
    assert orders.list_orders(rt, w["buyer"], status=None, cursor=None, limit=5)["items"]
