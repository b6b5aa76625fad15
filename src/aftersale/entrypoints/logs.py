"""Logs as JSON lines on stdout (structlog), the standard library's records included.

A request's line is written by `observe.RequestObserver`, a worker batch's by the worker.
Nothing secret is ever passed to a logger: no header, cookie, query string or body, only
the route's template, ids and figures."""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
from collections import deque
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog

_configured = False


def _dumps(obj: Any, **_: Any) -> str:
    return orjson.dumps(obj, default=str).decode()


class _Stdout:
    """Writes each rendered line to whatever sys.stdout is now, flushed (a line a write)."""

    def msg(self, line: str) -> None:
        """Write one line."""
        out = sys.stdout
        out.write(line + "\n")
        out.flush()

    debug = info = warning = error = critical = exception = msg


def configure(level: int = logging.INFO) -> None:
    """JSON lines for structlog and for every standard logger (uvicorn's too), once."""
    global _configured
    if _configured:
        return
    _configured = True
    shared: list[Any] = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.JSONRenderer(serializer=_dumps)],
        logger_factory=lambda *_: _Stdout(),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.JSONRenderer(serializer=_dumps),
            ],
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


class _LineWriter:
    """Request lines written off the request path: a request renders its line (orjson) and
    appends it to a queue; a thread writes what has queued every `every` seconds, in one
    write. A write per request, flushed, took a system call on the event loop each time, and
    blocked it whenever stdout's pipe or file stalled (bench/README.md, issue 16). Lines wait
    at most `every`; `flush()` (at exit, and for tests) writes what is queued at once."""

    def __init__(self, every: float = 0.05) -> None:
        self.every = every
        self.queued: deque[bytes] = deque()
        self.lock = threading.Lock()  # (one writer at a time keeps the lines in order)
        self.thread: threading.Thread | None = None

    def add(self, line: bytes) -> None:
        """Queue a line (a deque's append: safe from any thread); start the thread if none
        runs yet in this process."""
        self.queued.append(line)
        if self.thread is None:
            self._start()

    def _start(self) -> None:
        with self.lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="log-lines", daemon=True)
                self.thread.start()

    def forked(self) -> None:
        """In a forked child: no thread runs there, and the parent's queued lines are the
        parent's to write."""
        self.queued.clear()
        self.lock = threading.Lock()
        self.thread = None

    def _run(self) -> None:
        wait = threading.Event().wait
        while True:
            wait(self.every)
            self.flush()

    def flush(self) -> None:
        """Write every queued line now, in order, in one write."""
        with self.lock:
            if not self.queued:
                return
            lines = [self.queued.popleft() for _ in range(len(self.queued))]
            out = sys.stdout.buffer
            out.write(b"".join(lines))
            out.flush()


_lines = _LineWriter()
atexit.register(_lines.flush)
os.register_at_fork(after_in_child=_lines.forked)
flush = _lines.flush


def request_line(fields: dict[str, Any]) -> None:
    """One request's line, in the same JSON shape as structlog's lines, rendered straight by
    orjson (structlog's processor chain cost 15 µs a request, this 4 µs) and queued for the
    writer thread (`_LineWriter`)."""
    fields["event"], fields["level"], fields["ts"] = "request", "info", datetime.now(UTC)
    _lines.add(orjson.dumps(fields, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_UTC_Z))


def get(name: str) -> Any:
    """A structlog logger bound to a component's name (lazy: made on first use, so a module
    may take one before the logs are configured)."""
    return structlog.get_logger(component=name)
