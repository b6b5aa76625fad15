"""Hot statements compiled once per dialect and run straight on the driver's cursor.

SQLAlchemy Core spends ~130 µs of Python per statement on cache keys, compilation lookups and
result set-up (measured on this project's bench machine: an INSERT costs 173 µs through Core,
47 µs on the cursor). The order repository runs ~7 statements per API request, so its hot ones
(load an order, write its changes) are compiled here once per (dialect, shape) and executed on
the DBAPI cursor of the same connection, inside the same transaction. What SQLAlchemy would do
is kept: its compiled SQL text (with PostgreSQL's casts), its bind processors (Amount, UTC
datetimes, enums, JSON) and its result processors, and driver errors are wrapped as SQLAlchemy's
(IntegrityError, OperationalError ...), so callers see exactly what Core would have raised.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from sqlalchemy import ARRAY, Connection, Table, any_, bindparam, exc, update
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement


@dataclass(frozen=True, slots=True)
class Compiled:
    """One statement's SQL text and how to convert its parameters and result rows."""

    sql: str
    positional: tuple[str, ...] | None  # parameter order for qmark drivers (SQLite)
    binds: tuple[tuple[str, Callable[[Any], Any]], ...]
    keys: tuple[str, ...]  # result column names (SELECT)
    results: tuple[tuple[int, Callable[[Any], Any]], ...]
    batch: Batch | None = None  # PostgreSQL: the multi-row form of an UPDATE (compiled_update)


@dataclass(frozen=True, slots=True)
class Batch:
    """`UPDATE t SET c = v.c, ... FROM (VALUES <rows>) AS v(...) WHERE t.k = v.k AND ...`: the
    text around the rows, the parameter names in a row's order, and a row with its casts."""

    prefix: str
    suffix: str
    names: tuple[str, ...]
    row_sql: str


_CACHE: dict[tuple[str, Hashable], Compiled] = {}


def compiled(
    conn: Connection,
    key: Hashable,
    build: Callable[[], ClauseElement],
    column_keys: Sequence[str] | None = None,
) -> Compiled:
    """The statement `build()` makes, compiled for this connection's dialect (once per key)."""
    dialect = conn.dialect
    found = _CACHE.get((dialect.name, key))
    if found is None:
        found = _CACHE[(dialect.name, key)] = _compile(
            build(), dialect, list(column_keys) if column_keys is not None else None
        )
    return found


def _compile(statement: ClauseElement, dialect: Dialect, column_keys: list[str] | None) -> Compiled:
    comp: Any = statement.compile(dialect=dialect, column_keys=column_keys)
    binds = tuple((name, proc) for name, proc in comp._bind_processors.items() if proc)
    columns = getattr(comp, "_result_columns", None) or []
    results = []
    for i, col in enumerate(columns):
        proc = col.type._cached_result_processor(dialect, None)
        if proc is not None:
            results.append((i, proc))
    positional = tuple(comp.positiontup) if dialect.positional else None
    return Compiled(
        sql=comp.string,
        positional=positional,
        binds=binds,
        keys=tuple(col.keyname for col in columns),
        results=tuple(results),
    )


_UPDATES: dict[tuple[str, str, tuple[str, ...], tuple[tuple[str, str], ...]], Compiled] = {}


def compiled_update(
    conn: Connection, table: Table, keys: tuple[str, ...], match: tuple[tuple[str, str], ...]
) -> Compiled:
    """`UPDATE table SET <keys> WHERE <column> = :<param> AND ...` (`match`: column, param),
    compiled once per shape. On PostgreSQL it also carries its multi-row form, with which
    `write` updates many rows in one statement instead of one statement per row (the worker's
    per-row UPDATEs were a third of its database time, bench/README.md)."""
    dialect = conn.dialect
    key = (dialect.name, table.name, keys, match)
    found = _UPDATES.get(key)
    if found is None:
        statement = update(table).where(*(table.c[col] == bindparam(p) for col, p in match))
        found = _compile(statement, dialect, list(keys))
        if dialect.name == "postgresql":
            found = replace(found, batch=_batch(table, keys, match, dialect))
        _UPDATES[key] = found
    return found


def _batch(
    table: Table, keys: tuple[str, ...], match: tuple[tuple[str, str], ...], dialect: Dialect
) -> Batch:
    columns = [col for col, _ in match] + list(keys)
    names = tuple(p for _, p in match) + keys
    casts = [table.c[col].type.compile(dialect=dialect) for col in columns]
    sets = ", ".join(f'"{k}" = v."{k}"' for k in keys)
    where = " AND ".join(f't."{col}" = v."{p}"' for col, p in match)
    aliases = ", ".join(f'"{n}"' for n in names)
    return Batch(
        prefix=f'UPDATE "{table.name}" AS t SET {sets} FROM (VALUES ',
        suffix=f") AS v({aliases}) WHERE {where}",
        names=names,
        row_sql="(" + ", ".join(f"{{}}::{cast}" for cast in casts) + ")",
    )


def marks(n: int) -> list[Any]:
    """n bind parameters p0 .. p(n-1), for an IN list compiled once per length."""
    return [bindparam(f"p{i}") for i in range(n)]


def numbered(values: Sequence[Any]) -> dict[str, Any]:
    """The parameters of `marks(len(values))`."""
    return {f"p{i}": v for i, v in enumerate(values)}


def one_of(conn: Connection, column: Any, n: int) -> Any:
    """`column` equal to one of n values: one value as `= :p0`; more, on PostgreSQL, as
    `= ANY(:ids)`, one array parameter whatever n is (a statement of 500 `$n` marks was parsed
    in Python by the driver on every run, since it caches only short queries); elsewhere as
    `IN (:p0 .. :pn)`. Its statement is compiled per `width(conn, n)`, and takes
    `among(conn, values)` as parameters."""
    if n == 1:
        return column == bindparam("p0")
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam("ids", type_=ARRAY(column.type)))
    return column.in_(marks(n))


def _arrays(conn: Connection, n: int) -> bool:
    return n > 1 and conn.dialect.name == "postgresql"


def width(conn: Connection, n: int) -> int:
    """The part of a `one_of` statement's cache key that depends on n."""
    return 0 if _arrays(conn, n) else n


def among(conn: Connection, values: Sequence[Any]) -> dict[str, Any]:
    """The parameters of `one_of(conn, column, len(values))`."""
    return {"ids": list(values)} if _arrays(conn, len(values)) else numbered(values)


def _params(c: Compiled, values: dict[str, Any]) -> Any:
    if c.binds:
        values = dict(values)
        for name, proc in c.binds:
            if name in values:
                values[name] = proc(values[name])
    if c.positional is not None:
        return tuple(values[name] for name in c.positional)
    return values


def _cursor(conn: Connection) -> Any:
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]


def _announce(conn: Connection, cursor: Any, c: Compiled, params: Any, many: bool) -> None:
    # SQLAlchemy's before_cursor_execute listeners (statement counters) still hear of it
    if conn._has_events or conn.engine._has_events:
        for listener in conn.dispatch.before_cursor_execute:
            listener(conn, cursor, c.sql, params, None, many)


def _fail(conn: Connection, c: Compiled, params: Any, error: Exception) -> Exception:
    dbapi = conn.dialect.loaded_dbapi
    if isinstance(error, dbapi.Error):
        return exc.DBAPIError.instance(c.sql, params, error, dbapi.Error)
    return error


def execute(conn: Connection, c: Compiled, values: dict[str, Any], *, planned: bool = False) -> Any:
    """Run one statement; returns the driver's cursor (rowcount, fetch*). With `planned`, on
    PostgreSQL, the statement is never prepared, so the server plans it for these values each
    time (see `rows`)."""
    params = _params(c, values)
    cursor = _cursor(conn)
    _announce(conn, cursor, c, params, False)
    try:
        if planned and conn.dialect.name == "postgresql":
            cursor.execute(c.sql, params, prepare=False)
        else:
            cursor.execute(c.sql, params)
    except Exception as error:
        raise _fail(conn, c, params, error) from error
    return cursor


def executemany(conn: Connection, c: Compiled, rows: Iterable[dict[str, Any]]) -> int:
    """Run one statement for each row (one driver executemany); returns the summed rowcount."""
    params = [_params(c, row) for row in rows]
    if not params:
        return 0
    cursor = _cursor(conn)
    _announce(conn, cursor, c, params, True)
    try:
        if len(params) == 1:
            cursor.execute(c.sql, params[0])
        else:
            cursor.executemany(c.sql, params)
    except Exception as error:
        raise _fail(conn, c, params, error) from error
    count: int = cursor.rowcount  # (inside `pipeline()`, only once the block has ended)
    return count


@contextmanager
def pipeline(conn: Connection) -> Iterator[None]:
    """On PostgreSQL, statements run inside are sent without waiting for each one's answer, so
    the server works on one while Python prepares the next; the answers (and any error,
    wrapped as SQLAlchemy's) arrive when the block ends. Elsewhere, a plain block."""
    if conn.dialect.name != "postgresql":
        yield
        return
    dbapi = conn.dialect.loaded_dbapi
    try:
        with conn.connection.driver_connection.pipeline():  # type: ignore[union-attr]
            yield
    except dbapi.Error as error:
        raise exc.DBAPIError.instance(None, None, error, dbapi.Error) from error


def rows(
    conn: Connection, c: Compiled, values: dict[str, Any], *, planned: bool = False
) -> list[dict[str, Any]]:
    """Run a SELECT; its rows as dicts by column name, with the column types' conversions.

    `planned`: plan it for these values each time, never from a cached generic plan. psycopg
    prepares a statement on its 5th run, and PostgreSQL may then plan it once for any values;
    with stale statistics (autovacuum off, a table that grew) the generic plan of `order_id IN
    ($1 .. $500)` scanned whole tables (1.8 s instead of 2 ms). An unprepared statement gets a
    plan of its own every time, and the statements after it keep their cheap generic plans."""
    cursor = execute(conn, c, values, planned=planned)
    raw = cursor.fetchall()
    cursor.close()
    keys, results = c.keys, c.results
    if not results:
        return [dict(zip(keys, row, strict=True)) for row in raw]
    out = []
    for row in raw:
        values = list(row)
        for i, proc in results:
            if values[i] is not None:  # NULL stays None through every column type here
                values[i] = proc(values[i])
        out.append(dict(zip(keys, values, strict=True)))
    return out


Part = tuple[Compiled, list[dict[str, Any]]]
COMBINE_ROWS = 64  # up to this many rows in all, PostgreSQL gets them as one statement
_COMBINED: dict[tuple[tuple[str, int], ...], tuple[str, tuple[str, ...]]] = {}
_MARK = re.compile(r"%\((\w+)\)s")


def write(conn: Connection, parts: list[Part]) -> int:
    """Run the rows of several INSERT / UPDATE statements, in order; returns how many rows the
    first one touched (a version-checked UPDATE's count). On PostgreSQL a few rows in all (an
    API request's changes) go as ONE statement, a chain of data-modifying WITH clauses: one
    statement for the driver to send and the server to parse and run instead of one per table.
    More rows (a worker batch) go as one executemany per statement, all after the first in one
    pipeline; SQLite runs one executemany each."""
    parts = [(c, rows) for c, rows in parts if rows]
    if not parts:
        return 0
    if conn.dialect.name == "postgresql" and sum(len(r) for _, r in parts) <= COMBINE_ROWS:
        return _write_combined(conn, parts)
    postgresql = conn.dialect.name == "postgresql"
    first = _write_part(conn, *parts[0], postgresql=postgresql)
    with pipeline(conn):
        for c, rows in parts[1:]:
            _write_part(conn, c, rows, postgresql=postgresql)
    return first


def _write_part(
    conn: Connection, c: Compiled, rows: list[dict[str, Any]], *, postgresql: bool
) -> int:
    """One statement's rows; how many rows it touched (known only outside a pipeline)."""
    if postgresql and len(rows) > 1:
        if c.batch is not None:
            return update_rows(conn, c, c.batch, rows)
        if c.sql.startswith("INSERT"):
            insert_rows(conn, c, rows)
            return len(rows)
    return executemany(conn, c, rows)


MAX_PARAMS = 30_000  # PostgreSQL takes at most 65,535 parameters in one statement


def insert_rows(conn: Connection, c: Compiled, rows: list[dict[str, Any]]) -> None:
    """An INSERT of many rows as multi-row VALUES statements (PostgreSQL): one statement per
    up to MAX_PARAMS parameters. The driver's executemany sends one query per row, and its
    per-row Python cost was half of the worker's database code (bench/README.md). The
    statement uses `$n` placeholders on a raw cursor: psycopg would otherwise parse a long
    query's `%s` marks in Python every time (it caches only short queries)."""
    head, names, row_sql = _values_template(c.sql)
    per = max(1, MAX_PARAMS // len(names))
    cursor = _raw_cursor(conn.connection.driver_connection)
    for start in range(0, len(rows), per):
        chunk = [_params(c, row) for row in rows[start : start + per]]
        sql = _values_sql(head, row_sql, len(names), len(chunk))
        flat = [row[name] for row in chunk for name in names]
        _announce(conn, cursor, c, flat, False)
        try:
            cursor.execute(sql, flat)
        except Exception as error:
            raise _fail(conn, c, flat, error) from error


def update_rows(conn: Connection, c: Compiled, batch: Batch, rows: list[dict[str, Any]]) -> int:
    """Many rows of an UPDATE (PostgreSQL) as few multi-row statements (`Batch`), up to
    MAX_PARAMS parameters each; returns how many rows they matched (0 inside a pipeline)."""
    width = len(batch.names)
    per = max(1, MAX_PARAMS // width)
    cursor = _raw_cursor(conn.connection.driver_connection)
    total = 0
    for start in range(0, len(rows), per):
        chunk = [_params(c, row) for row in rows[start : start + per]]
        sql = _update_sql(batch, len(chunk))
        flat = [row[name] for row in chunk for name in batch.names]
        _announce(conn, cursor, c, flat, False)
        try:  # planned for its rows each time: a generic plan may join by scanning the table
            cursor.execute(sql, flat, prepare=False)
        except Exception as error:
            raise _fail(conn, c, flat, error) from error
        total += max(cursor.rowcount, 0)
    return total


def _raw_cursor(driver: Any) -> Any:
    import psycopg  # (only PostgreSQL comes here)

    return psycopg.RawCursor(driver)


@lru_cache(maxsize=256)
def _values_template(sql: str) -> tuple[str, tuple[str, ...], str]:
    head, _, values = sql.partition(" VALUES ")
    return head, tuple(_MARK.findall(values)), _MARK.sub("{}", values)


@lru_cache(maxsize=32)  # a text of 1,500 rows is ~75 KB: keep the few a worker reuses
def _values_sql(head: str, row_sql: str, width: int, n: int) -> str:
    return f"{head} VALUES {_numbered_rows(row_sql, width, n)}"


def _numbered_rows(row_sql: str, width: int, n: int) -> str:
    """n copies of a row template (`{}`: a value), numbered $1 .. $(width * n) in order."""
    rows = (row_sql.format(*(f"${r * width + k + 1}" for k in range(width))) for r in range(n))
    return ", ".join(rows)


@lru_cache(maxsize=32)
def _update_sql(batch: Batch, n: int) -> str:
    return f"{batch.prefix}{_numbered_rows(batch.row_sql, len(batch.names), n)}{batch.suffix}"


def _write_combined(conn: Connection, parts: list[Part]) -> int:
    shape = tuple((c.sql, len(rows)) for c, rows in parts)
    found = _COMBINED.get(shape)
    if found is None:
        found = _COMBINED[shape] = _numbered(_combine(shape))
    sql, names = found
    params: dict[str, Any] = {}
    for i, (c, rows) in enumerate(parts):
        for r, row in enumerate(rows):
            for name, value in _params(c, row).items():
                params[f"w{i}r{r}_{name}"] = value
    values = [params[name] for name in names]
    cursor = _raw_cursor(conn.connection.driver_connection)
    one = Compiled(sql=sql, positional=names, binds=(), keys=(), results=())
    _announce(conn, cursor, one, values, False)
    try:
        cursor.execute(sql, values)
    except Exception as error:
        raise _fail(conn, one, values, error) from error
    row = cursor.fetchone()
    return int(row[0])


def _numbered(sql: str) -> tuple[str, tuple[str, ...]]:
    """A statement's `%(name)s` marks as `$1 .. $n` (a name's every mark the same number), and
    the names in number order. A raw cursor sends it as it is: psycopg parses the marks of a
    statement longer than 4 KB or with over 50 parameters in Python at every run (it caches
    only smaller ones), which was a fifth of an accepted cancellation's CPU."""
    names: dict[str, int] = {}

    def number(mark: re.Match[str]) -> str:
        return f"${names.setdefault(mark.group(1), len(names) + 1)}"

    return _MARK.sub(number, sql).replace("%%", "%"), tuple(names)


def _combine(shape: tuple[tuple[str, int], ...]) -> str:
    """`WITH s0 AS (...), s1 AS (...) ... SELECT <rows of the first statement>`: each INSERT
    with all its rows in one VALUES list, each UPDATE once per row, parameters renamed apart
    (w<statement>r<row>_<name>)."""
    clauses: list[str] = []
    counted: list[str] = []
    for i, (sql, n) in enumerate(shape):
        texts = []
        if sql.startswith("INSERT"):
            head, _, values = sql.partition(" VALUES ")
            rows = ", ".join(_MARK.sub(rf"%(w{i}r{r}_\1)s", values) for r in range(n))
            texts.append(f"{head} VALUES {rows}")
        else:
            texts += [_MARK.sub(rf"%(w{i}r{r}_\1)s", sql) for r in range(n)]
        for text in texts:
            name = f"s{len(clauses)}"
            if i == 0:
                text += " RETURNING 1"
                counted.append(f"(SELECT count(*) FROM {name})")
            clauses.append(f"{name} AS ({text})")
    return "WITH " + ", ".join(clauses) + " SELECT " + " + ".join(counted)
