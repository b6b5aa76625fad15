"""Worker processes that check import batches ahead of the writer.

They are forked, so they inherit the runtime and the checking function as they are: only a
batch's lines go to a worker and only its outcomes come back (pickled). Results are taken in
the order the batches were submitted."""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
_check: Callable[..., Any] | None = None  # in a worker: what it runs


class Handle(Protocol[T_co]):
    """A batch being checked (AsyncResult, or an already computed result)."""

    def get(self) -> T_co:
        """The result, once there (a worker's exception is raised here)."""
        ...


class _Ready(Generic[T]):
    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value

    def get(self) -> T:
        return self.value


def _start(check: Callable[..., Any]) -> None:
    global _check
    _check = check
    gc.freeze()  # what the worker inherited is never garbage: the collector skips it


def _run(*args: Any) -> Any:
    assert _check is not None
    return _check(*args)


def can_fork() -> bool:
    """Whether this platform forks (Linux); elsewhere batches are checked in-process."""
    return "fork" in multiprocessing.get_all_start_methods()


@contextmanager
def validators(
    check: Callable[..., T], jobs: int, *, before_fork: Callable[[], None]
) -> Iterator[Callable[..., Handle[T]]]:
    """`submit(*args)`: check(*args) in one of `jobs` worker processes (0: here, at once).

    `before_fork` runs first in this process (e.g. closing idle database connections, so that
    no worker inherits an open one)."""
    if jobs <= 0 or not can_fork():
        yield lambda *args: _Ready(check(*args))
        return
    before_fork()
    pool = multiprocessing.get_context("fork").Pool(jobs, initializer=_start, initargs=(check,))
    try:
        yield lambda *args: pool.apply_async(_run, args)
        pool.close()
        pool.join()  # (so the workers' CPU time is counted as this process's children's)
    finally:
        pool.terminate()
