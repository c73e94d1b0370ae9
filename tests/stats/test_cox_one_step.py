"""R's one-step Cox estimator: ``iter.max = 1`` returns the first Newton step without a
warning (``coxph.fit`` warns only when ``maxiter > 1``); aftercar raised
``ConvergenceError`` (fifth R probe, 2026-12-06). Golden values: make_iter1_case.R."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aftercar.errors import ConvergenceError
from aftercar.stats import CoxControl, cox_ph

LUNG = pd.read_csv(Path(__file__).parent / "data" / "lung_iter1.csv")
COLS = ["age", "sex", "ph.ecog"]


def test_iter_max_one_is_rs_one_step_estimate():
    fit = cox_ph(LUNG.time, LUNG.st, LUNG[COLS], control=CoxControl(iter_max=1))
    np.testing.assert_allclose(
        fit.coef, [9.49831713727888e-03, -5.23775893952688e-01, 4.84730940565732e-01], rtol=1e-9
    )
    np.testing.assert_allclose(
        fit.se, [9.24230005486311e-03, 1.66847402792125e-01, 1.13767102174883e-01], rtol=1e-9
    )
    np.testing.assert_allclose(fit.loglik, [-744.480455761440, -729.273158640194], rtol=1e-12)
    np.testing.assert_allclose(fit.score_test.statistic, 30.4999227049491, rtol=1e-9)


def test_iter_max_two_without_convergence_still_raises():
    with pytest.raises(ConvergenceError):
        cox_ph(LUNG.time, LUNG.st, LUNG[COLS], control=CoxControl(iter_max=2))
