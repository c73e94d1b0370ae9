"""a text baseline covariate in ``analysis.cox_covariates`` must not crash the run.

``sex`` or ``car_t_product`` in the covariate list used to go through
``astype("Float64")`` and raise (a traceback instead of a report). Text covariates
are coded as 0/1 indicators against their most frequent level; yes/no and numeric
covariates are unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aftercar import stats
from aftercar.analysis.baseline import baseline_cox
from aftercar.analysis.options import AnalysisOptions as StatOptions


def _patients() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient_id": [f"P{i}" for i in range(8)],
            "os_valid": [True] * 8,
            "os_months": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
            "os_event": [True, True, False, True, True, True, False, True],
            "car_t_product": ["ide-cel", "cilta-cel", "ide-cel", "cilta-cel"] * 2,
            "extramedullary_disease": [True, False, None, True, False, False, True, False],
        }
    ).astype({"extramedullary_disease": object})


def test_text_covariate_coded_against_most_frequent_level():
    pts = _patients()
    pts.loc[7, "car_t_product"] = "ide-cel"  # ide-cel 5, cilta-cel 3 -> reference ide-cel
    sec = baseline_cox(pts, StatOptions(cox_covariates=("car_t_product", "extramedullary_disease")))
    cox = sec.results["cox_os"]
    assert cox["covariates"] == ["car_t_product=cilta-cel", "extramedullary_disease"]
    assert cox["complete_cases"] == 7 and cox["excluded_incomplete"] == 1
    keep = pts["extramedullary_disease"].notna().to_numpy()
    x = pd.DataFrame(
        {
            "car_t_product=cilta-cel": (pts["car_t_product"] == "cilta-cel").astype(float),
            "extramedullary_disease": pts["extramedullary_disease"].astype(float),
        }
    )[keep]
    ref = stats.cox_ph(
        pts["os_months"].to_numpy()[keep], pts["os_event"].to_numpy()[keep], x, ties="efron"
    )
    got = [t["coef"] for t in cox["model"]["terms"]]
    assert got == pytest.approx(np.asarray(ref.coef, dtype=float), rel=1e-10)


def test_text_covariate_with_one_level_is_skipped_as_constant():
    pts = _patients().assign(car_t_product="ide-cel")
    sec = baseline_cox(pts, StatOptions(cox_covariates=("car_t_product",)))
    assert sec.results["cox_os"]["skipped"] == [
        {"covariate": "car_t_product", "reason": "constant in the cohort"}
    ]
