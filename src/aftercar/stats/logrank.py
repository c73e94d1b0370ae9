"""Log-rank test for k groups, optionally stratified, identical to R ``survdiff``.

Implemented here (not statsmodels' ``survdiff``) so that the group/strata
bookkeeping, the handling of groups with no expected events and the returned
per-group observed/expected counts follow R exactly, and so that 10^6 rows need
one sort: the at-risk counts per (stratum, time, group) come from a bincount and
reversed cumulative sums, and the variance matrix is a single matrix product.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import chi2

from aftercar.errors import InputError
from aftercar.stats import _inputs

_RANK_TOL = float(np.finfo(float).eps ** 0.75)  # as R's Cholesky tolerance (toler.chol)


@dataclass(frozen=True, repr=False)
class LogRankResult:
    """Result of :func:`logrank_test`.

    Attributes
    ----------
    chisq, df, p_value
        Test statistic, degrees of freedom (the rank of the variance matrix of
        the groups with expected > 0, less the first; R's groups - 1 whenever
        that matrix is regular), upper-tail chi-square probability. When there
        is nothing to test the values are R's: with one group having expected
        events ``chisq`` 0, ``df`` 0 and ``p_value`` 1; with no events ``df``
        -1 and ``p_value`` NaN (R's NA).
    levels
        Group labels in sorted order (R's factor levels).
    n, observed, expected
        Per-group subjects, observed events and expected events (summed over
        strata), aligned with ``levels``.
    variance
        The k x k variance matrix of observed - expected (summed over strata).
    rho
        The G-rho weight exponent (0 = log-rank, 1 = Peto-Peto Wilcoxon).
    note
        Empty when the test is regular; otherwise why ``df`` is smaller than
        groups - 1 or why there is no p-value (no events, one group with
        expected events, a singular variance).
    """

    chisq: float
    df: int
    p_value: float
    levels: tuple
    n: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    variance: np.ndarray
    rho: float = 0.0
    note: str = ""

    def to_frame(self) -> pd.DataFrame:
        """Per-group table: ``group, n, observed, expected, o_minus_e``."""
        return pd.DataFrame(
            {
                "group": list(self.levels),
                "n": self.n,
                "observed": self.observed,
                "expected": self.expected,
                "o_minus_e": self.observed - self.expected,
            }
        )

    def to_dict(self) -> dict:
        """JSON-ready dictionary (labels as strings, arrays as lists)."""
        return {
            "chisq": self.chisq,
            "df": self.df,
            "p_value": None if np.isnan(self.p_value) else self.p_value,
            "rho": self.rho,
            "note": self.note,
            "levels": [str(v) for v in self.levels],
            "n": self.n.tolist(),
            "observed": self.observed.tolist(),
            "expected": self.expected.tolist(),
        }

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(repr(self))}</p>" + self.to_frame().to_html(index=False)

    def __repr__(self) -> str:
        return f"LogRankResult(chisq={self.chisq:.4g}, df={self.df}, p_value={self.p_value:.4g})"


def _at_risk(key_stratum: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Reverse cumulative sums of ``counts`` (rows sorted by stratum, time) within stratum."""
    rev = np.cumsum(counts[::-1], axis=0)[::-1]
    # subtract what belongs to later strata: the reversed sum at each stratum's end + 1
    last = np.searchsorted(key_stratum, key_stratum, side="right")
    tail = np.vstack((rev, np.zeros((1, counts.shape[1]))))[last]
    return rev - tail


def _keys(t: np.ndarray, s: np.ndarray, stratified: bool) -> tuple[np.ndarray, np.ndarray]:
    """Codes of the distinct (stratum, time) pairs, ordered by stratum then time."""
    ut, t_code = np.unique(t, return_inverse=True)
    t_code = t_code.reshape(-1)
    if not stratified:
        return t_code, np.zeros(ut.size, dtype=np.int64)
    ukey, inv = np.unique(s * ut.size + t_code, return_inverse=True)
    return inv.reshape(-1), ukey // ut.size


def _statistic(observed, expected, variance) -> tuple[float, int, str]:
    """(chisq, df, note): R's statistic, with df = rank of the variance used.

    R drops groups with no expected events and the first remaining group, then
    solves; where the remaining variance is singular (R's ``solve`` fails) the
    Moore-Penrose inverse gives the statistic and its rank the degrees of freedom.
    """
    use = expected > 0
    if not use.any():  # R: df = groups with expected events - 1 = -1, p NA
        return 0.0, -1, "no events: nothing to test"
    if use.sum() < 2:  # R: df 0, p = pchisq(0, 0, lower.tail = FALSE) = 1
        return 0.0, 0, "only one group has expected events: nothing to test"
    diff = (observed - expected)[use][1:]
    v = variance[np.ix_(use, use)][1:, 1:]
    sing = np.linalg.svd(v, compute_uv=False)
    rank = int(np.sum(sing > sing.max() * _RANK_TOL)) if sing.max() > 0 else 0
    dropped = int((~use).sum())
    note = f"{dropped} group(s) with no expected events left out" if dropped else ""
    if rank == v.shape[0]:
        return float(np.linalg.solve(v, diff) @ diff), rank, note
    why = f"variance matrix singular (rank {rank} of {v.shape[0]}): df = rank"
    if rank == 0:
        return 0.0, 0, why
    return (
        float(np.linalg.pinv(v, rcond=_RANK_TOL) @ diff @ diff),
        rank,
        "; ".join(x for x in (note, why) if x),
    )


def _p_value(chisq: float, df: int, n_expected: int) -> float:
    """Upper-tail chi-square probability, with R's answers where there is nothing to test:
    1 when one group has expected events (df 0), NA (NaN) with no events (df -1) or a
    variance of rank 0 (where R's ``solve`` stops)."""
    if df > 0:
        return float(chi2.sf(chisq, df))
    return 1.0 if n_expected == 1 else float("nan")


def _km_weights(key_stratum: np.ndarray, n_risk: np.ndarray, d: np.ndarray, rho: float):
    """G-rho weights: pooled left-continuous KM per stratum to the power rho (R survdiff)."""
    if rho == 0:
        return np.ones(d.size)
    factor = 1.0 - d / n_risk
    first = np.concatenate(([True], key_stratum[1:] != key_stratum[:-1]))
    zero = factor <= 0
    with np.errstate(divide="ignore"):
        logs = np.where(zero, 0.0, np.log(np.where(zero, 1.0, factor)))
    log_before = _segment_cumsum(logs, first) - logs
    zeros_before = _segment_cumsum(zero.astype(float), first) - zero
    km = np.where(zeros_before > 0, 0.0, np.exp(log_before))
    return km**rho


def _segment_cumsum(values: np.ndarray, first: np.ndarray) -> np.ndarray:
    total = np.cumsum(values)
    before = np.concatenate(([0.0], total))[np.flatnonzero(first)]
    return total - before[np.cumsum(first) - 1]


def logrank_test(
    time, event, group, *, strata=None, rho: float = 0.0, timefix: bool = True
) -> LogRankResult:
    """Log-rank (Mantel-Haenszel) test of equal survival across groups.

    Parameters
    ----------
    time
        Follow-up times (any unit, e.g. months = days / 30.4375).
    event
        1/True = event, 0/False = censored.
    group
        Group label of each subject; k >= 2 distinct labels.
    strata
        Optional stratum label of each subject: observed - expected and the
        variance are summed over strata (R ``survdiff(Surv ~ g + strata(s))``).
    rho
        G-rho family (Harrington & Fleming 1982), R ``survdiff(rho=)``: each event
        time is weighted by ``S(t-)^rho``, the pooled left-continuous Kaplan-Meier
        of its stratum. 0 (default) is the log-rank test, 1 the Peto-Peto
        modification of the Gehan-Wilcoxon test (weights early differences).
    timefix
        Merge times closer than sqrt(machine eps), as R's default ``aeqSurv``.

    Returns
    -------
    LogRankResult
        ``chisq, df, p_value, levels, n, observed, expected, variance, rho,
        note`` (``observed``/``expected`` are the weighted sums when rho != 0).

    Notes
    -----
    At each distinct event time within a stratum with ``n`` at risk (``n_g`` in
    group g) and ``d`` events, ``E_g += d n_g / n`` and
    ``V_gh += d (n - d) / (n^2 (n - 1)) n_g (n 1{g=h} - n_h)``. Groups with zero
    expected events are left out; the statistic is ``(O - E)' V^-1 (O - E)`` on
    the remaining groups less the first (R's choice). A singular ``V`` (which R
    rejects) falls back to the Moore-Penrose inverse, with df its rank. With one
    group having expected events df is 0 and p 1; with no events df is -1 and p
    NaN (R's ``survdiff``).

    Examples
    --------
    >>> r = logrank_test([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 1, 0], ["a", "a", "a", "b", "b", "b"])
    >>> round(r.chisq, 4), r.df
    (5.0517, 1)

    References
    ----------
    Mantel N. Evaluation of survival data and two new rank order statistics.
    Cancer Chemother Rep 1966;50:163-170.
    Therneau TM. A Package for Survival Analysis in R (survival 3.5-3): ``survdiff``.
    """
    t = _inputs.as_float(time, "time")
    if timefix:
        t = _inputs.timefix(t)[0]
    e = _inputs.as_event(event, n=t.size)
    levels, g = _inputs.factorize(_inputs.as_labels(group, "group", n=t.size))
    if len(levels) < 2:
        raise InputError(
            f"logrank_test needs at least two groups; `group` has {len(levels)} level(s). "
            "Fix: check the grouping column."
        )
    s = np.zeros(t.size, dtype=np.int64)
    if strata is not None:
        s = _inputs.factorize(_inputs.as_labels(strata, "strata", n=t.size))[1]
    rho = float(_inputs.as_float([rho], "rho")[0])
    observed, expected, variance = _moments(t, e, g, s, len(levels), strata is not None, rho)
    chisq, df, note = _statistic(observed, expected, variance)
    p = _p_value(chisq, df, int((expected > 0).sum()))
    n = np.bincount(g, minlength=len(levels)).astype(float)
    return LogRankResult(chisq, df, p, tuple(levels), n, observed, expected, variance, rho, note)


def _moments(t, e, g, s, k: int, stratified: bool, rho: float):
    """Weighted observed, expected and variance per group, summed over strata."""
    inv, key_stratum = _keys(t, s, stratified)  # (stratum, time) keys in order
    m = key_stratum.size
    cell = inv * k + g
    exits = np.bincount(cell, minlength=m * k).reshape(m, k).astype(float)
    deaths_g = np.bincount(cell, weights=e.astype(float), minlength=m * k).reshape(m, k)
    risk = _at_risk(key_stratum, exits)
    n_risk = risk.sum(axis=1)
    d = deaths_g.sum(axis=1)
    wt = _km_weights(key_stratum, n_risk, d, rho)
    observed = wt @ deaths_g
    has = d > 0
    risk, n_risk, d, wt = risk[has], n_risk[has], d[has], wt[has]
    expected = (wt * d / n_risk) @ risk
    with np.errstate(divide="ignore", invalid="ignore"):
        tmp = np.where(n_risk > 1, wt * wt * d * (n_risk - d) / (n_risk * (n_risk - 1)), 0.0)
    variance = np.diag(tmp @ risk) - (risk * (tmp / n_risk)[:, None]).T @ risk
    return observed, expected, variance
