"""Rule 4: refunds go back to the original payment method, or to the balance if the buyer
chooses so (balance refunds are credited at once)."""

from __future__ import annotations

from tests.client import Api


def test_a_buyer_can_ask_for_a_cancellation_refund_to_the_balance(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.paid_order(buyer, seller, method="card")
    body = {"reason": "changed_mind", "refund_to": "balance"}
    requested = api.ok(api.post(f"/orders/{order['id']}/cancel", body, as_=buyer), 202)
    assert requested["refund_to"] == "balance"
    accepted = api.ok(api.post(f"/orders/{order['id']}/cancellation/accept", as_=seller))
    assert [r["method"] for r in accepted["refunds"]] == ["balance"]
    api.advance(1)
    assert api.get_order(order["id"], buyer)["refunds"][0]["status"] == "succeeded"


def test_refunds_go_to_the_original_method_by_default(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.paid_order(buyer, seller, method="card")
    api.ok(api.post(f"/orders/{order['id']}/cancel", {"reason": "other"}, as_=buyer), 202)
    accepted = api.ok(api.post(f"/orders/{order['id']}/cancellation/accept", as_=seller))
    assert accepted["refund_to"] == "original"
    assert [r["method"] for r in accepted["refunds"]] == ["card"]
    api.advance(1)
    assert api.get_order(order["id"], buyer)["refunds"][0]["status"] == "processing"


def test_the_destination_can_be_set_for_later_refunds_and_only_by_the_buyer(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    path = f"/orders/{order['id']}/refund-destination"
    api.problem(api.post(path, {"refund_to": "balance"}, as_=seller), 403, "forbidden")
    stranger = api.user("buyer")
    api.problem(api.post(path, {"refund_to": "balance"}, as_=stranger), 404, "not_found")
    api.problem(api.post(path, {"refund_to": "bank"}, as_=buyer), 422, "validation_error")
    chosen = api.ok(api.post(path, {"refund_to": "balance"}, as_=buyer))
    assert chosen["refund_to"] == "balance"
    assert chosen["timeline"][-1]["event"] == "refund_destination"
    dispute = api.ok(
        api.post(
            f"/orders/{order['id']}/disputes",
            {
                "reason": "damaged",
                "refund_type": "partial",
                "amount": "10.00",
                "description": "dented",
            },
            as_=buyer,
        ),
        201,
    )
    api.ok(api.post(f"/disputes/{dispute['id']}/accept", as_=seller))
    refunds = api.get_order(order["id"], buyer)["refunds"]
    assert [(r["amount"]["amount"], r["method"]) for r in refunds] == [("10.00", "balance")]
