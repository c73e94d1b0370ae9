"""Which ``measurement`` rows are read as which IMWG test (``mapping.labs``), and how an
immunofixation written as text is read (``labs.normalise_labs``).

A site's vocabulary release need not give its LOINC labs the concept ids aftercar ships:
with a ``concept`` table, a measurement concept of vocabulary LOINC is read by its code
(``concept_code``), or by its name, and a ``measurement_source_value`` that is a LOINC
code or long common name is read as that code's test (2026-12-06: urine M-protein and
immunofixation had no default at all, so a urine-only patient had no response and no CR
could be reached).
"""

from __future__ import annotations

import datetime as dt

import ibis
import pyarrow as pa

from aftercar.derive.omop import mapping
from aftercar.derive.omop.concepts import load_concepts
from aftercar.derive.raw.labs import normalise_labs
from aftercar.derive.raw.rules import load_rules


def _tests(rows: list[tuple[int, str | None]], concept: pa.Table | None = None) -> list:
    """The test each measurement ``(measurement_concept_id, measurement_source_value)`` is
    read as (``None``: not read)."""
    rules = load_rules()
    con = ibis.duckdb.connect()
    n = len(rows)
    me = pa.table({
        "measurement_id": pa.array(range(1, n + 1), pa.int64()),
        "person_id": pa.array([1] * n, pa.int64()),
        "measurement_concept_id": pa.array([r[0] for r in rows], pa.int64()),
        "measurement_date": [dt.date(2023, 1, 2)] * n,
        "value_as_number": pa.array([1.0] * n, pa.float64()),
        "value_as_concept_id": pa.array([None] * n, pa.int64()),
        "unit_concept_id": pa.array([None] * n, pa.int64()),
        "unit_source_value": pa.array(["g/dL"] * n, pa.string()),
        "measurement_source_value": pa.array([r[1] for r in rows], pa.string()),
    })  # fmt: skip
    tables = {"measurement": con.create_table("measurement", me)}
    if concept is not None:
        tables["concept"] = con.create_table("concept", concept)
    persons = con.create_table("p", pa.table({"person_id": pa.array([1], pa.int64()),
                                              "patient_id": pa.array([1], pa.int64())}))
    got = mapping.labs(con, tables, persons, load_concepts(None, rules), rules)
    read = dict(zip(*got.select("row", "test").to_pyarrow().to_pydict().values(), strict=True))
    return [read.get(i) for i in range(1, n + 1)]


def _concept(ids, names, vocabularies, codes) -> pa.Table:
    return pa.table({"concept_id": pa.array(ids, pa.int64()), "concept_name": names,
                     "vocabulary_id": vocabularies, "concept_code": codes})  # fmt: skip


def test_a_loinc_concept_of_another_id_is_read_by_its_code():
    concept = _concept([900001, 900002, 900003, 3046299],
                       ["M protein, serum (local display)", "UPEP 24h", "anything", "renamed"],
                       ["LOINC", "LOINC", "SNOMED", "LOINC"],
                       ["33358-3", "42482-0", "42482-0", "13440-3"])  # fmt: skip
    got = _tests([(900001, None), (900002, None), (900003, None), (3046299, None)], concept)
    # a code of another vocabulary is not a LOINC code; a shipped id keeps its test
    assert got == ["serum M-protein", "urine M-protein", None, "serum M-protein"]


def test_a_concept_named_as_a_test_or_a_loinc_long_name_is_read():
    concept = _concept([900010, 900011, 900012],
                       ["SPEP M-spike", "Immunofixation for Serum or Plasma", "Calcium"],
                       ["Local", "Local", "Local"], ["x1", "x2", "x3"])  # fmt: skip
    got = _tests([(900010, None), (900011, None), (900012, None)], concept)
    assert got == ["spep m-spike", "Immunofixation, serum", None]


def test_a_source_value_that_is_a_loinc_code_or_name_is_read_without_a_concept_table():
    got = _tests([(0, "36916-5"), (0, " Protein.monoclonal [Mass/time] in 24 hour Urine by "
                  "Electrophoresis"), (0, "SPEP M-spike"), (0, "12345-6"), (3034655, None)])
    assert got == ["kappa FLC", "urine M-protein", "SPEP M-spike", None, "urine M-protein"]


def test_an_immunofixation_written_as_words_is_read_and_other_text_is_a_problem():
    rules = load_rules()
    con = ibis.duckdb.connect()
    # narratives as LOINC 25700-6 / 13440-3 report them (review of the day's change,
    # 2026-12-06: they had stopped OMOP runs)
    texts = ["No monoclonal protein detected", "Detected", "NEGATIVE", "pos",
             "Negative for monoclonal protein", "No monoclonal protein identified",
             "IgG kappa monoclonal protein detected", "Positive (IgG kappa)", "IgA lambda",
             # hand-made patients, sixth probe (2026-12-06): the first three were positive
             "There is no evidence of a monoclonal protein.",
             "Monoclonal protein no longer detected.", "No Bence Jones protein detected.",
             "IgG kappa monoclonal band. No other bands.",
             "Pending"]  # fmt: skip
    n = len(texts)
    labs = con.create_table("labs", pa.table({
        "patient_id": ["A"] * n, "date": [dt.date(2023, 1, d) for d in range(1, n + 1)],
        "row": pa.array(range(1, n + 1), pa.int64()), "test": ["Immunofixation, serum"] * n,
        "value": texts, "unit": pa.array([None] * n, pa.string())}))  # fmt: skip
    out = normalise_labs(con, labs, rules).order_by("row").to_pyarrow().to_pydict()
    assert out["value"][:-1] == [0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    assert out["problem"][:-1] == [None] * (n - 1)
    assert out["value"][-1] is None and "POSITIVE or NEGATIVE" in out["problem"][-1]


def test_a_batched_run_resolves_the_lab_concepts_once():
    # review of 2026-12-06: every batch read a full vocabulary's concept table (~11 s per
    # batch at 6 M concepts); resolved once, the batches read the result
    rules = load_rules()
    con = ibis.duckdb.connect()
    concept = con.create_table("concept", _concept([900002], ["UPEP 24h"], ["LOINC"],
                                                   ["42482-0"]))  # fmt: skip
    resolved = mapping.resolve_concepts(con, {"concept": concept}, load_concepts(None, rules),
                                            rules)  # fmt: skip
    assert mapping.RESOLVED in resolved.tables
    table = dict(zip(*resolved.table("measurements").to_pydict().values(), strict=True))
    assert table[900002] == "urine M-protein" and table[3046299] == "serum M-protein"
    again = mapping.resolve_concepts(con, {"concept": concept}, resolved, rules)
    assert again is resolved


def test_a_procedure_whose_source_value_is_a_bare_code_is_read_by_its_concept_name():
    # hand-made OMOP patients, seventh probe (2026-12-06): CPT / ICD-10-PCS codes in
    # procedure_source_value were read instead of the concept's name, and never matched
    rules = load_rules()
    con = ibis.duckdb.connect()
    po = pa.table({"procedure_occurrence_id": [1, 2, 3], "person_id": [7, 7, 7],
                   "procedure_concept_id": [1993011, 1993011, 0],
                   "procedure_date": [dt.date(2023, 1, d) for d in (1, 2, 3)],
                   "procedure_source_value": ["0540T", "CAR-T infusion (cilta-cel)", "38241"]})
    concept = pa.table({"concept_id": [1993011], "concept_name": [
        "Chimeric antigen receptor T-cell (CAR-T) therapy; CAR-T cell administration, "
        "autologous"]})  # fmt: skip
    tables = {"procedure_occurrence": con.create_table("po", po),
              "concept": con.create_table("concept", concept)}
    persons = con.create_table("p", pa.table({"person_id": [7], "patient_id": [7]}))
    got = mapping.procedures(con, tables, persons, load_concepts(None, rules))
    texts = got.order_by("row").to_pyarrow()["procedure"].to_pylist()
    assert texts == [concept["concept_name"][0].as_py(), "CAR-T infusion (cilta-cel)", "38241"]
