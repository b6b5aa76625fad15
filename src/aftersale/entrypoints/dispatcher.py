"""The dispatcher loop: thin, like the deadline worker. Each round fans the outbox out, makes
the due webhook attempts (concurrently, on one event loop of its own) and sends the due mail.

Runs in `aftersale worker` (any number share the work on PostgreSQL) and, where the deadline
worker runs inside `serve` (the SQLite default), in a thread of the server: never inside a
request, always after the change was committed."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, TypeVar

from aftersale.adapters import metrics
from aftersale.adapters.notify.webhook_sender import WebhookSender, valid_secrets
from aftersale.entrypoints.mailer import Mailer
from aftersale.services.deliveries import Outcome, claim_due, record
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
        self.attempts_batch = settings.webhook_in_flight
        self.refill = max(1, self.attempts_batch // 4)  # claim again once this many slots free
        # leased beyond what is in flight, ready to start the moment a slot frees: as many as
        # the slots, so each starts within one attempt of its claim (an attempt's whole time
        # is bounded by the timeout) and ends within two; the lease is longer, or another
        # worker could take it again meanwhile. (16 left slots idle while a claim was under
        # way: bench/README.md, "Webhook deliveries")
        self.prefetch = self.attempts_batch
        # attempts ended but not yet written that do not hold claims back: the writes take
        # turns, so up to a slot's worth waits for the one under way; beyond that claims
        # wait, so a lagging database cannot let leases run out while more are taken
        self.unwritten_allowed = self.attempts_batch
        lease = max(settings.webhook_lease, 2 * settings.webhook_timeout + 5)
        self.lease = timedelta(seconds=lease)
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
        total = await self._deliver()
        return total + await asyncio.to_thread(self.mailer.send_due, limit=self.batch)

    def _fan_out(self) -> int:
        """One batch of the outbox fanned out (on a thread)."""
        return fan_out(self.rt, limit=self.batch, mail_domain=self.mailer.domain)

    async def _deliver(self) -> int:
        """Fan the outbox out, a batch at a time on a thread, and attempt every due delivery
        meanwhile (the first once the first batch is fanned out). Claims keep `in_flight`
        attempts going and as many more leased, ready to start as soon as a slot frees (at
        most `prefetch`: each starts within one timeout of its claim and ends within two,
        inside the lease); outcomes are written as attempts end, one write at a time, each
        taking all that ended meanwhile. Claims and writes run on threads too, so attempts go
        on while the database works; every attempt, claim, write and fan-out wakes this loop
        when it ends."""
        wake = asyncio.Event()
        running: dict[asyncio.Future[Outcome], dict[str, Any]] = {}
        ready: deque[tuple[dict[str, Any], list[str]]] = deque()
        ended: list[tuple[dict[str, Any], Outcome]] = []
        claiming: asyncio.Future[list[tuple[dict[str, Any], list[str]]]] | None = None
        writing: asyncio.Future[int] | None = None
        fanning: asyncio.Future[int] | None = None
        asked, total, more, writing_count, fan_more = 0, 0, True, 0, True
        # a claim that was under way when a fan-out or a write committed may have read the
        # table before them: what it finds then says nothing about what is left to claim
        stale_claim = False
        failure: BaseException | None = None

        def attempted(future: asyncio.Future[Outcome]) -> None:
            row = running.pop(future)
            ended.append((row, future.result()))  # (an attempt never raises: outcomes)
            wake.set()

        def woken(_future: asyncio.Future[Any]) -> None:
            wake.set()

        while True:
            if fanning is None and fan_more and failure is None and not self._stop.is_set():
                fanning = asyncio.ensure_future(asyncio.to_thread(self._fan_out))
                fanning.add_done_callback(woken)
            while ready and len(running) < self.attempts_batch:
                row, secrets = ready.popleft()
                future = asyncio.ensure_future(self.sender.attempt(row, secrets=secrets))
                running[future] = row
                future.add_done_callback(attempted)
            # (what ended and is not yet written is still leased: past `unwritten_allowed`,
            # claims wait for the writes, else a lagging database would let leases run out,
            # and attempts be made twice)
            unwritten = max(0, len(ended) + writing_count - self.unwritten_allowed)
            room = self.attempts_batch + self.prefetch - len(running) - len(ready) - unwritten
            wanted = room >= self.refill or (room > 0 and not (running or ready))
            if claiming is None and more and wanted and failure is None and not self._stop.is_set():
                asked = room
                claiming = asyncio.ensure_future(asyncio.to_thread(self._claim, room))
                claiming.add_done_callback(woken)
            if writing is None and ended:
                batch, ended = ended, []
                writing_count = len(batch)
                writing = asyncio.ensure_future(asyncio.to_thread(self._write, batch))
                writing.add_done_callback(woken)
            if not (running or ready or claiming or writing or fanning):
                break
            await wake.wait()
            wake.clear()
            if fanning is not None and fanning.done():
                try:
                    taken = fanning.result()
                except Exception as exc:  # (its events stay undispatched: taken again later)
                    failure, taken = failure or exc, 0
                fanning, fan_more = None, taken >= self.batch
                total += taken
                more = more or taken > 0  # new deliveries to claim
                stale_claim = stale_claim or (taken > 0 and claiming is not None)
            if claiming is not None and claiming.done():
                try:
                    claimed = claiming.result()
                except Exception as exc:  # (the attempts running still end and are written)
                    failure, claimed = failure or exc, []
                claiming, more = None, len(claimed) >= asked or stale_claim
                stale_claim = False
                ready.extend(claimed)
            if writing is not None and writing.done():
                try:
                    total += writing.result()
                except Exception as exc:  # (their leases end: attempted again, same id)
                    failure = failure or exc
                writing, writing_count = None, 0
                more = True  # a first attempt written may let an order's next event go
                stale_claim = stale_claim or claiming is not None
        if failure is not None:
            raise failure
        return total

    def _claim(self, limit: int) -> list[tuple[dict[str, Any], list[str]]]:
        """Lease due deliveries (on a thread), each with the secrets to sign it with (the
        clock read once: the test clock's is a query)."""
        claimed = claim_due(self.rt, limit=limit, lease=self.lease)
        now = self.rt.clock.now() if claimed else None
        return [(row, valid_secrets(row, now)) for row in claimed if now is not None]

    def _write(self, batch: list[tuple[dict[str, Any], Outcome]]) -> int:
        """Record ended attempts (on a thread); count them once recorded."""
        record(self.rt, [row for row, _ in batch], [outcome for _, outcome in batch])
        for _, outcome in batch:  # counted once recorded: a crash before counts nothing
            metrics.webhook_delivered("delivered" if outcome.ok else "failed")
        log.info("made %d webhook attempts", len(batch))
        return len(batch)


def start_thread(dispatcher: Dispatcher) -> threading.Thread:
    """Run a dispatcher in a daemon thread."""
    thread = threading.Thread(target=dispatcher.run, name="dispatcher", daemon=True)
    thread.start()
    return thread
