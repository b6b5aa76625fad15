"""Two builds side by side: request cancellation (POST /api/v1/orders/{id}/cancel) over HTTP
against a server of another git ref (default: this branch's merge base with main) and one of
this tree, in one run, rounds taken in turns (a, b, b, a, ...) so the machine's drift hits both.

Usage: python -m bench.ab_build [--ref main --rounds 4 --seconds 4 --processes 1
--scenario request]. Needs PostgreSQL (as bench.run) and wrk; the other ref's source is
`git archive`d into a temporary directory and put first on the server's PYTHONPATH (the same
locked environment runs both). Its own database (aftersale_bench_ab), so it runs beside
others' benchmarks. Writes bench/results-ab.json."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aftersale.adapters.db.engine import make_engine
from aftersale.bootstrap import build_runtime
from aftersale.services.users import ensure_admin_token
from aftersale.settings import Settings
from bench import data
from bench.observability import RATE, measured_round, paired
from bench.run import HERE, TOKENS, Server, combine, ensure_wrk, scenarios

DB = "aftersale_bench_ab"
ROOT = HERE.parent


def source_of(ref: str, into: Path) -> tuple[str, Path]:
    """The commit a ref names and its src/ directory, unpacked under `into`."""
    commit = subprocess.run(
        ["git", "rev-parse", ref], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    archive = subprocess.run(["git", "archive", commit, "src"], cwd=ROOT, capture_output=True)
    archive.check_returncode()
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return commit, into / "src"


def server(url: str, tmp: Path, *, src: Path | None, processes: int) -> Server:
    """`aftersale serve` of the tree at `src` (None: this one)."""
    before = os.environ.get("PYTHONPATH")
    if src is not None:
        os.environ["PYTHONPATH"] = str(src)
    try:
        return Server(url, tmp, processes=processes)
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before


def served_from(src: Path | None) -> str:
    """Where `python -m aftersale` imports the package from under that PYTHONPATH."""
    env = {**os.environ, **({"PYTHONPATH": str(src)} if src else {})}
    out = subprocess.run(
        [sys.executable, "-c", "import aftersale; print(aftersale.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def main() -> None:
    """Run the comparison and save it."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--ref", default=None, help="the other build (default: merge base)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--scenario", default="request", choices=["request", "accept", "pay"])
    args = parser.parse_args()
    ref = (
        args.ref
        or subprocess.run(
            ["git", "merge-base", "HEAD", "main"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    ensure_wrk()
    url = data.fresh_database(DB)
    engine = make_engine(url)
    rt = build_runtime(Settings(database_url=url, embedded_worker=False), engine=engine)  # type: ignore[call-arg]
    ids = data.make_users(rt)
    ensure_admin_token(rt, data.ADMIN_TOKEN)
    _, _, target, body, who, _ = next(s for s in scenarios(ids) if s[0] == args.scenario)
    per_round = RATE * args.seconds
    made = data.analyzed_orders(
        rt,
        engine,
        ids,
        count=per_round * 2 * (args.rounds + 1),
        at=datetime.now(UTC),
        paid=args.scenario != "pay",
        requested=args.scenario == "accept",
        table="orders",
    )
    runs: dict[str, list[dict[str, float]]] = {"a": [], "b": []}
    with tempfile.TemporaryDirectory() as a_dir, tempfile.TemporaryDirectory() as b_dir:
        commit, a_src = source_of(ref, Path(a_dir))
        where = {"a": served_from(a_src), "b": served_from(None)}
        assert where["a"].startswith(a_dir) and not where["b"].startswith(a_dir), where
        servers = {
            "a": server(url, Path(a_dir), src=a_src, processes=args.processes),
            "b": server(url, Path(b_dir), src=None, processes=args.processes),
        }
        try:
            for r in range(args.rounds + 1):  # round 0 warms both up, unmeasured
                for name in ("a", "b") if r % 2 else ("b", "a"):
                    chunk, made = made[:per_round], made[per_round:]
                    print(f"ab {name}, round {r}", file=sys.stderr)
                    result = measured_round(
                        servers[name], chunk, f"ab-{name}", target, body, TOKENS[who], args.seconds
                    )
                    if r:
                        runs[name].append(result)
        finally:
            for s in servers.values():
                s.stop()
    engine.dispose()
    data.drop_database(DB)
    results: dict[str, Any] = {name: combine(rounds) for name, rounds in runs.items()}
    for name, rounds in runs.items():
        results[name]["cpu_us"] = sum(r["cpu_us"] * r["count"] for r in rounds) / sum(
            r["count"] for r in rounds
        )
        results[name]["cpu_us_rounds"] = [round(r["cpu_us"]) for r in rounds]
    results["a"]["build"] = f"{commit} ({args.ref or 'merge base with main'})"
    results["b"]["build"] = "this tree"
    # b against a, each round's pair (back to back) as a ratio, the median of those
    results["b_vs_a_paired_median_pct"] = paired(runs["a"], runs["b"])
    results.update(vars(args), load=os.getloadavg())
    print(json.dumps(results, indent=2))
    (HERE / "results-ab.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
