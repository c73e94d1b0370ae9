"""The derivation engine compiles each distinct Ibis expression once per process
(``aftercar.backends.duckdb.cache_compiled``, ``aftercar.backends.compiled``): an equal
expression built again, on this connection or another, gives the same SQL without
compiling; a different one (another literal, table, schema or arrangement of views) its
own."""

from __future__ import annotations

import gc
import weakref

import ibis
import pyarrow as pa
import sqlglot as sg

from aftercar.backends.compiled import CompiledMemo
from aftercar.backends.duckdb import cache_compiled, engine
from aftercar.derive.omop.batched import batch_tables


def _expr(con, bound: int, table: str = "t"):
    t = con.table(table)
    return t.filter(t.x > bound).group_by("g").aggregate(n=t.x.count())


def _con(memo=None, data=None, cached=True):
    """A connection with tables ``t`` and ``u`` (``cached=False``: plain Ibis, no memo)."""
    con = ibis.duckdb.connect()
    if cached:
        con = cache_compiled(con, CompiledMemo() if memo is None else memo)
    data = data or pa.table({"x": [1, 2, 3, 4], "g": ["a", "a", "b", "b"]})
    con.create_table("t", data)
    con.create_table("u", data)
    return con


def _counting(con) -> list:
    """The expressions ``con`` compiles from now on (not those it takes from the memo)."""
    calls = []
    inner = con.compiler._inner
    real = inner.to_sqlglot

    class Counting:
        def __getattr__(self, name):
            return getattr(inner, name)

        def to_sqlglot(self, expr, *a, **k):
            calls.append(expr)
            return real(expr, *a, **k)

    con.compiler._inner = Counting()
    return calls


def test_an_equal_expression_is_compiled_once_and_gives_the_same_sql():
    con = _con()
    calls = _counting(con)
    first = ibis.to_sql(_expr(con, 1))
    again = ibis.to_sql(_expr(con, 1))  # built anew: another object, an equal expression
    assert again == first and len(calls) == 1
    assert ibis.to_sql(_expr(con, 2)) != first and len(calls) == 2  # another literal
    assert ibis.to_sql(_expr(con, 1, "u")) != first and len(calls) == 3  # another table


def test_cached_statements_give_the_right_rows():
    con = _con()
    for bound, want in ((1, {"a": 1, "b": 2}), (3, {"b": 1}), (1, {"a": 1, "b": 2})):
        con.create_table("r", _expr(con, bound), overwrite=True)  # the statement built on
        got = con.table("r").to_pyarrow().to_pylist()
        assert {r["g"]: r["n"] for r in got} == want


def test_connections_share_the_sql_of_tables_of_the_same_names_and_schemas():
    memo = CompiledMemo()
    one = _con(memo)
    two = _con(memo, pa.table({"x": [5, 6, 7], "g": ["c", "c", "d"]}))
    calls = _counting(two)
    want = {"a": 1, "b": 2}
    assert {r["g"]: r["n"] for r in _expr(one, 1).to_pyarrow().to_pylist()} == want
    # the other connection's tables hold other rows: the same SQL, its own answer
    assert {r["g"]: r["n"] for r in _expr(two, 1).to_pyarrow().to_pylist()} == {"c": 2, "d": 1}
    assert calls == []


def test_a_table_of_the_same_name_and_another_schema_is_compiled_anew():
    memo = CompiledMemo()
    one = _con(memo)
    two = _con(memo, pa.table({"x": [1.5, 2.5], "g": ["a", "b"], "extra": [1, 2]}))
    ibis.to_sql(_expr(one, 1))
    calls = _counting(two)
    got = _expr(two, 1).to_pyarrow().to_pylist()
    assert len(calls) == 1 and {r["g"]: r["n"] for r in got} == {"a": 1, "b": 1}


def _views(con, same: bool):
    t = con.table("t")
    a, b = t.view(), t.view()
    b = a if same else b
    return a.filter(a.x > 1).union(b.filter(b.x > 2), distinct=False).count()


def test_views_are_told_apart_by_their_arrangement_not_their_serial_numbers():
    memo = CompiledMemo()
    con = _con(memo)
    fresh = _con()  # another memo: compiles everything itself
    calls = _counting(con)
    for same in (False, True, False, True):  # new views, new serial numbers, each time
        assert con.to_pyarrow(_views(con, same)).as_py() == 5
        assert ibis.to_sql(_views(con, same)) == ibis.to_sql(_views(fresh, same))
    # one view read twice, and two views: each compiled once to count, once to print
    assert len(calls) == 4


def test_the_cache_keeps_at_most_its_size():
    memo = CompiledMemo(size=3)
    con = _con(memo)
    for bound in range(10):
        ibis.to_sql(_expr(con, bound))
    assert len(memo) == 3


def test_past_its_node_limit_the_memo_starts_again_and_still_gives_the_right_sql():
    memo = CompiledMemo(nodes=5)
    con = _con(memo)
    fresh = _con()
    for bound in (1, 2, 1, 3, 1):
        assert ibis.to_sql(_expr(con, bound)) == ibis.to_sql(_expr(fresh, bound))
    assert len(memo) <= 1


def test_batch_tables_are_views_of_fixed_names_with_the_batch_rows(tmp_path):
    con = engine("500MB", tmp_path)
    con.create_table("person", pa.table({"person_id": [1, 2, 3, 4]}))
    con.create_table("concept", pa.table({"concept_id": [7]}))
    tables = {"person": con.table("person"), "concept": con.table("concept")}
    one = batch_tables(con, tables, 1, 2)
    ids_one = sorted(one["person"].to_pyarrow()["person_id"].to_pylist())
    sql_one = ibis.to_sql(one["person"].count().as_table())
    two = batch_tables(con, tables, 3, 4)
    assert ids_one == [1, 2]
    assert sorted(two["person"].to_pyarrow()["person_id"].to_pylist()) == [3, 4]
    # the same SQL for both batches (so compiled once); the bounds live in the view
    assert ibis.to_sql(two["person"].count().as_table()) == sql_one
    assert two["concept"] is tables["concept"]  # no person_id: read whole


def test_a_hit_is_a_copy_that_the_caller_may_change():
    con = _con()
    want = con.compiler.to_sqlglot(_expr(con, 1)).sql("duckdb")  # compiled and kept
    hit = con.compiler.to_sqlglot(_expr(con, 1))
    hit.set("expressions", [])  # a caller changing what it received (as create_table may)
    hit.set("group", None)
    assert hit.sql("duckdb") != want
    assert con.compiler.to_sqlglot(_expr(con, 1)).sql("duckdb") == want


def test_an_expression_over_an_in_memory_table_is_not_kept():
    # its key would keep the table's data alive after the caller released it
    con = _con()
    t = ibis.memtable(pa.table({"x": [1, 2, 3]}))
    ibis.to_sql(t.filter(t.x > 1), dialect="duckdb")
    con.compiler.to_sqlglot(t.filter(t.x > 1))
    assert not len(con.compiler._memo)


def test_the_memo_keeps_no_connection_alive():
    # the key leaves each table's connection out: a derivation's engine (and its spill
    # folder, removed when it is collected) is not held by the SQL it compiled
    memo = CompiledMemo()
    con = _con(memo)
    ibis.to_sql(_expr(con, 1))
    gone = weakref.ref(con)
    del con
    gc.collect()
    assert len(memo) == 1 and gone() is None


def _shapes(con):
    """A plain query, one with a join of two views of a table, and a union."""
    t = con.table("t")
    a, b = t.view(), t.view()
    joined = a.join(b, a.g == b.g).select(a.x, y=b.x).filter(lambda r: r.x < r.y)
    return [_expr(con, 1), joined, _views(con, False).as_table()]


def test_compile_gives_the_sql_ibis_prints_and_prints_each_expression_once():
    memo = CompiledMemo()
    con, bare = _con(memo), _con(cached=False)
    for _ in range(2):
        assert con.compile(_expr(con, 1)) == bare.compile(_expr(bare, 1))
        assert con.compile(_expr(con, 1), limit=2) == bare.compile(_expr(bare, 1), limit=2)
    assert len(memo._text) == 2  # one expression, with and without a limit, printed once
    for mine, theirs in zip(_shapes(con) + _shapes(con), _shapes(bare) * 2, strict=True):
        assert con.compile(mine) == bare.compile(theirs)
        assert con.compile(mine, limit=2) == bare.compile(theirs, limit=2)
        pretty = con.compile(mine, pretty=True)  # not kept: printed from the tree
        assert pretty == bare.compile(theirs, pretty=True) and "\n" in pretty


def test_create_table_runs_the_insert_ibis_runs():
    # Ibis's create_table puts the compiled query into an INSERT and prints it: the kept
    # text must print there exactly as the tree would, and make the same table
    con, bare = _con(), _con(cached=False)
    inner = con.compiler._inner
    for mine, theirs in zip(_shapes(con), _shapes(bare), strict=True):
        with con.compiler.printing():
            text = con.compiler.to_sqlglot(mine)
        tree = inner.to_sqlglot(mine)
        assert type(text).__name__ == "Var" and type(tree).__name__ != "Var"
        into = sg.table("target", quoted=True)
        columns = [sg.to_identifier(c, quoted=True) for c in mine.columns]
        assert sg.insert(text, into=into, columns=columns).sql("duckdb") == \
            sg.insert(tree, into=into, columns=columns).sql("duckdb")  # fmt: skip
        made, want = (c.create_table("made", e, overwrite=True).to_pyarrow()
                      for c, e in ((con, mine), (bare, theirs)))  # fmt: skip
        order = [(c, "ascending") for c in want.column_names]
        assert made.sort_by(order).equals(want.sort_by(order)) and made.num_rows > 0


def test_outside_compile_and_create_table_the_compiler_gives_trees():
    con = _con()
    expr = _expr(con, 1)
    assert type(con.compiler.to_sqlglot(expr)).__name__ != "Var"
    with con.compiler.printing():
        with con.compiler.printing():
            assert type(con.compiler.to_sqlglot(expr)).__name__ == "Var"
        assert type(con.compiler.to_sqlglot(expr)).__name__ == "Var"  # still inside
    hit = con.compiler.to_sqlglot(expr)  # a tree again, which callers may change
    assert type(hit).__name__ != "Var" and hit.sql("duckdb") == con.compile(expr)
