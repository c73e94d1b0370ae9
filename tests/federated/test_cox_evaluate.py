"""A site's log partial likelihood, score and information at given coefficients
(:func:`aftercar.federated.cox.evaluate`) against :func:`aftercar.stats.cox_ph` fits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aftercar import stats
from aftercar.federated import cox

TOL = 1e-10


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(16)
    n = 240
    days = rng.integers(1, 90, n)  # whole days: many tied event times
    x = np.column_stack([rng.normal(62, 9, n), rng.integers(0, 2, n), rng.integers(0, 4, n)])
    hazard = np.exp(0.03 * (x[:, 0] - 62) + 0.5 * x[:, 1])
    event = rng.random(n) < 0.75 * hazard / (1 + hazard)
    return days / 30.4375, event, x


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_evaluate_equals_cox_ph_at_its_fit_and_at_zero(data, ties):
    t, e, x = data
    fit = stats.cox_ph(t, e, pd.DataFrame(x, columns=["age", "flag", "level"]), ties=ties)
    at_fit = cox.evaluate(t, e, x, fit.coef, ties=ties)
    at_zero = cox.evaluate(t, e, x, np.zeros(3), ties=ties)
    assert abs(at_fit.loglik - fit.loglik[1]) < TOL * abs(fit.loglik[1])
    assert abs(at_zero.loglik - fit.loglik[0]) < TOL * abs(fit.loglik[0])
    assert np.allclose(np.linalg.inv(at_fit.information), fit.var, rtol=1e-8, atol=TOL)
    score = at_zero.score @ np.linalg.solve(at_zero.information, at_zero.score)
    assert abs(score - fit.score_test.statistic) < TOL * max(1.0, score)
    assert at_fit.events == int(e.sum()) and at_fit.n == len(t)


def test_sites_summed_equal_cox_ph_stratified_by_site(data):
    """Each site its own stratum: the sums are the stratified model's, and the Newton
    protocol's iterates are cox_ph's."""
    t, e, x = data
    site = np.arange(len(t)) % 3
    fit = stats.cox_ph(t, e, x, strata=site)
    proposal = cox.start("m", [{"term": f"x{i}"} for i in range(3)], [], config_hash="h")
    for _ in range(25):
        answers = [
            cox.site_answer(t[site == s], e[site == s], x[site == s], proposal, str(s))
            for s in range(3)
        ]
        proposal = cox.step(proposal, cox.pool_answers(proposal, answers))
        if proposal["state"]["phase"] == "converged":
            break
    result = cox.round_fit(proposal, 0.95)
    assert np.allclose(result.coef, fit.coef, rtol=0, atol=TOL)
    assert np.allclose(result.se, fit.se, rtol=0, atol=TOL)
    assert abs(result.lr_test.statistic - fit.lr_test.statistic) < 1e-8
    assert proposal["state"]["iter"] == fit.iter


def test_an_answer_to_another_proposal_is_refused(data):
    t, e, x = data
    proposal = cox.start("m", [{"term": f"x{i}"} for i in range(3)], [], config_hash="h")
    other = proposal | {"beta": [0.1, 0.0, 0.0]}
    answer = cox.site_answer(t, e, x, other, "A")
    with pytest.raises(Exception, match="is to another proposal"):
        cox.pool_answers(proposal, [answer])
