"""A body limit that holds under attack (issue 17, point 3): 20 anonymous 50 MB bodies sent
at once to a live server, half with a Content-Length and half chunked (counted as they
stream), are all answered 413 and leave the server within 50 MiB of the memory it started
with."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import LiveServer

MiB = 1 << 20
BODY = 50 * MiB
CHUNK = b"x" * MiB


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live server on SQLite."""
    tmp = tmp_path_factory.mktemp("memory")
    live = LiveServer(f"sqlite:///{tmp / 'a.db'}", tmp)
    yield live
    live.stop()


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and its children."""
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            status = (proc / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(proc.name) == pid or int(fields.get("PPid", "0").strip()) == pid:
            total += int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
    return total


def send(port: int, *, chunked: bool) -> int | None:
    """POST a 50 MB body anonymously; the answer's status, or None if none could be read."""
    head = "POST /api/v1/orders HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
    head += "Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {BODY}\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.encode())
        try:
            for _ in range(BODY // MiB):
                sock.sendall(b"100000\r\n" + CHUNK + b"\r\n" if chunked else CHUNK)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server stopped reading and closed: the answer was sent first
        try:
            first = sock.recv(200)
        except OSError:
            return None
    return int(first.split()[1]) if first.startswith(b"HTTP/1.1 ") else None


def test_twenty_anonymous_50_mb_bodies_at_once_leave_memory_where_it_was(
    server: LiveServer,
) -> None:
    for chunked in (False, True):  # warm the paths once, so what follows measures holding
        assert send(server.port, chunked=chunked) in (413, None)
    before = tree_rss(server.proc.pid)
    statuses: list[int | None] = []
    threads = [
        threading.Thread(target=lambda c=i % 2 == 1: statuses.append(send(server.port, chunked=c)))
        for i in range(20)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    after = tree_rss(server.proc.pid)
    assert len(statuses) == 20
    assert set(statuses) <= {413, None} and statuses.count(413) >= 10, statuses
    assert after - before < 50 * MiB, f"{(after - before) / MiB:.1f} MiB more"
    with server.client() as http:
        assert http.get("/healthz").status_code == 200
