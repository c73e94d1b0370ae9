"""Multiple myeloma by condition concept or by the ICD code of ``condition_source_value``
(``mapping.diagnoses``; ``data/omop/condition_codes.csv``)."""

from __future__ import annotations

import datetime as dt

import ibis
import pyarrow as pa

from aftercar.derive.omop import mapping
from aftercar.derive.omop.concepts import load_concepts
from aftercar.derive.raw.rules import load_rules


def _diagnoses(rows: list[tuple[int, int, str | None, str]]) -> dict[int, tuple]:
    con = ibis.duckdb.connect()
    co = pa.table({
        "person_id": pa.array([r[0] for r in rows], pa.int64()),
        "condition_concept_id": pa.array([r[1] for r in rows], pa.int64()),
        "condition_source_value": pa.array([r[2] for r in rows], pa.string()),
        "condition_start_date": [dt.date.fromisoformat(r[3]) for r in rows],
    })  # fmt: skip
    tables = {"condition_occurrence": con.create_table("condition_occurrence", co)}
    got = mapping.diagnoses(con, tables, load_concepts(None, load_rules())).to_pyarrow()
    return {r["person_id"]: (r["diagnosis_date"], r["condition_concept_id"])
            for r in got.to_pylist()}  # fmt: skip


def test_a_myeloma_icd_code_in_the_source_value_is_a_diagnosis():
    """Hand-made probe 4 (session 23): a person whose ETL left the diagnosis unmapped
    (concept 0, source value C90.00) was left out at the cohort's second step."""
    got = _diagnoses([
        (1, 0, "C90.00", "2019-03-01"),  # ICD-10-CM, unmapped
        (2, 0, "203.01", "2018-05-02"),  # ICD-9-CM, in remission
        (3, 437233, "C90.00", "2020-01-02"), (3, 0, "c9001", "2019-12-01"),
        (4, 0, "C90.1", "2020-01-02"),  # plasma cell leukaemia: not myeloma
        (5, 0, "C90.20", "2020-01-02"),  # extramedullary plasmacytoma: not myeloma
        (6, 201826, "E11.9", "2020-01-02"),  # type 2 diabetes
        (7, 0, None, "2020-01-02"),
    ])  # fmt: skip
    assert got == {1: (dt.date(2019, 3, 1), 437233), 2: (dt.date(2018, 5, 2), 437233),
                   3: (dt.date(2019, 12, 1), 437233)}  # fmt: skip


def test_without_a_source_value_column_the_concept_decides():
    con = ibis.duckdb.connect()
    co = pa.table({"person_id": pa.array([1, 2], pa.int64()),
                   "condition_concept_id": pa.array([437233, 0], pa.int64()),
                   "condition_start_date": [dt.date(2020, 1, 2)] * 2})  # fmt: skip
    tables = {"condition_occurrence": con.create_table("condition_occurrence", co)}
    got = mapping.diagnoses(con, tables, load_concepts(None, load_rules())).to_pyarrow()
    assert got["person_id"].to_pylist() == [1]
