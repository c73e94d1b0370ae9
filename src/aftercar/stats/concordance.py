r"""Harrell's concordance with its jackknife standard error, as R ``concordance()``.

A pair (i, j) is comparable when i has the event and j is still event-free
after it: ``t_j > t_i``, or ``t_j == t_i`` with j censored (R's convention).
With ``reverse=False`` (R's default for a formula) the pair is concordant when
``x_j > x_i`` (a larger score goes with longer survival); ``reverse=True`` (R's
choice for a Cox model's linear predictor, a risk score) flips it.

.. math:: C = \frac{\mathrm{concordant} + \mathrm{tied.x}/2}
                   {\mathrm{concordant} + \mathrm{discordant} + \mathrm{tied.x}}

Pairs are weighted by :math:`w_i w_j`. The variance is R's infinitesimal
jackknife: subject i's influence is :math:`(N_i - C D_i) / D`, with
:math:`N_i, D_i` the weighted numerator and denominator counts of the pairs
containing i, and ``var`` is the sum of :math:`(w_i\,\mathrm{infl}_i)^2`.

Counting: for every subject the weighted numbers of comparable partners with a
smaller, equal or larger score, as the earlier (event) or the later member of
a pair, come from a divide-and-conquer over the bits of the time ranks: the
points are sorted once by score, each of the log2(K) levels takes running sums
of the partners' weights at the boundaries of the blocks and of the runs of
equal score, then splits every block in two by a stable partition (no sort).
With delayed entry the partners that had not entered by the event time are
counted the same way (by entry rank) and subtracted. O(n log n + n log K),
vectorised, never an n x n array.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtri

from aftercar.errors import InputError
from aftercar.stats import _inputs

__all__ = ["ConcordanceResult", "concordance"]


@dataclass(frozen=True, repr=False, eq=False)
class ConcordanceResult:
    """Result of :func:`concordance` (R ``concordance()``: ``concordance``, ``var``, ``count``).

    Attributes
    ----------
    concordance, std_err, lower, upper
        Harrell's C, its infinitesimal-jackknife SE and the Wald interval.
    concordant, discordant, tied_x, tied_y, tied_xy
        Weighted pair counts as R's ``count``.
    n, conf_level, reverse
        Subjects, interval level, and whether larger scores mean shorter survival.
    """

    concordance: float
    std_err: float
    lower: float
    upper: float
    concordant: float
    discordant: float
    tied_x: float
    tied_y: float
    tied_xy: float
    n: int
    conf_level: float
    reverse: bool

    @property
    def var(self) -> float:
        """Variance of C (R's ``var``)."""
        return self.std_err**2

    def to_frame(self) -> pd.DataFrame:
        """One row with every field."""
        return pd.DataFrame([{k: getattr(self, k) for k in self.__dataclass_fields__}])

    def _repr_html_(self) -> str:
        return f"<p>{self!r}</p>"

    def __repr__(self) -> str:
        return (
            f"ConcordanceResult(C={self.concordance:.4f}, se={self.std_err:.4g}, "
            f"n={self.n}, concordant={self.concordant:g}, discordant={self.discordant:g}, "
            f"tied_x={self.tied_x:g})"
        )


def _bounds(block, x):
    """Start and end (exclusive) of each position's block and run of equal (block, x)."""
    m = block.size
    new_block = np.concatenate(([True], block[1:] != block[:-1]))
    new_run = new_block | np.concatenate(([True], x[1:] != x[:-1]))
    idx = np.arange(m)
    b_start = np.maximum.accumulate(np.where(new_block, idx, 0))
    r_start = np.maximum.accumulate(np.where(new_run, idx, 0))
    b_end = np.minimum.accumulate(np.where(np.append(new_block[1:], True), idx + 1, m)[::-1])
    r_end = np.minimum.accumulate(np.where(np.append(new_run[1:], True), idx + 1, m)[::-1])
    return b_start, r_start, b_end[::-1], r_end[::-1]


def _take_sums(bounds, wpool, take):
    """Per ``take`` position: pool weight (less, equal, greater) in score within its block."""
    b_start, r_start, b_end, r_end = (v[take] for v in bounds)
    cw = np.concatenate(([0.0], np.cumsum(wpool)))
    return np.column_stack(
        (cw[r_start] - cw[b_start], cw[r_end] - cw[r_start], cw[b_end] - cw[r_end])
    )


def _run_sums(block, x, wpool, take):
    """Per ``take`` position: pool weight (less, equal, greater) in score within its block.

    ``block`` and ``x`` are sorted by (block, x); runs of equal (block, x) and
    blocks are found by comparing neighbours, and running sums of pool weight at
    their starts and ends give the three sums.
    """
    return _take_sums(_bounds(block, x), wpool, take)


def _sweep_both(tr, xr, w, d, levels: int):
    """Early and late partner sums (n, 3) each, without delayed entry, in one descent.

    At each level the lower half's events look at the upper half (early role) and
    the upper half looks at the lower half's events (late role): one sorted list,
    one set of block and run boundaries, two running sums of weight.
    """
    n = tr.size
    acc = np.zeros((n, 6))  # early and late sums, kept in the current order
    order = np.argsort(xr, kind="stable")
    rank, x, ev, ww, ident = tr[order], xr[order], d[order], w[order], order
    for lev in range(levels - 1, -1, -1):
        block = rank >> (lev + 1)
        upper = ((rank >> lev) & 1).astype(bool)
        bounds = _bounds(block, x)
        take = np.flatnonzero(~upper & ev)
        if take.size:
            acc[take, 0:3] += _take_sums(bounds, np.where(upper, ww, 0.0), take)
        take = np.flatnonzero(upper)
        if take.size:
            acc[take, 3:6] += _take_sums(bounds, np.where(~upper & ev, ww, 0.0), take)
        if lev:
            order = _partition(block, upper)
            rank, x, ev, ww, ident = rank[order], x[order], ev[order], ww[order], ident[order]
            acc = acc[order]
    out = np.empty((n, 6))
    out[ident] = acc
    return out[:, 0:3], out[:, 3:6]


def _partition(block: np.ndarray, bit: np.ndarray) -> np.ndarray:
    """Permutation that stably moves, inside every block, the ``bit == 0`` items first.

    Items are contiguous by block; the result keeps their order within each half,
    so items sorted by (block, score) become sorted by (finer block, score). O(n).
    """
    m = block.size
    idx = np.arange(m)
    head = np.concatenate(([True], block[1:] != block[:-1]))
    b_start = np.maximum.accumulate(np.where(head, idx, 0))
    zero = ~bit
    cz = np.concatenate(([0], np.cumsum(zero)))
    zeros_before = cz[idx] - cz[b_start]
    b_end = np.minimum.accumulate(np.where(np.append(head[1:], True), idx + 1, m)[::-1])[::-1]
    n_zero = cz[b_end] - cz[b_start]
    pos = np.where(zero, b_start + zeros_before, b_start + n_zero + (idx - b_start - zeros_before))
    perm = np.empty(m, dtype=np.int64)
    perm[pos] = idx
    return perm


def _sweep(q, q_rank, p, p_rank, xr, w, levels: int, after: bool | None):
    """Weighted (less, equal, greater)-score sums per query over pool points whose rank
    is strictly after the query's (``after=True``), before it (False) or equal (None).

    Divide and conquer over rank bits, from the top bit down: a (query, pool) pair
    with different ranks shares the block ``rank >> (lev + 1)`` and differs in bit
    ``lev`` at exactly one level. Items start sorted by score (one block); after each
    level a stable partition on the level's bit (linear, no sort) makes them sorted
    by (finer block, score), so every level is a few passes over memory in order.
    """
    nq = q.size
    out = np.zeros((nq, 3))
    if nq == 0 or p.size == 0:
        return out
    rank = np.concatenate((q_rank, p_rank)).astype(np.int64)
    x = np.concatenate((xr[q], xr[p]))
    pool = np.concatenate((np.zeros(nq, bool), np.ones(p.size, bool)))
    w_all = np.concatenate((np.zeros(nq), w[p]))
    ident = np.arange(rank.size)
    if after is None:
        order = np.argsort(rank * np.int64(int(x.max()) + 1) + x, kind="stable")
        rank, x, pool, w_all, ident = rank[order], x[order], pool[order], w_all[order], ident[order]
        take = np.flatnonzero(~pool)
        out[ident[take]] = _run_sums(rank, x, w_all, take)
        return out
    order = np.argsort(x, kind="stable")
    rank, x, pool, w_all, ident = rank[order], x[order], pool[order], w_all[order], ident[order]
    for lev in range(levels - 1, -1, -1):
        block = rank >> (lev + 1)
        upper = ((rank >> lev) & 1).astype(bool)
        q_on, p_on = (~upper, upper) if after else (upper, ~upper)
        take = np.flatnonzero(~pool & q_on)
        if take.size:
            out[ident[take]] += _run_sums(block, x, np.where(pool & p_on, w_all, 0.0), take)
        if lev:
            order = _partition(block, upper)
            rank, x, pool, w_all, ident = (
                rank[order],
                x[order],
                pool[order],
                w_all[order],
                ident[order],
            )
    return out


def _dominance(q, q_rank, p, p_rank, xr, w, levels, after: bool):
    """Partners strictly after (``after``) or before the query's rank, see :func:`_sweep`."""
    return _sweep(q, q_rank, p, p_rank, xr, w, levels, after)


def _equal(q, q_rank, p, p_rank, xr, w):
    """Weighted (less, equal, greater)-score sums over pool points of the same rank."""
    return _sweep(q, q_rank, p, p_rank, xr, w, 0, None)


def _stratum(t, d, x, w, entry):
    """Per-subject partner sums (n, 6): early less/eq/greater, late less/eq/greater.

    Early (i has the event at t_i): partners j with e_j < t_i and t_j > t_i, or
    t_j = t_i with j censored. Late: the same pairs seen from j.
    """
    grid = np.unique(t if entry is None else np.concatenate((t, entry)))
    tr = np.searchsorted(grid, t).astype(np.int64)
    _, xr = np.unique(x, return_inverse=True)
    xr = xr.reshape(-1).astype(np.int64)
    levels = max(int(np.ceil(np.log2(max(grid.size, 2)))), 1)
    ev, cens, every = np.flatnonzero(d), np.flatnonzero(~d), np.arange(t.size)
    early, late = _sweep_both(tr, xr, w, d, levels)
    early[ev] += _equal(ev, tr[ev], cens, tr[cens], xr, w)
    late[cens] += _equal(cens, tr[cens], ev, tr[ev], xr, w)
    if entry is not None:  # drop partners that had not entered by the event time
        er = np.searchsorted(grid, entry).astype(np.int64)
        early[ev] -= _dominance(ev, tr[ev], every, er, xr, w, levels, True)
        early[ev] -= _equal(ev, tr[ev], every, er, xr, w)
        late -= _dominance(every, er, ev, tr[ev], xr, w, levels, False)
        late -= _equal(every, er, ev, tr[ev], xr, w)
        early, late = _snap_residues(early, w), _snap_residues(late, w)
    tied_y, tied_xy = _tied_times(tr, xr, d, w)
    return np.hstack((early, late)), tied_y, tied_xy


def _snap_residues(sums: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Set to 0 the partner sums that are rounding residues of a subtraction.

    With delayed entry each sum is (all later partners) - (those not yet
    entered), both running sums over weights totalling at most ``w.sum()``; where
    no partner is left the difference is a residue of order 1e-16 ``w.sum()``
    (e.g. a discordant count of -7e-16 instead of R's 0, which made C -0.0
    instead of NaN). Sums below 1e-12 ``w.sum()`` are below that rounding floor.
    """
    tol = 1e-12 * float(w.sum())
    return np.where(np.abs(sums) <= tol, 0.0, sums)


def _tied_times(tr, xr, d, w):
    """Weighted pairs of events at the same time (tied.y), and also on the score (tied.xy)."""

    def pairs(codes):
        _, inv = np.unique(codes[d], return_inverse=True)
        s1 = np.bincount(inv.reshape(-1), weights=w[d])
        s2 = np.bincount(inv.reshape(-1), weights=w[d] ** 2)
        return float(np.sum(s1 * s1 - s2) / 2)

    both = pairs(tr * (int(xr.max(initial=0)) + 2) + xr)
    return pairs(tr) - both, both


def concordance(
    time,
    event,
    score,
    /,
    *,
    weights=None,
    entry=None,
    strata=None,
    reverse: bool = False,
    conf_level: float = 0.95,
) -> ConcordanceResult:
    """Harrell's C and its jackknife SE, as R ``concordance(Surv(time, event) ~ score)``.

    Parameters
    ----------
    time, event
        Follow-up time and event indicator (1 = event, 0 = censored).
    score
        A numeric predictor (e.g. a prognostic index).
    weights
        Optional non-negative case weights (pairs weigh ``w_i w_j``).
    entry
        Optional delayed-entry (start) times, ``Surv(entry, time, event)``: j
        is a partner of event i only if it had entered before ``t_i``.
    strata
        Optional strata: only pairs within a stratum are compared (R ``strata()``).
    reverse
        False (R's default): larger scores predict longer survival. True: larger
        scores predict shorter survival, as a Cox linear predictor (R uses
        ``reverse=TRUE`` for ``concordance(coxph_fit)``).
    conf_level
        Level of the Wald interval ``C +/- z se``.

    Returns
    -------
    ConcordanceResult
        With no comparable pair (every subject censored, or no event before
        another time) ``concordance``, ``std_err`` and the limits are NaN and the
        pair counts 0, as R.

    Examples
    --------
    >>> r = concordance([1, 2, 3, 4], [1, 1, 1, 0], [1, 2, 4, 3])
    >>> r.concordant, r.discordant, r.concordance
    (5.0, 1.0, 0.8333333333333334)

    References
    ----------
    Harrell FE et al. Evaluating the yield of medical tests. JAMA 1982;247:2543-2546.
    Therneau TM, Atkinson EJ. The concordance statistic (survival package vignette).
    """
    t = _inputs.as_float(time, "time")
    if t.size == 0:
        raise InputError("concordance needs at least one subject; `time` is empty.")
    d = _inputs.as_event(event, n=t.size)
    x = _inputs.as_float(score, "score", n=t.size)
    w = _inputs.as_weights(weights, n=t.size)
    en = _inputs.as_entry(entry, t)
    t, en = _inputs.timefix(t, en)
    if reverse:
        x = -x
    codes = np.zeros(t.size, dtype=np.int64)
    if strata is not None:
        codes = _inputs.factorize(_inputs.as_labels(strata, "strata", n=t.size))[1]
    sums = np.zeros((t.size, 6))
    ties = np.zeros(2)
    for s in np.unique(codes):  # strata are few; each is vectorised
        rows = np.flatnonzero(codes == s)
        part, tied_y, tied_xy = _stratum(
            t[rows], d[rows], x[rows], w[rows], None if en is None else en[rows]
        )
        sums[rows] = part
        ties += (tied_y, tied_xy)
    return _result(sums, w, ties, reverse, conf_level)


def _result(sums, w, ties, reverse, conf_level) -> ConcordanceResult:
    early_less, early_eq, early_greater = sums[:, 0], sums[:, 1], sums[:, 2]
    conc = float(w @ early_greater)
    disc = float(w @ early_less)
    tied_x = float(w @ early_eq)
    den = conc + disc + tied_x
    c = se = float("nan")  # no comparable pair: R's concordance and var are NaN
    if den > 0:
        c = (conc + tied_x / 2) / den
        num_i = sums[:, 2] + sums[:, 3] + 0.5 * (sums[:, 1] + sums[:, 4])
        den_i = sums.sum(axis=1)
        infl = w * (num_i - c * den_i) / den
        se = float(np.sqrt(infl @ infl))
    z = float(ndtri(1 - (1 - conf_level) / 2))
    return ConcordanceResult(
        concordance=float(c),
        std_err=se,
        lower=float(c - z * se),
        upper=float(c + z * se),
        concordant=conc,
        discordant=disc,
        tied_x=tied_x,
        tied_y=float(ties[0]),
        tied_xy=float(ties[1]),
        n=int(w.size),
        conf_level=float(conf_level),
        reverse=bool(reverse),
    )
