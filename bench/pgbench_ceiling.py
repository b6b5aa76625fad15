"""The request cancellation's ceiling from C: what `bench/ceiling.py`'s `request_tx` sends,
run by pgbench (PostgreSQL's own C client), walking the same kind of pre-created paid orders.

The Python-client ceiling in `bench.run`'s table is bound by its clients' own Python (bench/
README.md, "The issue's reference workloads on this machine"); the issue's reference figures
are from C clients. So `bench.run` measures the aim's figure beside both.

Each transaction takes the next order of the walk (a table of ids and a sequence, so no two
clients touch one order), locks it and reads its version, updates it with the version check,
then sends the request, its deadline, the timeline and outbox rows in one pipeline, and
commits: the round trips and statements of `request_tx`."""

from __future__ import annotations

import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import psycopg

from bench.ceiling import conninfo
from bench.reference import pgbench, tps

HERE = Path(__file__).resolve().parent
REQUEST = HERE / "request_walk.pgbench.sql"


def walk(url: str, ids: list[str]) -> None:
    """The orders the next run takes, in this order."""
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_walk (n bigint PRIMARY KEY, id text)")
        conn.execute("CREATE SEQUENCE IF NOT EXISTS bench_walk_n")
        conn.execute("TRUNCATE bench_walk")
        with conn.cursor().copy("COPY bench_walk (n, id) FROM STDIN") as copy:
            for n, order_id in enumerate(ids, 1):
                copy.write_row((n, order_id))
        conn.execute("ALTER SEQUENCE bench_walk_n RESTART WITH 1")
        conn.execute("ANALYZE bench_walk")


def run(url: str, ids: list[str], *, clients: int, threads: int) -> dict[str, Any]:
    """pgbench with `clients` connections over these orders (each takes an equal share, so
    none runs out): transactions/s and the p50 / p99 latency (ms) of every transaction."""
    walk(url, ids)
    per_client = len(ids) // clients
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [pgbench(), "-n", "-M", "prepared", "-c", str(clients), "-j", str(threads)]
        cmd += ["-t", str(per_client), "-l", "--log-prefix", f"{tmp}/log", "-f", str(REQUEST)]
        done = subprocess.run([*cmd, conninfo(url)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        out = done.stdout
        # each log line: client, transaction, latency (µs), script, epoch s, µs
        latencies = sorted(
            int(line.split()[2]) / 1000
            for log in Path(tmp).glob("log*")
            for line in log.read_text().splitlines()
        )
    assert len(latencies) == per_client * clients, (len(latencies), out)
    return {
        "ops": tps(out),
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[int(len(latencies) * 0.99)],
        "count": len(latencies),
        "processes": threads,
    }
