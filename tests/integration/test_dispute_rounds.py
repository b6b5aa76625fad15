"""Dispute negotiation (DOMAIN.md rule 15): rounds, modify, withdraw, at most two disputes per
order, the history, decide_by and each role's allowed actions, over the API on both databases."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from aftersale.services.runtime import Runtime
from tests.client import DAY, Api, Party
from tests.integration.ledger_check import (
    amount,
    ask_dispute,
    assert_books_balance,
    refused,
    snapshot,
)


def books(rt: Runtime) -> None:
    """The books of every order add up."""
    assert_books_balance(rt.engine)  # type: ignore[attr-defined]


def at(value: str) -> datetime:
    """An RFC 3339 time of the API."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def act(api: Api, dispute: dict[str, Any], action: str, who: Party, body: Any = None) -> Any:
    """POST /disputes/{id}/{action}."""
    return api.post(f"/disputes/{dispute['id']}/{action}", body, as_=who)


def actions(api: Api, dispute: dict[str, Any], who: Party) -> list[str]:
    """The dispute's allowed actions for a party."""
    got: list[str] = api.ok(api.get(f"/disputes/{dispute['id']}", as_=who))["allowed_actions"]
    return got


def test_the_buyer_modifies_after_each_answer_up_to_three_seller_answers(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    dispute = api.ok(ask_dispute(api, order, buyer, "30.00"), 201)
    assert dispute["rounds"] == 0
    for round_ in (1, 2, 3):
        answered = api.ok(act(api, dispute, "propose", seller, {"amount": f"{round_}.00"}))
        assert (answered["status"], answered["rounds"]) == ("seller_responded", round_)
        if round_ < 3:
            body = {"refund_type": "partial", "amount": f"{30 - round_}.00"}
            again = api.ok(act(api, dispute, "modify", buyer, body))
            assert again["status"] == "open" and again["proposed_amount"] is None
            assert amount(again["requested_amount"]) == Decimal(30 - round_)
            assert at(again["respond_by"]) == at(api.now()) + timedelta(days=5)
    assert "modify" not in actions(api, dispute, buyer)
    before = snapshot(api, order["id"])
    response = act(api, dispute, "modify", buyer, {"refund_type": "full"})
    refused(api, response, 409, "dispute_rounds_exhausted", order["id"], before)
    assert set(actions(api, dispute, buyer)) == {
        "accept_proposal",
        "escalate",
        "withdraw",
        "add_evidence",
    }
    done = api.ok(act(api, dispute, "accept-proposal", buyer))
    assert done["status"] == "resolved" and amount(done["resolution_amount"]) == Decimal(3)
    steps = [(s["actor"], s["action"]) for s in done["history"]]
    assert steps == [
        ("buyer", "opened"),
        ("seller", "proposed"),
        ("buyer", "modified"),
        ("seller", "proposed"),
        ("buyer", "modified"),
        ("seller", "proposed"),
        ("buyer", "resolved"),
    ]
    assert amount(done["history"][1]["amount"]) == Decimal(1)
    books(rt)


def test_a_modified_request_the_seller_leaves_unanswered_is_lost_by_default(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    dispute = api.ok(ask_dispute(api, order, buyer, "30.00"), 201)
    api.ok(act(api, dispute, "reject", seller, {"reason": "no"}))
    api.advance(4 * DAY)  # within the buyer's 5 days
    api.ok(act(api, dispute, "modify", buyer, {"refund_type": "partial", "amount": "25.00"}))
    api.advance(2 * DAY)  # the round-one buyer deadline passes: nothing happens
    assert api.ok(api.get(f"/disputes/{dispute['id']}", as_=buyer))["status"] == "open"
    api.advance(3 * DAY)
    got = api.ok(api.get(f"/disputes/{dispute['id']}", as_=buyer))
    assert (got["status"], got["resolved_by"]) == ("resolved", "default")
    assert amount(got["resolution_amount"]) == Decimal(25)
    books(rt)


def test_modify_is_refused_while_the_dispute_waits_for_the_seller(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    dispute = api.ok(ask_dispute(api, order, buyer, "30.00"), 201)
    before = snapshot(api, order["id"])
    response = act(api, dispute, "modify", buyer, {"refund_type": "full"})
    refused(api, response, 409, "invalid_state", order["id"], before)
    response = act(api, dispute, "modify", seller, {"refund_type": "full"})
    refused(api, response, 403, "forbidden", order["id"], before)
    api.ok(act(api, dispute, "reject", seller, {"reason": "no"}))
    before = snapshot(api, order["id"])
    response = act(api, dispute, "modify", buyer, {"refund_type": "partial", "amount": "99.00"})
    refused(api, response, 422, "refund_exceeds_paid", order["id"], before)
    response = act(api, dispute, "modify", buyer, {"refund_type": "partial"})
    refused(api, response, 422, "validation_error", order["id"], before)


def test_the_buyer_withdraws_an_open_or_answered_dispute_and_nothing_is_refunded(
    api: Api, rt: Runtime
) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    first = api.ok(ask_dispute(api, order, buyer, "10.00"), 201)
    assert "withdraw" in actions(api, first, buyer)
    done = api.ok(act(api, first, "withdraw", buyer))
    assert (done["status"], done["closed_reason"], done["refund_id"]) == (
        "closed",
        "withdrawn",
        None,
    )
    assert done["history"][-1]["action"] == "withdrawn"
    second = api.ok(ask_dispute(api, order, buyer, "10.00"), 201)
    api.ok(act(api, second, "propose", seller, {"amount": "5.00"}))
    assert api.ok(act(api, second, "withdraw", buyer))["status"] == "closed"
    got = api.get_order(order["id"], buyer)
    assert got["refunds"] == [] and "open_dispute" not in got["allowed_actions"]
    before = snapshot(api, order["id"])
    refused(api, act(api, second, "withdraw", buyer), 409, "invalid_state", order["id"], before)
    books(rt)


def test_a_third_dispute_is_refused_with_dispute_limit_reached(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    for _ in range(2):
        dispute = api.ok(ask_dispute(api, order, buyer, "5.00"), 201)
        before = snapshot(api, order["id"])
        response = ask_dispute(api, order, buyer, "5.00")
        refused(api, response, 409, "dispute_already_open", order["id"], before)
        api.ok(act(api, dispute, "withdraw", buyer))
    before = snapshot(api, order["id"])
    response = ask_dispute(api, order, buyer, "5.00")
    refused(api, response, 409, "dispute_limit_reached", order["id"], before)


def test_an_escalated_dispute_carries_decide_by_seven_days_on(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    dispute = api.ok(ask_dispute(api, order, buyer, "10.00"), 201)
    assert dispute["decide_by"] is None
    api.ok(act(api, dispute, "reject", seller, {"reason": "no"}))
    got = api.ok(act(api, dispute, "escalate", buyer))
    assert at(got["decide_by"]) == at(got["escalated_at"]) + timedelta(days=7)
    assert actions(api, dispute, api.admin) == ["resolve"]
    assert actions(api, dispute, buyer) == ["add_evidence"]
    assert actions(api, dispute, seller) == ["add_evidence"]
    api.advance(30 * DAY)  # the platform's target has no default outcome
    assert api.ok(api.get(f"/disputes/{dispute['id']}", as_=buyer))["status"] == "escalated"


def test_each_role_sees_the_dispute_actions_open_to_it(api: Api) -> None:
    buyer, seller = api.user("buyer"), api.user("seller")
    order = api.delivered_order(buyer, seller)
    dispute = api.ok(ask_dispute(api, order, buyer, "10.00"), 201)
    assert actions(api, dispute, seller) == ["accept", "reject", "propose", "add_evidence"]
    assert actions(api, dispute, buyer) == ["withdraw", "add_evidence"]
    assert actions(api, dispute, api.admin) == ["resolve"]
    api.ok(act(api, dispute, "reject", seller, {"reason": "no"}))
    assert actions(api, dispute, buyer) == ["modify", "escalate", "withdraw", "add_evidence"]
    assert actions(api, dispute, seller) == ["add_evidence"]
    order_view = api.get_order(order["id"], buyer)
    assert order_view["disputes"][0]["allowed_actions"] == actions(api, dispute, buyer)
