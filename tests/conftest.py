"""Shared fixtures: real SQLite files and a real PostgreSQL database, the app, a live server.

PostgreSQL is required: if it cannot be reached the tests that need it fail, never skip."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from aftersale.adapters.db.engine import make_engine
from aftersale.adapters.db.migrate import migrate
from aftersale.adapters.db.tables import metadata
from aftersale.bootstrap import build_runtime
from aftersale.entrypoints.api.app import create_app
from aftersale.services.runtime import Runtime
from aftersale.settings import Settings
from tests.client import ADMIN_TOKEN, Api

PG_SERVER = os.environ.get("AFTERSALE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
ROOT = Path(__file__).resolve().parent.parent


def _pg_admin() -> object:
    return create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")


def create_pg_database(name: str) -> str:
    """A fresh, migrated PostgreSQL database; returns its URL."""
    admin = _pg_admin()
    with admin.connect() as conn:  # type: ignore[attr-defined]
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        # a commit need not wait for its WAL to reach the disk (it halves a commit's time
        # here): nothing in the tests crashes this server (the drills start clusters of their
        # own, tests/own_pg.py), so no acknowledged write can be lost
        conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    admin.dispose()  # type: ignore[attr-defined]
    url = f"{PG_SERVER}/{name}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    return url


def drop_pg_database(url: str) -> None:
    """Drop a test database."""
    admin = _pg_admin()
    with admin.connect() as conn:  # type: ignore[attr-defined]
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    admin.dispose()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A migrated PostgreSQL database for this test session."""
    url = create_pg_database(f"aftersale_test_{os.getpid()}")
    yield url
    drop_pg_database(url)


def truncate_all(url: str) -> None:
    """Empty every table of a PostgreSQL test database: the ones that hold a row (a TRUNCATE
    costs file operations per table, ~5 ms each; most tests touch a few of the tables)."""
    engine = create_engine(url)
    probe = " UNION ALL ".join(
        f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM {t.name})" for t in metadata.sorted_tables
    )
    with engine.begin() as conn:
        names = ", ".join(row[0] for row in conn.execute(text(probe)))
        if names:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes this runs once on a SQLite file and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'aftersale.db'}"
    url: str = request.getfixturevalue("pg_url")
    truncate_all(url)
    return url


@pytest.fixture
def pg_only_url(pg_url: str) -> str:
    """A clean PostgreSQL database (for tests about PostgreSQL's concurrency)."""
    truncate_all(pg_url)
    return pg_url


def test_settings(url: str, tmp_path: Path, **kw: object) -> Settings:
    """Settings for a test: test clock on, embedded worker off, our admin token."""
    return Settings(
        database_url=url,
        test_clock=True,
        admin_token=ADMIN_TOKEN,
        data_dir=tmp_path,
        embedded_worker=False,
        **kw,
    )  # type: ignore[arg-type]


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Test settings on the parametrized database."""
    return test_settings(db_url, tmp_path)


@pytest.fixture
def rt(settings: Settings) -> Iterator[Runtime]:
    """A runtime on the test database, with the test clock."""
    runtime = build_runtime(settings)
    yield runtime
    runtime.close()


@pytest.fixture
def api(settings: Settings, rt: Runtime) -> Iterator[Api]:
    """The API in process (ASGI), as the admin and any party it creates."""
    with TestClient(create_app(settings, runtime=rt)) as http:
        yield Api(http)  # type: ignore[arg-type]


def free_port() -> int:
    """A free TCP port on the loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """`aftersale serve` in a subprocess, on a real port."""

    def __init__(
        self, url: str, tmp_path: Path, *, workers: int = 1, env: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "AFTERSALE_DATABASE_URL": url,
            "AFTERSALE_TEST_CLOCK": "1",
            "AFTERSALE_ADMIN_TOKEN": ADMIN_TOKEN,
            "AFTERSALE_DATA_DIR": str(tmp_path),
            "AFTERSALE_EMBEDDED_WORKER": "0",
            **(env or {}),
        }
        self.log = open(tmp_path / f"server-{self.port}.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aftersale",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
            ],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        self._wait()

    def _wait(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {Path(self.log.name).read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("server did not start in 60 s")

    def client(self) -> httpx.Client:
        """An HTTP client for this server."""
        return httpx.Client(base_url=self.base_url, timeout=60)

    def stop(self) -> None:
        """Stop the server."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture
def live_pg(pg_only_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """A real HTTP server on PostgreSQL."""
    server = LiveServer(pg_only_url, tmp_path)
    yield server
    server.stop()
