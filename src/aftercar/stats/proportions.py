"""Response proportions: binomial intervals and tests, and patient-clustered rates.

* :func:`proportion_ci` -- Clopper-Pearson (R ``binom.test``) or Wilson score
  (R ``prop.test(correct=FALSE)``) intervals, closed forms via the beta quantile;
* :func:`binom_test` -- exact binomial test with R's two-sided rule;
* :func:`fisher_test`, :func:`chisq_test` -- independence across categories
  (exact r x c in :mod:`aftercar.stats.fisher`; Pearson via SciPy, which applies
  the same Yates correction as R for 2 x 2 tables);
* :func:`clustered_proportion`, :func:`clustered_proportions` -- response
  across repeated lines per patient with patient-clustered (sandwich) inference.

Why a sandwich on the logit scale for clustered response: a patient contributes
several salvage lines whose responses are correlated, so the binomial variance
understates the uncertainty. The pooled proportion is the intercept-only
logistic GEE with independence working correlation; its cluster-robust
(sandwich) variance has a closed form, ``Var(logit p) = sum_g (y_g - n_g p)^2 /
(N p (1 - p))^2`` (y_g responders and n_g lines of patient g), which is exactly
what statsmodels' ``GEE`` (``cov_type="robust"``) returns (checked in the tests), with
no iteration and no per-row loop. The interval is built on the logit scale and
back-transformed, so it stays inside (0, 1). No small-sample factor G/(G - 1)
is applied (statsmodels GEE does not apply one by default either).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.special import expit, gammaln, logit, ndtri
from scipy.stats import beta, binom, chi2_contingency, random_table

from aftercar.errors import InputError, StatisticalWarning
from aftercar.stats import _inputs
from aftercar.stats.fisher import fisher_exact_pvalue

METHODS = ("exact", "wilson")


class ProportionCI(NamedTuple):
    """A proportion with its confidence limits."""

    estimate: float
    lower: float
    upper: float


def _check_xn(x, n) -> tuple[int, int]:
    xf, nf = float(x), float(n)
    if xf != np.round(xf) or nf != np.round(nf) or not 0 <= xf <= nf or nf < 1:
        raise InputError(
            f"Need whole numbers 0 <= x <= n with n >= 1; got x={x!r}, n={n!r}. "
            "Fix: pass counts of responders (x) and of evaluable patients or lines (n)."
        )
    return int(xf), int(nf)


def _check_level(conf_level: float) -> float:
    if not 0.0 < float(conf_level) < 1.0:
        raise InputError(f"conf_level must be strictly between 0 and 1; got {conf_level!r}.")
    return float(conf_level)


def _clopper_pearson(x: int, n: int, alpha: float) -> tuple[float, float]:
    lower = 0.0 if x == 0 else float(beta.ppf(alpha / 2, x, n - x + 1))
    upper = 1.0 if x == n else float(beta.ppf(1 - alpha / 2, x + 1, n - x))
    return lower, upper


def _wilson(x: int, n: int, conf_level: float) -> tuple[float, float]:
    z = float(ndtri((1 + conf_level) / 2))
    p = x / n
    z22n = z * z / (2 * n)
    half = z * np.sqrt(p * (1 - p) / n + z22n / (2 * n))
    lower = 0.0 if p <= 0 else (p + z22n - half) / (1 + 2 * z22n)
    upper = 1.0 if p >= 1 else (p + z22n + half) / (1 + 2 * z22n)
    return max(float(lower), 0.0), min(float(upper), 1.0)


def proportion_ci(x, n, *, method: str = "exact", conf_level: float = 0.95) -> ProportionCI:
    """Proportion ``x / n`` with a confidence interval.

    Parameters
    ----------
    x, n
        Number of responders and number evaluable (whole numbers, 0 <= x <= n).
    method
        ``"exact"`` (Clopper-Pearson, as R ``binom.test``) or ``"wilson"`` (score
        interval without continuity correction, as R ``prop.test(correct=FALSE)``).
    conf_level
        Confidence level, default 0.95.

    Returns
    -------
    ProportionCI
        ``(estimate, lower, upper)``.

    Examples
    --------
    >>> [round(v, 4) for v in proportion_ci(32, 35)]  # ORR to TCE, Van Oekelen 2023
    [0.9143, 0.7694, 0.982]

    References
    ----------
    Clopper CJ, Pearson ES. The use of confidence or fiducial limits illustrated in
    the case of the binomial. Biometrika 1934;26:404-413.
    Wilson EB. Probable inference, the law of succession, and statistical
    inference. J Am Stat Assoc 1927;22:209-212.
    """
    xi, ni = _check_xn(x, n)
    level = _check_level(conf_level)
    if method == "exact":
        lower, upper = _clopper_pearson(xi, ni, 1 - level)
    elif method == "wilson":
        lower, upper = _wilson(xi, ni, level)
    else:
        raise InputError(f"method must be 'exact' or 'wilson'; got {method!r}.")
    return ProportionCI(xi / ni, lower, upper)


def binom_test(x, n, p: float = 0.5, *, alternative: str = "two-sided") -> float:
    """Exact binomial test p-value of ``H0: probability = p`` (R ``binom.test``).

    Two-sided: the probability of outcomes no more likely than the observed one
    (relative tolerance 1e-7, R's rule), i.e. ``P(X <= x) + P(X >= n - y + 1)``
    for x below the mean, with ``y`` the count of outcomes on the other side
    whose probability is <= that of ``x``.

    Examples
    --------
    >>> round(binom_test(32, 35, 0.7), 6)
    0.004755

    References
    ----------
    Clopper CJ, Pearson ES (1934), see :func:`proportion_ci`; R ``binom.test``.
    """
    xi, ni = _check_xn(x, n)
    if not 0.0 <= float(p) <= 1.0:
        raise InputError(f"p must be in [0, 1]; got {p!r}.")
    if alternative == "less":
        return float(binom.cdf(xi, ni, p))
    if alternative == "greater":
        return float(binom.sf(xi - 1, ni, p))
    if alternative != "two-sided":
        raise InputError(f"alternative must be two-sided, less or greater; got {alternative!r}.")
    d = binom.pmf(xi, ni, p) * (1 + 1e-7)
    m = ni * p
    if xi == m:
        return 1.0
    if xi < m:
        i = np.arange(int(np.ceil(m)), ni + 1)
        y = int(np.sum(binom.pmf(i, ni, p) <= d))
        pval = binom.cdf(xi, ni, p) + binom.sf(ni - y, ni, p)
    else:
        i = np.arange(0, int(np.floor(m)) + 1)
        y = int(np.sum(binom.pmf(i, ni, p) <= d))
        pval = binom.cdf(y - 1, ni, p) + binom.sf(xi - 1, ni, p)
    return float(min(1.0, pval))


@dataclass(frozen=True)
class TableTest:
    """Result of a test of independence in a contingency table."""

    method: str
    p_value: float
    statistic: float | None = None
    df: int | None = None
    expected: np.ndarray | None = None


def fisher_test(table, *, simulate: bool = False, n_sim: int = 2000, seed=None) -> TableTest:
    """Fisher's exact test of independence for an r x c table (R ``fisher.test``).

    Parameters
    ----------
    table
        Counts, rows = groups (e.g. therapy categories), columns = outcomes.
    simulate
        ``False`` (default): the exact p-value (network algorithm); a table too
        large to enumerate raises :class:`InputError`, as R's FEXACT stops with a
        workspace error. ``True``: a Monte Carlo p-value as R's
        ``simulate.p.value=TRUE``: ``(1 + #{simulated P <= observed P}) / (n_sim + 1)``
        over ``n_sim`` tables drawn with the observed margins (Patefield 1981,
        via :class:`scipy.stats.random_table`); reproducible with ``seed`` but not
        the same random numbers as R.
    n_sim, seed
        Number of simulated tables and the random seed (``simulate=True`` only).

    Examples
    --------
    >>> round(fisher_test([[3, 1], [1, 3]]).p_value, 6)
    0.485714

    References
    ----------
    Mehta CR, Patel NR. J Am Stat Assoc 1983;78:427-434 (network algorithm).
    Patefield WM. Algorithm AS 159. Appl Stat 1981;30:91-97 (random r x c tables).
    """
    if not simulate:
        return TableTest("Fisher's exact test", fisher_exact_pvalue(table))
    arr = np.asarray(table)
    if arr.ndim != 2 or np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise InputError("fisher_test needs a 2-dimensional table of whole-number counts.")
    if int(n_sim) < 1:
        raise InputError(f"n_sim must be >= 1; got {n_sim!r}.")
    arr = arr[arr.sum(axis=1) > 0][:, arr.sum(axis=0) > 0].astype(np.int64)
    if min(arr.shape) < 2:
        return TableTest(f"Fisher's exact test (Monte Carlo, {int(n_sim)} tables)", 1.0)
    sims = random_table(arr.sum(axis=1), arr.sum(axis=0)).rvs(int(n_sim), random_state=seed)
    observed = -gammaln(arr + 1.0).sum()
    stat = -gammaln(sims + 1.0).sum(axis=(1, 2))
    almost_one = 1 + 64 * np.finfo(float).eps  # R's tolerance
    p = (1 + np.sum(stat <= observed / almost_one)) / (int(n_sim) + 1)
    return TableTest(f"Fisher's exact test (Monte Carlo, {int(n_sim)} tables)", float(p))


def chisq_test(table, *, correct: bool = True) -> TableTest:
    """Pearson chi-square test of independence (R ``chisq.test``).

    With ``correct=True`` (R's default) a 2 x 2 table gets Yates' continuity
    correction, capped at |O - E| as R does. A :class:`StatisticalWarning` is
    issued when an expected count is below 5 (R: "Chi-squared approximation may
    be incorrect"); use :func:`fisher_test` then.

    Examples
    --------
    >>> round(chisq_test([[10, 3], [2, 15]]).p_value, 6)
    0.001221
    """
    arr = np.asarray(table, dtype=float)
    if arr.ndim != 2 or min(arr.shape) < 2 or np.any(arr < 0) or not np.all(np.isfinite(arr)):
        raise InputError(
            "chisq_test needs a 2-dimensional table of non-negative counts, at least 2 x 2."
        )
    if np.any(arr.sum(axis=0) == 0) or np.any(arr.sum(axis=1) == 0):
        raise InputError("chisq_test: a row or column of the table sums to 0. Fix: drop it.")
    stat, p, df, expected = chi2_contingency(arr, correction=correct)
    if np.any(expected < 5):
        warnings.warn(
            "Chi-squared approximation may be incorrect (an expected count is below 5); "
            "consider fisher_test.",
            StatisticalWarning,
            stacklevel=2,
        )
    return TableTest("Pearson's chi-squared test", float(p), float(stat), int(df), expected)


@dataclass(frozen=True)
class ClusteredProportion:
    """Pooled proportion over repeated observations with a patient-clustered CI.

    Attributes
    ----------
    estimate, lower, upper
        Pooled proportion and confidence limits.
    x, n, n_clusters
        Responders, observations (lines), clusters (patients).
    se_logit
        Cluster-robust standard error of logit(estimate) (NaN when x = 0 or n).
    method
        ``"sandwich-logit"`` or, when the sandwich is undefined or degenerate
        (every or no observation responded, or a zero sandwich variance, as with a
        single patient or every patient at the pooled rate, which would give a
        zero-width interval), ``"exact-clusters"``: Clopper-Pearson (beta-quantile
        form) with the number of clusters as the sample size and ``estimate *
        n_clusters`` responders (conservative).
    """

    estimate: float
    lower: float
    upper: float
    x: int
    n: int
    n_clusters: int
    se_logit: float
    method: str

    def to_frame(self) -> pd.DataFrame:
        """One-row DataFrame of the fields."""
        return pd.DataFrame([self.__dict__])


def _clustered(y: np.ndarray, codes: np.ndarray, level: float) -> ClusteredProportion:
    n, x = y.size, int(y.sum())
    counts = np.bincount(codes)
    score = np.bincount(codes, weights=n * y - x)  # n * (y_g - n_g p), exact integers
    return _from_sums(x, n, int(np.count_nonzero(counts)), float(np.sum(score**2)), level)


def _from_sums(x: int, n: int, n_clusters: int, score_ss: float, level: float):
    """Clustered proportion from counts and the sum over clusters of squared scores.

    ``score_ss`` is ``sum_g (n y_g - x n_g)^2``; the sandwich SE of logit p is
    ``sqrt(score_ss) / n / (n p (1 - p))``.
    """
    p = x / n
    if x not in (0, n):
        se = float(np.sqrt(score_ss) / n / (n * p * (1 - p)))
        if se > 0:  # zero when every patient's own rate equals p (e.g. a single patient)
            z = float(ndtri((1 + level) / 2))
            eta = float(logit(p))
            lower, upper = float(expit(eta - z * se)), float(expit(eta + z * se))
            return ClusteredProportion(p, lower, upper, x, n, n_clusters, se, "sandwich-logit")
    lower, upper = _clopper_pearson(p * n_clusters, n_clusters, 1 - level)
    return ClusteredProportion(p, lower, upper, x, n, n_clusters, np.nan, "exact-clusters")


def _clustered_inputs(responded, cluster) -> tuple[np.ndarray, np.ndarray]:
    y = _inputs.as_float(responded, "responded")
    if y.size == 0:
        raise InputError("clustered_proportion needs at least one observation.")
    bad = (y != 0) & (y != 1)
    if bad.any():
        raise InputError("`responded` must be 0/1 or True/False. Fix: recode the response.")
    return y, _inputs.codes(_inputs.as_labels(cluster, "cluster", n=y.size))


def clustered_proportion(responded, cluster, *, conf_level: float = 0.95) -> ClusteredProportion:
    """Response rate across repeated lines per patient, with patient-clustered CI.

    Parameters
    ----------
    responded
        1/True if the line achieved the response (e.g. >= PR), one value per line.
    cluster
        Patient identifier of each line.
    conf_level
        Confidence level.

    Returns
    -------
    ClusteredProportion
        Pooled rate ``x / n`` with a sandwich (cluster-robust) logit-scale interval;
        see the module docstring for the formula and why.

    Warns
    -----
    StatisticalWarning
        When all or no lines responded, or the sandwich variance is zero (an exact
        interval on the number of patients is returned instead).

    Examples
    --------
    >>> r = clustered_proportion([1, 0, 1, 1, 0, 0], ["a", "a", "b", "b", "c", "c"])
    >>> round(r.estimate, 3), round(r.se_logit, 4)
    (0.5, 0.9428)

    References
    ----------
    Liang KY, Zeger SL. Longitudinal data analysis using generalized linear models.
    Biometrika 1986;73:13-22.
    """
    level = _check_level(conf_level)
    y, codes = _clustered_inputs(responded, cluster)
    result = _clustered(y, codes, level)
    if result.method == "exact-clusters":
        why = (
            f"All or none of {result.n} observations responded"
            if result.x in (0, result.n)
            else f"The sandwich variance is zero ({result.n_clusters} patient(s))"
        )
        warnings.warn(
            f"{why}; the clustered (sandwich) "
            "interval is undefined, so an exact interval on the number of patients is given.",
            StatisticalWarning,
            stacklevel=2,
        )
    return result


def clustered_proportions(responded, cluster, group, *, conf_level: float = 0.95) -> pd.DataFrame:
    """Clustered response rates by group (e.g. therapy category), one row per group.

    Columns: ``group, x, n, n_clusters, estimate, lower, upper, se_logit, method``
    (sorted groups). Each group's interval is :func:`clustered_proportion` on the
    lines of that group, clustered by patient; groups where all or no lines
    responded use the exact fallback (``method == "exact-clusters"``) without a
    warning, the method column says so.
    """
    level = _check_level(conf_level)
    y, codes = _clustered_inputs(responded, cluster)
    levels, g = _inputs.factorize(_inputs.as_labels(group, "group", n=y.size))
    k = len(levels)
    # one code per (group, cluster) pair: all groups' sums from one pass of bincounts
    width = int(codes.max()) + 1
    pair_rows, pair = pd.factorize(g.astype(np.int64) * width + codes)  # hashing, no sort
    pair_group = pair // width
    n_g = np.bincount(g, minlength=k)
    x_g = np.bincount(g, weights=y, minlength=k).round().astype(np.int64)
    m_p = np.bincount(pair_rows, minlength=pair.size)
    s_p = np.bincount(pair_rows, weights=y, minlength=pair.size)
    score = n_g[pair_group] * s_p - x_g[pair_group] * m_p  # n * (y_g - n_g p) per pair
    score_ss = np.bincount(pair_group, weights=score * score, minlength=k)
    clusters = np.bincount(pair_group, minlength=k)
    rows = [
        {
            "group": label,
            **_from_sums(
                int(x_g[i]), int(n_g[i]), int(clusters[i]), float(score_ss[i]), level
            ).__dict__,
        }
        for i, label in enumerate(levels)
    ]
    cols = ["group", "x", "n", "n_clusters", "estimate", "lower", "upper", "se_logit", "method"]
    return pd.DataFrame(rows)[cols]
