"""cox_zph against R survival 3.5-3 ``cox.zph`` (km, rank, identity; per term and GLOBAL).

Reference values: ``zph_cases.json`` from ``make_zph_cases.R`` (next to this file) on
veteran (ties, Efron and Breslow), heart (counting process with delayed entry) and
mgus2 (ties, strata; fractional covariates) in ``data/``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rparity import assert_r_close

from aftercar.errors import InputError
from aftercar.stats import CoxZph, cox_ph, cox_zph

HERE = Path(__file__).parent
CASES = json.loads((HERE / "zph_cases.json").read_text())


def _fit(name):
    data = HERE / "data"
    if name.startswith("veteran"):
        vet = pd.read_csv(data / "veteran.csv")
        if name == "veteran_efron":
            return cox_ph(vet["time"], vet["status"], vet[["trt", "karno", "age"]])
        return cox_ph(vet["time"], vet["status"], vet[["trt", "karno"]], ties="breslow")
    if name == "heart":
        hr = pd.read_csv(data / "heart.csv")
        x = pd.DataFrame({"transplant": hr["transplant"], "id": hr["id"] / 100})
        return cox_ph(hr["stop"], hr["event"], x, entry=hr["start"])
    mg = pd.read_csv(data / "mgus2.csv")
    x = pd.DataFrame({"entry": mg["entry"] / 100, "w": mg["w"]})
    return cox_ph(mg["etime"], mg["cause"] > 0, x, strata=mg["sex"])


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['name']}-{c['transform']}")
def test_cox_zph_matches_r(case):
    fit = _fit(case["name"])
    assert_r_close(fit.coef, case["coef"])
    zph = cox_zph(fit, transform=case["transform"])
    assert isinstance(zph, CoxZph)
    assert list(zph.table.index)[-1] == "GLOBAL"
    assert_r_close(zph.table["chisq"], case["chisq"])
    assert_r_close(zph.table["df"], case["df"])
    assert_r_close(zph.table["p"], case["p"])


def test_rejected_lists_terms_below_alpha_and_bad_arguments():
    zph = cox_zph(_fit("veteran_efron"))
    expected = [t for t, p in zip(zph.table.index, zph.table["p"], strict=True) if p < 0.05]
    assert zph.rejected() == expected and "karno" in expected  # veteran karno is non-PH
    assert zph.to_frame().columns.tolist() == ["chisq", "df", "p"]
    with pytest.raises(InputError, match="transform"):
        cox_zph(_fit("veteran_efron"), transform="sqrt")
    with pytest.raises(InputError, match="cox_ph"):
        cox_zph(object())
    assert np.isfinite(cox_zph(_fit("heart"), transform="log").table["chisq"]).all()


def test_an_empty_information_matrix_is_named_not_a_lapack_message(capfd):
    """Fuzzing round 4 (G10a): pooling two K = 5 site files printed LAPACK's "On entry to
    DGETRF parameter number 4 had an illegal value" (a 0 x 0 matrix)."""
    import numpy as np

    from aftercar.errors import InputError
    from aftercar.stats.zph import _solve_as_r

    with pytest.raises(InputError, match="no term left to test"):
        _solve_as_r(np.zeros((0, 0)), np.zeros(0))
    assert "DGETRF" not in capfd.readouterr().err
