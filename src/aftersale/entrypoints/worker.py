"""The deadline worker loop: thin; the use case does the work."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from aftersale.entrypoints import worker_counts
from aftersale.services.deadlines import fire_due
from aftersale.services.runtime import Runtime

log = logging.getLogger("aftersale.worker")


class Worker:
    """Fires due deadlines in batches until stopped; any number may share one PostgreSQL."""

    def __init__(
        self, rt: Runtime, *, interval: float = 1.0, batch: int = 500, counted: bool = True
    ) -> None:
        self.rt = worker_counts.counted(rt) if counted else rt  # (metrics and a log line)
        self.interval, self.batch = interval, batch
        self._stop = threading.Event()

    def stop(self) -> None:
        """Ask the loop to end after the current batch."""
        self._stop.set()

    def run_once(self) -> int:
        """Fire everything due now; returns how many deadlines were taken."""
        total = 0
        while not self._stop.is_set():
            taken = fire_due(self.rt, limit=self.batch)
            total += taken
            if taken:
                log.info("took %d due deadlines", taken)
            if taken < self.batch:
                break
        return total

    def run(self) -> None:
        """Loop until stopped, purging old idempotency keys now and then."""
        last_purge = datetime.min.replace(tzinfo=UTC)
        while not self._stop.is_set():
            try:
                self.run_once()
                now = datetime.now(UTC)
                if now - last_purge > timedelta(hours=1):
                    with self.rt.uow() as uow:
                        uow.idempotency.purge(now - timedelta(hours=25))
                        uow.commit()
                    last_purge = now
            except Exception:  # keep the loop alive; the failing batch is retried next time
                log.exception("worker batch failed")
            self._stop.wait(self.interval)
