"""What the deadline worker did, counted and logged from outside the use case: its units of
work are wrapped so that, once a batch commits, the kinds of the deadlines it marked fired
go to `aftersale_deadlines_fired_total{kind}` and the batch gets one JSON log line."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from aftersale.adapters import metrics
from aftersale.domain.order import ORDER_DEADLINES
from aftersale.entrypoints import logs
from aftersale.services.deadlines import REFUND_DEADLINES
from aftersale.services.runtime import Runtime

log = logs.get("aftersale.worker")


class _Deadlines:
    """The deadline repository, noting what was claimed and what was marked fired."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.kinds, self.fired = inner, dict[int, str](), list[int]()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def claim(self, **kw: Any) -> Any:
        """Claim due deadlines (and remember their kinds)."""
        batch = self.inner.claim(**kw)
        self.kinds.update((d.seq, d.kind) for d in batch)
        return batch

    def mark_fired(self, seqs: list[int], at: Any) -> None:
        """Mark deadlines fired (and remember which)."""
        self.fired.extend(seqs)
        self.inner.mark_fired(seqs, at)


class _CountingUow:
    """A unit of work that reports the deadlines it fired when it commits."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.started = inner, time.perf_counter()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def __enter__(self) -> _CountingUow:
        self.inner.__enter__()
        self.deadlines = _Deadlines(self.inner.deadlines)
        return self

    def __exit__(self, *exc: object) -> None:
        self.inner.__exit__(*exc)

    def commit(self) -> None:
        """Commit, then count and log the batch."""
        self.inner.commit()
        d = self.deadlines
        if not d.kinds:
            return
        kinds = [d.kinds[s] for s in d.fired if s in d.kinds]
        metrics.deadlines_fired(kinds)
        log.info(
            "worker_batch",
            taken=len(d.kinds),
            fired=len(kinds),
            postponed=len(d.kinds) - len(kinds),
            kinds=sorted(set(kinds)),
            duration_ms=round((time.perf_counter() - self.started) * 1000, 2),
        )


def counted(rt: Runtime) -> Runtime:
    """The same runtime, its units of work counting the deadlines they fire."""
    metrics.declare_deadline_kinds(sorted(ORDER_DEADLINES | REFUND_DEADLINES))
    metrics.declare_outcomes()
    inner = rt.uow

    def uow(*, readonly: bool = False) -> Any:
        return _CountingUow(inner(readonly=readonly))

    return dataclasses.replace(rt, uow=uow)
