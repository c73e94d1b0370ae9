"""The demo cohort end to end: results.json against its schema, and key numbers
recomputed from the raw CSV files by an independent route (plain pandas; no
aftercar.derive, no aftercar.stats)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest

from aftercar.pipeline import run
from aftercar.report import jsonsafe
from aftercar.report.disclosure import suppress_small_counts
from aftercar.simulate import demo_cohort_path
from aftercar.vocab import classify_regimens

RESPONDERS = {"sCR", "CR", "VGPR", "PR"}


@pytest.fixture(scope="module")
def demo():
    return run(demo_cohort_path())


@pytest.fixture(scope="module")
def raw() -> tuple[pd.DataFrame, pd.DataFrame]:
    folder = Path(demo_cohort_path())
    patients = pd.read_csv(folder / "synthetic_demo_patients.csv", dtype=str)
    lines = pd.read_csv(folder / "synthetic_demo_lines.csv", dtype=str)
    return patients, lines


def _schema() -> dict:
    text = resources.files("aftercar.data").joinpath("results.schema.json").read_text("utf-8")
    return json.loads(text)


def _as_written(results: dict, k: int | None) -> dict:
    """results.json exactly as the report writer produces it."""
    return json.loads(jsonsafe.dumps(suppress_small_counts(jsonsafe.to_jsonable(results), k)))


def test_demo_results_validate_against_schema(demo):
    validator = jsonschema.Draft202012Validator(_schema())
    errors = [
        f"{e.json_path}: {e.message}"
        for e in validator.iter_errors(_as_written(demo.report_input.results, None))
    ]
    assert errors == []


def test_demo_results_with_suppression_validate_against_schema(demo):
    written = _as_written(demo.report_input.results, 5)
    jsonschema.Draft202012Validator(_schema()).validate(written)
    assert written["input"]["patients_read"] == 79


def test_schema_rejects_missing_required_key(demo):
    broken = _as_written(demo.report_input.results, None)
    del broken["first_salvage"]["orr"]["ci95"]
    with pytest.raises(jsonschema.ValidationError, match="ci95"):
        jsonschema.validate(broken, _schema())


def _km_median(time: np.ndarray, event: np.ndarray) -> float:
    """Product-limit median: first time S <= 0.5; R's midpoint rule when S == 0.5 exactly."""
    frame = pd.DataFrame({"t": time, "d": event.astype(int)})
    by = frame.groupby("t").agg(d=("d", "sum"), n=("d", "size")).sort_index()
    at_risk = by["n"][::-1].cumsum()[::-1]
    surv = (1 - by["d"] / at_risk).cumprod()
    below = surv[surv <= 0.5 + 1e-12]
    t0 = below.index[0]
    if abs(below.iloc[0] - 0.5) < 1e-12:
        later = by.index[(by.index > t0) & (by["d"] > 0)]
        t1 = later[0] if len(later) else by.index.max()
        return (t0 + t1) / 2
    return float(t0)


def test_os_median_recomputed_from_raw_csv(demo, raw):
    patients, _ = raw
    index = pd.to_datetime(patients["progression_date"])
    death = pd.to_datetime(patients["death_date"])
    last = pd.to_datetime(patients["last_followup_date"])
    end = death.fillna(last)
    time = ((end - index).dt.days / 30.4375).to_numpy()
    event = death.notna().to_numpy()
    block = demo.report_input.results["os_from_progression"]
    assert block["n"] == len(patients)
    assert block["events"] == int(event.sum())
    assert block["median_months"] == pytest.approx(_km_median(time, event), abs=1e-9)


def test_first_salvage_orr_recomputed_from_raw_csv(demo, raw):
    _, lines = raw
    first = lines.loc[lines["line"].astype(int) == 1, "best_response"]
    evaluable = first.notna() & (first != "NE")
    responders = int(first[evaluable].isin(RESPONDERS).sum())
    orr = demo.report_input.results["first_salvage"]["orr"]
    assert (orr["responders"], orr["n"]) == (responders, int(evaluable.sum()))
    assert orr["not_evaluable"] == int((~evaluable).sum())
    assert orr["estimate"] == pytest.approx(responders / evaluable.sum(), abs=1e-12)


def test_orr_per_category_recomputed_from_raw_csv(demo, raw):
    _, lines = raw
    cls = classify_regimens(list(lines["regimen"].unique())).to_pandas()
    category = lines["regimen"].map(dict(zip(cls["text"], cls["category"], strict=True)))
    frame = lines.assign(category=category)
    frame = frame.loc[frame["best_response"].notna() & (frame["best_response"] != "NE")]
    expected = frame.groupby("category").agg(
        n=("best_response", "size"),
        responders=("best_response", lambda s: int(s.isin(RESPONDERS).sum())),
    )
    got = demo.report_input.results["by_category"]
    assert set(expected.index) <= set(got)
    for cat, row in expected.iterrows():
        orr = got[cat]["orr"]
        assert (orr["responders"], orr["n"]) == (row["responders"], row["n"]), cat
        assert orr["estimate"] == pytest.approx(row["responders"] / row["n"], abs=1e-12)
    all_lines = sum(got[c]["lines"] for c in got)
    assert all_lines == len(lines)


def test_tce_patients_recomputed_from_raw_csv(demo, raw):
    patients, lines = raw
    cls = classify_regimens(list(lines["regimen"].unique())).to_pandas()
    tce = lines["regimen"].map(dict(zip(cls["text"], cls["tce"], strict=True)))
    exposed = lines.loc[tce.astype(bool), "patient_id"].nunique()
    res = demo.report_input.results["tce"]
    assert res["patients"] == exposed
    assert res["fraction"] == pytest.approx(exposed / len(patients))


def test_report_input_has_every_contract_key(demo):
    data = demo.report_input
    for key in (
        "table1",
        "os_summary",
        "response_by_category",
        "pfs_by_category",
        "response_by_line",
        "regimen_mapping",
        "attrition",
    ):
        assert key in data.tables and len(data.tables[key]) > 0, key
    for key in (
        "os",
        "os_by_relapse_timing",
        "os_by_product",
        "first_salvage_pfs",
        "pfs_by_category",
        "os_tce_landmark",
    ):
        assert data.figures.curves[key].curves, key
    assert data.meta["synthetic"] is True
    assert {i["rows"] for i in data.meta["inputs"]} == {79, len(demo.lines)}
    assert len(data.tables["regimen_mapping"]) == demo.lines["regimen"].nunique()
