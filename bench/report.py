"""The machine a run was on, and the results table in bench/README.md (one per scale)."""

from __future__ import annotations

import os
import platform
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine


def machine(url: str) -> dict[str, str]:
    """nproc, CPU model, memory, PostgreSQL version, date."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))  # type: ignore[union-attr]
    engine = create_engine(url)
    with engine.connect() as conn:
        pg = str(conn.exec_driver_sql("SHOW server_version").scalar_one())
    engine.dispose()
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "memory": f"{mem_kb / 1024 / 1024:.0f} GiB",
        "postgresql": pg,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def table(r: dict[str, Any]) -> str:
    """The results as a Markdown table."""
    m = r["machine"]
    rows = [
        "| figure | ours | ceiling (plain SQL, psycopg 3) | ratio | aim |",
        "|---|---|---|---|---|",
    ]
    for name, label in (("request", "request cancellation"), ("accept", "accept cancellation")):
        ours, top = r[name], r[f"{name}_ceiling"]
        rows.append(
            f"| {label}, {r['clients']} clients: ops/s (p50 / p99 ms) "
            f"| {ours['ops']:.0f} ({ours['p50_ms']:.1f} / {ours['p99_ms']:.1f}) "
            f"| {top['ops']:.0f} ({top['p50_ms']:.1f} / {top['p99_ms']:.1f}) "
            f"| {ours['ops'] / top['ops']:.0%} | ≥ 30% |"
        )
    w, top = r["worker"], r["worker_ceiling"]
    per_item = (
        f", {w['statements_per_item']:.2f} statements/item" if "statements_per_item" in w else ""
    )
    rows.append(
        f"| worker: deadlines fired/s ({r['deadlines']:,} due cancellations, "
        f"{w['fired']:,} firings with their refund submissions) "
        f"| {w['per_s']:.0f} ({w['seconds']:.1f} s{per_item}) "
        f"| {top['per_s']:.0f} ({top['seconds']:.1f} s) "
        f"| {w['per_s'] / top['per_s']:.0%} | ≥ 50% |"
    )
    rows += [
        "",
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']} memory, "
        f"PostgreSQL {m['postgresql']}; run {m['date']}, scale `{r['scale']}` "
        f"({r['seconds']} s per HTTP run).",
    ]
    return "\n".join(rows)


def write(readme: Path, results: dict[str, Any]) -> None:
    """Replace this scale's table between its markers (adding the markers if missing)."""
    start, end = f"<!-- results:{results['scale']} -->", f"<!-- /results:{results['scale']} -->"
    block = f"{start}\n{table(results)}\n{end}"
    text = readme.read_text() if readme.exists() else "# Benchmarks\n"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + f"\n\n{block}\n"
    readme.write_text(text)
