"""`aftersale serve --workers N`: N API processes on one port, each listening on a socket of its
own (SO_REUSEPORT), so the kernel spreads new connections over them about evenly.

uvicorn's own `--workers` shares one listening socket, and whichever process wakes first
accepts every connection waiting: 32 keep-alive connections opened together split 27 / 5 or
30 / 6 between two processes, and the p99 was the crowded process's queue (bench/README.md,
fifth pass). With a socket per process the same connections split 15–19 / 13–17.

The parent binds nothing but a probe (so a port already in use is an error here, not a silent
share with a stranger's socket), starts the processes, restarts one that dies, and on SIGTERM
or SIGINT stops them all (each finishes its requests: uvicorn's graceful shutdown).
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import time
from types import FrameType
from typing import Any

log = logging.getLogger("aftersale.serve")
BACKLOG = 2048
RESTART_WINDOW = 10.0  # a process that dies sooner than this after starting, twice in a row,
# is not restarted again (it would only die again: a broken setting, a lost database)


def listening_socket(host: str, port: int, *, shared: bool) -> socket.socket:
    """A TCP socket bound to host:port (`shared`: SO_REUSEPORT, one per process)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if shared:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def serve_one(host: str, port: int, access_log: bool) -> None:
    """One API process: its own socket on the shared port, then uvicorn until told to stop."""
    import uvicorn

    sock = listening_socket(host, port, shared=True)
    sock.listen(BACKLOG)
    config = uvicorn.Config(
        "aftersale.entrypoints.asgi:app",
        log_level="warning",
        access_log=access_log,
        log_config=None,  # (the app's own JSON logs, entrypoints/logs.py)
        backlog=BACKLOG,
    )
    uvicorn.Server(config).run(sockets=[sock])


def serve_many(host: str, port: int, workers: int, *, access_log: bool) -> int:
    """Run `workers` API processes until SIGTERM / SIGINT; returns the exit status."""
    listening_socket(host, port, shared=False).close()  # in use: OSError, before anything runs
    spawn = multiprocessing.get_context("spawn")
    stopping = False

    def stop(_sig: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}

    def start() -> tuple[Any, float]:
        proc = spawn.Process(target=serve_one, args=(host, port, access_log), daemon=False)
        proc.start()
        return proc, time.monotonic()

    procs = [start() for _ in range(workers)]
    failed_fast = [0] * workers
    status = 0
    try:
        while not stopping:
            time.sleep(0.2)
            for i, (proc, began) in enumerate(procs):
                if proc.is_alive() or stopping:
                    continue
                quick = time.monotonic() - began < RESTART_WINDOW
                failed_fast[i] = failed_fast[i] + 1 if quick else 0
                if failed_fast[i] >= 2:
                    log.error("API process %s keeps exiting (code %s); stopping", i, proc.exitcode)
                    stopping, status = True, 1
                    break
                log.warning("API process %s exited (code %s); starting it again", i, proc.exitcode)
                procs[i] = start()
    finally:
        for proc, _ in procs:
            if proc.is_alive():
                proc.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        deadline = time.monotonic() + 30
        for proc, _ in procs:
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status
