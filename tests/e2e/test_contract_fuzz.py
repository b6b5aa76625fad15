"""schemathesis (from PyPI) against a live server on SQLite and PostgreSQL, as the admin, a
buyer and a seller, every check on, with stateful links: no server error, no schema
violation, no valid request refused, no undocumented status (issue 17 point 10).

`make fuzz` runs the same with more examples (FUZZ_EXAMPLES); tests/README.md has its figures.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.client import Api, Party
from tests.conftest import ROOT, LiveServer, create_pg_database, drop_pg_database

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "1"))
# positive_data_acceptance is replaced by contract_hooks.valid_request_accepted (its text
# says why); the one built-in left out
EXCLUDED = "positive_data_acceptance"
HOOKS = "tests.e2e.contract_hooks"


def fuzz(server: LiveServer, who: Party, report: Path, *, stateful: bool) -> dict[str, str]:
    """One schemathesis run as one party: its figures from the JUnit report."""
    phases = "examples," + ("coverage," if FULL else "") + "fuzzing"
    phases += ",stateful" if stateful else ""
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{server.base_url}/openapi.json",
        "--checks",
        "all",
        "--exclude-checks",
        EXCLUDED,
        "--max-examples",
        str(EXAMPLES),
        "--phases",
        phases,
        "--workers",
        "1",
        "--seed",
        os.environ.get("FUZZ_SEED", "17"),
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(report),
        "--suppress-health-check",
        "all",
        "-H",
        f"Authorization: Bearer {who.token}",
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": HOOKS, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        command,
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800 if FULL else 600,
        check=False,
    )
    out = done.stdout + done.stderr
    (report / f"{who.role}.txt").write_text(out)
    figures = summary(out)
    if os.environ.get("FUZZ_REPORT"):  # (make fuzz: the figures for tests/README.md)
        with open(os.environ["FUZZ_REPORT"], "a") as f:
            db = server.env["AFTERSALE_DATABASE_URL"].split(":", 1)[0]
            f.write(json.dumps({"db": db, "role": who.role, **figures}) + "\n")
    assert done.returncode == 0, out[-12000:]
    assert "Tested:" in out, out[-4000:]
    return figures


def summary(out: str) -> dict[str, str]:
    """The run's figures as schemathesis prints them."""
    found: dict[str, str] = {}
    for key, pattern in (
        ("operations", r"Tested: (\d+)"),
        ("cases", r"(\d+) generated"),
        ("failures", r"generated, (\d+) found"),
        ("seconds", r"in ([0-9.]+)s ="),
    ):
        match = re.search(pattern, out)
        found[key] = next((g for g in match.groups() if g), "") if match else ""
    found["failures"] = "0" if re.search(r"\d+ generated, \d+ passed", out) else found["failures"]
    return found


def seed(http: httpx.Client) -> dict[str, Party]:
    """A buyer and a seller with an order in most states (ids for the links to start from)."""
    api = Api(http)
    buyer, seller = api.user("buyer"), api.user("seller")
    api.order(buyer, seller)
    api.paid_order(buyer, seller)
    api.delivered_order(buyer, seller)
    return {"admin": api.admin, "buyer": buyer, "seller": seller}


class Servers:
    """One live server per database, started on first use, for the module's runs."""

    def __init__(self, tmp: pytest.TempPathFactory) -> None:
        self.tmp = tmp
        self.running: dict[str, tuple[LiveServer, dict[str, Party]]] = {}
        self.databases: list[str] = []

    def get(self, db: str) -> tuple[LiveServer, dict[str, Party]]:
        if db not in self.running:
            tmp = self.tmp.mktemp(f"fuzz-{db}")
            if db == "sqlite":
                url = f"sqlite:///{tmp / 'fuzz.db'}"
            else:
                url = create_pg_database(f"fuzz_{os.getpid()}")
                self.databases.append(url)
            server = LiveServer(url, tmp, env={"AFTERSALE_WEBHOOK_ALLOW_PRIVATE": "1"})
            with server.client() as http:
                self.running[db] = server, seed(http)
        return self.running[db]

    def stop(self) -> None:
        for server, _ in self.running.values():
            server.stop()
        for url in self.databases:
            drop_pg_database(url)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """The module's live servers."""
    running = Servers(tmp_path_factory)
    yield running
    running.stop()


# In `make test`: the admin on both databases (with the stateful phase), a buyer on SQLite
# and a seller on PostgreSQL, one example per operation and phase (~60 s in all); `make fuzz`
# (FUZZ_ALL=1): every party on both, with the coverage phase and FUZZ_EXAMPLES examples.
FULL = os.environ.get("FUZZ_ALL") == "1"
RUNS = (
    [(db, who) for db in ("sqlite", "postgres") for who in ("admin", "buyer", "seller")]
    if FULL
    else [("sqlite", "admin"), ("sqlite", "buyer"), ("postgres", "admin"), ("postgres", "seller")]
)


@pytest.mark.timeout(1900 if FULL else 300)
@pytest.mark.parametrize(("db", "who"), RUNS)
def test_contract_fuzz(servers: Servers, db: str, who: str, tmp_path: Path) -> None:
    """schemathesis finds no failure as this party on this database, and no request made
    the server log an error."""
    server, parties = servers.get(db)
    fuzz(server, parties[who], tmp_path, stateful=who == "admin")
    log = Path(server.log.name).read_text()
    assert "Traceback" not in log and '"level":"error"' not in log, log[-4000:]
