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


API_WRITES = (
    ("create", "create order"),
    ("pay", "record payment"),
    ("request", "request cancellation"),
    ("accept", "accept cancellation"),
)
API_AIMS = {"request": "≥ 50%, p99 < 50 ms"}


def _procs(n: int, what: str) -> str:
    if n == 1:
        return f"1 {what}"
    return f"{n} {what}" + ("es" if what.endswith("process") else "s")


def _cpu_per_item(w: dict[str, Any]) -> str:
    """The text ", CPU per firing: PostgreSQL x µs + client y µs" (bench/cpu.py), if measured."""
    if "pg_cpu_s" not in w:
        return ""
    per = 1e6 / w["fired"]
    return (
        f", CPU per firing: PostgreSQL {w['pg_cpu_s'] * per:.0f} µs + "
        f"client {w['client_cpu_s'] * per:.0f} µs"
    )


def table(r: dict[str, Any]) -> str:
    """The results as a Markdown table (a row per figure and process count)."""
    m = r["machine"]
    rows = [
        "| figure | ours | ceiling (plain SQL, psycopg 3) | ratio | aim |",
        "|---|---|---|---|---|",
    ]
    for suffix, n in (("", 1), ("_2p", 2)):
        for name, label in API_WRITES:
            if name + suffix not in r:
                continue
            ours, top = r[name + suffix], r[f"{name}{suffix}_ceiling"]
            rows.append(
                f"| {label}, {r['clients']} clients, {_procs(n, 'server process')} "
                f"(ceiling: {_procs(n, 'client process')}): ops/s (p50 / p99 ms) "
                f"| {ours['ops']:.0f} ({ours['p50_ms']:.1f} / {ours['p99_ms']:.1f}) "
                f"| {top['ops']:.0f} ({top['p50_ms']:.1f} / {top['p99_ms']:.1f}) "
                f"| {ours['ops'] / top['ops']:.0%} | {API_AIMS.get(name, '—')} |"
            )
            from_c = r.get(f"{name}{suffix}_c_ceiling")
            if from_c is not None:
                rows.append(
                    f"| the same, beside its ceiling from C: the same statements run by pgbench "
                    f"(`bench/request_walk.pgbench.sql`), {r['clients']} clients "
                    f"| {ours['ops']:.0f} ({ours['p50_ms']:.1f} / {ours['p99_ms']:.1f}) "
                    f"| {from_c['ops']:.0f} ({from_c['p50_ms']:.1f} / {from_c['p99_ms']:.1f}) "
                    f"| {ours['ops'] / from_c['ops']:.0%} | {API_AIMS.get(name, '—')} |"
                )
    for suffix, n in (("", 1), ("_2p", 2)):
        if "worker" + suffix not in r:
            continue
        w, top = r["worker" + suffix], r[f"worker{suffix}_ceiling"]
        extra = ""
        if "statements_per_item" in w:
            extra += f", {w['statements_per_item']:.2f} statements/item"
        if "peak_rss_mib" in w:
            extra += f", peak RSS {w['peak_rss_mib']:.0f} MiB"
        if w.get("rss_mib_at"):
            extra += (
                " (RSS at "
                + ", ".join(f"{k}: {v:.0f}" for k, v in w["rss_mib_at"].items())
                + " of the run)"
            )
        if "exactly_once" in w:
            extra += ", exactly once: " + ("yes" if w["exactly_once"]["ok"] else "NO")
        extra += _cpu_per_item(w)
        rows.append(
            f"| worker, {_procs(n, 'process')} (ceiling: {_procs(n, 'sweeper')}): deadlines "
            f"fired/s ({r['deadlines']:,} due cancellations, {w['fired']:,} firings with their "
            f"refund submissions) | {w['per_s']:.0f} ({w['seconds']:.1f} s{extra}) "
            f"| {top['per_s']:.0f} ({top['seconds']:.1f} s{_cpu_per_item(top)}) "
            f"| {w['per_s'] / top['per_s']:.0%} | ≥ 50% |"
        )
        floor = r.get(f"worker{suffix}_server")
        if floor is not None:
            rows.append(
                f"| the same rows written inside PostgreSQL, {_procs(n, 'sweeper')}, one SQL "
                "statement a batch of 1,000, nothing computed in a client (`bench/sweep_sql.py`; "
                "the floor of any firing path) | — "
                f"| {floor['per_s']:.0f} ({floor['seconds']:.1f} s{_cpu_per_item(floor)}) "
                f"| {w['per_s'] / floor['per_s']:.0%} | — |"
            )
    rows += [
        "",
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']} memory, "
        f"PostgreSQL {m['postgresql']}; run {m['date']}, scale `{r['scale']}` "
        f"(each API figure: {r.get('rounds', 1)} rounds of {r['seconds'] // r.get('rounds', 1)} s, "
        "ours and the ceiling's in turns, each after a CHECKPOINT; ops/s over all rounds, "
        "latencies of the median round).",
    ]
    return "\n".join(rows)


def write(readme: Path, results: dict[str, Any]) -> None:
    """Replace this scale's table between its markers (adding the markers if missing)."""
    _replace(readme, results["scale"], table(results))


def write_block(readme: Path, name: str, body: str) -> None:
    """Replace the block `name` between its markers (adding the markers if missing)."""
    _replace(readme, name, body)


def _replace(readme: Path, name: str, body: str) -> None:
    start, end = f"<!-- results:{name} -->", f"<!-- /results:{name} -->"
    block = f"{start}\n{body}\n{end}"
    text = readme.read_text() if readme.exists() else "# Benchmarks\n"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + f"\n\n{block}\n"
    readme.write_text(text)


def reads_table(r: dict[str, Any]) -> str:
    """The reads results as a Markdown table (a row per database size)."""
    m = r["machine"]
    rows = [
        "| orders in the database | API list, first page of 50 | API list, page 101 (cursor) "
        "| API order detail | page My Orders (10) | every query on an index |",
        "|---|---|---|---|---|---|",
    ]
    for size, x in r["sizes"].items():
        cells = [
            f"{x[k]['p50_ms']:.1f} / {x[k]['p99_ms']:.1f} ms"
            for k in ("api_list_first", "api_list_deep", "api_detail", "page_my_orders")
        ]
        rows.append(
            f"| {int(size):,} | "
            + " | ".join(cells)
            + " | "
            + ("yes" if x["all_use_an_index"] else "NO")
            + " |"
        )
    rows += [
        "",
        "p50 / p99 over 5 s of back-to-back requests on one connection (wrk). Aim: p99 < 10 ms "
        "at the API, < 30 ms for the page, flat as the database grows.",
        "",
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']} memory, "
        f"PostgreSQL {m['postgresql']}; run {m['date']}.",
    ]
    return "\n".join(rows)


def write_reads(readme: Path, results: dict[str, Any], scale: str) -> None:
    """Replace the reads table of this scale between its markers."""
    _replace(readme, f"reads-{scale}", reads_table(results))
