"""The operator's commands (rich tables): `users list|disable|enable|rotate-token|set-password`,
`refunds list [--overdue] | retry ID`, `deadlines list [--due] [--kind K]`, `status`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from aftersale.settings import get_settings

refunds_app = typer.Typer(help="Refunds: list them, retry a failed one.", no_args_is_help=True)
deadlines_app = typer.Typer(help="Deadlines not fired yet.", no_args_is_help=True)
console = Console()
Limit = Annotated[int, typer.Option(min=1, max=100_000, help="at most this many rows")]


@contextmanager
def _runtime() -> Iterator[Any]:
    """The runtime of the environment's settings, closed (its engines disposed) at the end of
    the command: a command run in process (tests, a notebook) leaks no connection pool."""
    from aftersale.bootstrap import build_runtime

    rt = build_runtime(get_settings())
    try:
        yield rt
    finally:
        rt.close()


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S") if at else "-"


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    """Print rows as a rich table."""
    table = Table(title=title)
    for name in columns:
        table.add_column(name)
    for row in rows:
        table.add_row(*(str(v) for v in row))
    console.print(table)


def _fail(exc: Exception) -> typer.Exit:
    """Say why a command was refused; exit 2."""
    code = getattr(exc, "code", type(exc).__name__)
    console.print(f"[red]{code}[/red]: {getattr(exc, 'detail', exc)}", highlight=False)
    return typer.Exit(2)


def users_list(limit: Limit = 1000) -> None:
    """Every user: id, email, role, name, country, created, disabled."""
    from aftersale.services.operators import list_users

    with _runtime() as rt:
        users = list_users(rt, limit=limit)
    rows = [
        [u.id, u.email, u.role, u.name, u.country, _when(u.created_at), _when(u.disabled_at)]
        for u in users
    ]
    _table("users", ["id", "email", "role", "name", "country", "created", "disabled"], rows)


def users_disable(who: Annotated[str, typer.Argument(help="a user id or email")]) -> None:
    """Disable a user: its API token and password stop working."""
    _set_disabled(who, disabled=True)


def users_enable(who: Annotated[str, typer.Argument(help="a user id or email")]) -> None:
    """Enable a disabled user again."""
    _set_disabled(who, disabled=False)


def _set_disabled(who: str, *, disabled: bool) -> None:
    from aftersale.domain.errors import DomainError
    from aftersale.services.operators import set_disabled

    try:
        with _runtime() as rt:
            user = set_disabled(rt, who=who, disabled=disabled)
    except DomainError as exc:
        raise _fail(exc) from exc
    console.print(f"{'disabled' if disabled else 'enabled'} {user.id} <{user.email}>")


def users_rotate_token(who: Annotated[str, typer.Argument(help="a user id or email")]) -> None:
    """Give a user a new API token (printed once); the old one stops working."""
    from aftersale.domain.errors import DomainError
    from aftersale.services.operators import rotate_token

    try:
        with _runtime() as rt:
            user, token = rotate_token(rt, who=who)
    except DomainError as exc:
        raise _fail(exc) from exc
    console.print(f"new API token for {user.id} <{user.email}> (shown once): {token}")


def users_set_password(
    who: Annotated[str, typer.Argument(help="a user id or email")],
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, help="the new password (8-200 chars)")
    ],
) -> None:
    """Give a user a new password; every page session it has open ends."""
    from aftersale.domain.errors import DomainError
    from aftersale.services.operators import set_password

    try:
        with _runtime() as rt:
            user, ended = set_password(rt, who=who, password=password)
    except DomainError as exc:
        raise _fail(exc) from exc
    console.print(f"new password for {user.id} <{user.email}>; {ended} session(s) ended")


@refunds_app.command("list")
def refunds_list(
    overdue: Annotated[bool, typer.Option(help="only those past their expected-by date")] = False,
    limit: Limit = 200,
) -> None:
    """Refunds, newest first (--overdue: the late ones, most overdue first)."""
    from aftersale.adapters.db import ops_repo

    with _runtime() as rt:
        rows = ops_repo.refund_rows(rt.engine, now=rt.clock.now(), overdue=overdue, limit=limit)
    _table(
        "overdue refunds" if overdue else "refunds",
        ["id", "order", "amount", "method", "status", "created", "expected by"],
        [
            [r.id, r.order_id, f"{r.amount} {r.currency}", r.method, r.status]
            + [_when(r.created_at), _when(r.expected_by)]
            for r in rows
        ],
    )


@refunds_app.command("retry")
def refunds_retry(refund_id: str) -> None:
    """Issue a failed refund again (a new refund, sent by the worker)."""
    from aftersale.domain.errors import DomainError
    from aftersale.services.operators import retry_failed_refund

    try:
        with _runtime() as rt:
            order = retry_failed_refund(rt, refund_id=refund_id)
    except DomainError as exc:
        raise _fail(exc) from exc
    again = [r for r in order["refunds"] if r["status"] == "pending"]
    console.print(f"retried {refund_id}: new refund {again[-1]['id'] if again else '?'}")


@deadlines_app.command("list")
def deadlines_list(
    due: Annotated[bool, typer.Option(help="only those due now")] = False,
    kind: Annotated[str | None, typer.Option(help="only this kind")] = None,
    limit: Limit = 200,
) -> None:
    """Deadlines not fired yet, soonest first."""
    from aftersale.adapters.db import ops_repo

    with _runtime() as rt:
        rows = ops_repo.deadline_rows(
            rt.engine, now=rt.clock.now(), due=due, kind=kind, limit=limit
        )
    _table(
        "due deadlines" if due else "deadlines",
        ["seq", "kind", "order", "subject", "due", "attempts", "last error"],
        [
            [d.seq, d.kind, d.order_id, d.subject_id, _when(d.due_at), d.attempts]
            + [(d.last_error or "")[:60]]
            for d in rows
        ],
    )


def status() -> None:
    """The database, its migrations, what is due and how late, overdue refunds, failed
    webhook deliveries; exits 1 when the database is not ready."""
    from aftersale.adapters.db import ops_repo
    from aftersale.adapters.db.engine import make_engine

    engine = make_engine(get_settings().url)
    try:
        ready, why = ops_repo.schema_state(engine)
        rows: list[list[Any]] = [["database", "ready" if ready else f"NOT READY: {why}"]]
        if ready:
            with ops_repo.reader(engine).connect() as conn:
                applied, heads = ops_repo.revisions(conn)
            rows.append(["migrations", f"at {', '.join(sorted(applied))} (latest)"])
            rows += _figures(engine)
    finally:
        engine.dispose()
    _table("aftersale status", ["what", "state"], rows)
    if not ready:
        raise typer.Exit(1)


def _figures(engine: Any) -> list[list[Any]]:
    """The status rows that need a ready database."""
    from aftersale.adapters.clock import SystemClock, TestClock
    from aftersale.adapters.db import ops_repo

    if get_settings().test_clock:
        clock = TestClock(engine)  # (on PostgreSQL with a pool of its own: disposed here)
        try:
            now = clock.now()
        finally:
            if clock.engine is not engine:
                clock.engine.dispose()
    else:
        now = SystemClock().now()
    f = ops_repo.figures(engine, now)
    failed = ops_repo.failed_deliveries(engine)
    return [
        ["due deadlines", f.deadlines_due],
        ["oldest due deadline's lag", f"{f.lag_seconds(now):.0f} s"],
        ["overdue refunds", f.refunds_overdue],
        ["escalated disputes past 7 days", f.disputes_escalated_overdue],
        ["failed webhook deliveries", "schema not migrated" if failed is None else failed],
    ]


def register(app: typer.Typer, users_app: typer.Typer) -> None:
    """Add the operator's commands to the `aftersale` command."""
    users_app.command("list")(users_list)
    users_app.command("disable")(users_disable)
    users_app.command("enable")(users_enable)
    users_app.command("rotate-token")(users_rotate_token)
    users_app.command("set-password")(users_set_password)
    app.add_typer(refunds_app, name="refunds")
    app.add_typer(deadlines_app, name="deadlines")
    app.command("status")(status)
