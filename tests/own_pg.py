"""A PostgreSQL cluster of a test's own (initdb + pg_ctl on a free port in a temporary folder),
for tests that stop and start the server: the shared server on 5432 is never touched.

PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine

from tests.conftest import free_port

BIN = Path("/usr/lib/postgresql/15/bin")


class OwnPostgres:
    """initdb'd once; start(), stop() and url() as a test needs them."""

    def __init__(self) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="aftersale-own-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self._as: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.folder, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self._run(BIN / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start()
        admin = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql('CREATE DATABASE "aftersale"')
        admin.dispose()

    def _run(self, *args: object) -> None:
        subprocess.run(
            [*self._as, *map(str, args)], check=True, capture_output=True, cwd=self.folder
        )

    def url(self, database: str = "aftersale") -> str:
        """The SQLAlchemy URL of a database of this cluster."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        """Start the server and wait until it answers."""
        self._run(
            BIN / "pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60",
            "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c max_connections=100 -c fsync=off",
            "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (fast: every session is ended at once, as an operator would)."""
        self._run(BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        """Whether the server's postmaster is up."""
        return (self.data / "postmaster.pid").exists()

    def destroy(self) -> None:
        """Stop the server if it runs and remove the folder."""
        if self.running():
            try:
                self.stop("immediate")
            except subprocess.CalledProcessError:
                time.sleep(1)
        shutil.rmtree(self.folder, ignore_errors=True)
