"""The `aftersale` command: serve, worker, migrate, demo, users (the operator's commands are
in cli_ops.py)."""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from aftersale.entrypoints import cli_ops
from aftersale.settings import get_settings

T = TypeVar("T")

app = typer.Typer(help="aftersale: the after-sales engine of a marketplace.", no_args_is_help=True)
users_app = typer.Typer(help="Manage users.", no_args_is_help=True)
app.add_typer(users_app, name="users")
webhooks_app = typer.Typer(help="Webhook endpoints.", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")
console = Console()


def request_threads(processes: int) -> int:
    """Request threads per API process when the operator sets none. With a process per core
    or more, one: a second thread only adds GIL hand-offs, and at 2 processes on 2 cores it
    cost ~30 % more CPU per request, ours and PostgreSQL's (bench/README.md, fifth pass).
    With fewer processes than cores, 4, so one process still overlaps its database waits."""
    return 1 if processes >= (os.cpu_count() or 1) else 4


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64)] = 1,
    access_log: Annotated[bool, typer.Option(help="log every request")] = False,
) -> None:
    """Run the HTTP server (migrating first; on SQLite with the deadline worker inside)."""
    import uvicorn

    # (read by every process's settings, unless the operator set it)
    os.environ.setdefault("AFTERSALE_API_THREADS", str(request_threads(workers)))

    from aftersale.adapters.db.engine import make_engine
    from aftersale.adapters.db.migrate import migrate as run_migrations

    settings = get_settings()
    engine = make_engine(settings.url)
    run_migrations(engine)
    _configure_logs(settings.observability)
    if workers > 1:
        _fresh_metrics_dir(settings.data_dir)
        if settings.admin_token:  # once here, so N processes never race to create the admin
            from aftersale.bootstrap import build_runtime
            from aftersale.services.users import ensure_admin_token

            rt = build_runtime(settings, engine=engine, run_migrations=False)
            ensure_admin_token(rt, settings.admin_token)
            rt.close()
        engine.dispose()
        from aftersale.entrypoints.processes import serve_many

        try:
            status = serve_many(host, port, workers, access_log=access_log)
        except OSError as exc:
            console.print(f"[red]cannot listen on {host}:{port}: {exc.strerror}[/red]")
            raise typer.Exit(1) from exc
        raise typer.Exit(status)
    else:
        from aftersale.entrypoints import heap
        from aftersale.entrypoints.api.app import create_app

        engine.dispose()  # (the app builds a runtime of its own)
        server = create_app(settings)
        heap.settle()
        uvicorn.run(
            server,
            host=host,
            port=port,
            log_level="info",
            access_log=access_log,
            log_config=None if settings.observability else uvicorn.config.LOGGING_CONFIG,
        )


@app.command()
def worker(
    interval: float = 1.0,
    batch: int = 500,
    once: Annotated[bool, typer.Option(help="fire what is due, then exit")] = False,
    metrics_port: Annotated[
        int | None, typer.Option(help="serve the worker's Prometheus metrics on this port")
    ] = None,
    wait_db: Annotated[
        float, typer.Option(help="seconds to wait at start for a database that does not answer")
    ] = 120.0,
    nice: Annotated[
        int,
        typer.Option(
            min=0,
            max=19,
            help="lower the worker's CPU priority by this much, so that on a host it shares "
            "with `aftersale serve` the requests come first (0: as the shell started it)",
        ),
    ] = 0,
) -> None:
    """Fire due deadlines and deliver webhooks and mail; any number of workers may share one
    PostgreSQL database."""
    if nice:  # (measured: bench/README.md, "Request cancellation beside the dispatcher")
        os.nice(nice)
    from aftersale.bootstrap import build_runtime
    from aftersale.entrypoints.dispatcher import Dispatcher, start_thread
    from aftersale.entrypoints.worker import Worker

    settings = get_settings()
    _configure_logs(settings.observability)
    with closing(_when_reachable(lambda: build_runtime(settings), wait=wait_db)) as rt:
        loop = Worker(rt, interval=interval, batch=batch, counted=settings.observability)
        dispatcher = Dispatcher(rt, settings)
        if metrics_port is not None:
            from prometheus_client import start_http_server

            from aftersale.adapters import metrics

            start_http_server(metrics_port, addr="127.0.0.1", registry=metrics.registry(None))
        if once:
            try:
                console.print(f"fired {loop.run_once()} deadlines")
                console.print(f"dispatched {dispatcher.run_once()} events, deliveries and mail")
            finally:
                dispatcher.close()
            return
        signal.signal(signal.SIGTERM, lambda *_: (loop.stop(), dispatcher.stop()))
        signal.signal(signal.SIGINT, lambda *_: (loop.stop(), dispatcher.stop()))
        from aftersale.entrypoints import heap

        sending = start_thread(dispatcher)
        heap.settle()
        loop.run()
        sending.join(timeout=20)


def _when_reachable(build: Callable[[], T], *, wait: float) -> T:
    """`build()`, tried again while the database does not answer (a worker started before its
    database, or during an outage), for up to `wait` seconds; then its error."""
    from sqlalchemy.exc import OperationalError

    end, delay = time.monotonic() + wait, 0.5
    while True:
        try:
            return build()
        except OperationalError as exc:
            if time.monotonic() + delay > end:
                raise
            reason = str(exc.orig or exc).splitlines()[0][:160]
            console.print(f"the database does not answer ({reason}); trying again in {delay} s")
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def _configure_logs(json_lines: bool) -> None:
    """JSON lines on stdout (entrypoints/logs.py), or the standard library's plain lines."""
    if json_lines:
        from aftersale.entrypoints import logs

        logs.configure()
    else:
        logging.basicConfig(level=logging.INFO)


def _fresh_metrics_dir(data_dir: Path) -> None:
    """Point every API process at one emptied folder for prometheus-client's multiprocess
    mode (read by each process when it starts), unless the operator set one."""
    import shutil

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    folder = (data_dir / "metrics").resolve()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


@app.command()
def migrate() -> None:
    """Apply the database migrations."""
    from aftersale.adapters.db.engine import make_engine
    from aftersale.adapters.db.migrate import migrate as run_migrations

    engine = make_engine(get_settings().url)
    try:
        run_migrations(engine)
    finally:
        engine.dispose()
    console.print("database is up to date")


@app.command()
def demo() -> None:
    """Create demo users and a spread of orders in every status; print how to log in."""
    from aftersale.bootstrap import build_runtime
    from aftersale.entrypoints.demo import load_demo

    with closing(build_runtime(get_settings())) as rt:
        for line in load_demo(rt, console=console):
            console.print(line)


@users_app.command("create")
def users_create(
    email: str,
    name: str,
    role: Annotated[str, typer.Option(help="buyer, seller or admin")] = "buyer",
    password: Annotated[str | None, typer.Option()] = None,
    country: str = "US",
) -> None:
    """Create a user and print its API token (shown once)."""
    from aftersale.bootstrap import build_runtime
    from aftersale.domain.errors import DomainError
    from aftersale.services.users import create_user

    try:
        with closing(build_runtime(get_settings())) as rt:
            user = create_user(
                rt, None, email=email, name=name, role=role, password=password, country=country
            )
    except DomainError as exc:
        console.print(f"[red]{exc.code}[/red]: {exc.detail}")
        raise typer.Exit(2) from exc
    console.print(f"created {user['role']} {user['id']} <{user['email']}>")
    console.print(f"API token (shown once): {user['token']}")


@webhooks_app.command("listen")
def webhooks_listen(
    port: int = 9000,
    event: Annotated[list[str] | None, typer.Option(help="a type to subscribe to (repeat)")] = None,
) -> None:
    """Receive this aftersale's webhooks locally: print each one, its signature checked."""
    from aftersale.entrypoints.webhook_listen import listen

    listen(port, event, typer.echo)


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="a .jsonl file")],
    dry_run: Annotated[bool, typer.Option(help="validate every line, write nothing")] = False,
    batch_size: Annotated[int, typer.Option(min=1, max=100_000)] = 5000,
    report: Annotated[Path | None, typer.Option(help="write every problem as JSONL")] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            min=0, max=64, help="worker processes (default: 2 with 2 or more cores; SQLite: 0)"
        ),
    ] = None,
    fast_load: Annotated[
        bool,
        typer.Option(
            help="into an empty PostgreSQL database: one transaction that holds the order "
            "tables, indexes and foreign keys built once at the end (docs/IMPORT.md)"
        ),
    ] = True,
) -> None:
    """Import existing orders (docs/IMPORT.md); exits 1 if any line was refused."""
    from rich.progress import Progress

    from aftersale.adapters.db.bulk import SqlImportStore
    from aftersale.bootstrap import build_runtime
    from aftersale.services.importer import import_orders

    with file.open("rb") as f:
        total = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    with (
        closing(build_runtime(get_settings())) as rt,
        Progress(console=console, transient=False) as bar,
        file.open(encoding="utf-8") as lines,
    ):
        task = bar.add_task("importing" if not dry_run else "validating", total=total)
        result = import_orders(
            rt,
            SqlImportStore(rt.engine, fast=fast_load),  # type: ignore[attr-defined]
            lines,
            dry_run=dry_run,
            batch_size=batch_size,
            progress=lambda n: bar.advance(task, n),
            jobs=jobs,
            phase=lambda what: bar.update(task, description=what),
        )
    _print_import(result, dry_run=dry_run, report=report)
    if result.errors:
        raise typer.Exit(1)


def _print_import(result: Any, *, dry_run: bool, report: Path | None) -> None:
    """Every refused line, the first skipped ids, the totals (and the JSONL report)."""
    import json

    for p in result.errors:
        console.print(f"[red]line {p.line}[/red]: {p.code}: {p.reason}", highlight=False)
    for line, order_id in result.skipped[:20]:
        console.print(f"line {line}: skipped, order {order_id} exists already", highlight=False)
    if len(result.skipped) > 20:
        console.print(f"... and {len(result.skipped) - 20} more existing orders skipped")
    if report is not None:
        with report.open("w") as out:
            for p in result.errors:
                out.write(json.dumps({"line": p.line, "code": p.code, "reason": p.reason}) + "\n")
            for line, order_id in result.skipped:
                out.write(json.dumps({"line": line, "code": "skipped", "id": order_id}) + "\n")
    verb = "valid" if dry_run else "imported"
    console.print(
        f"{result.lines} lines: {result.imported} {verb}, {len(result.skipped)} skipped "
        f"(existing), {len(result.errors)} refused"
    )


cli_ops.register(app, users_app)  # users list|disable|enable|rotate-token, refunds, deadlines,
# status
os.environ.setdefault("PYTHONUNBUFFERED", "1")
