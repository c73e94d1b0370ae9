"""The simulated raw records and their OMOP copy (``simulate.omop``) derive the same cohort;
``aftercar report --omop`` gives the same results.json numbers as the raw copy's cohort."""

from __future__ import annotations

import json
import math

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from aftercar.cli import main
from aftercar.derive.omop import derive_omop
from aftercar.derive.raw import derive_raw, read_raw
from aftercar.io import read_cohort, write_cohort
from aftercar.pipeline import run
from aftercar.report import jsonsafe
from aftercar.schema import Col
from aftercar.simulate import write_simulated
from aftercar.simulate.omop import LOCAL_CONCEPTS_FILE, write_omop

#: The covariates an OMOP instance carries (prior lines and refractoriness it does not).
COVARIATES = [Col.ECOG, Col.ISS_STAGE, Col.EXTRAMEDULLARY_DISEASE, Col.HIGH_RISK_CYTOGENETICS]
#: Patient columns an OMOP instance carries.
SHARED = [Col.PATIENT_ID, Col.SITE, Col.SEX, Col.CAR_T_PRODUCT, Col.CAR_T_DATE, Col.DEATH_DATE,
          Col.LAST_FOLLOWUP_DATE, Col.PROGRESSION_DATE, *COVARIATES]  # fmt: skip


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    write_simulated(60, out, seed=11, format="parquet", raw=True)
    write_omop(out / "raw", out / "omop", "parquet")
    return out


def _source_ids(sim, table: pa.Table) -> pa.Table:
    person = pq.read_table(sim / "omop" / "person.parquet")
    key = pc.cast(person["person_id"], pa.string())
    ids = pc.take(person["person_source_value"], pc.index_in(table[Col.PATIENT_ID], value_set=key))
    return table.set_column(table.column_names.index(Col.PATIENT_ID), Col.PATIENT_ID, ids)


@pytest.fixture(scope="module")
def both(sim):
    local = sim / "omop" / LOCAL_CONCEPTS_FILE
    return derive_omop(sim / "omop", concepts=local), derive_raw(read_raw(sim / "raw"))


def _as_text(t: pa.Table) -> pa.Table:
    """The covariates as text: the raw derivation passes the raw file's text through."""
    for c in COVARIATES:
        t = t.set_column(t.column_names.index(c), c, pc.cast(t[c], pa.string()))
    return t


def test_omop_copy_derives_the_raw_copys_cohort(sim, both):
    omop, raw = both
    op = _as_text(_source_ids(sim, omop.result.patients).select(SHARED)).sort_by(Col.PATIENT_ID)
    rp = _as_text(raw.patients.select(SHARED)).sort_by(Col.PATIENT_ID)
    assert op.num_rows == rp.num_rows > 0
    for c in COVARIATES:  # the simulator draws every covariate: none is left unknown
        assert op[c].null_count == 0, c
    assert op.equals(rp)
    key = [(Col.PATIENT_ID, "ascending"), (Col.LINE, "ascending")]
    ol = _source_ids(sim, omop.result.lines).sort_by(key)
    assert ol.num_rows == raw.lines.num_rows > 0
    assert ol.equals(raw.lines.sort_by(key))


def test_attrition_names_omop_tables_and_ids(sim, both):
    omop, raw = both
    att = omop.result.attrition
    tables = set(att["table"].to_pylist())
    assert tables <= {"person", "drug_exposure", "procedure_occurrence", "measurement",
                      "observation", "condition_occurrence"}  # fmt: skip
    covariate = pc.starts_with(att["reason"], "covariate ")
    # the raw copy has no covariate rows: the OMOP copy lists the unused ones besides
    assert att.filter(pc.invert(covariate)).num_rows == raw.attrition.num_rows
    assert set(att.filter(covariate)["table"].to_pylist()) <= {"measurement", "observation"}
    ids = set(pq.read_table(sim / "omop" / "drug_exposure.parquet")["drug_exposure_id"].to_pylist())
    de = omop.result.attrition.filter(pc.equal(omop.result.attrition["table"], "drug_exposure"))
    assert set(de["row"].to_pylist()) <= ids


def test_every_covariate_row_of_the_instance_is_used_or_listed(sim, both):
    omop, _raw = both
    ev = omop.result.audit["events"]
    used = ev.filter(pc.starts_with(ev["role"], "covariate "))
    listed = omop.result.attrition.filter(pc.starts_with(omop.result.attrition["reason"],
                                                         "covariate "))  # fmt: skip
    for table in ("measurement", "observation"):
        rows = pq.read_table(sim / "omop" / f"{table}.parquet")
        ids = rows.filter(pc.equal(rows[f"{table}_source_value"], f"{table} covariate"))
        got = [r for t in (used, listed) for r in
               t.filter(pc.equal(t["table"], table))["row"].to_pylist()]  # fmt: skip
        assert sorted(got) == sorted(ids[f"{table}_id"].to_pylist()) != []


def test_episodes_link_every_line_to_its_drug_exposures(both):
    from aftercar.derive.omop import episode_tables

    omop, _raw = both
    episode, event = episode_tables(omop)
    lines = episode.filter(pc.equal(episode["episode_concept_id"], 32941))
    assert lines.num_rows == omop.result.lines.num_rows
    assert pc.all(pc.is_valid(lines["episode_parent_id"])).as_py()
    assert set(event["episode_id"].to_pylist()) <= set(lines["episode_id"].to_pylist())
    assert set(event["episode_event_field_concept_id"].to_pylist()) == {1147094}
    assert pc.all(pc.equal(episode["episode_type_concept_id"], 32545)).as_py()


def _numbers(path):
    """results.json without what names the run (paths, hashes, times, versions)."""
    data = json.loads(path.read_text())
    data.pop("meta", None)
    inp = data.pop("input")  # its warnings quote patient ids and rows, which differ
    data["input"] = [inp["patients_read"], inp["lines_read"], len(inp["warnings"])]
    return data


def test_report_omop_equals_report_on_the_raw_copys_cohort(sim, both, tmp_path):
    _omop, raw = both
    # the simulated instance codes extramedullary disease with a local concept
    local = ["--concepts", str(sim / "omop" / LOCAL_CONCEPTS_FILE)]
    assert main(["report", "--omop", str(sim / "omop"), *local, "-o", str(tmp_path / "a")]) == 0
    # the equivalent curated cohort: the raw copy's, with the patient columns OMOP carries
    births = read_cohort(tmp_path / "a-derived-cohort").patients
    births = _source_ids(sim, births.select([Col.PATIENT_ID, Col.BIRTH_DATE]))
    pats = raw.patients.select([c for c in SHARED if c in raw.patients.column_names]
                               + [Col.CAR_T_BEST_RESPONSE]).sort_by(Col.PATIENT_ID)
    births = births.sort_by(Col.PATIENT_ID)
    assert births[Col.PATIENT_ID].equals(pats[Col.PATIENT_ID])
    pats = pats.append_column(Col.BIRTH_DATE, births[Col.BIRTH_DATE])
    write_cohort(pats, raw.lines.drop_columns([Col.DRUGS]), tmp_path / "cohort", format="csv")
    # its results as `aftercar report` writes them into results.json (the figures, tables
    # and pages rendered from them are the report tests' business)
    results = run(tmp_path / "cohort").report_input.results
    (tmp_path / "b.json").write_text(jsonsafe.dumps(jsonsafe.to_jsonable(results)))
    meta = json.loads((tmp_path / "a" / "results.json").read_text())["meta"]
    assert meta["synthetic"] is True  # the simulated instance's provenance reaches the report
    a, b = _numbers(tmp_path / "a" / "results.json"), _numbers(tmp_path / "b.json")
    assert _close(a, b)


def _close(x, y) -> bool:
    """Equal, floats to 1e-9 relative (model sums run over rows in another order)."""
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(_close(x[k], y[k]) for k in x)
    if isinstance(x, list) and isinstance(y, list):
        return len(x) == len(y) and all(_close(u, v) for u, v in zip(x, y, strict=True))
    if isinstance(x, float) and isinstance(y, float):
        return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)
    return x == y
