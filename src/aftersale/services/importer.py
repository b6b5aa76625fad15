"""Bulk import of existing orders (docs/IMPORT.md): each line is checked and replayed through
the domain's own rules as of its historical timestamps (`importer_replay`), so an imported
order is a complete aggregate (timeline, ledger, the deadlines it still needs) that the engine
treats like a native one. A bad line is reported with its number and nothing of it is written;
good lines are written a batch per transaction through the `ImportStore` port; known order ids
are skipped.

Into an empty database the store may load faster in one transaction (`ImportStore.fast_load`);
then every batch is written in it, ids need no look-up (none exists but this file's), and a
crash or an error leaves nothing of the file.

Batches are checked by `jobs` worker processes (`importer_pool`; 0: in this process) and
written in file order by one writer thread; ids are matched across the whole file here, in
file order, so line numbers, `duplicate_id` and the report do not depend on `jobs`."""

from __future__ import annotations

import gc
import hashlib
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from itertools import islice
from typing import Any, Protocol

import orjson

from aftersale.domain.errors import ConcurrentModification, DomainError, ValidationFailed
from aftersale.domain.order import Order
from aftersale.domain.validate import first_unstorable
from aftersale.services.importer_pool import validators
from aftersale.services.importer_replay import ID, KEYS, Party, build_order
from aftersale.services.runtime import Runtime

__all__ = ["ImportReport", "ImportStore", "LineProblem", "Party", "build_order", "import_orders"]


@dataclass(frozen=True, slots=True)
class LineProblem:
    """A line that was not imported, and why."""

    line: int
    code: str
    reason: str
    order_id: str | None = None


@dataclass
class ImportReport:
    """What an import did: lines read, orders imported, ids skipped, lines refused."""

    lines: int = 0
    imported: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    errors: list[LineProblem] = field(default_factory=list)


class ImportSession(Protocol):
    """One transaction of the import."""

    def parties(self, user_ids: Collection[str]) -> dict[str, Party]:
        """The users among these ids that exist."""
        ...

    def existing_orders(self, order_ids: Collection[str]) -> set[str]:
        """The order ids among these that exist already."""
        ...

    def write_rows(self, rows: Sequence[Any]) -> None:
        """Insert whole new aggregates, each as `ImportStore.rows` made it."""
        ...

    def commit(self) -> None:
        """Make the batch permanent (ConcurrentModification if an id was taken meanwhile)."""
        ...


class ImportStore(Protocol):
    """Opens import transactions."""

    default_jobs: int  # worker processes when the caller does not say

    def rows(self, order: Order) -> Any:
        """The aggregate as the rows to write (picklable; no I/O, runs in a worker)."""
        ...

    def before_fork(self) -> None:
        """Called before worker processes are forked from this one."""
        ...

    def session(self, *, readonly: bool = False) -> AbstractContextManager[ImportSession]:
        """A transaction; leaving it without commit() rolls back."""
        ...

    def fast_load(
        self, phase: Callable[[str], None] | None = None
    ) -> AbstractContextManager[ImportSession | None]:
        """One transaction for the whole import, in which nothing but its own rows can exist
        (an empty database, held until the end), finished (and committed) on a clean exit and
        rolled back on an exception; None if the store does not load that way now. `phase` is
        told of the work done after the last batch."""
        ...


# A line's outcome in a batch check: (line number, order id or None if the line failed before
# its id was known, the problem or None, the rows to write or None (skipped or refused)).
Outcome = tuple[int, str | None, LineProblem | None, Any]


def import_orders(
    rt: Runtime,
    store: ImportStore,
    lines: Iterable[str],
    *,
    dry_run: bool = False,
    batch_size: int = 5000,
    progress: Callable[[int], None] | None = None,
    jobs: int | None = None,
    phase: Callable[[str], None] | None = None,
) -> ImportReport:
    """Validate every line and write the good ones, a batch per transaction (or all in one:
    the store's fast load into an empty database).

    `jobs` worker processes check batches ahead (None: the store's default; 0: this process
    checks them); batch N is written by a writer thread while the next ones are checked, at
    most one batch being written. `phase(what)`: told of work after the last batch."""
    if jobs is None:
        jobs = store.default_jobs
    gc.freeze()  # what exists now lives on: the collector no longer walks it at every pass
    try:
        return _import(rt, store, lines, dry_run, batch_size, progress, jobs, phase)
    finally:
        gc.unfreeze()


def _import(
    rt: Runtime,
    store: ImportStore,
    lines: Iterable[str],
    dry_run: bool,
    batch_size: int,
    progress: Callable[[int], None] | None,
    jobs: int,
    phase: Callable[[str], None] | None,
) -> ImportReport:
    report, seen = ImportReport(), set[str]()
    check = partial(check_batch, rt, store)
    with (
        validators(check, jobs, before_fork=store.before_fork) as submit,
        # (after the fork: no worker inherits the load's connection)
        nullcontext(None) if dry_run else store.fast_load(phase) as load,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-writer") as writer,
    ):
        fresh = load is not None
        pending: Future[None] | None = None
        checking: deque[tuple[list[tuple[int, str]], datetime, Any]] = deque()

        def take() -> None:
            nonlocal pending
            chunk, now, handle = checking.popleft()
            batch = _resolve(chunk, now, handle.get(), seen, report)
            if pending is not None:
                pending.result()
            if dry_run:
                _done(batch, report, progress)
            else:
                pending = writer.submit(_write, store, load, check, batch, report, progress)

        for chunk in _chunks(enumerate(lines, 1), batch_size):
            now = rt.clock.now()
            checking.append((chunk, now, submit(chunk, now, fresh)))
            if len(checking) > jobs:  # keep every worker busy, no more
                take()
        while checking:
            take()
        if pending is not None:
            pending.result()
    report.errors.sort(key=lambda p: p.line)
    return report


@dataclass
class _Batch:
    lines: list[tuple[int, str]]  # the lines that passed the id checks (checked again on retry)
    now: datetime
    size: int
    rows: list[Any]
    skipped: list[tuple[int, str]]
    problems: list[LineProblem]


def _resolve(
    chunk: list[tuple[int, str]],
    now: datetime,
    outcomes: list[Outcome],
    seen: set[str],
    report: ImportReport,
) -> _Batch:
    """Match a checked batch's ids against every earlier line of the file, in file order."""
    raw = dict(chunk)
    batch = _Batch([], now, len(chunk), [], [], [])
    for number, order_id, problem, rows in outcomes:
        if order_id is None:
            assert problem is not None
            report.errors.append(problem)
            continue
        if order_id in seen:
            problem = LineProblem(number, "duplicate_id", "this id is on an earlier line", order_id)
            report.errors.append(problem)
            continue
        seen.add(order_id)
        batch.lines.append((number, raw[number]))
        if problem is not None:
            batch.problems.append(problem)
        elif rows is None:
            batch.skipped.append((number, order_id))
        else:
            batch.rows.append(rows)
    return batch


def check_batch(
    rt: Runtime,
    store: ImportStore,
    chunk: list[tuple[int, str]],
    now: datetime,
    fresh: bool = False,
) -> list[Outcome]:
    """Parse every line, look up its users and whether its id exists (in bulk; not when
    `fresh`: no order existed before this import), replay the new ones and turn the good ones
    into rows. Needs no state of the rest of the file."""
    parsed: list[tuple[int, str, dict[str, Any]]] = []
    outcomes: list[Outcome] = []
    for number, raw in chunk:
        line = _parse(number, raw)
        if isinstance(line, LineProblem):
            outcomes.append((number, None, line, None))
        elif line is not None:
            parsed.append((number, *line))
    with store.session(readonly=True) as session:
        existing = set() if fresh else session.existing_orders([oid for _, oid, _ in parsed])
        ids = {
            u
            for _, _, d in parsed
            for k in ("buyer_id", "seller_id")
            if isinstance(u := d.get(k), str)
        }
        parties = session.parties(ids)
    for number, order_id, data in parsed:
        if order_id in existing:
            outcomes.append((number, order_id, None, None))
            continue
        try:
            order = build_order(rt, order_id, data, parties=parties, now=now)
            outcomes.append((number, order_id, None, store.rows(order)))
        except DomainError as exc:
            problem = LineProblem(number, exc.code, exc.detail, order_id)
            outcomes.append((number, order_id, problem, None))
        except (TypeError, ValueError, KeyError, AttributeError) as exc:  # a value of a wrong type
            problem = LineProblem(number, "validation_error", f"malformed line: {exc!r}")
            outcomes.append((number, order_id, problem, None))
    outcomes.sort(key=lambda o: o[0])
    return outcomes


def _write(
    store: ImportStore,
    load: ImportSession | None,
    check: Callable[[list[tuple[int, str]], datetime], list[Outcome]],
    batch: _Batch,
    report: ImportReport,
    progress: Callable[[int], None] | None,
) -> None:
    """Write a batch in one transaction (or in the fast load's); if an id was taken
    meanwhile, check the batch again (no other writer can take one during a fast load)."""
    if load is not None:
        if batch.rows:
            load.write_rows(batch.rows)
        _done(batch, report, progress)
        return
    for attempt in range(3):
        try:
            if batch.rows:
                with store.session() as session:
                    session.write_rows(batch.rows)
                    session.commit()
            break
        except ConcurrentModification:
            if attempt == 2:
                raise
            size = batch.size
            batch = _resolve(batch.lines, batch.now, check(batch.lines, batch.now), set(), report)
            batch.size = size
    _done(batch, report, progress)


def _done(batch: _Batch, report: ImportReport, progress: Callable[[int], None] | None) -> None:
    report.lines += batch.size
    report.imported += len(batch.rows)
    report.skipped.extend(batch.skipped)
    report.errors.extend(batch.problems)
    if progress is not None:
        progress(batch.size)


def _chunks(items: Iterable[tuple[int, str]], size: int) -> Iterator[list[tuple[int, str]]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def _parse(number: int, raw: str) -> tuple[str, dict[str, Any]] | LineProblem | None:
    """JSON and identity checks that need no database: (id, data), a problem, or None for a
    blank line."""
    if not raw.strip():
        return None
    try:
        data = orjson.loads(raw)  # (stricter than json: no NaN, no lone surrogates)
        if not isinstance(data, dict):
            raise ValidationFailed("a line must be one JSON object")
        # (orjson refuses lone surrogates; a NUL can only come escaped, so most lines skip this)
        where = first_unstorable(data) if "\\u0000" in raw else None
        if where is not None:
            raise ValidationFailed(f"{where} holds a NUL byte", field=where)
        unknown = set(data) - KEYS
        if unknown:
            raise ValidationFailed(f"unknown fields: {', '.join(sorted(unknown))}")
        order_id = data.get("id")
        if order_id is None:  # stable across re-imports of the same line
            order_id = "ord_" + hashlib.sha256(raw.strip().encode()).hexdigest()[:24]
        if not isinstance(order_id, str) or not ID.match(order_id):
            raise ValidationFailed("id must be 1 to 40 letters, digits or _.:-", field="id")
    except ValueError as exc:  # orjson.JSONDecodeError is a ValueError
        return LineProblem(number, "invalid_json", f"not valid JSON: {exc}")
    except DomainError as exc:
        return LineProblem(number, exc.code, exc.detail)
    return order_id, data
