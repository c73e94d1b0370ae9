"""fine_gray against R survival 3.5-3 ``finegray()`` + ``coxph(weights = fgwt, cluster(id))``.

Reference values: ``finegray_cases.json`` from ``make_finegray_cases.R`` (next to this
file) on mgus2 (progression vs death, ties; and with delayed entry), veteran (two
made-up causes, Efron and Breslow) and aml (a competing cause made up), data in ``data/``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rparity import assert_r_close

from aftercar.errors import InputError
from aftercar.stats import FineGrayResult, fine_gray
from aftercar.stats.finegray import finegray_rows

HERE = Path(__file__).parent
CASES = {c["name"]: c for c in json.loads((HERE / "finegray_cases.json").read_text())}


def _run(name):
    data = HERE / "data"
    if name.startswith("mgus2"):
        mg = pd.read_csv(data / "mgus2.csv")
        x = pd.DataFrame({"male": (mg["sex"] == "M").astype(float), "w": mg["w"]})
        cause = 2 if name.endswith("death") else 1
        entry = mg["entry"] if "entry" in name else None
        return fine_gray(mg["etime"], mg["cause"], x, cause=cause, entry=entry)
    if name.startswith("veteran"):
        vet = pd.read_csv(data / "veteran.csv")
        cause = np.where(
            vet["status"] == 0, 0, np.where(vet["celltype"].isin(["squamous", "large"]), 1, 2)
        )
        if name == "veteran":
            return fine_gray(vet["time"], cause, vet[["karno", "trt"]], cause=1)
        return fine_gray(vet["time"], cause, vet[["karno", "trt"]], cause=2, ties="breslow")
    aml = pd.read_csv(data / "aml.csv")
    cause = np.where(aml["status"] == 0, 0, np.where(np.arange(1, len(aml) + 1) % 3 == 0, 2, 1))
    return fine_gray(aml["time"], cause, (aml["x"] == "Maintained").astype(float).rename("maint"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_fine_gray_matches_r(name):
    ref, res = CASES[name], _run(name)
    assert isinstance(res, FineGrayResult)
    assert len(res.rows) == ref["rows"]
    assert_r_close([res.rows["weight"].sum()], ref["weight_sum"])
    assert_r_close(res.coef, ref["coef"])
    assert_r_close(res.se, ref["se"])
    assert_r_close(res.robust_se, ref["robust_se"])


def test_expanded_rows_by_hand():
    # censorings at 2 (4 at risk for censoring: G = 3/4) and 5 (2 at risk: G = 3/8); the
    # competing subject (T = 1.5) is carried to 2 with weight 1, then (2, 5] with weight
    # G(2) / 1 = 0.75, as an event of interest falls in it (t = 3); (5, 6] holds none
    rows = finegray_rows([1, 1.5, 2, 3, 5, 6], [1, 2, 0, 1, 0, 2], cause=1)
    comp = rows[rows["id"] == 1]
    assert comp[["start", "stop", "weight"]].values.tolist() == [[0.0, 2.0, 1.0], [2.0, 5.0, 0.75]]
    assert rows.loc[rows["id"] == 3, "status"].tolist() == [1]
    with pytest.raises(InputError, match="no event of cause 3"):
        finegray_rows([1, 2], [1, 2], cause=3)


def test_frame_names_the_subdistribution_hazard_ratio():
    frame = _run("aml").to_frame()
    assert "subdistribution_hr" in frame.columns and list(frame.index) == ["maint"]
    np.testing.assert_allclose(frame["subdistribution_hr"], np.exp(frame["coef"]))


def test_missing_covariate_names_the_subject_not_the_expanded_rows():
    # one NaN at subject 1 was reported as "cox_ph: ... position(s) 1, 2, 3": the rows
    # of the finegray expansion (probe of R's data sets, 2026-12-05)
    x = pd.DataFrame({"a": [1, np.nan, 3, 4, 5, 6, 7, 8.0]})
    with pytest.raises(InputError, match=r"fine_gray: covariate\(s\) \['a'\].*position\(s\) 1 "):
        fine_gray([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 0, 1, 2, 1, 0, 1], x)
    with pytest.raises(InputError, match="fine_gray: `X` must be numeric"):
        fine_gray([1, 2, 3], [1, 2, 0], pd.DataFrame({"a": ["x", "y", "z"]}))
