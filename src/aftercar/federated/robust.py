r"""Patient-clustered (robust) variance of the pooled line-level Cox models: one more round.

The study's line-level PFS models (TCE vs other; by therapy category) use the
Lin-Wei sandwich clustered by patient, R ``coxph(..., cluster=patient_id)``:

.. math::

    V = I^{-1} B\, I^{-1}, \qquad B = \sum_{\text{patients } i} U_i U_i',

with :math:`U_i` the sum of the score residuals of patient i's lines at the
fitted coefficients and :math:`I` the information. The pooled models are
stratified by site, so every risk set lies within one site: a line's score
residual depends only on its own site's rows and on :math:`\hat\beta`. Each site
therefore computes its patients' :math:`U_i` **exactly**, from its own rows, once
it knows the pooled :math:`\hat\beta`, and returns only the p x p matrix
:math:`B_s = \sum_{i \in s} U_i U_i'` (:func:`site_answer`). The coordinator sums
them, :math:`B = \sum_s B_s`, and forms :math:`V` with the pooled information
(:func:`robust_fit`): equal to ``cox_ph(..., strata=site, cluster=patient)`` on
the concatenated rows, since a patient's lines are all at one site.

Why a second round: :math:`\hat\beta` needs every site's pattern table, and
:math:`B_s` is not a function of a site's pattern table (it needs which lines
belong to the same patient, i.e. pairs of line times and categories within a
patient, which is close to row-level data); so the site must see
:math:`\hat\beta` first. The score residuals at :math:`\beta = 0` would need no
coefficients, but the report's robust variance is at :math:`\hat\beta`.

References
----------
Lin DY, Wei LJ. The robust inference for the Cox proportional hazards model.
J Am Stat Assoc 1989;84:1074-1078. Therneau TM, Grambsch PM. Modeling Survival
Data. Springer 2000, sec. 7.2 (score residuals, ``cluster()``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.stats as sps

from aftercar import stats
from aftercar.errors import InputError
from aftercar.federated.cox import digest
from aftercar.schema import Col

#: Format name of the coefficients file of the robust round and of a site's answer.
ROBUST_FORMAT = "aftercar-cox-robust-round"
ROBUST_ANSWER_FORMAT = "aftercar-cox-robust-answer"

#: The line-level models pooled with a patient-clustered variance (key -> column).
LINE_MODELS = {"pfs_cox_tce": Col.TCE, "pfs_cox_by_category": Col.CATEGORY}


def line_rows(lines: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    """The lines of the line-level PFS models (finite PFS >= 0) and each model's group label.

    The labels are the values the site's pattern tables hold: ``"TCE"``/``"Other"``
    and the therapy category as text.
    """
    t = lines[Col.PFS_MONTHS].to_numpy(float)
    sub = lines.loc[np.isfinite(t) & (t >= 0)].reset_index(drop=True)
    labels = {
        "pfs_cox_tce": pd.Series(np.where(sub[Col.TCE], "TCE", "Other"), dtype="string"),
        "pfs_cox_by_category": sub[Col.CATEGORY].astype("string"),
    }
    return sub, labels


def design(labels: pd.Series, levels: list[str]) -> np.ndarray:
    """0/1 indicators of ``levels`` (the reference level is all zeros), shape (n, p)."""
    lab = labels.astype("string")
    cols = [(lab == lv).fillna(False).to_numpy(float) for lv in levels]
    return np.column_stack(cols) if cols else np.zeros((len(lab), 0))


def proposal(
    fits: dict[str, dict[str, Any]], *, config_hash: str, ties: str, sites: list[str]
) -> dict[str, Any]:
    """The robust round's coefficients file: per model its levels and pooled ``beta``."""
    return {
        "format": ROBUST_FORMAT,
        "schema_version": 1,
        "config_hash": config_hash,
        "ties": ties,
        "sites": sorted(sites),
        "models": fits,
    }


def site_answer(
    lines: pd.DataFrame, prop: dict[str, Any], site: str, suppress_below: int | None = None
) -> dict[str, Any]:
    """This site's answer to the robust round: per model ``B_s`` (p x p) and its counts.

    Raises
    ------
    InputError
        A model of the file is unknown, or (under ``suppress_below`` K) fewer than
        K of the site's patients have lines in a model: ``B_s`` would then describe
        too few patients.
    """
    sub, labels = line_rows(lines)
    out: dict[str, Any] = {}
    for key, spec in prop["models"].items():
        if key not in LINE_MODELS:
            raise InputError(f"--cox-round: model {key!r} has no robust round. Fix: pass the "
                             "robust_round.json written by `aftercar pool`.")  # fmt: skip
        x = design(labels[key], spec["levels"])
        b, n_pat = stats.cox_cluster_meat(sub[Col.PFS_MONTHS], sub[Col.PFS_EVENT], x,
                                          sub[Col.PATIENT_ID], spec["beta"],
                                          ties=prop.get("ties", "efron"))  # fmt: skip
        if suppress_below is not None and 0 < n_pat < suppress_below:
            raise InputError(
                f"--cox-round: only {n_pat} patient(s) of this site have lines in {key}, fewer "
                f"than --suppress-below {suppress_below}; their clustered score sums would "
                "describe them too closely. Fix: agree with the coordinator to leave the "
                "site's robust round out (the pooled model then keeps its model-based variance)."
            )
        out[key] = {"meat": b.tolist(), "patients": n_pat, "lines": len(sub)}
    return {
        "format": ROBUST_ANSWER_FORMAT,
        "schema_version": 1,
        Col.SITE: site,
        "config_hash": prop["config_hash"],
        "proposal": digest(prop),
        "models": out,
    }


def pooled_meat(prop: dict[str, Any], answers: list[dict[str, Any]], key: str) -> np.ndarray:
    """``B = sum_s B_s`` of one model; every site must have answered this very file."""
    want = digest(prop)
    for a in answers:
        if a.get("proposal") != want:
            raise InputError(
                f"robust round: the answer of site {a.get(Col.SITE)!r} is to another "
                "coefficients file. Fix: send every site the same robust_round.json."
            )
    missing = sorted(set(prop["sites"]) - {a[Col.SITE] for a in answers})
    if missing:
        raise InputError(
            f"robust round: no answer from site(s) {', '.join(missing)}. Fix: run `aftercar "
            "site-summary COHORT --cox-round robust_round.json -o answer.json` there."
        )
    p = len(prop["models"][key]["levels"])
    return np.sum([np.asarray(a["models"][key]["meat"], float).reshape(p, p) for a in answers],
                  axis=0)  # fmt: skip


@dataclass(frozen=True)
class RobustFit:
    """A pooled fit with the patient-clustered variance, in the shape ``cox_block`` reads."""

    coef: np.ndarray
    se: np.ndarray
    robust_se: np.ndarray
    robust_var: np.ndarray
    hr_lower: np.ndarray
    hr_upper: np.ndarray
    p: np.ndarray
    loglik: tuple[float, float]
    wald_test: stats.ChiSquareTest
    score_test: stats.ChiSquareTest
    lr_test: stats.ChiSquareTest


def robust_fit(fit: stats.CoxResult, b: np.ndarray, conf_level: float) -> RobustFit:
    """``V = I^-1 B I^-1`` with the pooled fit's inverse information; Wald z, CI and
    test on ``V`` (as R's ``summary.coxph`` of a clustered fit)."""
    var = np.asarray(fit.var, dtype=float)
    rvar = var @ b @ var
    rse = np.sqrt(np.diag(rvar))
    crit = sps.norm.ppf(1 - (1 - conf_level) / 2)
    coef = np.asarray(fit.coef, dtype=float)
    wald = stats.cox_wald_statistic(rvar, coef)
    return RobustFit(
        coef=coef,
        se=np.asarray(fit.se, dtype=float),
        robust_se=rse,
        robust_var=rvar,
        hr_lower=np.exp(coef - crit * rse),
        hr_upper=np.exp(coef + crit * rse),
        p=2 * sps.norm.sf(np.abs(coef / rse)),
        loglik=fit.loglik,
        wald_test=stats.ChiSquareTest.of(wald, fit.wald_test.df),
        score_test=fit.score_test,
        lr_test=fit.lr_test,
    )
