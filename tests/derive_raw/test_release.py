"""``derive_raw(..., release=True)``: the raw Arrow tables are let go once the engine holds
its own copies (issue 12 item 7: memory), and the result is the same."""

from __future__ import annotations

import ibis
from raw_cases import build_cases

from aftercar.derive.raw.derive import derive_raw


def _registered(con) -> set[str]:
    return {r[0] for r in con.con.sql("SELECT view_name FROM duckdb_views() "
                                      "WHERE NOT internal").fetchall()}  # fmt: skip


def test_release_gives_the_same_result_and_lets_the_tables_go():
    kept = derive_raw(build_cases().tables(), con=ibis.duckdb.connect())
    raw = build_cases().tables()
    con = ibis.duckdb.connect()
    released = derive_raw(raw, con=con, release=True)
    assert set(raw) == {"patients"}  # administrations, procedures and labs let go
    assert not [v for v in _registered(con) if v.startswith("ibis_pandas_memtable")
                or v.startswith("ibis_pyarrow_memtable")]  # fmt: skip
    assert released.patients.equals(kept.patients)
    assert released.lines.equals(kept.lines)
    assert released.attrition.equals(kept.attrition)
    for name, table in kept.audit.items():
        a = released.audit[name]
        keys = [(c, "ascending") for c in table.column_names]
        assert a.sort_by(keys).equals(table.sort_by(keys)), name


def test_without_release_the_callers_tables_stay():
    raw = build_cases().tables()
    derive_raw(raw, con=ibis.duckdb.connect())
    assert set(raw) == {"patients", "administrations", "procedures", "labs"}
