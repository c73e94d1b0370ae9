"""Print the worst relative difference from R of every Cox figure (docs/validation.md).

Usage: ``python tests/stats/cox_parity_report.py`` from the repository root. Uses
the golden data sets and every case in ``cox_cases.json`` (monotone reported
separately; the non-converging case is skipped since aftercar raises there).
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
import test_cox as T

from aftercar.stats import cox_ph


def _rel(actual, expected) -> float:
    exp = np.array([np.nan if v is None else v for v in np.atleast_1d(expected)], float)
    act = np.atleast_1d(np.asarray(actual, float))
    ok = ~np.isnan(exp) & (exp != 0)
    return float(np.max(np.abs(act[ok] - exp[ok]) / np.abs(exp[ok]), initial=0.0))


def _update(worst: dict, key: str, actual, expected) -> None:
    worst[key] = max(worst.get(key, 0.0), _rel(actual, expected))


def golden(worst: dict) -> None:
    for name in ("lung", "veteran", "mgus2"):
        spec = json.loads((T.GOLDEN / f"{name}.json").read_text())
        data = pd.read_csv(T.GOLDEN / spec["data_file"])
        args = (data[spec["time"]], data[spec["event"]], data[spec["covariates"]])
        for ref in spec["cox"]:
            fit = cox_ph(*args, ties=ref["ties"])
            robust = cox_ph(*args, ties=ref["ties"], cluster=data[spec["cluster"]])
            _update(worst, "coef", fit.coef, ref["coef"])
            _update(worst, "se", fit.se, ref["se"])
            _update(worst, "robust_se", robust.robust_se, ref["robust_se"])
            _update(worst, "loglik", fit.loglik, ref["loglik"])
            for key in ("score_test", "wald_test", "lr_test"):
                _update(worst, key, getattr(fit, key).statistic, ref[key])


def cases(worst: dict, names: set[str] | None, skip: set[str]) -> int:
    count = 0
    for case in T.CASES:
        if case["name"] in skip or (names is not None and case["name"] not in names):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = T._fit_case(case)
        count += 1
        for key in ("coef", "se", "loglik"):
            _update(worst, key, getattr(fit, key), case[key])
        if case["robust_se"] is not None:
            _update(worst, "robust_se", fit.robust_se, case["robust_se"])
            _update(
                worst, "robust_score", fit.robust_score_test.statistic, case["robust_score_test"]
            )
        for key in ("score_test", "wald_test", "lr_test"):
            _update(worst, key, getattr(fit, key).statistic, case[key])
    return count


if __name__ == "__main__":
    worst: dict = {}
    golden(worst)
    n = cases(worst, None, {"no_convergence", "monotone"})
    print(
        f"golden (3 data sets x 2 tie methods) + {n} R cases:",
        {k: f"{v:.1e}" for k, v in worst.items()},
    )
    mono: dict = {}
    cases(mono, {"monotone"}, set())
    print("monotone:", {k: f"{v:.1e}" for k, v in mono.items()})
