"""Gray's K-sample test of cumulative incidence curves, as R ``cmprsk::cuminc``.

For each cause, the score compares each group's subdistribution hazard with the
pooled one, weighted by ``(1 - F(t-))^rho``; the statistic ``s' V^-1 s`` on the
first K - 1 groups is chi-square with K - 1 df (Gray 1988). The computation is
a vectorised transcription of Gray's ``crst`` (cmprsk 2.2-11): the per-time
recursions (Kaplan-Meier and cumulative incidence per group, the pooled F, the
matrix ``c``) are cumulative products and sums over the distinct times, and the
variance sums are ``einsum`` over (time, group) arrays. Stratified tests sum
scores and variances over strata.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import chi2

from aftercar.errors import InputError
from aftercar.stats import _inputs
from aftercar.stats.competing import _as_status

__all__ = ["GrayTestResult", "gray_test"]

NO_DELAYED_ENTRY = (
    "gray_test: Gray's test is not defined for delayed entry (left-truncated data): its "
    "risk sets and its variance (Gray 1988; R cmprsk::cuminc, which takes no entry times) "
    "assume every subject is followed from time 0, and no R function gives it with entry "
    "times. Fix: compare the groups with fine_gray(time, status, X, cause=..., "
    "entry=entry), X the group indicators (R finegray(Surv(entry, time, status) ~ ., id=) "
    "+ coxph, Geskus 2011), and read the robust Wald test of the group terms; or leave "
    "out `entry` if every subject was in fact followed from time 0."
)


@dataclass(frozen=True, repr=False, eq=False)
class GrayTestResult:
    """Result of :func:`gray_test`: one row per cause (``cause, stat, df, p``)."""

    table: pd.DataFrame
    levels: tuple
    rho: float

    def to_frame(self) -> pd.DataFrame:
        """A copy of :attr:`table`."""
        return self.table.copy()

    def _repr_html_(self) -> str:
        return "<p>Gray's test</p>" + self.table.to_html(index=False)

    def __repr__(self) -> str:
        return f"GrayTestResult(rho={self.rho:g})\n{self.table.to_string(index=False)}"


def _per_time(y, m, g, ng):
    """Distinct-time arrays of one stratum: risk sets and counts per group."""
    ut, inv = np.unique(y, return_inverse=True)
    inv = inv.reshape(-1)
    k = ut.size
    cell = inv * ng + g
    cnt = [
        np.bincount(cell[m == c], minlength=k * ng).reshape(k, ng).astype(float) for c in (0, 1, 2)
    ]
    exits = cnt[0] + cnt[1] + cnt[2]
    rs = np.cumsum(exits[::-1], axis=0)[::-1]
    return rs, cnt[1], cnt[2]


def _lag(a: np.ndarray, first: float) -> np.ndarray:
    return np.concatenate((np.full((1, *a.shape[1:]), first), a[:-1]), axis=0)


def _crst(y, m, g, ng, rho):
    """Score (ng,) and variance (ng, ng) of one stratum, as cmprsk's ``crst``."""
    rs, d1, d2 = _per_time(y, m, g, ng)
    live = rs > 0
    nd1, nd2 = d1.sum(axis=1), d2.sum(axis=1)
    act = (nd1 + nd2) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        skm = np.cumprod(np.where(live, (rs - d1 - d2) / np.where(live, rs, 1), 1.0), axis=0)
        skmm = _lag(skm, 1.0)
        f1m = _lag(np.cumsum(np.where(live, skmm * d1 / np.where(live, rs, 1), 0.0), axis=0), 0.0)
        t1 = np.where(live, rs / skmm, 0.0)
        tr = t1.sum(axis=1)
        tq = np.where(live, rs * (1 - f1m) / skmm, 0.0).sum(axis=1)
        f = np.cumsum(np.where(act, nd1 / tr, 0.0))
        fm = np.concatenate(([0.0], f[:-1]))
        fb = (1 - fm) ** rho
        a = fb[:, None, None] * (
            np.einsum("ti,ij->tij", t1, np.eye(ng))
            - t1[:, :, None] * t1[:, None, :] / tr[:, None, None]
        )
        c = np.cumsum(np.where(act, nd1 / (tr * (1 - fm)), 0.0)[:, None, None] * a, axis=0)
        score = np.where(
            live & act[:, None],
            fb[:, None] * (d1 - nd1[:, None] * rs * (1 - f1m) / (skmm * tq[:, None])),
            0.0,
        ).sum(axis=0)
        # cause-of-interest part (times with nd1 > 0, groups at risk)
        on1 = live & (nd1 > 0)[:, None]
        t4 = np.where(skm > 0, 1 - (1 - f[:, None]) / skm, 1.0)
        t5 = np.where(nd1[:, None] > 1, 1 - (nd1[:, None] - 1) / (tr[:, None] * skmm - 1), 1.0)
        t3 = np.where(on1, t5 * skmm * nd1[:, None] / (tr[:, None] * rs), 0.0)
        b = a - t4[:, None, :] * c
        v = np.einsum("tik,tjk,tk->ij", b, b, t3)
        v2 = np.einsum("tik,tk->ik", b, t4 * t3)
        v3 = np.sum(t4 * t4 * t3, axis=0)
        # competing-cause part (groups with d2 > 0 and S > 0)
        on2 = (skm > 0) & (d2 > 0)
        t4b = np.where(on2, (1 - f[:, None]) / np.where(on2, skm, 1), 0.0)
        t5b = np.where(d2 > 1, 1 - (d2 - 1) / (rs - 1), 1.0)
        t3b = np.where(on2, t5b * skmm**2 * d2 / np.where(on2, rs, 1) ** 2, 0.0)
        v += np.einsum("tik,tjk,tk->ij", c, c, t4b * t4b * t3b)
        v2 -= np.einsum("tik,tk->ik", c, t4b * t4b * t3b)
        v3 += np.sum(t4b * t4b * t3b, axis=0)
    cf = c[-1]
    v += (cf * v3) @ cf.T + cf @ v2.T + v2 @ cf.T
    return score, v


#: A variance column with a norm below this is zero (rounding noise of exact zeros).
_ZERO = 1e-12


def _full_rank(v: np.ndarray, tol: float = 1e-7) -> bool:
    """Whether R's ``qr(v)`` (LINPACK ``dqrdc2``, tolerance 1e-7) finds full rank.

    ``dqrdc2`` takes the columns in order and sets one aside when its norm, after
    projecting out the columns kept before it, is below ``tol`` times its
    original norm (``tol`` itself for a zero column).
    """
    norms = np.linalg.norm(v, axis=0)
    # a column that is zero in exact arithmetic (a cause no group can be compared on) can
    # come out as rounding noise (1.5e-32 where cmprsk has 0): below 1e-12 it is zero,
    # far below any variance of counts of subjects
    norms = np.where(norms < _ZERO, 0.0, norms)
    limit = tol * np.where(norms > 0, norms, 1.0)
    basis = np.zeros((v.shape[0], 0))
    for j in range(v.shape[1]):  # one pass per group, not per subject
        resid = v[:, j] - basis @ (basis.T @ v[:, j])
        size = float(np.linalg.norm(resid))
        if size < limit[j]:
            return False
        basis = np.column_stack((basis, resid / size))
    return True


def _statistic(score: np.ndarray, var: np.ndarray) -> float:
    """``s' V^-1 s``, or -1 where V is rank deficient, as ``cuminc`` (its p is then 1)."""
    if not _full_rank(var):
        return -1.0
    return float(score @ np.linalg.solve(var, score))


def gray_test(
    time, status, group, /, *, strata=None, rho: float = 0.0, entry=None
) -> GrayTestResult:
    """Gray's test that the cumulative incidence of each cause is equal across groups.

    Parameters
    ----------
    time
        Time of the first event or censoring.
    status
        0 = censored, 1..k = cause of the event.
    group
        Group label per subject (at least two groups).
    strata
        Optional strata: scores and variances are summed over strata.
    rho
        Weight exponent: event times weigh ``(1 - F(t-))^rho`` (cmprsk default 0).
    entry
        Refused: Gray's test is not defined for delayed entry (left truncation);
        passing entry times raises :class:`~aftercar.errors.InputError` naming
        the alternative (see ``docs/statistics.md``, "Gray's test").

    Returns
    -------
    GrayTestResult
        ``table`` with ``cause, stat, df, p`` (as ``cuminc(...)$Tests``). A cause
        whose variance matrix is rank deficient (R's ``qr``, tolerance 1e-7) has
        ``stat`` -1 and ``p`` 1, as ``cuminc`` reports it.

    Raises
    ------
    InputError
        Fewer than two groups, bad input, or ``entry`` given.

    References
    ----------
    Gray RJ. A class of K-sample tests for comparing the cumulative incidence of
    a competing risk. Ann Stat 1988;16:1141-1154. R package cmprsk 2.2-11
    (``cuminc``, ``crstm.f``).
    """
    if entry is not None:
        raise InputError(NO_DELAYED_ENTRY)
    t = _inputs.as_float(time, "time")
    st = _as_status(status, t.size)
    levels, g = _inputs.factorize(_inputs.as_labels(group, "group", n=t.size))
    if len(levels) < 2:
        raise InputError("gray_test needs at least two groups; `group` has one level.")
    codes = np.zeros(t.size, dtype=np.int64)
    if strata is not None:
        codes = _inputs.factorize(_inputs.as_labels(strata, "strata", n=t.size))[1]
    ng = len(levels)
    rows = []
    for cause in np.unique(st[st > 0]):
        m = np.where(st == 0, 0, np.where(st == cause, 1, 2))
        score, var = np.zeros(ng), np.zeros((ng, ng))
        for s in np.unique(codes):  # strata are few; each is vectorised
            keep = codes == s
            sc, vv = _crst(t[keep], m[keep], g[keep], ng, float(rho))
            score, var = score + sc, var + vv
        stat = _statistic(score[:-1], var[:-1, :-1])
        rows.append(
            {"cause": int(cause), "stat": stat, "df": ng - 1, "p": float(chi2.sf(stat, ng - 1))}
        )
    return GrayTestResult(pd.DataFrame(rows), tuple(levels), float(rho))
