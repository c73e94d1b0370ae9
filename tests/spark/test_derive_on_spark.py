"""Spark gives the derived tables of DuckDB, row for row, on a simulated cohort.

The derive tests (``tests/derive``) check each rule on both engines with hand-made
cases; here whole simulated cohorts (every regimen category, non-therapy rows,
landmarks) are derived on both and compared cell by cell. Also: reading a study's
tables from a Parquet folder, and the errors that say what to fix.
"""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

from aftercar import derive, vocab
from aftercar.backends import connect
from aftercar.backends import spark as spark_backend
from aftercar.errors import InputError
from aftercar.simulate import simulate_cohort


def _derive(con, seed: int) -> derive.DerivedCohort:
    sim = simulate_cohort(80, seed=seed)
    texts = pd.unique(sim.lines.column("regimen").to_pandas().dropna().astype(str))
    classified = vocab.classify_regimens(list(texts)).to_pandas()
    return derive.derive_cohort(
        sim.patients,
        sim.lines,
        classified,
        landmarks=(3.0, 6.0),
        non_therapy=vocab.load_taxonomy().non_therapy,
        rules=derive.EndpointRules(pfs_next_line="censor" if seed % 2 else "ignore"),
        con=con,
    )


@pytest.mark.parametrize("seed", [7, 11])
def test_simulated_cohort_derives_identically_on_spark_and_duckdb(spark, duckdb, seed):
    on_spark, on_duckdb = _derive(spark, seed), _derive(duckdb, seed)
    assert len(on_duckdb.lines) > 100 and on_duckdb.patients["os_event"].any()
    for name in ("patients", "lines", "tce_exposure", "excluded_lines"):
        pd.testing.assert_frame_equal(getattr(on_spark, name), getattr(on_duckdb, name))
    assert on_spark.landmarks.keys() == on_duckdb.landmarks.keys()
    for at, table in on_duckdb.landmarks.items():
        pd.testing.assert_frame_equal(on_spark.landmarks[at], table)


def test_parquet_folder_tables_read_by_name(spark, tmp_path):
    sim = simulate_cohort(20, seed=3)
    pq.write_table(sim.patients, tmp_path / "patients.parquet")
    (tmp_path / "lines").mkdir()  # a table as Spark writes it: a folder of parts
    pq.write_table(sim.lines.slice(0, 10), tmp_path / "lines" / "part-0.parquet")
    pq.write_table(sim.lines.slice(10), tmp_path / "lines" / "part-1.parquet")
    con = connect("spark", source=tmp_path, config=spark_backend.SMALL_DATA_CONFIG)
    assert con.table("patients").count().execute() == sim.patients.num_rows
    assert con.table("lines").count().execute() == sim.lines.num_rows


def test_unreadable_sources_say_what_to_fix(spark, tmp_path):
    with pytest.raises(InputError, match="no Parquet tables"):
        connect("spark", source=tmp_path)
    with pytest.raises(InputError, match="not a folder"):
        connect("spark", source=tmp_path / "missing" / "omop")
    with pytest.raises(InputError, match="schema 'no_such_schema_here' cannot be read"):
        connect("spark", source="no_such_schema_here")


def test_missing_java_is_named_with_the_fix(monkeypatch):
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    reason = spark_backend.unavailable()
    if reason is not None and "pyspark" in reason:
        pytest.skip(reason)
    assert reason is not None and "openjdk-17-jre-headless" in reason
    with pytest.raises(InputError, match="openjdk-17-jre-headless"):
        connect("spark")


def test_an_omop_schema_that_is_not_there_is_not_found(spark):
    """A mistyped catalog schema: the exit-2 'not found' error, not Spark's traceback."""
    from aftercar.derive.omop.source import open_source
    from aftercar.errors import CohortError

    with pytest.raises(CohortError, match="OMOP source not found"):
        open_source(spark, "no_such_omop_schema")
