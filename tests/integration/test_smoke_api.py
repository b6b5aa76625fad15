"""The API answers on both databases (a quick end-to-end walk of the main path)."""

from tests.client import HOUR, Api


def test_paid_order_cancellation_is_auto_accepted_after_72_hours(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.paid_order(buyer, seller)
    requested = api.ok(
        api.post(f"/orders/{order['id']}/cancel", {"reason": "changed_mind"}, as_=buyer), 202
    )
    assert requested["cancellation"]["status"] == "pending"
    api.advance(72 * HOUR - 1)
    assert api.get_order(order["id"], buyer)["cancellation"]["status"] == "pending"
    api.advance(1)
    after = api.get_order(order["id"], buyer)
    assert after["status"] == "cancelled"
    assert after["cancellation"]["status"] == "auto_accepted"
    assert [r["amount"]["amount"] for r in after["refunds"]] == [order["total"]["amount"]]
