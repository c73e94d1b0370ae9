"""A site's own columns of the clinical tables are not read, and a care site listed twice is
one site (fuzzing round 3, 2026-12-06: an extra ``patient_id`` column in ``drug_exposure``
had reassigned its rows; a duplicated ``care_site`` row had copied every person)."""

from __future__ import annotations

import ibis
import pyarrow as pa

from aftercar.derive.omop import cohort
from aftercar.derive.omop.checks import _cdm_only


def test_only_the_cdm_columns_of_a_clinical_table_are_read():
    t = ibis.memtable(pa.table({"drug_exposure_id": [1], "person_id": [2], "patient_id": [9],
                                "mapped": ["x"], "sig": ["HELD"]}))  # fmt: skip
    assert _cdm_only("drug_exposure", t).columns == ("drug_exposure_id", "person_id", "sig")
    other = ibis.memtable(pa.table({"concept_id": [1], "patient_id": [9]}))
    assert _cdm_only("concept", other).columns == ("concept_id", "patient_id")


def test_a_care_site_listed_twice_is_one_site():
    con = ibis.duckdb.connect()
    pe = con.create_table("person", pa.table({"person_id": [1, 2], "care_site_id": [7, 7]}))
    cs = con.create_table("care_site", pa.table({"care_site_id": [7, 7],
                                                 "care_site_name": ["B old", "A new"]}))
    got = cohort._site({"care_site": cs}, pe).order_by("person_id").to_pyarrow().to_pylist()
    assert got == [{"person_id": 1, "site": "A new"}, {"person_id": 2, "site": "A new"}]


def test_a_care_site_id_care_site_does_not_name_says_it_is_an_id():
    # fuzz round 8 (session 27): an unknown id read as the site's name "999", nothing said
    con = ibis.duckdb.connect()
    pe = con.create_table("person", pa.table({"person_id": [1, 2, 3],
                                              "care_site_id": [7, 999, None]}))
    cs = con.create_table("care_site", pa.table({"care_site_id": [7], "care_site_name": ["A"]}))
    got = cohort._site({"care_site": cs}, pe).order_by("person_id").to_pyarrow().to_pylist()
    assert [r["site"] for r in got] == ["A", "care_site_id 999", None]


def test_a_sites_own_id_column_of_text_is_not_checked(tmp_path):
    """An extra ``site_local_id`` of text and ``legacy_visit_id`` = 1.5 in drug_exposure are
    left out unchecked, as every non-CDM column (fuzz round 9, session 28: the run stopped,
    'give site_local_id as whole numbers')."""
    import pyarrow.parquet as pq
    from handmade import tables, write

    from aftercar.derive.omop.source import open_source

    src = write(tmp_path / "omop")
    de = tables()["drug_exposure"]
    de = de.append_column("site_local_id", pa.array(["X"] * de.num_rows))
    de = de.append_column("legacy_visit_id", pa.array([1.5] * de.num_rows))
    pq.write_table(de, src / "drug_exposure.parquet")
    got = open_source(ibis.duckdb.connect(), src)  # the checks stopped here
    assert "site_local_id" not in got["drug_exposure"].columns


def test_a_table_file_named_in_mixed_case_is_read(tmp_path):
    """``Person.parquet`` is the person table (fuzz round 9, session 28: "the OMOP table
    'person' is missing"); beside ``person.parquet`` it is a second file for the table."""
    import pytest
    from handmade import write

    from aftercar.derive.omop.source import _file_of
    from aftercar.errors import CohortError

    src = write(tmp_path / "omop")
    (src / "person.parquet").rename(src / "Person.parquet")
    assert _file_of(src, "person") == src / "Person.parquet"
    (src / "person.parquet").write_bytes((src / "Person.parquet").read_bytes())
    with pytest.raises(CohortError, match="given by 2 files"):
        _file_of(src, "person")
