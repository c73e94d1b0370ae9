"""A derivation's DuckDB connection makes each table of an Ibis expression in one
``CREATE OR REPLACE TABLE ... AS`` statement (``aftercar.backends.duckdb.
one_statement_tables``): the table Ibis's own ``create_table`` makes (column names, types,
``NOT NULL``, rows), also when the expression reads the table it replaces; anything
else goes to Ibis's ``create_table`` unchanged."""

from __future__ import annotations

import datetime as dt
import decimal

import ibis
import pyarrow as pa
import pytest

from aftercar.backends.duckdb import connect, engine, one_statement_tables


def _cons():
    """(one statement, plain Ibis) connections holding the same table ``t``."""
    data = pa.table({
        "pid": pa.array(["a", "b", "b", None]),
        "x": pa.array([1, 2, 3, None], pa.int64()),
        "d": pa.array([dt.date(2022, 1, 1), None, dt.date(2023, 5, 6), dt.date(2020, 2, 29)]),
        "amount": pa.array([decimal.Decimal("1.25"), None, decimal.Decimal("-3.50"),
                            decimal.Decimal("0.00")], pa.decimal128(10, 2)),
    })  # fmt: skip
    mine, plain = one_statement_tables(ibis.duckdb.connect()), ibis.duckdb.connect()
    for con in (mine, plain):
        con.create_table("t", data)
        con.create_table("keys", schema=ibis.schema({"pid": "!string", "k": "!int64"}))
        con.raw_sql("INSERT INTO keys VALUES ('a', 7), ('b', 8)")
    return mine, plain


def _exprs(con) -> dict:
    t = con.table("t")
    return {
        "literals": t.select(
            "pid",
            one=ibis.literal(1),
            half=ibis.literal(0.5),
            flag=ibis.literal(True),
            text=ibis.literal("x"),
            day=ibis.literal(dt.date(2021, 3, 4)),
            none=ibis.null().cast("int32"),
            small=t.x.cast("int8"),
            when=t.d.cast("timestamp"),
            zoned=ibis.literal(dt.datetime(2021, 1, 1, 12)).cast("timestamp('UTC')"),
            **{'we"ird col': t.x + 1},
        ),
        "counts": t.group_by("pid").aggregate(n=t.count(), xs=t.x.collect(), top=t.x.max()),
        "keys": con.table("keys").mutate(j=lambda k: k.k + 1),
        "struct": t.select("pid", s=ibis.struct({"x": t.x, "d": t.d}), amount=t.amount * 2),
        "empty": t.filter(t.x > 100),
    }


def _described(con, name: str) -> list[tuple]:
    return con.raw_sql(f'SELECT column_name, column_type, "null" FROM (DESCRIBE "{name}")'
                       ).fetchall()  # fmt: skip


def _recording(con) -> list[str]:
    """The statements ``con.raw_sql`` runs from now on."""
    ran: list[str] = []
    real = con.raw_sql
    con.raw_sql = lambda q, **k: ran.append(str(q)) or real(q, **k)
    return ran


def _rows(table: pa.Table) -> list[str]:
    return sorted(map(repr, table.to_pylist()))


def test_the_table_made_is_the_table_ibis_makes():
    mine, plain = _cons()
    ran = _recording(mine)
    for name, expr in _exprs(mine).items():
        made = mine.create_table(name, expr, overwrite=True)
        want = plain.create_table(name, _exprs(plain)[name], overwrite=True)
        assert _described(mine, name) == _described(plain, name), name
        assert made.schema() == want.schema(), name
        got, ref = made.to_pyarrow(), want.to_pyarrow()
        assert got.schema == ref.schema and _rows(got) == _rows(ref), name
    made = [q.split(" AS ")[0] for q in ran if q.startswith("CREATE")]
    assert not [q for q in ran if "INSERT" in q or "CURRENT_" in q]  # Ibis's way: none
    assert len(made) == len(_exprs(mine)) and all(
        q.startswith(('CREATE OR REPLACE TABLE "', 'CREATE TABLE "ibis_aftercar_table_'))
        for q in made)  # fmt: skip
    assert 'CREATE OR REPLACE TABLE "literals"' in made  # no NOT NULL column: in one
    not_null = [r[0] for r in _described(mine, "keys") if r[2] == "NO"]
    assert not_null == ["pid", "k"]  # declared not nullable by Ibis: kept so


def test_a_null_in_a_column_declared_not_null_fails_and_leaves_the_old_table():
    mine, plain = _cons()
    for con in (mine, plain):
        keys, t = con.table("keys"), con.table("t")
        declared = t.select("pid", k=t.x.cast("!int64"))  # one x is NULL
        con.create_table("j", keys, overwrite=True)
        with pytest.raises(Exception, match="NOT NULL"):
            con.create_table("j", declared, overwrite=True)
        assert con.table("j").count().to_pyarrow().as_py() == 2  # the old table
    tables = {r[0] for r in mine.raw_sql("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert tables == {"t", "keys", "j"}  # nothing left under a temporary name


def test_a_table_is_replaced_by_an_expression_that_reads_it():
    mine, _plain = _cons()
    t = mine.table("t")
    again = mine.create_table("t", t.filter(t.x.notnull()).mutate(x=t.x * 10), overwrite=True)
    assert sorted(again.x.to_pyarrow().to_pylist()) == [10, 20, 30]
    tables = {r[0] for r in mine.raw_sql("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert tables == {"t", "keys"}  # no table left under a temporary name


def test_anything_else_is_ibis_create_table():
    mine, plain = _cons()
    data = pa.table({"y": [1, 2]})
    for con in (mine, plain):  # no overwrite: an existing table is refused alike
        with pytest.raises(Exception, match="already exists") as err:
            con.create_table("t", con.table("t"))
        con.create_table("arrow", data)  # data, not an expression
        con.create_table("tmp", con.table("t"), temp=True, overwrite=True)
        con.create_table("typed", schema=ibis.schema({"y": "!int16"}))
    assert type(err.value).__name__ in ("CatalogException", "IbisError", "IntegrityError")
    for name in ("arrow", "tmp", "typed"):
        assert _described(mine, name) == _described(plain, name), name
    assert mine.table("arrow").to_pyarrow().equals(plain.table("arrow").to_pyarrow())


def test_the_derivation_connections_make_tables_in_one_statement(tmp_path):
    for con in (connect(), engine("500MB", tmp_path)):
        t = con.create_table("t", pa.table({"x": [1, 2]}))  # data: Ibis's create_table
        ran = _recording(con)
        con.create_table("u", t.mutate(y=t.x + 1), overwrite=True)
        assert [q.split(" AS ")[0] for q in ran] == ['CREATE OR REPLACE TABLE "u"']
