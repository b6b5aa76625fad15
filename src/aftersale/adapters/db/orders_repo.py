"""Loads and saves whole Order aggregates, with an optimistic version check on every save."""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, insert, select, tuple_

from aftersale.adapters.db import fast
from aftersale.adapters.db import tables as t
from aftersale.domain.entities import CancellationRequest, Dispute, Refund, Return, TimelineEntry
from aftersale.domain.errors import ConcurrentModification
from aftersale.domain.lines import line_from_json, line_key, lines_to_json
from aftersale.domain.money import quantize
from aftersale.domain.order import Order
from aftersale.domain.order_state import OrderState
from aftersale.domain.policy import Policy
from aftersale.domain.validate import InvalidCursor, keyset_cursor

CHILDREN: tuple[tuple[str, Table, type[Any]], ...] = (
    ("cancellations", t.cancellations, CancellationRequest),
    ("refunds", t.refunds, Refund),
    ("returns", t.returns, Return),
    ("disputes", t.disputes, Dispute),
)
SCALARS = [
    f.name
    for f in dataclasses.fields(OrderState)
    if f.name
    not in {
        "items",
        "policy",
        "cancellations",
        "refunds",
        "returns",
        "disputes",
        "timeline",
        "new_ledger",
        "new_deadlines",
        "new_events",
    }
]
OWNED_BITS = (1, 2, 4, 8)  # cancellations, refunds, returns, disputes (orders.owned)
LOCATORS = {"return": t.returns, "dispute": t.disputes, "refund": t.refunds}


_FIELDS: dict[type, tuple[str, ...]] = {}


def field_names(obj: Any) -> tuple[str, ...]:
    """A dataclass's field names (dataclasses.fields() is slow enough to show in profiles)."""
    cls = type(obj)
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(obj))
    return names


def row_of(obj: Any) -> dict[str, Any]:
    """A dataclass entity as a column dict."""
    return {name: getattr(obj, name) for name in field_names(obj)}


class SqlOrderRepository:
    """Orders and everything they own, in one connection's transaction."""

    def __init__(self, conn: Connection, *, locking: bool, readonly: bool = False) -> None:
        self.conn = conn
        self.locking = locking  # SELECT ... FOR UPDATE (PostgreSQL)
        self.readonly = readonly  # no snapshots to diff against: save() would fail
        self._seen: dict[str, dict[str, Any]] = {}

    def get(self, order_id: str, *, lock: bool = True, history: bool = True) -> Order | None:
        """Load an order with what it owns; `lock` holds it until the transaction ends."""
        found = fast.rows(self.conn, self._select_orders(1, lock), {"p0": order_id})
        if not found:
            return None
        return self._build(found, history=history)[0]

    def get_many(
        self, order_ids: list[str], *, lock: bool = True, history: bool = False
    ) -> dict[str, Order]:
        """Load several orders at once (ids sorted, so lockers never deadlock)."""
        if not order_ids:
            return {}
        ids = sorted(set(order_ids))
        # A batch (a worker's) is planned for its ids every time (fast.rows), and read by index
        # whatever the statistics say: a child table analyzed while nearly empty (autovacuum
        # off, or not yet run) looks to the planner as if each of 500 ids matched 0.5 % of it,
        # and `refunds` was scanned whole for every batch once it held a million rows (144 ms
        # a batch instead of ~2). A single order's statements keep their generic plans
        # (planning each cost the API 40 % more database CPU).
        planned = len(ids) > 1
        by_index = planned and self.locking  # (PostgreSQL)
        if by_index:
            self.conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        found = fast.rows(
            self.conn,
            self._select_orders(len(ids), lock),
            fast.among(self.conn, ids),
            planned=planned,
        )
        orders = {o.id: o for o in self._build(found, history=history, planned=planned)}
        if by_index:  # (on failure the transaction ends, and the setting with it)
            self.conn.exec_driver_sql("SET LOCAL enable_seqscan = on")
        return orders

    def _select_orders(self, n: int, lock: bool) -> fast.Compiled:
        """SELECT orders by n ids (ordered by id, so lockers never deadlock)."""
        lock = lock and self.locking

        def build() -> Any:
            query = select(t.orders).where(fast.one_of(self.conn, t.orders.c.id, n))
            query = query.order_by(t.orders.c.id)
            return query.with_for_update() if lock else query

        return fast.compiled(self.conn, ("orders.get", fast.width(self.conn, n), lock), build)

    def _select_of(self, table: Table, n: int, columns: tuple[str, ...] | None = None) -> Any:
        """SELECT a child table's rows of n orders (the timeline in its order)."""

        def build() -> Any:
            picked = [table.c[c] for c in columns] if columns else [table]
            query = select(*picked).where(fast.one_of(self.conn, table.c.order_id, n))
            return query.order_by(table.c.seq) if table is t.timeline else query

        key = (table.name, "of", fast.width(self.conn, n), columns)
        return fast.compiled(self.conn, key, build)

    def _select_page(self, shape: frozenset[str]) -> fast.Compiled:
        """A page of orders for the filters named in `shape` (compiled once per shape)."""

        def build() -> Any:
            o = t.orders.c
            query = select(t.orders)
            if "buyer" in shape:
                query = query.where(o.buyer_id == bindparam("buyer"))
            if "seller" in shape:
                query = query.where(o.seller_id == bindparam("seller"))
            if "status" in shape:
                query = query.where(o.status == bindparam("status"))
            if "at" in shape:
                # a row comparison, so the index (…, created_at, seq) seeks straight to the
                # cursor (with `created_at < at OR (created_at = at AND seq < seq)` PostgreSQL
                # filters every row from the newest down: a deep page took as long as the
                # pages before it)
                after = tuple_(bindparam("at", type_=o.created_at.type), bindparam("seq"))
                query = query.where(tuple_(o.created_at, o.seq) < after)
            query = query.order_by(o.created_at.desc(), o.seq.desc())
            # an explicit OFFSET 0: SQLite's compiler adds an anonymous one to a bound LIMIT
            return query.limit(bindparam("lim")).offset(bindparam("skip"))

        return fast.compiled(self.conn, ("orders", "page", shape), build)

    def _build(self, rows: list[Any], *, history: bool, planned: bool = False) -> list[Order]:
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        kids: dict[str, dict[str, list[Any]]] = {i: {n: [] for n, _, _ in CHILDREN} for i in ids}
        for (name, table, cls), bit in zip(CHILDREN, OWNED_BITS, strict=True):
            having = [r["id"] for r in rows if r["owned"] & bit]  # skip tables known empty
            if not having:
                continue
            query = self._select_of(table, len(having))
            for child in fast.rows(
                self.conn, query, fast.among(self.conn, having), planned=planned
            ):
                obj = cls(**child)
                kids[obj.order_id][name].append(obj)
        timelines: dict[str, list[Any]] = {i: [] for i in ids}
        if history:
            query = self._select_of(t.timeline, len(ids), TIMELINE_COLUMNS)
            for tl in fast.rows(self.conn, query, fast.among(self.conn, ids), planned=planned):
                timelines[tl["order_id"]].append(TimelineEntry(**tl))
        orders = []
        for row in rows:
            data = {k: row[k] for k in SCALARS}
            order = Order(
                items=[line_from_json(i) for i in row["items"]],
                policy=_policy(row["policy"]),
                timeline=timelines[row["id"]],
                **data,
                **kids[row["id"]],
            )
            _in_minor_units(order)
            for name in ("cancellations", "returns", "disputes"):
                getattr(order, name).sort(key=_first_time)
            order.refunds.sort(key=lambda r: (r.created_at, r.id))
            if not self.readonly:
                self._remember(order)
            orders.append(order)
        return orders

    def _remember(self, order: Order) -> None:
        self._seen[order.id] = {
            "version": order.version,
            "timeline": len(order.timeline),
            "scalars": _scalars(order),
            **{name: {c.id: row_of(c) for c in getattr(order, name)} for name, _, _ in CHILDREN},
        }

    def add(self, order: Order) -> None:
        """Insert a new order with everything it owns."""
        first = self._insert_part(t.orders, [self._order_row(order)])
        self._seen[order.id] = {
            "version": order.version,
            "timeline": 0,
            "scalars": _scalars(order),
            **{name: {} for name, _, _ in CHILDREN},
        }
        fast.write(self.conn, [first, *self._child_writes([order])])

    def save(self, order: Order) -> None:
        """Write an order's changes, failing if another transaction changed it meanwhile."""
        self.save_many([order], skip_unchanged=False)

    def save_many(self, orders: list[Order], *, skip_unchanged: bool = True) -> None:
        """Write the changes of several orders with one statement per table: one executemany
        UPDATE of the orders (each with its version check) and one executemany per child table.
        With `skip_unchanged`, an order with nothing to write keeps its row and version.

        Raises ConcurrentModification if any order was changed by another transaction
        meanwhile; the caller must then roll back (some rows may have been written)."""
        changed: list[Order] = []
        columns: set[str] = set()
        now: dict[str, dict[str, Any]] = {}
        for order in orders:
            before = self._seen[order.id]["scalars"]
            now[order.id] = after = _scalars(order)
            diff = {k for k, v in after.items() if k != "version" and before[k] != v}
            if skip_unchanged and not diff and not self._has_child_changes(order):
                continue
            changed.append(order)
            columns.update(diff)
        if not changed:
            return
        params = []
        for order in changed:
            seen = self._seen[order.id]
            row = self._order_row(order, columns)
            row["version"] = seen["version"] + 1
            row["_id"] = order.id
            row["_old"] = seen["version"]
            params.append(row)
        keys = tuple(k for k in params[0] if k not in ("_id", "_old"))

        statement = fast.compiled_update(
            self.conn, t.orders, keys, (("id", "_id"), ("version", "_old"))
        )
        # each id matches at most one row, so the total is len(params) only if every one matched
        # (both drivers report the sum of the per-row counts for an executemany); the children
        # go with it (on PostgreSQL, for a few rows, in the same statement)
        parts = [(statement, params), *self._child_writes(changed)]
        if fast.write(self.conn, parts) != len(params):
            which = f"order {changed[0].id}" if len(changed) == 1 else "an order of the batch"
            raise ConcurrentModification(f"{which} was changed by another request")
        for order, row in zip(changed, params, strict=True):
            seen = self._seen[order.id]
            order.version = seen["version"] = row["version"]
            seen["scalars"] = now[order.id]
            seen["scalars"]["version"] = order.version

    def _has_child_changes(self, order: Order) -> bool:
        seen = self._seen[order.id]
        if len(order.timeline) != seen["timeline"]:
            return True
        if order.new_ledger or order.new_deadlines or order.new_events:
            return True
        for name, _, _ in CHILDREN:
            before: dict[str, dict[str, Any]] = seen[name]
            children = getattr(order, name)
            if len(children) != len(before):
                return True
            for child in children:
                if before.get(child.id) != row_of(child):
                    return True
        return False

    def _order_row(self, order: Order, columns: set[str] | None = None) -> dict[str, Any]:
        row = {k: getattr(order, k) for k in SCALARS if columns is None or k in columns}
        if columns is None or "items" in columns:
            row["items"] = lines_to_json(order.items)
        if columns is None or "policy" in columns:
            row["policy"] = order.policy.as_dict()
        if columns is None or "owned" in columns:
            row["owned"] = owned_mask(order)
        return row

    def _child_writes(self, orders: list[Order]) -> list[fast.Part]:
        """What these orders own that is new or changed: a statement and its rows per table
        and kind (the repository then counts them as written)."""
        parts: list[fast.Part] = []
        for name, table, _ in CHILDREN:
            inserts: list[dict[str, Any]] = []
            updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}  # by the columns changed
            for order in orders:
                before: dict[str, dict[str, Any]] = self._seen[order.id][name]
                for child in getattr(order, name):
                    row = row_of(child)
                    old = before.get(child.id)
                    if old is None:
                        inserts.append(row)
                    elif old != row:
                        changes = {k: v for k, v in row.items() if old[k] != v}
                        updates.setdefault(tuple(changes), []).append({**changes, "_id": child.id})
                    before[child.id] = row
            for rows in updates.values():
                parts.append(self._update_part(table, rows))
            if inserts:
                parts.append(self._insert_part(table, inserts))
        new_tl: list[dict[str, Any]] = []
        for order in orders:
            seen = self._seen[order.id]
            new_tl += [row_of(e) for e in order.timeline[seen["timeline"] :]]
            seen["timeline"] = len(order.timeline)
        if new_tl:
            parts.append(self._insert_part(t.timeline, new_tl))
        for table, attr in (
            (t.ledger, "new_ledger"),
            (t.deadlines, "new_deadlines"),
            (t.outbox, "new_events"),
        ):
            rows = [row_of(x) for order in orders for x in getattr(order, attr)]
            if rows:
                parts.append(self._insert_part(table, rows))
            for order in orders:
                getattr(order, attr).clear()
        return parts

    def _insert_part(self, table: Table, rows: list[dict[str, Any]]) -> fast.Part:
        """An INSERT for rows that all have the same keys."""
        keys = tuple(rows[0])
        statement = fast.compiled(
            self.conn, (table.name, "insert", keys), lambda: insert(table).inline(), keys
        )
        return statement, rows

    def _update_part(self, table: Table, rows: list[dict[str, Any]]) -> fast.Part:
        """An UPDATE ... WHERE id = :_id for rows that all have the same keys."""
        keys = tuple(k for k in rows[0] if k != "_id")
        return fast.compiled_update(self.conn, table, keys, (("id", "_id"),)), rows

    def order_id_of(self, kind: str, object_id: str) -> str | None:
        """The order that owns a return, dispute or refund."""
        table = LOCATORS[kind]
        return self.conn.execute(
            select(table.c.order_id).where(table.c.id == object_id)
        ).scalar_one_or_none()

    def list_page(
        self,
        *,
        buyer_id: str | None,
        seller_id: str | None,
        status: str | None,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[Order], str | None]:
        """A page of orders, newest first, from a keyset cursor."""
        values: dict[str, Any] = {"lim": limit + 1, "skip": 0}
        if buyer_id is not None:
            values["buyer"] = buyer_id
        if seller_id is not None:
            values["seller"] = seller_id
        if status is not None:
            values["status"] = status
        if cursor:
            values["at"], values["seq"] = decode_cursor(cursor)
        rows = fast.rows(self.conn, self._select_page(frozenset(values)), values)
        more = len(rows) > limit
        rows = rows[:limit]
        orders = self._build(rows, history=True)
        nxt = encode_cursor(rows[-1]["created_at"], rows[-1]["seq"]) if more and rows else None
        return orders, nxt


TIMELINE_COLUMNS = ("order_id", "at", "actor", "event", "detail")


def _scalars(order: Order) -> dict[str, Any]:
    """What `save` compares to find the order's changed columns (items and policy included)."""
    values = {k: getattr(order, k) for k in SCALARS}
    values["items"] = [line_key(i) for i in order.items]
    values["policy"] = order.policy
    values["owned"] = owned_mask(order)
    return values


def owned_mask(order: Order) -> int:
    """Which child tables hold rows of this order (a bit per table of CHILDREN), so loading
    skips the queries that would find nothing."""
    # (bits in the order of CHILDREN and OWNED_BITS; written out: this runs twice per save)
    return (
        (1 if order.cancellations else 0)
        | (2 if order.refunds else 0)
        | (4 if order.returns else 0)
        | (8 if order.disputes else 0)
    )


_POLICIES: dict[tuple[tuple[str, Any], ...], Policy] = {}


def _policy(raw: dict[str, Any]) -> Policy:
    """The stored policy as a Policy (orders mostly share a few policies, and a Policy is
    immutable, so equal ones are built once)."""
    key = tuple(sorted(raw.items()))
    found = _POLICIES.get(key)
    if found is None:
        if len(_POLICIES) >= 256:
            _POLICIES.clear()
        found = _POLICIES[key] = Policy.from_dict(raw)
    return found


_AMOUNTS: dict[type, tuple[str, ...]] = {}


def _amount_fields(obj: Any) -> tuple[str, ...]:
    """The names of a dataclass's Decimal fields."""
    cls = type(obj)
    names = _AMOUNTS.get(cls)
    if names is None:
        names = _AMOUNTS[cls] = tuple(
            f.name for f in dataclasses.fields(obj) if "Decimal" in str(f.type)
        )
    return names


def _in_minor_units(order: Order) -> None:
    """Amounts come back from the database as bare decimals (Decimal("6E+1")); give them the
    currency's minor units again (60.00), as the domain made them, so texts read right."""
    owned = (order.cancellations, order.refunds, order.returns, order.disputes, order.items)
    for obj in (order, *(child for children in owned for child in children)):
        for name in _amount_fields(obj):
            value = getattr(obj, name)
            if value is not None:
                setattr(obj, name, quantize(value, order.currency))


def _first_time(obj: Any) -> datetime:
    for name in ("requested_at", "opened_at"):
        if hasattr(obj, name):
            value: datetime = getattr(obj, name)
            return value
    raise AttributeError(obj)


def encode_cursor(at: datetime, seq: int) -> str:
    """An opaque page cursor."""
    raw = json.dumps([at.isoformat(), seq]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """Read a cursor, refusing one that was not made here (InvalidCursor): the strict grammar
    of `keyset_cursor`, an instant with its offset, taken to UTC."""
    at, seq = keyset_cursor(cursor)
    try:
        return datetime.fromisoformat(at).astimezone(UTC), seq
    except (ValueError, OverflowError):
        raise InvalidCursor() from None
