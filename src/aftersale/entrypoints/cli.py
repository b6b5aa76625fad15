"""The `aftersale` command: serve, worker, migrate, demo, users."""

from __future__ import annotations

import logging
import os
import signal
from typing import Annotated

import typer
from rich.console import Console

from aftersale.settings import get_settings

app = typer.Typer(help="aftersale: the after-sales engine of a marketplace.", no_args_is_help=True)
users_app = typer.Typer(help="Manage users.", no_args_is_help=True)
app.add_typer(users_app, name="users")
console = Console()


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64)] = 1,
) -> None:
    """Run the HTTP server (migrating first; on SQLite with the deadline worker inside)."""
    import uvicorn

    from aftersale.adapters.db.engine import make_engine
    from aftersale.adapters.db.migrate import migrate as run_migrations

    settings = get_settings()
    run_migrations(make_engine(settings.url))
    logging.basicConfig(level=logging.INFO)
    if workers > 1:
        uvicorn.run(
            "aftersale.entrypoints.asgi:app",
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
        )
    else:
        from aftersale.entrypoints.api.app import create_app

        uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@app.command()
def worker(
    interval: float = 1.0,
    batch: int = 500,
    once: Annotated[bool, typer.Option(help="fire what is due, then exit")] = False,
) -> None:
    """Fire due deadlines; any number of workers may share one PostgreSQL database."""
    from aftersale.bootstrap import build_runtime
    from aftersale.entrypoints.worker import Worker

    logging.basicConfig(level=logging.INFO)
    loop = Worker(build_runtime(get_settings()), interval=interval, batch=batch)
    if once:
        console.print(f"fired {loop.run_once()} deadlines")
        return
    signal.signal(signal.SIGTERM, lambda *_: loop.stop())
    signal.signal(signal.SIGINT, lambda *_: loop.stop())
    loop.run()


@app.command()
def migrate() -> None:
    """Apply the database migrations."""
    from aftersale.adapters.db.engine import make_engine
    from aftersale.adapters.db.migrate import migrate as run_migrations

    run_migrations(make_engine(get_settings().url))
    console.print("database is up to date")


@app.command()
def demo() -> None:
    """Create demo users and a spread of orders in every status; print how to log in."""
    from aftersale.bootstrap import build_runtime
    from aftersale.entrypoints.demo import load_demo

    rt = build_runtime(get_settings())
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
        user = create_user(
            build_runtime(get_settings()),
            None,
            email=email,
            name=name,
            role=role,
            password=password,
            country=country,
        )
    except DomainError as exc:
        console.print(f"[red]{exc.code}[/red]: {exc.detail}")
        raise typer.Exit(2) from exc
    console.print(f"created {user['role']} {user['id']} <{user['email']}>")
    console.print(f"API token (shown once): {user['token']}")


os.environ.setdefault("PYTHONUNBUFFERED", "1")
