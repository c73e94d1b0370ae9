"""Rank tests of location, identical to R: Wilcoxon rank-sum and Kruskal-Wallis.

* :func:`wilcoxon_test`: two samples, as R ``wilcox.test(x, y)`` with its defaults:
  the exact distribution of W when both samples have fewer than 50 values and
  there are no ties, else the normal approximation with the tie-corrected
  variance and a continuity correction.
* :func:`kruskal_test`: k samples, as R ``kruskal.test`` (chi-square with k - 1
  degrees of freedom, ties corrected).

The exact distribution of W (R ``pwilcox``) is the coefficient sequence of the
Gaussian binomial coefficient, built by ``m`` polynomial multiplications and
divisions (vectorised over W; the loop is over the smaller sample size only).

References
----------
Hollander M, Wolfe DA. Nonparametric Statistical Methods. Wiley, 1973 (W, its
exact distribution and the normal approximation with ties).
Kruskal WH, Wallis WA. Use of ranks in one-criterion variance analysis. J Am Stat
Assoc 1952;47:583-621.
R Core Team. ``wilcox.test``, ``kruskal.test`` (package stats).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from aftercar.errors import InputError

#: R's ``wilcox.test`` uses the exact distribution below this many values per sample.
EXACT_BELOW = 50


@dataclass(frozen=True)
class RankTest:
    """The result of a rank test (as R's ``htest``)."""

    statistic: float
    df: float | None
    p_value: float
    method: str

    def to_frame(self) -> pd.DataFrame:
        """One row: ``statistic, df, p_value, method``."""
        return pd.DataFrame([self.__dict__])


def _finite(values, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    arr = arr[~np.isnan(arr)]
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} holds infinite values. Fix: remove or recode them.")
    return arr


def wilcox_distribution(m: int, n: int) -> np.ndarray:
    """Probability of each W = 0 .. m*n for samples of sizes ``m`` and ``n`` (no ties)."""
    if m > n:
        m, n = n, m
    counts = np.zeros(m * n + 1)
    counts[0] = 1.0
    for i in range(1, m + 1):  # multiply by (1 - q^(n+i)), divide by (1 - q^i)
        shifted = np.zeros_like(counts)
        shifted[n + i :] = counts[: -(n + i)]
        counts = counts - shifted
        for start in range(i):  # division by (1 - q^i): cumulative sums with stride i
            counts[start::i] = np.cumsum(counts[start::i])
    return counts / counts.sum()


def wilcoxon_test(x, y, /) -> RankTest:
    """Two-sided Wilcoxon rank-sum (Mann-Whitney) test, as R ``wilcox.test(x, y)``.

    Missing values are dropped (as R does). ``statistic`` is R's W (the rank sum
    of ``x`` minus ``m(m + 1)/2``).
    """
    x, y = _finite(x, "x"), _finite(y, "y")
    m, n = len(x), len(y)
    if m == 0 or n == 0:
        raise InputError("wilcoxon_test needs values in both samples.")
    ranks = sps.rankdata(np.concatenate([x, y]))
    w = float(ranks[:m].sum() - m * (m + 1) / 2)
    _, ties = np.unique(ranks, return_counts=True)
    if m < EXACT_BELOW and n < EXACT_BELOW and np.all(ties == 1):
        dist = wilcox_distribution(m, n)
        cdf = np.cumsum(dist)
        k = round(w)
        p = cdf[k - 1] if w > m * n / 2 else cdf[k]
        p = (1.0 - p) if w > m * n / 2 else p
        return RankTest(w, None, float(min(2 * p, 1.0)), "Wilcoxon rank sum exact test")
    z = w - m * n / 2
    sigma = np.sqrt((m * n / 12) * ((m + n + 1) - (ties**3 - ties).sum() / ((m + n) * (m + n - 1))))
    z = (z - np.sign(z) * 0.5) / sigma
    p = 2 * min(sps.norm.cdf(z), sps.norm.sf(z))
    method = "Wilcoxon rank sum test with continuity correction"
    return RankTest(w, None, float(p), method)


def kruskal_test(values, groups, /) -> RankTest:
    """Kruskal-Wallis rank-sum test of k groups, as R ``kruskal.test(values, groups)``."""
    frame = pd.DataFrame({"v": np.asarray(values, dtype=float), "g": np.asarray(groups)})
    frame = frame.dropna()
    codes, levels = pd.factorize(frame["g"], sort=True)
    if len(levels) < 2:
        raise InputError("kruskal_test needs at least two groups with values.")
    v = frame["v"].to_numpy(float)
    n = len(v)
    ranks = sps.rankdata(v)
    sums = np.bincount(codes, weights=ranks)
    sizes = np.bincount(codes)
    _, ties = np.unique(v, return_counts=True)
    h = (12 * np.sum(sums**2 / sizes) / (n * (n + 1)) - 3 * (n + 1)) / (
        1 - (ties**3 - ties).sum() / (n**3 - n)
    )
    df = len(levels) - 1
    return RankTest(float(h), float(df), float(sps.chi2.sf(h, df)), "Kruskal-Wallis rank sum test")
