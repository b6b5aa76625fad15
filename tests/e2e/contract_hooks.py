"""schemathesis hooks for the contract fuzz (loaded with SCHEMATHESIS_HOOKS).

`valid_request_accepted` replaces schemathesis's positive_data_acceptance: a schema-valid
request must not be refused as malformed (400/422), except where the refusal is a rule on
data the schema cannot know (an id that names no user, an amount against the order's total
or its currency's decimals, a cursor the server did not issue, an Idempotency-Key reused
with another body, a Stripe event without its signature)."""

from __future__ import annotations

import json
from typing import Any

import schemathesis
from schemathesis.core.failures import Failure

# 422 codes that are rules on stored data, never on a request's form
DATA_CODES = {
    "payment_amount_mismatch",
    "payment_not_found",
    "refund_exceeds_paid",
    "idempotency_key_reused",
    "invalid_cursor",
}
# validation_error on these fields: their validity depends on stored data (other users,
# the order's currency and lines) or on the uploaded bytes
DATA_FIELDS = {
    "buyer_id",
    "seller_id",
    "amount",
    "refund_amount",
    "unit_price",
    "shipping_fee",
    "items",
    "file",
    "sku",
    "quantity",
}


def _problem(response: Any) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except (ValueError, TypeError):
        return {}
    return body if isinstance(body, dict) else {}


def refusal_is_about_form(status: int, problem: dict[str, Any]) -> bool:
    """Whether a 400/422 answer refuses the request's form (what the schema promised)."""
    code = problem.get("code")
    if status == 400:
        return code != "invalid_signature"
    if status != 422:
        return False
    reasons = {e.get("code") for e in problem.get("errors") or [] if isinstance(e, dict)}
    if code in DATA_CODES or reasons & DATA_CODES:
        return False
    return not (code == "validation_error" and problem.get("field") in DATA_FIELDS)


def _unstorable(value: Any) -> bool:
    """Whether a JSON value holds a NUL or a lone surrogate anywhere, keys included: the API
    refuses them even in fields it ignores, which JSON Schema cannot say of unknown fields
    (the known text fields' patterns exclude them)."""
    if isinstance(value, str):
        return "\x00" in value or any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, dict):
        return any(_unstorable(k) or _unstorable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_unstorable(v) for v in value)
    return False


def _whole_floats(value: Any) -> bool:
    """Whether a JSON value holds a float with a whole value (e.g. 97.0): JSON Schema counts it
    an integer, the API does not (whole numbers are JSON integers; strict.py)."""
    if isinstance(value, float):
        return value.is_integer()
    if isinstance(value, dict):
        return any(_whole_floats(v) for v in value.values())
    if isinstance(value, list):
        return any(_whole_floats(v) for v in value)
    return False


@schemathesis.check
def valid_request_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    """A schema-valid request is not refused as malformed."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    if _whole_floats(case.body) or _unstorable(case.body):
        return None
    status = response.status_code
    problem = _problem(response)
    if refusal_is_about_form(status, problem):
        raise Failure(
            operation=case.operation.label,
            title="Schema-valid request refused",
            message=f"[{status}] {problem.get('code')}: {problem.get('detail')}",
        )
    return None
