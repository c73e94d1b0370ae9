"""The premedication mark of a ``drug_exposure`` row (``mapping.administrations``): read in
its source text and sig whatever their case, as the vocabulary reads order texts
(``classify._text_rows``: ``re.IGNORECASE``), and never when the drug's own name matches."""

from __future__ import annotations

import datetime as dt

import ibis
import pyarrow as pa

from aftercar.derive.omop import mapping
from aftercar.derive.omop.concepts import load_concepts
from aftercar.derive.raw.classify import drug_lookup
from aftercar.derive.raw.rules import load_rules

#: RxNorm ingredient dexamethasone (in the shipped ingredient map since 2026-12-06: named
#: by it, "dexamethasone", rather than by the concept table's "Dexamethasone").
_DEXAMETHASONE = 1518254


def _drugs(sources: list[str | None], sigs: list[str | None],
           concept: int | None = _DEXAMETHASONE) -> list[str]:
    rules = load_rules()
    con = ibis.duckdb.connect()
    n = len(sources)
    de = pa.table({
        "drug_exposure_id": pa.array(range(1, n + 1), pa.int64()),
        "person_id": pa.array([1] * n, pa.int64()),
        "drug_concept_id": pa.array([concept or 0] * n, pa.int64()),
        "drug_exposure_start_date": [dt.date(2023, 1, 2)] * n,
        "drug_source_value": pa.array(sources, pa.string()),
        "sig": pa.array(sigs, pa.string()),
    })  # fmt: skip
    concept = pa.table({"concept_id": pa.array([_DEXAMETHASONE], pa.int64()),
                        "concept_name": ["Dexamethasone"]})  # fmt: skip
    tables = {"drug_exposure": con.create_table("drug_exposure", de),
              "concept": con.create_table("concept", concept)}  # fmt: skip
    persons = con.create_table("p", pa.table({"person_id": pa.array([1], pa.int64()),
                                              "patient_id": pa.array([1], pa.int64())}))
    adm = mapping.administrations(con, tables, persons, load_concepts(None, rules), rules)
    return adm.order_by("row").to_pyarrow()["drug"].to_pylist()


def test_premedication_is_read_in_any_case_in_the_source_text_or_the_sig():
    got = _drugs(["dexamethasone 20 mg IV PREMED", "DEXAMETHASONE 20 MG IV Premedication",
                  "dexamethasone 40 mg PO", "dexamethasone 20 mg IV", None],
                 [None, None, None, "give as PRE-MED before daratumumab", "Pre-Med"])  # fmt: skip
    mark = "dexamethasone (premedication)"
    assert got == [mark, mark, "dexamethasone", mark, mark]


def test_a_drug_whose_own_name_matches_the_pattern_is_not_marked():
    # with no concept, the text is the source value: it names premedication itself
    got = _drugs(["PreMedication kit"], [None], concept=None)
    assert got == ["PreMedication kit"]


def test_a_not_given_status_of_the_source_text_or_sig_marks_the_mapped_drug():
    """A mapped concept does not carry the medication record's status (hand-made probe 4,
    session 23: "elranatamab - HELD" rows were doses in OMOP, not in the raw copy)."""
    got = _drugs(["dexamethasone 40 mg PO - HELD", "dexamethasone 40 mg PO [Held]",
                  "dexamethasone 40 mg PO", "dexamethasone held, resumed today"],
                 [None, None, "Not given", None])  # fmt: skip
    held = "dexamethasone - not given"
    assert got == [held, held, held, "dexamethasone"]
    rows = drug_lookup([held], load_rules()).to_pylist()
    assert [r["role"] for r in rows] == ["not_given"]


def test_a_mobilisation_of_the_source_text_marks_the_mapped_drug():
    got = _drugs(["dexamethasone 40 mg (stem cell mobilization)", "dexamethasone 40 mg"],
                 [None, "for PBSC mobilisation"])  # fmt: skip
    assert got == ["dexamethasone (stem cell mobilisation)"] * 2
