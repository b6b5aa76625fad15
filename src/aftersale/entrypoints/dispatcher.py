"""The dispatcher loop: thin, like the deadline worker. Each round fans the outbox out, makes
the due webhook attempts (concurrently, on one event loop of its own) and sends the due mail.

Runs in `aftersale worker` (any number share the work on PostgreSQL) and, where the deadline
worker runs inside `serve` (the SQLite default), in a thread of the server: never inside a
request, always after the change was committed."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TypeVar

from aftersale.adapters import metrics
from aftersale.adapters.notify.webhook_sender import WebhookSender, valid_secrets
from aftersale.entrypoints.mailer import Mailer
from aftersale.services.deliveries import claim_due, record
from aftersale.services.dispatch import fan_out
from aftersale.services.runtime import Runtime
from aftersale.settings import Settings

log = logging.getLogger("aftersale.dispatcher")
T = TypeVar("T")


class Dispatcher:
    """Delivers the outbox's events to webhooks and mail until stopped."""

    def __init__(
        self, rt: Runtime, settings: Settings, *, interval: float = 0.5, batch: int = 500
    ) -> None:
        self.rt, self.interval, self.batch = rt, interval, batch
        self.loop = asyncio.new_event_loop()
        self.sender = WebhookSender(
            allow_private=settings.webhook_allow_private,
            in_flight=settings.webhook_in_flight,
            timeout=settings.webhook_timeout,
        )
        self.mailer = Mailer(rt, settings)
        # a batch of attempts is at most what may be in flight, so all of it ends within one
        # timeout, well inside the lease (else another worker could take it again meanwhile)
        self.attempts_batch = settings.webhook_in_flight
        self.lease = timedelta(seconds=max(settings.webhook_lease, settings.webhook_timeout + 5))
        self._stop = threading.Event()

    def stop(self) -> None:
        """Ask the loop to end after the current round."""
        self._stop.set()

    def close(self) -> None:
        """Close the HTTP client and the event loop."""
        self._run(self.sender.close())
        self.loop.close()

    def run_once(self) -> int:
        """One round: everything that is due now; returns how many rows were handled."""
        return self._run(self._round())

    def _run(self, work: Coroutine[object, object, T]) -> T:
        """Run on the dispatcher's own loop; from a thread where another loop is running (a
        caller inside async code, a notebook), on a short-lived thread of its own, since one
        thread cannot run two loops."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self.loop.run_until_complete(work)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dispatcher") as pool:
            return pool.submit(self.loop.run_until_complete, work).result()

    def run(self) -> None:
        """Loop until stopped; a failing round is logged and tried again next time."""
        while not self._stop.is_set():
            try:
                done = self.run_once()
            except Exception:  # keep the loop alive; nothing was lost (leases, undispatched)
                log.exception("dispatcher round failed")
                done = 0
            if not done:
                self._stop.wait(self.interval)
        self.close()

    async def _round(self) -> int:
        total = 0
        while True:
            taken = fan_out(self.rt, limit=self.batch, mail_domain=self.mailer.domain)
            total += taken
            if taken < self.batch:
                break
        total += await self._deliver()
        return total + await asyncio.to_thread(self.mailer.send_due, limit=self.batch)

    async def _deliver(self) -> int:
        """Attempt every due delivery, a leased batch at a time."""
        total = 0
        while not self._stop.is_set():
            claimed = claim_due(self.rt, limit=self.attempts_batch, lease=self.lease)
            if not claimed:
                break
            now = self.rt.clock.now()
            outcomes = await asyncio.gather(
                *(self.sender.attempt(r, secrets=valid_secrets(r, now)) for r in claimed)
            )
            record(self.rt, claimed, list(outcomes))
            for outcome in outcomes:  # counted once recorded: a crash before counts nothing
                metrics.webhook_delivered("delivered" if outcome.ok else "failed")
            total += len(claimed)
            log.info("made %d webhook attempts", len(claimed))
        return total


def start_thread(dispatcher: Dispatcher) -> threading.Thread:
    """Run a dispatcher in a daemon thread."""
    thread = threading.Thread(target=dispatcher.run, name="dispatcher", daemon=True)
    thread.start()
    return thread
