"""What metrics and JSON request logs cost: request cancellation over HTTP against the same
build with AFTERSALE_OBSERVABILITY off, in one run, rounds taken in turns (off, on, off, ...)
so the machine's drift hits both, and the two servers swapping places halfway (a crossover).

Usage: python -m bench.observability [--rounds 4 --seconds 4 --processes 2]. Needs PostgreSQL
(as bench.run) and wrk. Writes bench/results-observability.json."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import cpu, data
from bench.run import HERE, TOKENS, Server, combine, prepare, scenarios, wrk

RATE = 2000  # orders a second a round may use up (more than this box answers: 1,813/s)


def tree_cpu(root: int) -> float:
    """CPU seconds used so far by a live process and its live children (the API processes)."""
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(proc.name) == root or int(fields[1]) == root:  # (ppid is field 4, 2 here)
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / cpu.TICK


def measured_round(
    srv: Server, chunk: list[str], tag: str, target: str, body: Any, token: str, seconds: int
) -> dict[str, Any]:
    """One round of wrk against a server on orders of its own, after a CHECKPOINT, with our
    processes' CPU per request (`cpu_us`) beside wrk's figures."""
    data.checkpoint()
    used = tree_cpu(srv.proc.pid)
    ids = data.write_ids(chunk, Path(tempfile.gettempdir()) / f"{tag}.txt")
    result = wrk(srv.base, ids, target=target, body=body, token=token, seconds=seconds)
    used = tree_cpu(srv.proc.pid) - used
    result["cpu_us"] = 1e6 * used / result["count"]  # ours, a request
    return result


def paired(off: list[dict[str, float]], on: list[dict[str, float]]) -> dict[str, float]:
    """The median over rounds of on / off - 1, in %, for throughput (as a loss), p99, CPU."""

    def median(key: str, loss: bool = False) -> float:
        ratios = [b[key] / a[key] for a, b in zip(off, on, strict=True)]
        return round(
            100 * ((1 - statistics.median(ratios)) if loss else statistics.median(ratios) - 1), 1
        )

    return {
        "throughput": median("ops", loss=True),
        "p99": median("p99_ms"),
        "cpu": median("cpu_us"),
    }


def server(url: str, tmp: Path, *, on: bool, processes: int) -> Server:
    """`aftersale serve` with metrics and logs on or off (the variable is read at start)."""
    os.environ["AFTERSALE_OBSERVABILITY"] = "1" if on else "0"
    try:
        return Server(url, tmp, processes=processes)
    finally:
        os.environ.pop("AFTERSALE_OBSERVABILITY", None)


def main() -> None:
    """Run the comparison and save it."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument(
        "--aa",
        action="store_true",
        help="both servers with the layer off: how far apart two identical servers measure",
    )
    args = parser.parse_args()
    url, engine, rt, ids = prepare()
    _, _, target, body, who, _ = next(s for s in scenarios(ids) if s[0] == "request")
    per_round = RATE * args.seconds
    made = data.analyzed_orders(
        rt,
        engine,
        ids,
        count=per_round * 2 * (args.rounds + 2),  # (two warm-up rounds)
        at=datetime.now(UTC),
        requested=False,
        table="orders",
    )
    runs: dict[str, list[dict[str, float]]] = {"off": [], "on": []}
    # Two identical servers do not measure alike: with the layer off in both (--aa), the one
    # started second answered 4.3 % fewer requests a second (bench/README.md). So the run is
    # a crossover: the first half with "off" started first, then both restarted with "on"
    # started first, and a fixed advantage of either place cancels out of the totals.
    halves = [args.rounds // 2, args.rounds - args.rounds // 2]
    for half, rounds in enumerate(halves):
        order = ("off", "on") if half == 0 else ("on", "off")
        with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
            servers = {
                name: server(
                    url, Path(where), on=name == "on" and not args.aa, processes=args.processes
                )
                for name, where in zip(order, (one, two), strict=True)
            }
            try:
                for r in range(rounds + 1):  # round 0 warms both up, unmeasured
                    for name in order if r % 2 else order[::-1]:
                        chunk, made = made[:per_round], made[per_round:]
                        print(f"observability {name}, half {half}, round {r}", file=sys.stderr)
                        result = measured_round(
                            servers[name],
                            chunk,
                            f"obs-{name}",
                            target,
                            body,
                            TOKENS[who],
                            args.seconds,
                        )
                        if r:
                            runs[name].append(result)
            finally:
                for s in servers.values():
                    s.stop()
    engine.dispose()
    results: dict[str, Any] = {name: combine(rounds) for name, rounds in runs.items()}
    for name, rounds in runs.items():
        results[name]["cpu_us"] = sum(r["cpu_us"] * r["count"] for r in rounds) / sum(
            r["count"] for r in rounds
        )
        results[name]["cpu_us_rounds"] = [round(r["cpu_us"]) for r in rounds]
    results["cost"] = {
        "cpu_pct": round(100 * (results["on"]["cpu_us"] / results["off"]["cpu_us"] - 1), 1),
        "throughput_pct": round(100 * (1 - results["on"]["ops"] / results["off"]["ops"]), 1),
        "p99_pct": round(100 * (results["on"]["p99_ms"] / results["off"]["p99_ms"] - 1), 1),
        # each round's pair (taken back to back) as a ratio, the median of those: the
        # machine's drift between pairs cancels out
        "paired_median_pct": paired(runs["off"], runs["on"]),
    }
    results.update(vars(args))
    print(json.dumps(results, indent=2))
    name = "results-observability-aa.json" if args.aa else "results-observability.json"
    (HERE / name).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
