"""The hot statements run on the driver's cursor: same values in and out as SQLAlchemy Core,
driver errors raised as SQLAlchemy's, and the sandbox gateway's batch call idempotent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from aftersale.adapters.db import fast
from aftersale.adapters.db import tables as t
from aftersale.services.ports import RefundRequest
from aftersale.services.runtime import Runtime

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def request(key: str, *, method: str = "card", reference: str = "pay") -> RefundRequest:
    return RefundRequest(
        key=key,
        amount=Decimal("12.34"),
        currency="USD",
        method=method,
        payment_reference=reference,
        at=AT,
    )


def row(key: str) -> dict[str, object]:
    """A sandbox refund row of 1.50 USD."""
    return {"key": key, "reference": f"sbx_{key}", "amount": Decimal("1.50")} | {
        "currency": "USD",
        "method": "card",
        "created_at": AT,
        "settles_at": AT,
    }


def sandbox_statements(conn: Any) -> tuple[fast.Compiled, fast.Compiled]:
    """An INSERT of sandbox refund rows, and an UPDATE of a row's method by its key."""
    sr = t.sandbox_refunds
    ins = fast.compiled(conn, ("t", "ins"), lambda: insert(sr).inline(), list(row("a")))
    upd = fast.compiled(
        conn, ("t", "upd"), lambda: sr.update().where(sr.c.key == bindparam("_key")), ["method"]
    )
    return ins, upd


def test_values_go_in_and_come_back_as_core_would_have_them(rt: Runtime) -> None:
    sr = t.sandbox_refunds
    row = {
        "key": "k-values",
        "reference": "sbx_k-values",
        "amount": Decimal("12.34"),
        "currency": "USD",
        "method": "card",
        "created_at": AT,
        "settles_at": AT + timedelta(days=3),
    }
    engine = rt.gateway.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        written = fast.compiled(conn, ("t", "insert"), lambda: insert(sr).inline(), list(row))
        assert fast.executemany(conn, written, [row]) == 1
        read = fast.compiled(
            conn, ("t", "by key"), lambda: select(sr).where(sr.c.key == bindparam("k"))
        )
        (found,) = fast.rows(conn, read, {"k": "k-values"})
        core = conn.execute(select(sr).where(sr.c.key == "k-values")).mappings().one()
    assert found == dict(core)
    assert found["amount"] == Decimal("12.34") and found["created_at"] == AT
    assert found["settles_at"].tzinfo is UTC


def test_a_duplicate_row_raises_sqlalchemys_integrity_error_and_writes_nothing(
    rt: Runtime,
) -> None:
    sr = t.sandbox_refunds
    row = {"key": "dup", "reference": "sbx_dup", "amount": Decimal(1), "currency": "USD"}
    row |= {"method": "card", "created_at": AT, "settles_at": AT}
    engine = rt.gateway.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        fast.executemany(
            conn, fast.compiled(conn, ("t", "ins"), lambda: insert(sr).inline(), list(row)), [row]
        )
    for many in (False, True):
        with pytest.raises(IntegrityError), engine.begin() as conn:
            statement = fast.compiled(conn, ("t", "ins"), lambda: insert(sr).inline(), list(row))
            other = {**row, "key": f"other-{many}", "reference": f"sbx_other-{many}"}
            if many:  # in a pipeline on PostgreSQL: the error surfaces when the block ends
                with fast.pipeline(conn):
                    fast.executemany(conn, statement, [other, row])
            else:
                fast.execute(conn, statement, row)
    with engine.connect() as conn:
        keys = conn.execute(select(sr.c.key).where(sr.c.key.in_(["dup", "other-True"]))).all()
    assert [k for (k,) in keys] == ["dup"]  # the failed batch's other row was rolled back too


def test_the_gateway_answers_a_repeated_key_with_the_refund_it_already_made(
    rt: Runtime,
) -> None:
    first = rt.gateway.refund_many([request("r1"), request("r2", method="balance")])
    assert first["r1"].status == "processing"
    assert first["r1"].settles_at == AT + timedelta(days=3)
    assert first["r2"].status == "succeeded"
    again = rt.gateway.refund_many(
        [request("r1"), request("r3", reference="fail-card"), request("r2", method="balance")]
    )
    assert again["r1"] == first["r1"] and again["r2"] == first["r2"]
    assert again["r3"].status == "failed"
    assert (
        rt.gateway.refund(  # the single call is the batch of one
            key="r1",
            amount=Decimal("12.34"),
            currency="USD",
            method="card",
            payment_reference="pay",
            at=AT,
        )
        == first["r1"]
    )
    paid = rt.gateway.total_refunded()  # type: ignore[attr-defined]
    assert paid == Decimal("37.02")  # three rows (one failed), none made twice


def test_written_together_the_first_statements_rows_are_counted_and_the_rest_written(
    rt: Runtime,
) -> None:
    sr = t.sandbox_refunds

    engine = rt.gateway.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        ins, upd = sandbox_statements(conn)
        assert fast.write(conn, [(ins, [row("w1"), row("w2")])]) == 2
        # a few rows: on PostgreSQL one statement; the count is the first statement's
        found = fast.write(
            conn,
            [
                (upd, [{"method": "balance", "_key": "w1"}, {"method": "x", "_key": "nope"}]),
                (ins, [row("w3")]),
            ],
        )
        assert found == 1
        many = [row(f"m{i}") for i in range(fast.COMBINE_ROWS + 1)]  # too many: one by one
        assert fast.write(conn, [(upd, [{"method": "balance", "_key": "w2"}]), (ins, many)]) == 1
    with engine.connect() as conn:
        methods = dict(conn.execute(select(sr.c.key, sr.c.method)).all())
    assert methods["w1"] == methods["w2"] == "balance" and methods["w3"] == "card"
    assert sum(k.startswith("m") for k in methods) == fast.COMBINE_ROWS + 1


def test_a_combined_write_of_many_parameters_sends_each_value_to_its_own_place(
    rt: Runtime,
) -> None:
    # 12 rows of 7 values: over psycopg's 50-parameter cache limit, so the statement goes with
    # $n marks of its own (fast._numbered), each value where its %(name)s mark was
    assert fast._numbered("a %(x)s b %(y)s, %(x)s 5%% off") == ("a $1 b $2, $1 5% off", ("x", "y"))
    sr = t.sandbox_refunds
    engine = rt.gateway.engine  # type: ignore[attr-defined]
    rows = [
        row(f"n{i}") | {"amount": Decimal(f"{i}.25"), "created_at": AT + timedelta(minutes=i)}
        for i in range(12)
    ]
    with engine.begin() as conn:
        ins, upd = sandbox_statements(conn)
        assert fast.write(conn, [(ins, rows[:1])]) == 1
        assert (
            fast.write(conn, [(upd, [{"method": "balance", "_key": "n0"}]), (ins, rows[1:])]) == 1
        )
    with engine.connect() as conn:
        got = {r.key: r for r in conn.execute(select(sr).where(sr.c.key.like("n%")))}
    assert len(got) == 12 and got["n0"].method == "balance"
    for i in range(1, 12):
        assert got[f"n{i}"].amount == Decimal(f"{i}.25")
        assert got[f"n{i}"].created_at == AT + timedelta(minutes=i)
        assert got[f"n{i}"].reference == f"sbx_n{i}" and got[f"n{i}"].method == "card"


def test_many_inserted_rows_arrive_whole_in_chunks_and_a_bad_one_undoes_the_batch(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a worker batch's inserts go as multi-row VALUES statements (PostgreSQL); with 7
    # columns and at most 15 parameters a statement, 5 rows take 3 statements
    monkeypatch.setattr(fast, "MAX_PARAMS", 15)
    sr = t.sandbox_refunds

    def row(key: str, n: int) -> dict[str, object]:
        return {"key": key, "reference": f"sbx_{key}", "amount": Decimal(n) / 100} | {
            "currency": "USD",
            "method": "card",
            "created_at": AT + timedelta(minutes=n),
            "settles_at": AT + timedelta(days=n),
        }

    engine = rt.gateway.engine  # type: ignore[attr-defined]
    head = {"key": "head", "reference": "h", "amount": Decimal(1), "currency": "USD"}
    head |= {"method": "card", "created_at": AT, "settles_at": AT}
    rows = [row(f"c{n}", n) for n in range(1, 6)]
    with engine.begin() as conn:
        ins = fast.compiled(conn, ("t", "ins"), lambda: insert(sr).inline(), list(head))
        big = [row(f"pad{i}", 1) for i in range(fast.COMBINE_ROWS)]  # past the one-statement path
        assert fast.write(conn, [(ins, [head]), (ins, rows + big)]) == 1
    with engine.connect() as conn:
        found = {
            r["key"]: dict(r)
            for r in conn.execute(select(sr).where(sr.c.key.like("c%"))).mappings()
        }
        pads = conn.execute(select(sr.c.key).where(sr.c.key.like("pad%"))).all()
    assert [found[f"c{n}"] for n in range(1, 6)] == rows  # every value, in and back
    assert len(pads) == fast.COMBINE_ROWS  # and every row, the last chunk's too
    with pytest.raises(IntegrityError), engine.begin() as conn:
        again = [row("fresh1", 1), row("c3", 3), row("fresh2", 2)]  # only c3 exists
        more = [row(f"new{i}", 1) for i in range(fast.COMBINE_ROWS)]
        fast.write(
            conn, [(ins, [{**head, "key": "head2", "reference": "h2"}]), (ins, again + more)]
        )
    with engine.connect() as conn:
        keys = {k for (k,) in conn.execute(select(sr.c.key))}
    assert not keys & {"fresh1", "fresh2", "head2", "new0"}  # nothing of the failed batch kept


def test_many_updated_rows_go_in_chunks_count_only_the_rows_matched_and_keep_every_type(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a worker batch's UPDATEs go as multi-row `UPDATE ... FROM (VALUES ...)` statements on
    # PostgreSQL (one statement per row elsewhere); with 5 parameters a row and at most 12 a
    # statement, 2 rows go in each; the count is what an order's version check relies on
    monkeypatch.setattr(fast, "MAX_PARAMS", 12)
    sr = t.sandbox_refunds
    engine = rt.gateway.engine  # type: ignore[attr-defined]
    n = fast.COMBINE_ROWS + 6  # past the one-statement path

    with engine.begin() as conn:
        ins = fast.compiled(conn, ("t", "ins"), lambda: insert(sr).inline(), list(row("a")))
        fast.write(conn, [(ins, [row(f"u{i}") for i in range(1, n + 1)])])
        upd = fast.compiled_update(
            conn, sr, ("amount", "settles_at", "method"), (("key", "_key"), ("currency", "_cur"))
        )
        assert (upd.batch is not None) == (conn.dialect.name == "postgresql")
        changes = [
            {"amount": Decimal(i) / 100, "settles_at": AT + timedelta(hours=i), "method": "bal"}
            | {"_key": f"u{i}", "_cur": "USD"}
            for i in range(1, n + 1)
        ]
        changes[2]["_cur"] = "EUR"  # u3 matches no row, as a stale version would not
        changes.append({**changes[0], "_key": "missing"})
        assert fast.write(conn, [(upd, changes)]) == n - 1
    with engine.connect() as conn:
        found = {r["key"]: dict(r) for r in conn.execute(select(sr)).mappings()}
        some = fast.compiled(
            conn,
            ("t", "among", fast.width(conn, 3)),
            lambda: select(sr.c.key).where(fast.one_of(conn, sr.c.key, 3)),
        )
        picked = {r["key"] for r in fast.rows(conn, some, fast.among(conn, ["u1", "u9", "x"]))}
    for i in range(1, n + 1):
        if i != 3:
            assert found[f"u{i}"]["amount"] == Decimal(i) / 100
            assert found[f"u{i}"]["settles_at"] == AT + timedelta(hours=i)
            assert found[f"u{i}"]["method"] == "bal"
    assert found["u3"] == row("u3")  # the row whose check failed is as it was
    assert picked == {"u1", "u9"}
