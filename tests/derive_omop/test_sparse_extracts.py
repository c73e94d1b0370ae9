"""Extracts with columns or tables a site leaves empty: read as the CDM types them, never
a crash (found by hand-made cases written for issue 13, 2026-12-03)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from handmade import EXPECTED, LOCAL_TOML, tables, write

from aftercar.derive.omop import derive_omop
from aftercar.derive.omop.batched import derive_omop_batched


def _local(tmp_path):
    path = tmp_path / "local.toml"
    path.write_text(LOCAL_TOML, encoding="utf-8")
    return path


def _birth_of_person_1(src, local) -> str:
    """Person 1's ``birth_date`` as the derivation maps it (:func:`map_tables`, what
    ``derive_omop`` derives from; the rest of a derivation does not touch it)."""
    from aftercar.backends import connect
    from aftercar.derive.omop import cohort
    from aftercar.derive.omop.concepts import load_concepts
    from aftercar.derive.omop.derive import map_tables
    from aftercar.derive.omop.source import open_source
    from aftercar.derive.raw.rules import load_rules

    con, rules = connect("duckdb"), load_rules()
    concepts = load_concepts(local, rules)
    read = open_source(con, src, scope=cohort.myeloma_scope(con, concepts))
    p = map_tables(con, read, concepts, rules).raw["patients"]
    return str(p.filter(p.patient_id == 1).birth_date.to_pyarrow().to_pylist()[0])


def test_a_day_of_birth_no_person_has_is_read_as_a_number_in_csv(tmp_path):
    src = write(tmp_path / "omop", "csv")
    p = tables()["person"]
    p = p.append_column("month_of_birth", pa.array([5, 6, 7, 8], pa.int64()))
    p = p.append_column("day_of_birth", pa.nulls(4, pa.int64()))  # an all-empty CSV column
    p = p.append_column("birth_datetime", pa.nulls(4, pa.string()))
    pacsv.write_csv(p, src / "person.csv")
    assert _birth_of_person_1(src, _local(tmp_path)) == "1960-05-15"


@pytest.mark.parametrize("written", ["1960-05-20T00:00:00+09:00", "1960-05-20 23:30:00-05:00",
                                     "1960-05-20T00:00:00Z", "1960-05-20 00:00:00"])
def test_a_birth_datetime_with_a_zone_in_csv_is_the_date_written(tmp_path, written):
    """Fuzzing round 3 (F07): ``+09:00`` at midnight was read as the UTC instant, the day
    before (DuckDB's CSV inference), while the ``*_date`` columns keep the date written."""
    src = write(tmp_path / "omop", "csv")
    p = tables()["person"]
    # the other persons' own years (a birth_datetime in another year than year_of_birth
    # stops the run: fuzzing round 5, H04)
    years = p["year_of_birth"].to_pylist()
    stamps = [written] + [f"{y}-05-20 00:00:00" for y in years[1:]]
    p = p.append_column("birth_datetime", pa.array(stamps, pa.string()))
    pacsv.write_csv(p, src / "person.csv")
    assert _birth_of_person_1(src, _local(tmp_path)) == "1960-05-20"


@pytest.mark.parametrize(("month", "day", "born"), [
    (2, 31, "1960-02-15"), (0, 0, "1960-07-01"), (2, 29, "1960-02-29"),
    (4, 31, "1960-04-15"), (12, 31, "1960-12-31"),
])  # fmt: skip
def test_an_impossible_month_or_day_of_birth_is_read_as_missing(tmp_path, month, day, born):
    """0/0 (how some ETLs write "unknown") or 31 February stopped the run with the engine's
    date error (found by an adversarial review); read as missing (1 July / the 15th), as
    an empty month or day is: only the age is derived from it. A 13th month is no month
    at all: an error naming the person (fuzzing round 5, H04; test_errors)."""
    src = write(tmp_path / "omop")
    p = tables()["person"]
    p = p.append_column("month_of_birth", pa.array([month, 6, 7, 8], pa.int64()))
    p = p.append_column("day_of_birth", pa.array([day, 1, 1, 1], pa.int64()))
    pq.write_table(p, src / "person.parquet")
    assert _birth_of_person_1(src, _local(tmp_path)) == born


def _no_procedures(src):
    empty = tables()["procedure_occurrence"].slice(0, 0)
    pq.write_table(empty, src / "procedure_occurrence.parquet")


def test_an_instance_without_procedures_is_derived(tmp_path):
    src = write(tmp_path / "omop")
    _no_procedures(src)
    d = derive_omop(src, concepts=_local(tmp_path))
    assert d.result.lines["start_date"].to_pylist() == EXPECTED["line_starts"]


def test_a_batch_whose_persons_have_no_procedures_gives_the_one_batch_rows(tmp_path):
    src = write(tmp_path / "omop")  # only person 1 has a procedure: batch 2 (2, 3, 4) none
    local = _local(tmp_path)
    derive_omop_batched(src, tmp_path / "one", "csv", batch_persons=0, concepts=local)
    derive_omop_batched(src, tmp_path / "two", "csv", batch_persons=1, concepts=local)
    for name in ("patients.csv", "lines.csv", "audit/attrition.csv", "audit/lines.csv"):
        assert (tmp_path / "one" / name).read_text() == (tmp_path / "two" / name).read_text()


def test_an_m_protein_recorded_as_not_detected_is_read_as_zero(tmp_path):
    src = write(tmp_path / "omop")
    m = tables()["measurement"]
    rows = m.to_pylist()
    (i,) = [i for i, r in enumerate(rows) if r["person_id"] == 1
            and r["measurement_concept_id"] == 3046299
            and str(r["measurement_date"]) == "2022-11-01"]  # fmt: skip
    rows[i] |= {"value_as_number": None, "value_as_concept_id": 9190,  # "Not detected"
                "unit_concept_id": None, "unit_source_value": None}  # fmt: skip
    pq.write_table(pa.Table.from_pylist(rows, m.schema), src / "measurement.parquet")
    d = derive_omop(src, concepts=_local(tmp_path))
    used = [r for r in d.result.audit["assessments"].to_pylist()
            if str(rows[i]["measurement_id"]) in (r["lab_rows"] or "").split()]  # fmt: skip
    assert used and {r["value"] for r in used} == {0.0}


@pytest.mark.parametrize("year", [1850, 2015])
def test_an_implausible_age_at_car_t_stops_naming_the_person(tmp_path, year):
    """Fuzzing round 3 (F12): a year_of_birth of 1850 (or 2015) was derived, and the error
    came later, naming the derived patients.csv."""
    from aftercar.errors import CohortError

    src = write(tmp_path / "omop")
    p = tables()["person"]
    p = p.set_column(p.schema.get_field_index("year_of_birth"), "year_of_birth",
                     pa.array([year] * p.num_rows, pa.int64()))  # fmt: skip
    pq.write_table(p, src / "person.parquet")
    with pytest.raises(CohortError) as err:
        derive_omop(src, concepts=_local(tmp_path))
    (problem,) = err.value.problems
    # the file, not the bare table name (until 2026-12-07)
    assert problem.file == str(src / "person.parquet") and problem.column == "year_of_birth"
    assert "age at the CAR-T infusion" in problem.message and "person_id" in problem.message
