"""Kaplan-Meier survival curves that reproduce R ``survival::survfit``.

Implemented here rather than taken from a library: statsmodels' ``SurvfuncRight``
matches R's estimates but has no delayed entry with weights, no R-style quantile
midpoint rule for all three interval types and no per-row Python-free grouping;
lifelines and scikit-survival differ from R in the interval and quantile
conventions. The whole curve is computed from one sort (``np.unique``) and
cumulative sums, so 10^6 rows take a fraction of a second.

Conventions copied from R survival 3.5-3 (``survfitKM``, ``survfit_confint``,
``quantile.survfit``, ``summary.survfit``):

* one row per distinct time, censor-only times included (``censored=TRUE``);
  a subject censored at an event time counts as at risk at that time;
* with ``entry`` (left truncation) the risk set at ``t`` is ``entry < t <= time``;
* Greenwood variance, weighted counts with case weights. When any weight is not a
  whole number R switches to the infinitesimal-jackknife (robust) variance by
  default, and so do we. Its fast expanded sums are replaced by sums over each
  row's own window (:mod:`aftercar.stats._stable`) where they may lose more
  than 1e-8 of the variance: case weights spanning 1e3 or more, delayed entry;
* ``std_err`` is the standard error of the survival estimate (R's summary value,
  i.e. survival times the standard error of the cumulative hazard);
* intervals: ``plain`` is S +/- z se clipped to [0, 1], ``log`` is
  exp(log S +/- z se_H) capped at 1, ``log-log`` is on log(-log S); limits are
  missing (NaN) where R gives NA: S = 0 for every type (the standard error is
  0 x inf) and S = 1 for log-log.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.special import ndtri

from aftercar.errors import InputError
from aftercar.stats import _inputs, _stable
from aftercar.stats._km_result import KaplanMeier, QuantileEstimate, grouped

__all__ = ["CONF_TYPES", "MIN_CLUSTERS", "KaplanMeier", "QuantileEstimate", "kaplan_meier"]

CONF_TYPES = ("log-log", "log", "plain")
TABLE_COLUMNS = ("time", "n_risk", "n_event", "n_censor", "surv", "std_err", "lower", "upper")
MIN_CLUSTERS = _inputs.MIN_CLUSTERS


def __getattr__(name: str):
    if name == "KaplanMeierGroups":
        warnings.warn(
            "KaplanMeierGroups is deprecated: kaplan_meier(..., by=) returns a KaplanMeier "
            "with one curve per group (fit.groups, fit[label], fit.medians()).",
            DeprecationWarning,
            stacklevel=2,
        )
        return KaplanMeier
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---------------------------------------------------------------------------
# core computation


def _not_entered(ut: np.ndarray, entry: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weight of the rows that have not entered by each time ``ut`` (``entry >= t``)."""
    order = np.argsort(entry, kind="stable")
    cw = np.concatenate(([0.0], np.cumsum(w[order])))
    return cw[-1] - cw[np.searchsorted(entry[order], ut, side="left")]


def _risk_weight(ut: np.ndarray, time: np.ndarray, entry: np.ndarray, values, side="left"):
    """Sums of each array in ``values`` over the rows at risk at each ``ut`` (entry < t <= time).

    The sum over rows leaving at or after t minus the sum over rows entering at
    or after t, both from double-double prefix sums over the rows (sorted by
    time and by entry), rounded once: heavy rows outside the risk set leave no
    rounding residue (about eps^2 times their weight, where single prefix sums
    leave eps times it). ``side="right"``: the rows still at risk after t
    (entry < t < time).
    """
    by_time, by_entry = np.argsort(time, kind="stable"), np.argsort(entry, kind="stable")
    n = time.size
    still = np.searchsorted(time[by_time], ut, side=side)
    late = np.searchsorted(entry[by_entry], ut, side="left")
    out = []
    for vals in values:
        total = _stable.window(_stable.prefix(vals[by_time]), n, still)
        gone = _stable.window(_stable.prefix(vals[by_entry]), n, late)
        hi, lo = _stable.dd_add(total, (-gone[0], -gone[1]))
        out.append(hi + lo)
    return out


def _risk_set(ut: np.ndarray, exits: np.ndarray, entry, w, inv=None) -> np.ndarray:
    """Weighted number at risk at each distinct time ``ut`` (entry < t <= time).

    With ``entry`` the risk set is a difference of cumulative sums, which can
    leave a rounding residue (+/-1e-16) where it should equal the weight leaving
    at ``t``: then ``n - d`` is not 0 when everyone at risk has the event, S
    does not reach 0 and ``1 / (n - d)`` is 1e16. Given ``inv`` (each row's
    index into ``ut``), the sums are over rows in double-double
    (:func:`_risk_weight`), and the rows with positive weight are counted the
    same way (exact in floating point): where every one of them at risk leaves
    at ``t``, the risk set is exactly the weight leaving at ``t``.
    """
    n_risk = np.cumsum(exits[::-1])[::-1]
    if entry is None:
        return n_risk
    if inv is None:
        return n_risk - _not_entered(ut, entry, w)
    (n_risk,) = _risk_weight(ut, ut[inv], entry, [w])
    pos = (w > 0).astype(float)
    rows_out = np.bincount(inv, weights=pos, minlength=ut.size)
    rows_in = np.cumsum(rows_out[::-1])[::-1] - _not_entered(ut, entry, pos)
    return np.where(rows_in == rows_out, exits, n_risk)


def _greenwood(n_risk, n_event) -> np.ndarray:
    """Cumulative Greenwood sum d / (n (n - d)); inf once n == d (S reaches 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        inc = np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0.0)
    return np.cumsum(inc)


_EPS = float(np.finfo(float).eps)
_REL_TOL = 1e-8  # rounding error allowed in the expanded variance sums, relative to it


def _robust_var(fit: dict, inv, event, w, entry) -> np.ndarray | None:
    """Infinitesimal-jackknife variance of log S (R's default for non-integer weights).

    The influence of subject i on log S(t) is
    ``-[d_i 1{T_i<=t} / (Y(T_i) - D(T_i)) - (A(min(t, T_i)) - A(e_i))]`` with
    ``A(t) = sum_{s<=t} D(s) / (Y(s) (Y(s) - D(s)))``; the variance sums the squared
    weighted influences, split into subjects who left by ``t`` (a cumulative sum)
    and those still at risk (a quadratic in ``A(t)`` with suffix sums). None when
    that expansion may have lost precision (see :func:`_checked`).
    """
    ut, n_risk, n_event = fit["time"], fit["n_risk"], fit["n_event"]
    k = ut.size
    a_cum = _greenwood(n_risk, n_event)
    a_end = a_cum[inv]
    a_entry = np.zeros_like(w)
    if entry is not None:
        pos = np.searchsorted(ut, entry, side="right") - 1
        a_entry = np.where(pos >= 0, a_cum[np.maximum(pos, 0)], 0.0)
        # A(entry) is inf for a row entering after S reached 0: it is never at
        # risk while S > 0 (no influence there), and the variance is 0 after
        a_entry = np.where(np.isfinite(a_entry), a_entry, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        jump = np.where(event, 1.0 / (n_risk - n_event)[inv], 0.0)
        part = jump - (a_end - a_entry)
        w2 = w * w
        gone = np.cumsum(np.bincount(inv, weights=w2 * part * part, minlength=k))
    values = [w2, w2 * a_entry, w2 * a_entry**2]
    if entry is None:
        by_exit = (np.bincount(inv, weights=vals, minlength=k) for vals in values)
        sums = [np.concatenate((np.cumsum(b[::-1])[::-1][1:], [0.0])) for b in by_exit]
    else:  # rows at risk after t, with no residue of the rows not yet entered
        sums = _risk_weight(ut, ut[inv], entry, values, side="right")
    with np.errstate(invalid="ignore"):
        at_risk = a_cum**2 * sums[0] - 2 * a_cum * sums[1] + sums[2]
        var = gone + at_risk
        size = gone + a_cum**2 * sums[0] + 2 * a_cum * sums[1] + sums[2]
    return _checked(np.where(fit["surv"] > 0, np.maximum(var, 0.0), 0.0), size, fit)


def _checked(var: np.ndarray, size: np.ndarray, fit: dict) -> np.ndarray | None:
    """``var``, or None when its rounding error may exceed ``_REL_TOL`` of it.

    ``size`` bounds the sum of the absolute values of the terms that were added
    and cancelled to give ``var``: with the heaviest rows' terms far above the
    result (weights spanning 1e3 or more with delayed entry), the caller
    recomputes the variance by :func:`_piecewise_var`. Only the event times count:
    :func:`_carry_forward` replaces the others.
    """
    live = (fit["surv"] > 0) & (fit["n_event"] > 0) & np.isfinite(size)
    if np.any(_EPS * size[live] > _REL_TOL * var[live]):
        return None
    return var


def _cluster_var(fit: dict, inv, event, w, entry, codes: np.ndarray, perm) -> np.ndarray | None:
    """Jackknife variance of log S with influences summed within clusters.

    R ``survfit(..., id=, robust=TRUE)``: row i's weighted influence on log S(t)
    is ``w_i (A(t) - A(e_i))`` while at risk and ``w_i (A(T_i) - A(e_i) - d_i /
    (Y - D)(T_i))`` once gone (see :func:`_robust_var`), so a cluster's total is
    ``alpha_c(t) + beta_c(t) A(t)``. Each row changes its cluster's (alpha, beta)
    at entry and at exit; a cumulative sum within cluster gives them after every
    change, and the changes of the sums of ``alpha^2, alpha beta, beta^2`` over
    clusters, binned by time and cumulated, give the variance at every time.
    ``perm`` puts the rows in time order. None when that may have lost
    precision (see :func:`_checked`).
    """
    ut, n_risk, n_event = fit["time"], fit["n_risk"], fit["n_event"]
    k = ut.size
    a_cum = _greenwood(n_risk, n_event)
    # A is inf once S = 0, where the variance is 0 anyway: keep inf out of the
    # running sums, which would otherwise turn every later cluster into NaN
    a_cum = np.where(np.isfinite(a_cum), a_cum, 0.0)
    a_entry = np.zeros_like(w)
    start = np.zeros(w.size, dtype=np.int64)
    if entry is not None:
        start = np.searchsorted(ut, entry, side="right")
        a_entry = np.where(start > 0, a_cum[np.maximum(start - 1, 0)], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        jump = np.where(event, 1.0 / (n_risk - n_event)[inv], 0.0)
        gone = w * (a_cum[inv] - a_entry - jump)
    gone = np.where(np.isfinite(gone), gone, 0.0)
    if entry is None:  # everyone is at risk from the start: no entry changes to sort
        base_beta = np.bincount(codes, weights=w)
        sums = _cluster_square_sums(inv, gone, -w, codes, base_beta, k, pre=perm)
    else:
        base_beta = np.zeros(int(codes.max()) + 1 if codes.size else 0)
        changes = (
            np.concatenate((start, inv)),
            np.concatenate((-w * a_entry, w * a_entry + gone)),
            np.concatenate((w, -w)),
            np.concatenate((codes, codes)),
        )
        sums = _cluster_square_sums(*changes, base_beta, k)
    sums, size = sums[:3], sums[3:]
    with np.errstate(invalid="ignore"):
        var = sums[0] + 2 * a_cum * sums[1] + a_cum**2 * sums[2]
        size = size[0] + 2 * a_cum * size[1] + a_cum**2 * size[2]
    return _checked(np.where(fit["surv"] > 0, np.maximum(var, 0.0), 0.0), size, fit)


def _piecewise_var(fit: dict, inv, event, w, entry, codes: np.ndarray | None) -> np.ndarray:
    """Jackknife variance of log S summed without cancellation (``entry`` may be -inf).

    Row i's weighted influence on log S(t) is ``w_i (A(t) - A(e_i))`` while at
    risk and ``w_i (A(T_i) - A(e_i) - d_i / (Y - D)(T_i))`` once gone (see
    :func:`_robust_var`). A cluster's total is piecewise ``u + beta (A(t) - A(t0))``
    between the entries and exits of its rows (each row its own cluster when
    ``codes`` is None): at an entry beta grows by ``w``, at an exit beta falls
    by ``w`` and ``u`` changes by ``w (a(T) - d / (Y - D))``, that is ``-w / Y``
    after an event and ``w a(T)`` after a censoring (``a`` the Greenwood
    increment). The pieces' squares are summed by :func:`_stable.piece_squares`,
    with the sums of ``a`` in double-double (and the squares too when a cluster
    has several rows: its total can cancel to 0, as with a single cluster):
    expanding them over all rows, as :func:`_robust_var` does, loses the light
    rows' terms to rounding when weights span 1e3 or more.
    """
    ut, n_risk, n_event = fit["time"], fit["n_risk"], fit["n_event"]
    k, singletons = ut.size, codes is None
    codes = np.arange(w.size) if singletons else codes
    with np.errstate(divide="ignore", invalid="ignore"):
        a_inc = np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0.0)
        step = np.where(event, -1.0 / n_risk[inv], a_inc[inv])
    # after S reaches 0 the variance is 0: keep inf out of the sums
    a_inc = np.where(np.isfinite(a_inc), a_inc, 0.0)
    step = np.where(np.isfinite(step), w * step, 0.0)
    acc = _stable.prefix(a_inc)  # acc[j] = A(t_{j-1})
    start = np.searchsorted(ut, entry, side="right")
    zero = np.zeros_like(w)
    when, (u, beta), last = _cluster_pieces(
        np.concatenate((start, inv)),
        np.concatenate((codes, codes)),
        (np.concatenate((zero, step)), np.concatenate((w, -w))),
        acc,
        k,
    )
    beta = np.where(last, 0.0, beta)  # all rows gone: exactly flat
    end = np.where(last, k, np.concatenate((when[1:], [k])))

    def coef_at(rows, node_start):
        slope, none = beta[rows], np.zeros(rows.size)
        grown = _stable.dd_mul((slope, none), _stable.window(acc, node_start, when[rows]))
        c = _stable.dd_add((u[rows], none), grown)
        if singletons:  # c, slope >= 0: the squares cannot cancel
            return np.column_stack((c[0] + c[1], slope))
        return np.column_stack((c[0], slope)), np.column_stack((c[1], none))

    def basis_at(level):
        j = np.arange(k)
        delta = _stable.window(acc, j + 1, (j >> level) << level)
        if singletons:
            return np.column_stack((np.ones(k), delta[0] + delta[1]))
        return np.column_stack((np.ones(k), delta[0])), np.column_stack((np.zeros(k), delta[1]))

    var = _stable.piece_squares(when, end, coef_at, basis_at, k)
    return np.where(fit["surv"] > 0, np.maximum(var, 0.0), 0.0)


def _cluster_pieces(when, cl, changes, acc, k: int):
    """Each cluster's (u, beta) after each of its changes, in (cluster, time) order.

    ``changes`` = (du, dbeta) at time index ``when``; ``u`` is the value at the
    change's time, re-centred at ``acc[when]``, so between a cluster's changes ``m``
    and ``m + 1`` its total is ``u_m + beta_m (acc[j + 1] - acc[when_m])``. Returns
    the sorted times, (u, beta) and a flag for each cluster's last change.
    """
    order, codes = _cluster_time_order(when, cl, k, pre=None)
    when = np.take(when, order)
    d_u, d_beta = (np.take(x, order) for x in changes)
    first = np.empty(codes.size, dtype=bool)
    first[:1] = True
    np.not_equal(codes[1:], codes[:-1], out=first[1:])
    (beta,) = _segmented_cumsum((d_beta,), first)
    grow = np.zeros_like(d_u)
    grow[1:] = beta[:-1] * _stable.window_value(acc, when[1:], when[:-1])
    (u,) = _segmented_cumsum((np.where(first, 0.0, grow) + d_u,), first)
    last = np.empty_like(first)
    last[-1:] = True
    last[:-1] = first[1:]
    return when, (u, beta), last


def _cluster_square_sums(
    when, d_alpha, d_beta, cl, base_beta, k: int, *, pre: np.ndarray | None = None
) -> list[np.ndarray]:
    """Sums over clusters of alpha^2, alpha beta, beta^2 at each time index.

    Each change adds (d_alpha, d_beta) to its cluster at time index ``when``;
    clusters start at (0, ``base_beta``). Changes are put in (cluster, time)
    order by a radix sort and cumulated within cluster (a segmented scan); the
    change of each cluster's squares is binned by time and cumulated over time
    (successive changes of one cluster telescope). ``pre``: a permutation that
    already puts the changes in time order, which saves the first radix pass.
    The three sums are followed by the same sums of absolute changes (their
    rounding scale, for :func:`_checked`).
    """
    order, cl = _cluster_time_order(when, cl, k, pre=pre)
    when, da, db = (np.take(x, order) for x in (when, d_alpha, d_beta))
    first = np.empty(cl.size, dtype=bool)
    first[:1] = True
    np.not_equal(cl[1:], cl[:-1], out=first[1:])
    alpha, beta = _segmented_cumsum((da, db), first)
    beta = beta + base_beta[cl]
    start = np.zeros(k + 1)
    start[0] = float(base_beta @ base_beta)
    with np.errstate(invalid="ignore"):
        # change of each square: new^2 - old^2 with old = new - change
        steps = (
            da * (2.0 * alpha - da),
            alpha * db + da * beta - da * db,
            db * (2.0 * beta - db),
        )
    out, size = [], []
    for change, init in zip(steps, (0.0, 0.0, start), strict=True):
        delta = np.bincount(when, weights=change, minlength=k + 1) + init
        out.append(np.cumsum(delta)[:k])
        delta = np.bincount(when, weights=np.abs(change), minlength=k + 1) + init
        size.append(np.cumsum(delta)[:k])
    return out + size


def _cluster_time_order(
    when, cl, k: int, *, pre: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Permutation sorting changes by cluster, then time, and the sorted cluster codes.

    An LSD radix sort, 16 bits a pass (numpy's stable sort of 16-bit integers is
    a radix sort, so each pass is O(n)); the time pass is skipped when ``pre``
    already sorts by time.
    """
    if pre is not None:
        order = pre
    elif k < 65535:
        order = np.argsort(when.astype(np.uint16), kind="stable")
    else:
        order = np.argsort(when, kind="stable")
    codes = np.take(cl, order).astype(np.int64, copy=False)
    top = int(codes.max()) if codes.size else 0
    shift = 0
    while shift == 0 or top >> shift:
        step = np.argsort(((codes >> shift) & 0xFFFF).astype(np.uint16), kind="stable")
        order, codes = np.take(order, step), np.take(codes, step)
        shift += 16
    return order, codes


def _segmented_cumsum(arrays: tuple[np.ndarray, ...], first: np.ndarray) -> list[np.ndarray]:
    """Running sums of each array restarting where ``first`` is True (a segmented scan).

    Hillis-Steele doubling: ceil(log2(longest segment)) vectorised passes, each
    running sum adding only values of its own segment (no cancellation against
    a global running sum).
    """
    outs = [np.array(a, dtype=np.float64) for a in arrays]
    seg = np.cumsum(first)
    longest = int(np.bincount(seg).max()) if seg.size else 0
    step = 1
    while step < longest:
        other = seg[step:] != seg[:-step]
        for out in outs:
            shifted = out[:-step].copy()
            shifted[other] = 0.0
            out[step:] += shifted
        step *= 2
    return outs


def _jackknife_var(fit: dict, inv, event, w, entry, codes, perm) -> np.ndarray:
    """Robust (``codes`` None) or clustered jackknife variance of log S.

    The fast expanded sums, unless they may have lost precision: then the
    cancellation-free :func:`_piecewise_var` (each row its own cluster when
    ``codes`` is None).
    """
    if codes is None:
        var = _robust_var(fit, inv, event, w, entry)
    else:
        var = _cluster_var(fit, inv, event, w, entry, codes, perm)
    if var is not None:
        return var
    start = np.full(w.size, -np.inf) if entry is None else entry
    return _piecewise_var(fit, inv, event, w, start, codes)


def _carry_forward(var: np.ndarray, n_event: np.ndarray) -> np.ndarray:
    """Repeat the variance of the last event time at censor-only times (as R).

    Recomputing it there can differ by an ulp, which reorders R's quantile
    search on the limit curves (issue 15, weighted KM quantile limits).
    """
    idx = np.maximum.accumulate(np.where(n_event > 0, np.arange(var.size), -1))
    return np.where(idx >= 0, var[np.maximum(idx, 0)], 0.0)


def _unique_inverse(time: np.ndarray, perm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct times and each row's index into them, given ``perm`` sorting ``time``.

    The same result as ``np.unique(time, return_inverse=True)``; the permutation
    is kept for the clustered variance, which needs the rows in time order.
    """
    ordered = time[perm]
    new = np.empty(ordered.size, dtype=bool)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    inv = np.empty(time.size, dtype=np.intp)
    inv[perm] = np.cumsum(new) - 1
    return ordered[new], inv


def _continued(codes: np.ndarray, time: np.ndarray, entry: np.ndarray) -> np.ndarray:
    """Rows whose cluster (subject) goes on after them, as R's ``survflag``.

    R's ``survfit(..., id=)`` sorts the rows by (id, stop) and counts a censoring
    only where a run of a subject's rows ends: at its last row, or where the next
    row starts after this one stops (a gap). A row whose next row (same id, in
    that order) starts at or before its stop is continued: ending it is no
    censoring, whether the rows abut or overlap.
    """
    order = np.lexsort((time, codes))  # stable: ties in stop keep the input order
    c, stop, start = codes[order], time[order], entry[order]
    cont = np.zeros(codes.size, dtype=bool)
    cont[:-1] = (c[1:] == c[:-1]) & (stop[:-1] >= start[1:])
    out = np.empty(codes.size, dtype=bool)
    out[order] = cont
    return out


def _fit_curve(time, event, w, entry, codes=None) -> dict:
    """Return the survfit-style arrays for one curve (all distinct times)."""
    perm = np.argsort(time)
    ut, inv = _unique_inverse(time, perm)
    k = ut.size
    n_event = np.bincount(inv, weights=np.where(event, w, 0.0), minlength=k)
    n_exit = np.bincount(inv, weights=w, minlength=k)
    censored = ~event
    if codes is not None and entry is not None:  # split rows: only where the subject leaves
        censored = censored & ~_continued(codes, time, entry)
    n_censor = np.bincount(inv, weights=np.where(censored, w, 0.0), minlength=k)
    n_risk = _risk_set(ut, n_exit, entry, w, inv)
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(n_risk > 0, n_event / n_risk, 0.0)
    fit = {
        "time": ut,
        "n_risk": n_risk,
        "n_event": n_event,
        "n_censor": n_censor,
        "surv": np.cumprod(1.0 - hazard),
    }
    if codes is None and np.all(w == np.floor(w)):
        var_log = _greenwood(n_risk, n_event)
    else:
        var_log = _carry_forward(_jackknife_var(fit, inv, event, w, entry, codes, perm), n_event)
    fit["se_log"] = np.sqrt(var_log)
    return fit


def _confint(surv, se_log, conf_type: str, conf_level: float):
    """Pointwise limits exactly as R's ``survfit_confint`` (logse = TRUE)."""
    z = float(ndtri(1.0 - (1.0 - conf_level) / 2.0))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "plain":
            half = se_log * surv * z
            lower = np.maximum(surv - half, 0.0)
            upper = np.minimum(surv + half, 1.0)
            bad = np.isnan(half)
            return np.where(bad, np.nan, lower), np.where(bad, np.nan, upper)
        if conf_type == "log":
            xx = np.where(surv == 0, np.nan, surv)
            return np.exp(np.log(xx) - z * se_log), np.minimum(np.exp(np.log(xx) + z * se_log), 1.0)
        xx = np.where((surv == 0) | (surv == 1), np.nan, surv)
        se2 = z * se_log / np.log(xx)
        loglog = np.log(-np.log(xx))
        return np.exp(-np.exp(loglog - se2)), np.exp(-np.exp(loglog + se2))


def _check_options(conf_type: str, conf_level: float) -> None:
    if conf_type not in CONF_TYPES:
        raise InputError(
            f"conf_type must be one of {', '.join(CONF_TYPES)}; got {conf_type!r}. "
            "Fix: use 'log-log' (default), 'log' (R's default) or 'plain'."
        )
    if not 0.0 < float(conf_level) < 1.0:
        raise InputError(f"conf_level must be strictly between 0 and 1; got {conf_level!r}.")


def _build(time, event, w, entry, codes, conf_type, conf_level) -> KaplanMeier:
    fit = _fit_curve(time, event, w, entry, codes)
    lower, upper = _confint(fit["surv"], fit["se_log"], conf_type, conf_level)
    with np.errstate(invalid="ignore"):
        std_err = fit["surv"] * fit["se_log"]
    table = pd.DataFrame(
        {
            "time": fit["time"],
            "n_risk": fit["n_risk"],
            "n_event": fit["n_event"],
            "n_censor": fit["n_censor"],
            "surv": fit["surv"],
            "std_err": std_err,
            "lower": lower,
            "upper": upper,
        }
    )
    lowest = time if entry is None else entry
    start = min(0.0, float(lowest.min())) if lowest.size else 0.0
    if codes is not None:
        variance = "cluster"
    else:
        variance = "greenwood" if np.all(w == np.floor(w)) else "robust"
    return KaplanMeier(table, conf_type, float(conf_level), start, variance=variance)


def _cluster_codes(cluster, n: int) -> np.ndarray | None:
    if cluster is None:
        return None
    labels = _inputs.as_labels(cluster, "cluster", n=n)
    if labels.dtype.kind in "iu" and labels.size and labels.min() >= 0 and labels.max() < 4 * n:
        codes = labels.astype(np.int64)  # small non-negative ids are codes already
        n_clusters = int(np.count_nonzero(np.bincount(codes)))
    else:
        codes, uniques = pd.factorize(labels)  # hashing, no sort
        codes, n_clusters = codes.astype(np.int64), len(uniques)
    _inputs.warn_few_clusters(n_clusters, "kaplan_meier")
    return codes


def kaplan_meier(
    time,
    event,
    *,
    conf_type: str = "log-log",
    conf_level: float = 0.95,
    weights=None,
    entry=None,
    by=None,
    cluster=None,
    timefix: bool = True,
) -> KaplanMeier:
    """Kaplan-Meier estimate of the survival function, identical to R ``survfit``.

    Parameters
    ----------
    time
        Follow-up time of each subject (any unit; aftercar uses months =
        days / 30.4375). Array-like of finite numbers.
    event
        1/True if the event was observed at ``time``, 0/False if censored.
    conf_type
        ``"log-log"`` (default), ``"log"`` or ``"plain"``. **Note:** R's
        ``survfit`` defaults to ``"log"``; aftercar defaults to ``"log-log"``, whose
        limits stay inside [0, 1] and behave better in the tails (Kalbfleisch &
        Prentice). Pass ``conf_type="log"`` to reproduce R's default output.
    conf_level
        Confidence level of the pointwise limits and quantile limits.
    weights
        Optional non-negative case weights. With whole-number weights the counts
        are weighted and the variance is Greenwood's on weighted counts; with any
        fractional weight the variance is the robust (infinitesimal jackknife)
        one, as R chooses by default.
    entry
        Optional delayed-entry (left-truncation) times, each < ``time``; a subject
        is at risk at ``t`` when ``entry < t <= time`` (R ``Surv(entry, time, event)``).
    by
        Optional group labels: one curve per group (sorted labels), in the same
        :class:`KaplanMeier` type (``fit.groups``, ``fit[label]``, frames with a
        ``group`` column from ``medians()``, ``quantiles(p)``, ``at(times)``).
    cluster
        Optional cluster id per row (e.g. patient id when a patient contributes
        several lines): the standard errors are the infinitesimal-jackknife
        (robust) ones with influences summed within cluster, as R ``survfit(...,
        id=cluster, robust=TRUE)``. Fewer than ``MIN_CLUSTERS`` (10) clusters
        gives a :class:`~aftercar.errors.StatisticalWarning`.
    timefix
        Merge times that differ by less than sqrt(machine eps) before fitting, as
        R does by default (``aeqSurv``); ``False`` compares times exactly.

    Returns
    -------
    KaplanMeier
        ``.table`` (``time, n_risk, n_event, n_censor, surv, std_err, lower,
        upper``; one row per distinct time including censor-only times, as R's
        ``summary(fit, censored=TRUE)``; a ``group`` column first when ``by`` is
        given), ``.median()``, ``.quantile(p)`` (one curve), ``.medians()``,
        ``.quantiles(p)``, ``.at(times)``, ``.to_frame()``, ``.plot()``,
        ``.survival_function_``, ``.confidence_interval_``.

    Raises
    ------
    InputError
        Missing or non-finite values, event not 0/1, unequal lengths, negative
        weights, ``entry >= time``, unknown ``conf_type``.

    Examples
    --------
    >>> fit = kaplan_meier([1, 2, 2, 3, 4, 4, 5, 6], [0, 1, 0, 1, 1, 1, 0, 1], conf_type="log")
    >>> fit.table[["time", "n_risk", "surv"]].round(4).values.tolist()[1]
    [2.0, 7.0, 0.8571]
    >>> fit.median()
    QuantileEstimate(estimate=4.0, lower=3.0, upper=None)

    References
    ----------
    Kaplan EL, Meier P. Nonparametric estimation from incomplete observations.
    J Am Stat Assoc 1958;53:457-481.
    Greenwood M. The natural duration of cancer. Rep Public Health Med Subj 1926;33.
    Brookmeyer R, Crowley J. A confidence interval for the median survival time.
    Biometrics 1982;38:29-41.
    Therneau TM. A Package for Survival Analysis in R (survival 3.5-3):
    ``survfitKM``, ``survfit_confint``, ``quantile.survfit``.
    """
    _check_options(conf_type, conf_level)
    t = _inputs.as_float(time, "time")
    if t.size == 0:
        raise InputError("kaplan_meier needs at least one subject; `time` is empty.")
    e = _inputs.as_event(event, n=t.size)
    w = _inputs.as_weights(weights, n=t.size)
    en = _inputs.as_entry(entry, t)
    if timefix:
        t, en = _inputs.timefix(t, en)
    codes = _cluster_codes(cluster, t.size)
    if by is None:
        return _build(t, e, w, en, codes, conf_type, conf_level)
    levels, gcodes = _inputs.factorize(_inputs.as_labels(by, "by", n=t.size))
    order = np.argsort(gcodes, kind="stable")
    bounds = np.searchsorted(gcodes[order], np.arange(len(levels) + 1))
    curves = []
    for g in range(len(levels)):  # one curve per group, each vectorised
        rows = order[bounds[g] : bounds[g + 1]]
        sub_en = None if en is None else en[rows]
        sub_cl = None if codes is None else codes[rows]
        curves.append(_build(t[rows], e[rows], w[rows], sub_en, sub_cl, conf_type, conf_level))
    return grouped(levels, curves)
