"""Numerical core of :func:`aftercar.stats.cox_ph` (see ``cox.py`` for the derivation).

Everything here works on validated float arrays. The risk-set bookkeeping is
built once (:class:`CoxDesign`); each Newton-Raphson iteration then costs a few
``np.bincount`` passes over the rows and O(events * p^2) work on the tied-event
terms. The small dense linear algebra (``cholesky2``, ``chsolve2``, ``chinv2``,
``coxph.wtest``) is a line-by-line port of R survival's C routines so that rank
handling and tolerances behave exactly as in R.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# --------------------------------------------------------------------------
# R survival's generalised Cholesky (cholesky2.c, chsolve2.c, chinv2.c)
# loops run over covariates (p), never over rows.
# --------------------------------------------------------------------------


def cholesky2(matrix: np.ndarray, toler: float) -> tuple[np.ndarray, int]:
    """Return R's ``cholesky2`` FDF' factor (lower triangle, D on the diagonal) and rank."""
    m = np.array(matrix, dtype=np.float64, copy=True)
    n = m.shape[0]
    diag = np.diag(m)
    eps = float(np.max(diag, initial=0.0))
    eps = max(eps, 0.0)
    if eps == 0:
        np.fill_diagonal(m, 0.0)
        return m, 0
    eps *= toler
    rank, nonneg = 0, 1
    for i in range(n):
        pivot = m[i, i]
        if not np.isfinite(pivot) or pivot < eps:
            m[i, i] = 0.0
            if pivot < -8 * eps:
                nonneg = -1
            continue
        rank += 1
        for j in range(i + 1, n):
            temp = m[j, i] / pivot
            m[j, i] = temp
            m[j, j] -= temp * temp * pivot
            m[j + 1 :, j] -= temp * m[j + 1 :, i]
    return m, rank * nonneg


def chsolve2(chol: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Solve ``A b = y`` given R's ``cholesky2`` factor of ``A`` (singular parts -> 0)."""
    n = chol.shape[0]
    b = np.array(y, dtype=np.float64, copy=True)
    for i in range(n):
        b[i] -= float(np.dot(b[:i], chol[i, :i]))
    for i in range(n - 1, -1, -1):
        if chol[i, i] == 0:
            b[i] = 0.0
        else:
            b[i] = b[i] / chol[i, i] - float(np.dot(b[i + 1 :], chol[i + 1 :, i]))
    return b


def chinv2(chol: np.ndarray) -> np.ndarray:
    """Return the (generalised) inverse from R's ``cholesky2`` factor, as ``chinv2.c``."""
    m = np.array(chol, dtype=np.float64, copy=True)
    n = m.shape[0]
    for i in range(n):
        if m[i, i] > 0:
            m[i, i] = 1.0 / m[i, i]
            for j in range(i + 1, n):
                m[j, i] = -m[j, i]
                m[j, :i] += m[j, i] * m[i, :i]
    for i in range(n):
        if m[i, i] == 0:
            m[:i, i] = 0.0
            m[i, i:] = 0.0
            continue
        for j in range(i + 1, n):
            temp = m[j, i] * m[j, j]
            m[i, j] = temp
            m[i, i:j] += temp * m[j, i:j]
    upper = np.triu(m)
    return upper + np.triu(upper, 1).T


def wald_statistic(var: np.ndarray, b: np.ndarray, toler: float) -> float:
    """R's ``coxph.wtest``: ``b' var^- b`` through ``cholesky2`` (singular parts dropped)."""
    chol, _ = cholesky2(var, toler)
    return float(np.dot(b, chsolve2(chol, b)))


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values via one sort (numpy 2.4's hash-based ``np.unique`` takes
    ~1 s on 1e6 wide-range int64 keys, a sort 10 ms). Inputs are finite."""
    s = np.sort(values)
    if s.size == 0:
        return s
    return s[np.concatenate([[True], s[1:] != s[:-1]])]


def aeq_times(
    stop: np.ndarray, entry: np.ndarray | None, tol: float = np.sqrt(np.finfo(float).eps)
):
    """R's ``aeqSurv`` (``coxph.control(timefix=TRUE)``): merge times closer than ``tol``.

    Consecutive distinct times whose gap is ``<= tol`` absolutely or relative to
    the mean absolute time are replaced by the first of the run, so values such
    as 0.1 + 0.2 and 0.3 count as tied exactly as in R. Returns new arrays and
    the positions of intervals that collapsed to zero length (R errors on those).
    """
    y = sorted_unique(stop if entry is None else np.concatenate([stop, entry]))
    dy = np.diff(y)
    scale = np.mean(np.abs(y))
    with np.errstate(divide="ignore", invalid="ignore"):
        tied = (dy <= tol) | (dy / scale <= tol)
    if not tied.any():
        return stop, entry, np.zeros(stop.size, dtype=bool)
    cuts = y[np.concatenate([[True], ~tied])]
    new_stop = cuts[np.searchsorted(cuts, stop, side="right") - 1]
    if entry is None:
        return new_stop, None, np.zeros(stop.size, dtype=bool)
    new_entry = cuts[np.searchsorted(cuts, entry, side="right") - 1]
    return new_stop, new_entry, new_entry >= new_stop


# --------------------------------------------------------------------------
# Risk-set bookkeeping
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CoxDesign:
    """Risk-set index of a (start, stop] Cox model, built once after validation.

    Event groups are the distinct (stratum, stop time) pairs with at least one
    event, ordered by stratum then time. Row ``i`` is at risk for the groups
    ``a[i] <= g < b[i]``; its own event (if any) is group ``b[i] - 1``. Rows are
    stored permuted (``perm``): the event rows first, ordered by group, then the
    other rows ordered by exit bin, so per-group event sums and exit-bin sums are
    contiguous ``np.add.reduceat`` segments (several times faster than
    ``np.bincount`` over a million rows).
    """

    x: np.ndarray  # (n, p) covariates, centred and scaled as R does (column-major)
    w: np.ndarray  # (n,) case weights
    event: np.ndarray  # (n,) bool
    a: np.ndarray  # (n,) first group the row is at risk for
    b: np.ndarray  # (n,) one past the last group the row is at risk for
    a_bin: np.ndarray  # (n,) a + stratum code: each stratum gets its own bin range
    b_bin: np.ndarray  # (n,) b + stratum code
    n_bins: int
    pos: np.ndarray  # (G,) bin just after each group (its risk set starts there)
    boundary: np.ndarray  # (G,) first bin of the next stratum (reset point)
    start: np.ndarray  # (G,) first bin of the group's stratum
    segments: tuple  # (first bin, number of bins) of each stratum that has events
    has_entry: bool  # delayed entry / counting process: rows enter after the start
    perm: np.ndarray  # (n,) original row of each stored row
    n_events: int  # the first n_events stored rows are the events
    gstart: np.ndarray  # (G,) first event row (and Efron term) of each group
    exit_runs: tuple  # ((starts, bins) of the event block, (starts, bins) of the rest)
    a_trivial: bool  # every row enters at the first group (no entry, no strata)
    n_groups: int
    death_group: np.ndarray  # group of each event row (stored order)
    term_frac: np.ndarray  # Efron down-weight k/d of each tied-event term (0 for Breslow)
    group_d: np.ndarray  # number of events per group
    group_meanwt: np.ndarray  # mean case weight of the events per group
    wx_events: np.ndarray  # (p,) sum over events of w x (constant part of the score)
    tri: tuple[np.ndarray, np.ndarray]  # upper-triangle indices of a p x p matrix


def _time_keys(stop, entry, strata):
    """Integer keys ``stratum * (M + 1) + rank(time)``; entry rank 0 means 'from -inf'."""
    if entry is None:
        times = sorted_unique(stop)
        rank_entry = np.zeros(stop.size, dtype=np.int64)
    else:
        times = sorted_unique(np.concatenate([stop, entry]))
        rank_entry = np.searchsorted(times, entry).astype(np.int64) + 1
    rank_stop = np.searchsorted(times, stop).astype(np.int64) + 1
    stride = np.int64(times.size + 1)
    base = strata.astype(np.int64) * stride
    return base + rank_stop, base + rank_entry, stride


def _stratum_bins(groups, stride, strata, a, b):
    """Per-stratum bin layout for the reverse cumulative risk sums.

    Bin indices are shifted by the stratum code so every stratum has its own
    range plus an end bin; the risk sum at group g is ``R[pos] - R[boundary]``
    with R the reverse cumulative sum, which removes the rounding residue of
    later strata exactly (their entries and exits cancel) instead of letting it
    leak into a small risk set.
    """
    g_stratum = groups // stride
    ng = groups.size
    last = np.searchsorted(g_stratum, g_stratum, side="right") - 1  # last group of stratum
    first = np.searchsorted(g_stratum, g_stratum, side="left")
    pos = np.arange(ng) + g_stratum + 1
    boundary = last + g_stratum + 2
    n_bins = int(ng + (strata.max() if strata.size else 0) + 2)
    return a + strata, b + strata, n_bins, pos, boundary, first + g_stratum


def _segments(groups, stride, start):
    """First bin and bin count (groups + 1 end bin) of each stratum with events."""
    g_stratum = groups // stride
    heads = np.flatnonzero(np.concatenate([[True], g_stratum[1:] != g_stratum[:-1]]))
    sizes = np.diff(np.concatenate([heads, [groups.size]]))
    return start[heads], sizes + 1


def _stratum_cumsum(design: CoxDesign, per_group: np.ndarray) -> np.ndarray:
    """Cumulative sum of per-group values restarted in every stratum, laid out on bins.

    ``E[b_bin] - E[a_bin]`` is then a row's window sum over ``a <= g < b``. A
    global cumsum differenced within a stratum would carry the earlier strata's
    totals and lose the low digits of a small local sum (seen with large
    coefficients); here each stratum is summed on its own: as rows of a padded
    2-d array when that is compact, else one ``np.cumsum`` per stratum.
    """
    vals = np.zeros(design.n_bins)
    vals[design.pos] = per_group
    heads, sizes = design.segments
    if heads.size == 1:
        return np.cumsum(vals)
    out = np.zeros(design.n_bins)
    width = int(sizes.max())
    if heads.size * width <= 4 * design.n_bins + 4096:
        cols = np.arange(width)
        mask = cols[None, :] < sizes[:, None]
        idx = (heads[:, None] + cols[None, :])[mask]
        pad = np.zeros((heads.size, width))
        pad[mask] = vals[idx]
        out[idx] = np.cumsum(pad, axis=1)[mask]
        return out
    for head, size in zip(heads, sizes, strict=True):  # many strata of unequal size
        out[head : head + size] = np.cumsum(vals[head : head + size])
    return out


def _efron_terms(death_group, n_groups, ties):
    """Per-event term fraction k/d within its tied group (0 for Breslow)."""
    group_d = np.bincount(death_group, minlength=n_groups)
    if ties == "breslow":
        return np.zeros(death_group.size), group_d
    starts = np.concatenate([[0], np.cumsum(group_d)[:-1]])
    k = np.arange(death_group.size) - starts[death_group]
    return k / group_d[death_group], group_d


def build_design(x, w, event, stop, entry, strata, ties) -> CoxDesign:
    """Sort once and index every row's risk-set window over the event groups."""
    key_stop, key_entry, stride = _time_keys(stop, entry, strata)
    groups = sorted_unique(key_stop[event])
    ng = int(groups.size)
    b = np.searchsorted(groups, key_stop, side="right")
    if entry is None:  # every row enters at its stratum's start: look up per stratum
        n_strata = int(strata.max()) + 1 if strata.size else 1
        first = np.searchsorted(groups, np.arange(n_strata) * stride, side="right")
        a = first[strata]
    else:
        a = np.searchsorted(groups, key_entry, side="right")
    a_bin, b_bin, n_bins, pos, boundary, start = _stratum_bins(groups, stride, strata, a, b)
    perm = np.argsort(np.where(event, b_bin, b_bin + n_bins), kind="stable")
    nd = int(event.sum())
    death_group = b[perm[:nd]] - 1
    frac, group_d = _efron_terms(death_group, ng, ties)
    w = w[perm]
    deadwt = np.bincount(death_group, weights=w[:nd], minlength=ng)
    xs = np.empty(x.shape, order="F")
    for j in range(x.shape[1]):  # 1-d takes: a 2-d fancy row gather is several times slower
        xs[:, j] = np.take(x[:, j], perm)
    x = xs
    return CoxDesign(
        x=x,
        w=w,
        event=event[perm],
        a=a[perm],
        b=b[perm],
        a_bin=a_bin[perm],
        b_bin=b_bin[perm],
        n_bins=n_bins,
        pos=pos,
        boundary=boundary,
        start=start,
        segments=_segments(groups, stride, start),
        has_entry=entry is not None,
        perm=perm,
        n_events=nd,
        gstart=np.concatenate([[0], np.cumsum(group_d)[:-1]]),
        exit_runs=(_runs(b_bin[perm[:nd]]), _runs(b_bin[perm[nd:]])),
        a_trivial=bool(not np.any(a)),
        n_groups=ng,
        death_group=death_group,
        term_frac=frac,
        group_d=group_d,
        group_meanwt=deadwt / group_d,
        wx_events=w[:nd] @ x[:nd],
        tri=np.triu_indices(x.shape[1]),
    )


def _runs(sorted_bins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start index and value of each run of equal values in a sorted array."""
    if sorted_bins.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate([[True], sorted_bins[1:] != sorted_bins[:-1]]))
    return starts, sorted_bins[starts]


def _exit_bins(design: CoxDesign, v: np.ndarray) -> np.ndarray:
    """``np.bincount(b_bin, v)`` from the two sorted blocks with ``np.add.reduceat``."""
    out = np.zeros(design.n_bins)
    (st_ev, bins_ev), (st_rest, bins_rest) = design.exit_runs
    nd = design.n_events
    out[bins_ev] = np.add.reduceat(v[:nd], st_ev)
    if st_rest.size:
        out[bins_rest] += np.add.reduceat(v[nd:], st_rest)
    return out


def _risk_sum_once(design: CoxDesign, v: np.ndarray, fwd: np.ndarray | None = None):
    """Sum of row values ``v`` over each event group's risk set -> (G,).

    Rows enter at group ``a`` and leave after group ``b - 1``. The sum at group g
    is (rows with b > g) - (rows with a > g), a reverse cumulative sum of
    per-group bins reset at each stratum boundary (see ``_stratum_bins``). With
    delayed entry it can also be taken forwards, (rows with a <= g) - (rows with
    b <= g); groups flagged in ``fwd`` use that form, which avoids cancelling
    the rows that have not entered yet.
    """
    bins_b = _exit_bins(design, v)
    if design.a_trivial:
        return np.cumsum(bins_b[::-1])[::-1][design.pos]
    net = bins_b - np.bincount(design.a_bin, weights=v, minlength=design.n_bins)
    rev = np.cumsum(net[::-1])[::-1]
    out = rev[design.pos] - rev[design.boundary]
    if fwd is not None and fwd.any():
        cum = np.concatenate([[0.0], np.cumsum(-net)])
        out = np.where(fwd, cum[design.pos] - cum[design.start], out)
    return out


_BUCKET_WIDTH = 10.0  # linear predictors within e^10 of each other share a bucket


@dataclass(frozen=True, eq=False)
class RiskPlan:
    """How to take risk-set sums at one beta (see :func:`plan_sums`)."""

    fwd: np.ndarray | None  # groups summed forwards
    buckets: tuple | None  # (masks (B, n), at-risk counts (B, G)) or None


def plan_sums(design: CoxDesign, risk: np.ndarray, eta: np.ndarray) -> RiskPlan:
    """Choose the summation for each group; split rows by size of the risk score.

    With delayed entry a running sum adds rows as they enter and subtracts them
    as they leave, so a huge risk score that has come and gone leaves rounding
    noise of eps x exp(eta_max) in every later small risk set (near an infinite
    coefficient this is larger than the log-likelihood's last changes). Rows are
    then summed in buckets of similar linear predictor; a bucket with nobody at
    risk in a group (an exact integer count) contributes exactly 0 there.
    """
    fwd = _forward_groups(design, risk)
    if not design.has_entry or design.a_trivial or eta.size == 0:
        return RiskPlan(fwd, None)
    finite = eta[np.isfinite(eta)]
    if finite.size == 0 or np.ptp(finite) <= _BUCKET_WIDTH:
        return RiskPlan(fwd, None)
    ids = np.floor((np.clip(eta, finite.min(), finite.max()) - finite.min()) / _BUCKET_WIDTH)
    masks = [ids == b for b in np.unique(ids)]
    counts = [_risk_sum_once(design, m.astype(float)) for m in masks]
    return RiskPlan(fwd, (masks, counts))


def _risk_sum(design: CoxDesign, v: np.ndarray, plan: RiskPlan | None = None):
    """Risk-set sums of ``v`` per event group, following ``plan`` (buckets, direction)."""
    if plan is None:
        return _risk_sum_once(design, v)
    if plan.buckets is None:
        return _risk_sum_once(design, v, plan.fwd)
    total = np.zeros(design.n_groups)
    for mask, count in zip(*plan.buckets, strict=True):  # a few buckets, small first
        part = _risk_sum_once(design, np.where(mask, v, 0.0), plan.fwd)
        total += np.where(count > 0.5, part, 0.0)
    return total


def _forward_groups(design: CoxDesign, risk: np.ndarray) -> np.ndarray | None:
    """Groups where the forward sum touches less mass than the reverse one.

    The rounding error of either form is about machine eps times the total
    (positive) risk it accumulates: rows not yet exited (reverse) or rows
    already entered (forward). Only delayed entry makes the choice matter.
    """
    if not design.has_entry or design.a_trivial:
        return None
    both = np.bincount(design.b_bin, weights=risk, minlength=design.n_bins) + np.bincount(
        design.a_bin, weights=risk, minlength=design.n_bins
    )
    rev = np.cumsum(both[::-1])[::-1]
    cum = np.concatenate([[0.0], np.cumsum(both)])
    return (cum[design.pos] - cum[design.start]) < (rev[design.pos] - rev[design.boundary])


def _death_sum(design: CoxDesign, v: np.ndarray) -> np.ndarray:
    """Sum of row values ``v`` over each group's own events -> (G,)."""
    return np.add.reduceat(v[: design.n_events], design.gstart)


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Log partial likelihood, score and information at one beta, plus group terms."""

    loglik: float
    u: np.ndarray
    imat: np.ndarray
    score: np.ndarray  # exp(x beta), unweighted
    s0: np.ndarray  # (G,) weighted risk-set sums
    s1: np.ndarray  # (G, p)
    d0: np.ndarray  # (G,) weighted risk of the events
    d1: np.ndarray  # (G, p)


def _efron_terms_at(design: CoxDesign, s0, d0):
    """Per event term: denominator ``S0 - f D0``, ``1/den`` and ``f/den`` (f = k/d).

    The Efron mean of a term is ``m = S1 / den - f D1 / den``, so every sum over
    terms of (scalar x m) reduces to per-group sums of the scalars times
    ``S1`` and ``D1``: no (events x p) arrays are formed.
    """
    g, f = design.death_group, design.term_frac
    den = s0[g] - f * d0[g]
    inv = 1.0 / den
    return den, inv, f * inv


def _gsum(design: CoxDesign, values: np.ndarray) -> np.ndarray:
    """Sum per-term values within each group (terms are stored group by group)."""
    return np.add.reduceat(values, design.gstart)


class _RiskColumns:
    """``risk * x[:, j]`` on demand, keeping only the last one (not p arrays of n).

    Callers ask for the columns in non-decreasing ``j``, so each is computed
    once per pass; the values are the same as a precomputed list's.
    """

    def __init__(self, risk: np.ndarray, x: np.ndarray) -> None:
        self.risk, self.x, self.j, self.v = risk, x, -1, None

    def __getitem__(self, j: int) -> np.ndarray:
        if j != self.j:
            self.v, self.j = None, -1  # free the old column first
            self.v, self.j = self.risk * self.x[:, j], j
        return self.v


def _first_moments(design, fwd, xr: _RiskColumns, p: int) -> tuple[np.ndarray, np.ndarray]:
    """Risk-set and death sums of ``risk * x`` per event group -> (G, p) each."""
    s1 = np.empty((design.n_groups, p))
    d1 = np.empty((design.n_groups, p))
    for j in range(p):
        s1[:, j] = _risk_sum(design, xr[j], fwd)
        d1[:, j] = _death_sum(design, xr[j])
    return s1, d1


def _information(design, fwd, xr, s1, d1, inv, fi, mw):
    """Information matrix: sum over terms of mw [(S2 - f D2)/den - m m']."""
    x, (ti, tk) = design.x, design.tri
    c1, c2 = _gsum(design, mw * inv), _gsum(design, mw * fi)
    second = np.empty(ti.size)
    for idx in range(ti.size):
        v = xr[ti[idx]] * x[:, tk[idx]]
        second[idx] = c1 @ _risk_sum(design, v, fwd) - c2 @ _death_sum(design, v)
    p = x.shape[1]
    imat = np.empty((p, p))
    imat[ti, tk] = second
    imat[tk, ti] = second
    # sum_t mw m m' with m = S1 inv - D1 fi, expanded per group
    e0, e1, e2 = (
        _gsum(design, mw * inv * inv),
        _gsum(design, mw * inv * fi),
        _gsum(design, mw * fi * fi),
    )
    cross = (s1 * e1[:, None]).T @ d1
    mm = (s1 * e0[:, None]).T @ s1 - cross - cross.T + (d1 * e2[:, None]).T @ d1
    return imat - mm


def evaluate(design: CoxDesign, beta: np.ndarray, *, need_imat: bool = True) -> Evaluation:
    """Loglik, score vector and information matrix at ``beta`` (R's ``coxfit6_iter``).

    Efron: a group with d tied events contributes d terms; term k uses the risk
    set sums minus k/d of the events' own sums, each weighted by the events'
    mean case weight. Breslow is the same with k/d = 0.
    """
    x, p = design.x, design.x.shape[1]
    # a Newton step can overflow exp(eta) (monotone likelihood): the sums are then inf / NaN
    # and the caller halves the step (R's coxfit6), so no floating-point warning here
    with np.errstate(over="ignore", invalid="ignore"):
        eta = x @ beta
        score = np.exp(eta)
        risk = score * design.w
        xr = _RiskColumns(risk, x)
        fwd = plan_sums(design, risk, eta)
        s0, d0 = _risk_sum(design, risk, fwd), _death_sum(design, risk)
        s1, d1 = _first_moments(design, fwd, xr, p)
    mw = design.group_meanwt[design.death_group]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        den, inv, fi = _efron_terms_at(design, s0, d0)
        nd = design.n_events
        loglik = float(np.dot(design.w[:nd], eta[:nd]) - np.dot(mw, np.log(den)))
        u = design.wx_events - (_gsum(design, mw * inv) @ s1 - _gsum(design, mw * fi) @ d1)
        imat = _information(design, fwd, xr, s1, d1, inv, fi, mw) if need_imat else None
    return Evaluation(loglik, u, imat, score, s0, s1, d0, d1)


_BAND_WIDTH = 2.0  # hazard sums within e^2 of each other share a band in window sums


def _hazard_bands(design: CoxDesign, ev: Evaluation, hsum: np.ndarray) -> np.ndarray | None:
    """Magnitude band of each group's hazard sum, or None when one band is enough.

    With delayed entry a row's window sum is a difference of cumulative sums, which
    carry the large hazards of small risk sets outside the window. A row with a huge
    risk score (a near-infinite coefficient) is only at risk where the hazards are
    tiny, and multiplies that rounding residue by its score (R's ``agscore2`` sums
    the window directly: robust SE 2.088, and 9.078 here before the third R probe).
    Summed band by band, a band absent from the window contributes exactly 0.
    """
    if not design.has_entry or design.a_trivial:
        return None
    eta = np.log(ev.score[(ev.score > 0) & np.isfinite(ev.score)])
    pos = hsum > 0
    if eta.size == 0 or np.ptp(eta) <= _BUCKET_WIDTH or not pos.any():
        return None
    log_h = np.log(np.where(pos, hsum, hsum[pos].min()))
    return np.floor((log_h - log_h.min()) / _BAND_WIDTH)


def _window(design: CoxDesign, per_group: np.ndarray, bands=None) -> np.ndarray:
    """Sum of per-group values over each row's at-risk groups ``a <= g < b``.

    ``bands`` (from :func:`_hazard_bands`): sum each band of groups on its own.
    """
    if bands is not None:
        parts = (_window(design, np.where(bands == b, per_group, 0.0)) for b in np.unique(bands))
        return np.sum(list(parts), axis=0)
    cum = _stratum_cumsum(design, per_group)
    return cum[design.b_bin] if design.a_trivial else cum[design.b_bin] - cum[design.a_bin]


def score_residuals(design: CoxDesign, ev: Evaluation, *, stored: bool = False) -> np.ndarray:
    """Per-row score residuals (n, p) as R's ``coxscore2`` / ``agscore2``.

    Rows come in the original order, or in the design's stored order when
    ``stored`` (no scatter; pair them with ``design.w`` and codes ``[design.perm]``).

    With ``h_k = meanwt / den_k`` and ``m_k`` the k-th Efron mean of a group,
    a row at risk but not failing in the group gets ``-r_i sum_k h_k (x_i - m_k)``;
    a row failing in it gets ``x_i - mean_k(m_k) - r_i sum_k (1 - k/d) h_k (x_i - m_k)``.
    Summed over a row's (entry, stop] window this is ``-r_i (x_i H - XH)`` from
    cumulative sums over groups, plus the correction for the row's own event group.
    """
    resid = np.empty(design.x.shape, order="F")
    dest = slice(None) if stored else design.perm
    for j, col in _residual_columns(design, ev):
        resid[dest, j] = col
    return resid


def cluster_score_sums(
    design: CoxDesign, ev: Evaluation, codes: np.ndarray, n_clusters: int
) -> np.ndarray:
    """Weighted score residuals summed within cluster -> (n_clusters, p).

    The column sums within ``codes`` (in stored row order) of
    ``score_residuals(design, ev, stored=True) * design.w[:, None]``, one column
    at a time: no (n, p) matrix is held (at 3M rows x 10 covariates each one is
    240 MB).
    """
    out = np.empty((n_clusters, design.x.shape[1]))
    for j, col in _residual_columns(design, ev):
        col *= design.w
        out[:, j] = np.bincount(codes, weights=col, minlength=n_clusters)
    return out


def _residual_columns(design: CoxDesign, ev: Evaluation):
    """Yield ``(j, residual column j)`` in the design's stored row order."""
    x, g, f = design.x, design.death_group, design.term_frac
    with np.errstate(divide="ignore", invalid="ignore"):
        _, inv, fi = _efron_terms_at(design, ev.s0, ev.d0)
    haz = design.group_meanwt[g] * inv
    hdn = haz * (1 - f)
    hsum, hdown = _gsum(design, haz), _gsum(design, hdn)
    # per group: XH = sum_k h_k m_k, XH_down = sum_k (1-f) h_k m_k, mbar = mean_k m_k
    coef_xh = (_gsum(design, haz * inv), _gsum(design, haz * fi))
    coef_xhd = (_gsum(design, hdn * inv), _gsum(design, hdn * fi))
    coef_mb = (_gsum(design, inv) / design.group_d, _gsum(design, fi) / design.group_d)
    r = ev.score
    rows = slice(0, design.n_events)
    bands = _hazard_bands(design, ev, hsum)
    hwin = _window(design, hsum, bands)
    rd = r[rows]
    h_own = (hsum - hdown)[g]
    for j in range(x.shape[1]):
        s1, d1 = ev.s1[:, j], ev.d1[:, j]
        xh = coef_xh[0] * s1 - coef_xh[1] * d1
        xhd = coef_xhd[0] * s1 - coef_xhd[1] * d1
        mbar = coef_mb[0] * s1 - coef_mb[1] * d1
        col = x[:, j] * hwin  # -r (x hwin - window(xh)), in place: fewer n-row temporaries
        col -= _window(design, xh, bands)
        col *= r
        np.negative(col, out=col)
        xd = x[rows, j]
        own = xd - mbar[g]  # xd - mbar[g] + rd (xd (hsum - hdown)[g] - (xh - xhd)[g])
        part = xd * h_own
        part -= (xh - xhd)[g]
        part *= rd
        own += part
        del part
        col[rows] += own
        yield j, col


def group_score_information(design: CoxDesign, beta: np.ndarray):
    """Per event group score ``(G, p)`` and information ``(G, p, p)`` at ``beta``.

    The summands of :func:`evaluate`'s ``u`` and ``imat``, one per distinct
    (stratum, event time): what R's ``zph1``/``zph2`` weight by g(t) and g(t)^2
    for ``cox.zph``.
    """
    x, p = design.x, design.x.shape[1]
    with np.errstate(over="ignore", invalid="ignore"):
        eta = x @ beta
        risk = np.exp(eta) * design.w
    xr = _RiskColumns(risk, x)
    fwd = plan_sums(design, risk, eta)
    s0, d0 = _risk_sum(design, risk, fwd), _death_sum(design, risk)
    s1, d1 = _first_moments(design, fwd, xr, p)
    mw = design.group_meanwt[design.death_group]
    nd = design.n_events
    with np.errstate(divide="ignore", invalid="ignore"):
        _, inv, fi = _efron_terms_at(design, s0, d0)
        c1, c2 = _gsum(design, mw * inv), _gsum(design, mw * fi)
        e0, e1, e2 = (_gsum(design, mw * a * b) for a, b in ((inv, inv), (inv, fi), (fi, fi)))
    wx = np.add.reduceat(design.w[:nd, None] * x[:nd], design.gstart, axis=0)
    u = wx - (c1[:, None] * s1 - c2[:, None] * d1)
    info = np.empty((design.n_groups, p, p))
    for j in range(p):
        for k in range(j, p):
            v = xr[j] * x[:, k]
            second = c1 * _risk_sum(design, v, fwd) - c2 * _death_sum(design, v)
            mm = (
                e0 * s1[:, j] * s1[:, k]
                - e1 * (s1[:, j] * d1[:, k] + d1[:, j] * s1[:, k])
                + e2 * d1[:, j] * d1[:, k]
            )
            info[:, j, k] = info[:, k, j] = second - mm
    return u, info
