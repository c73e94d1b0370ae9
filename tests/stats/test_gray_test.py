"""gray_test against R cmprsk 2.2-11 ``cuminc()$Tests`` (Gray's K-sample test).

Reference values: ``gray_cases.json`` from ``make_gray_cases.R`` (next to this file) on
mgus2 (ties; rho 0 and 1), veteran (2 and 4 groups; strata), aml and a case whose causes
1-3 cannot be tested (variance exactly 0 in cmprsk: stat -1), data in
``data/``. cmprsk has no delayed entry: gray_test refuses entry times (last test).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rparity import assert_r_close

from aftercar.errors import InputError
from aftercar.stats import GrayTestResult, fine_gray, gray_test

HERE = Path(__file__).parent
CASES = {c["name"]: c for c in json.loads((HERE / "gray_cases.json").read_text())}


def _run(name):
    data = HERE / "data"
    if name.startswith("mgus2"):
        mg = pd.read_csv(data / "mgus2.csv")
        return gray_test(mg["etime"], mg["cause"], mg["sex"], rho=1.0 if "rho1" in name else 0.0)
    if name.startswith("veteran"):
        vet = pd.read_csv(data / "veteran.csv")
        cause = np.where(
            vet["status"] == 0, 0, np.where(vet["celltype"].isin(["squamous", "large"]), 1, 2)
        )
        if name == "veteran_celltype":
            return gray_test(vet["time"], cause, vet["celltype"])
        strata = vet["celltype"] if name == "veteran_trt_strata" else None
        return gray_test(vet["time"], cause, vet["trt"], strata=strata)
    if name == "untestable":
        gu = pd.read_csv(data / "gray_untestable.csv")
        return gray_test(gu["time"], gu["status"], gu["group"])
    aml = pd.read_csv(data / "aml.csv")
    cause = np.where(aml["status"] == 0, 0, np.where(np.arange(1, len(aml) + 1) % 3 == 0, 2, 1))
    return gray_test(aml["time"], cause, aml["x"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_gray_test_matches_cmprsk(name):
    ref, res = CASES[name], _run(name)
    assert isinstance(res, GrayTestResult)
    assert res.table["cause"].tolist() == ref["cause"]
    assert_r_close(res.table["stat"], ref["stat"])
    assert_r_close(res.table["p"], ref["p"])
    assert res.table["df"].tolist() == ref["df"]


def test_gray_test_needs_two_groups():
    with pytest.raises(InputError, match="two groups"):
        gray_test([1, 2, 3], [1, 2, 0], ["a", "a", "a"])
    assert list(_run("aml").to_frame().columns) == ["cause", "stat", "df", "p"]


def test_gray_test_refuses_delayed_entry_and_names_the_alternative():
    # Gray's statistic and variance assume follow-up from time 0; cmprsk::cuminc takes
    # no entry times and R has no left-truncated version, so there is no reference to
    # match: gray_test refuses entry times instead of ignoring them
    mg = pd.read_csv(HERE / "data" / "mgus2.csv")
    assert (mg["entry"] > 0).any()
    with pytest.raises(InputError, match="not defined for delayed entry") as err:
        gray_test(mg["etime"], mg["cause"], mg["sex"], entry=mg["entry"])
    assert "fine_gray(" in str(err.value) and "entry=entry" in str(err.value)
    # the route it names runs on the same rows (its R golden values: test_fine_gray,
    # case mgus2_entry) and gives a test of the group
    male = pd.DataFrame({"male": (mg["sex"] == "M").astype(float)})
    fit = fine_gray(mg["etime"], mg["cause"], male, cause=1, entry=mg["entry"])
    p = fit.to_frame()["p"].iloc[0]
    assert 0.0 < p < 1.0
