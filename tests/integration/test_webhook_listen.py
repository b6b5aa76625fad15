"""`aftersale webhooks listen`: one command that registers a local receiver, prints each
delivery with its signature checked, and deletes its endpoint when stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from aftersale.bootstrap import build_runtime
from aftersale.entrypoints.dispatcher import Dispatcher
from aftersale.services.webhooks import list_endpoints
from aftersale.settings import Settings
from tests import conftest
from tests.integration.test_webhook_workers import ADMIN, make_events


def test_the_listener_prints_signed_deliveries_and_removes_itself(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, webhook_allow_private=True)
    rt = build_runtime(settings)
    port = conftest.free_port()
    env = {**os.environ, "AFTERSALE_DATA_DIR": str(tmp_path)}
    env.pop("AFTERSALE_DATABASE_URL", None)
    listener = subprocess.Popen(
        [sys.executable, "-m", "aftersale", "webhooks", "listen", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=conftest.ROOT,
    )
    try:
        assert listener.stdout is not None
        assert "listening on" in listener.stdout.readline()
        [hook] = list_endpoints(rt, ADMIN)["items"]
        assert hook["url"] == f"http://127.0.0.1:{port}/"
        make_events(rt, 1)
        dispatcher = Dispatcher(rt, settings)
        dispatcher.run_once()
        dispatcher.close()
        lines = [listener.stdout.readline() for _ in range(2)]
        assert all("signature ok" in line for line in lines), lines
        assert {line.split()[0] for line in lines} == {"order.created", "order.paid"}
    finally:
        listener.send_signal(signal.SIGINT)
        out, _ = listener.communicate(timeout=30)
    assert "deleted" in out
    time.sleep(0.1)
    assert list_endpoints(rt, ADMIN)["items"] == []
    rt.close()
