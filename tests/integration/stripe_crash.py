"""`python -m tests.integration.stripe_crash`: a worker that dies between Stripe's answer and
its own commit (os._exit, as a kill -9 would), for the exactly-one-refund test."""

from __future__ import annotations

import os
from typing import Any

from aftersale.bootstrap import build_runtime
from aftersale.services.deadlines import advance_test_clock
from aftersale.settings import Settings

DIED = 17


class DiesAfterAnswer:
    """The real gateway; the process ends the moment Stripe has answered a refund."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def refund_many(self, requests: list[Any]) -> Any:
        """Make the refunds at Stripe, then die before anything is committed."""
        self.real.refund_many(requests)
        os._exit(DIED)


if __name__ == "__main__":
    rt = build_runtime(Settings())
    rt.gateway = DiesAfterAnswer(rt.gateway)  # type: ignore[assignment]
    advance_test_clock(rt, 60)
    raise SystemExit(0)  # not reached when a refund was due
