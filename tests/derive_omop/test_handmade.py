"""Hand-made OMOP cases (``handmade.py``): ingredient-level and clinical-drug concepts,
LOINC labs, local concepts; index date, line starts, best response, progression."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from handmade import EXPECTED, LOCAL_TOML, tables, write

from aftercar.backends import ENGINES, connect
from aftercar.derive.omop import derive_omop
from aftercar.errors import ConfigError
from aftercar.simulate import write_simulated
from aftercar.simulate.omop import LOCAL_CONCEPTS_FILE, write_omop

ENGINE_NAMES = [e for e in ("duckdb", "spark", "pyspark") if e in ENGINES]


@pytest.fixture
def local(tmp_path):
    path = tmp_path / "local.toml"
    path.write_text(LOCAL_TOML, encoding="utf-8")
    return path


def _as_expected(pats: list[dict], lines: list[dict], steps: list[int] | None) -> None:
    """The hand-made instance's answers (values compared as text: CSV or Arrow rows)."""
    iso = {k: str(v) for k, v in EXPECTED.items() if k != "line_starts"}
    assert [str(p["patient_id"]) for p in pats] == ["1"]
    assert str(pats[0]["progression_date"]) == iso["index_date"]
    assert pats[0]["car_t_product"] == "CARVYKTI infusion"
    assert [str(r["start_date"]) for r in lines] == list(map(str, EXPECTED["line_starts"]))
    assert lines[0]["best_response"] == EXPECTED["best_response_line1"]
    assert str(lines[0]["progression_date"]) == iso["progression_line1"]
    assert lines[0]["drugs"] == "dexamethasone;teclistamab"
    assert lines[1]["drugs"] == "forimtamig"
    assert steps is None or steps == EXPECTED["steps"]


@pytest.fixture(scope="module")
def derived(tmp_path_factory):
    """The instance as Parquet derived with its local concepts, once for the module."""
    folder = tmp_path_factory.mktemp("handmade")
    (folder / "local.toml").write_text(LOCAL_TOML, encoding="utf-8")
    return derive_omop(write(folder / "omop"), con=connect("duckdb"),
                       concepts=folder / "local.toml")  # fmt: skip


#: DuckDB reads the instance as Parquet and as CSV. Spark reads it as CSV (with simulated
#: persons) in the batched test below, which checks the same answers on Spark's files: a
#: Spark derivation costs minutes of CI, so there is one.
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_handmade_instance_is_derived_as_expected(tmp_path, local, fmt, derived):
    if fmt == "parquet":
        d = derived
    else:
        d = derive_omop(write(tmp_path / "omop", fmt), con=connect("duckdb"), concepts=local)
    _as_expected(d.result.patients.to_pylist(), d.result.lines.to_pylist(),
                 d.cohort_steps["persons"].to_pylist())  # fmt: skip


def test_exclusions_are_listed_with_their_reason(derived):
    att = derived.result.attrition
    person = att.filter(pc.equal(att["table"], "person")).to_pylist()
    reasons = {r["patient_id"]: r["reason"] for r in person}
    assert "BCMA-directed CAR-T" in reasons["4"]
    assert "no confirmed IMWG progression" in reasons["2"]
    assert "3" not in reasons  # no myeloma: counted, not listed
    # the premedication steroid (concept 0, source text) is read as premedication
    de = att.filter(pc.equal(att["table"], "drug_exposure")).to_pylist()
    assert any("premedication" in r["reason"] for r in de)


def test_without_the_local_concepts_the_unknown_drug_is_listed(tmp_path):
    d = derive_omop(write(tmp_path / "omop"))
    lines = d.result.lines.to_pylist()
    assert len(lines) == 1  # forimtamig (concept 2000000001) is unknown without local.toml
    att = d.result.attrition.to_pylist()
    assert any(r["table"] == "drug_exposure" and "not recognised" in r["reason"] for r in att)


def test_local_concept_ids_below_the_local_range_are_refused(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[ingredients]\n1234 = "forimtamig"\n[units]\n2000000001 = "furlongs"\n')
    with pytest.raises(ConfigError) as err:
        derive_omop(write(tmp_path / "omop"), concepts=bad)
    text = str(err.value)
    assert "ingredients.1234" in text and ">= 2,000,000,000" in text and "furlongs" in text


def _with_simulated_persons(folder: Path) -> tuple[Path, Path]:
    """The hand-made instance (persons 1-4) + 8 simulated persons (101-108) + person 20000
    (no myeloma); the local concepts of both. Every 7th drug exposure of the simulated
    persons is a 60-day continued exposure (``drug_exposure_end_date``), so that the
    exposure-day points of ``derive.raw.lines`` are computed on each engine.
    """
    sim = folder / "sim"
    write_simulated(8, sim, seed=5, raw=True, format="parquet")
    omop = folder / "omop"
    write_omop(sim / "raw", omop, "parquet", first_person_id=101, first_row_id=10**6)
    for name, hand in tables().items():
        path = omop / f"{name}.parquet"
        simulated = pq.read_table(path)
        hand = pa.table({f.name: hand[f.name].cast(f.type) if f.name in hand.column_names
                         else pa.nulls(hand.num_rows, f.type)
                         for f in simulated.schema})  # fmt: skip
        if name in ("concept", "concept_ancestor"):  # the simulated rows win on a shared id
            key = hand.column_names[:2] if name == "concept_ancestor" else ["concept_id"]
            seen = {tuple(r.values()) for r in simulated.select(key).to_pylist()}
            keep = [tuple(r.values()) not in seen for r in hand.select(key).to_pylist()]
            hand = hand.filter(pa.array(keep))
        if name == "person":
            hand = pa.concat_tables([hand, simulated.slice(0, 1).set_column(
                0, "person_id", pa.array([20000], pa.int64()))])  # fmt: skip
        if name == "drug_exposure":
            start = simulated["drug_exposure_start_date"].cast(pa.int32()).to_numpy()
            cont = np.arange(simulated.num_rows) % 7 == 0
            end = np.where(cont, start + 60, start).astype(np.int32)
            simulated = simulated.set_column(simulated.column_names.index(
                "drug_exposure_end_date"), "drug_exposure_end_date",
                pa.array(end).cast(pa.date32()))  # fmt: skip
        pq.write_table(pa.concat_tables([hand, simulated]), path)
    local = folder / "local.toml"
    local.write_text(LOCAL_TOML + (omop / LOCAL_CONCEPTS_FILE).read_text("utf-8"), "utf-8")
    return omop, local


def _as_csv(src: Path, folder: Path) -> Path:
    """A copy of the OMOP folder ``src`` with every Parquet table as CSV."""
    folder.mkdir()
    for f in src.iterdir():
        if f.suffix == ".parquet":
            pacsv.write_csv(pq.read_table(f), folder / f"{f.stem}.csv")
        else:
            shutil.copy(f, folder / f.name)
    return folder


@pytest.mark.slow  # about four minutes: collected first (tests/conftest.py)
@pytest.mark.spark_full  # run by `pytest --spark-full` and CI (tests/conftest.py)
@pytest.mark.skipif("spark" not in ENGINE_NAMES, reason="the Spark engine is not available")
def test_spark_batches_write_the_files_of_duckdb_batches(tmp_path):
    """``derive --omop --engine spark --batch-persons N``: the same files as DuckDB's batches.

    The whole OMOP derivation (source checks, concept mapping, cohort, the raw-records
    derivation, EPISODE rows, the batched outputs) on both engines, compared file by
    file; a Spark derivation costs minutes of CI, so this is the one. Batches of 6
    persons with myeloma (:func:`aftercar.derive.omop.batched.cohort_batches`): the first
    derives the hand-made persons 1-4 (3: no myeloma, only counted) and the simulated
    101-103, the second 104-108 and counts person 20000 (no myeloma). Person 1 gets the
    hand-made answers on Spark too. Spark reads the
    instance as CSV (every column as text, typed as the CDM declares by the source checks),
    DuckDB as Parquet: both readers are in the comparison.
    """
    from aftercar.backends import unavailable
    from aftercar.backends.spark import SMALL_DATA_CONFIG
    from aftercar.derive.omop import derive_omop_batched

    reason = unavailable("spark")
    if reason:
        pytest.skip(reason)
    src, local = _with_simulated_persons(tmp_path)
    csv = {"duckdb": src, "spark": _as_csv(src, tmp_path / "omop_csv")}
    out = {}
    for engine in ("duckdb", "spark"):
        out[engine] = tmp_path / engine
        con = None if engine == "duckdb" else connect("spark", config=SMALL_DATA_CONFIG)
        run = derive_omop_batched(csv[engine], out[engine], "csv", batch_persons=6, con=con,
                                  concepts=local, episodes=True)  # fmt: skip
        assert run.batches == 2 and run.patients > 3 and run.lines > 10
    files = sorted(p.relative_to(out["duckdb"]) for p in out["duckdb"].rglob("*.csv"))
    assert len(files) == 10  # patients, lines, 6 audit files, episode, episode_event
    assert files == sorted(p.relative_to(out["spark"]) for p in out["spark"].rglob("*.csv"))
    for f in files:
        a, b = ((out[e] / f).read_text("utf-8").splitlines() for e in ("duckdb", "spark"))
        if f.as_posix() in ("audit/events.csv", "audit/attrition.csv"):  # no defined order
            a, b = sorted(a), sorted(b)
        assert a == b, f
    rows = {n: pacsv.read_csv(out["spark"] / f"{n}.csv").to_pylist() for n in ("patients", "lines")}
    one = [r for r in rows["patients"] if str(r["patient_id"]) == "1"]
    _as_expected(one, [r for r in rows["lines"] if str(r["patient_id"]) == "1"], None)
