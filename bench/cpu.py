"""CPU time, split between PostgreSQL and our client processes: what a run costs each side.

On a machine of N cores no run can take less wall time than (PostgreSQL's CPU + the client's
CPU) / N, so the split turns a measured run into a floor for the same work on this machine.

The counts are the whole server's: measure with nothing else running on it (a backend left
running by an interrupted benchmark once took its minutes of CPU out of a count when it
ended)."""

from __future__ import annotations

import os
import resource
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def postgres() -> float:
    """CPU seconds used so far by the PostgreSQL server on this machine: every live `postgres`
    process (backends, checkpointer, WAL writer, autovacuum ...) and, through the postmaster's
    counts of its reaped children, every one that has exited (a backend whose client closed)."""
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if not (proc / "comm").read_text().startswith("postgres"):
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        # utime, stime, cutime, cstime (proc(5): fields 14-17; 12-15 after the name)
        total += sum(int(f) for f in fields[11:15])
    return total / TICK


def children() -> float:
    """CPU seconds of this process's reaped children (a pool's processes, once it has ended)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


class Split:
    """CPU used between `start()` and `stop()`, by PostgreSQL and by our reaped children."""

    def start(self) -> Split:
        """Take the starting counts."""
        self._pg, self._client = postgres(), children()
        return self

    def stop(self) -> dict[str, float]:
        """The seconds used since `start()`: {"pg_cpu_s": ..., "client_cpu_s": ...}."""
        return {"pg_cpu_s": postgres() - self._pg, "client_cpu_s": children() - self._client}
