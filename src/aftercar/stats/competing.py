r"""Competing risks: Aalen-Johansen cumulative incidence as R ``survfit`` multi-state.

``cumulative_incidence`` reproduces ``survfit(Surv(time, factor(status)) ~ g)``
(and ``Surv(entry, time, factor(status))``, ``weights=``): for each cause k the
probability of having had event k by time t,

.. math:: F_k(t) = \sum_{s \le t} S(s-)\, \frac{d_k(s)}{Y(s)},

with S the all-cause Kaplan-Meier curve, and R's infinitesimal-jackknife
standard error. Row i's influence on :math:`F_k(t)` is, on basis functions of
time :math:`(1, G(t), B_0(t))` with :math:`B_0 = F_k`,
:math:`B_1(t) = \sum_{s\le t} \Delta F_k(s) A(s-)`,
:math:`C(t) = \sum_{s \le t} \Delta F_k(s) / Y(s)` and :math:`G = B_1 - C`
(:math:`A` the Greenwood sum :math:`\sum d / (Y (Y - d))`):

* while at risk: :math:`G(t) - A(e_i) B_0(t) + \kappa_i`,
* after its exit: :math:`L_i B_0(t) + \gamma_i`, with :math:`L_i` its final
  influence on :math:`\log S`,

so the variance :math:`\sum_i w_i^2 I_i(t)^2` is a quadratic form in the basis
whose 3 x 3 matrix changes only when a row enters or leaves: one ``bincount``
and one cumulative sum over the distinct times. O(n log n) for the sort.
Those sums cancel terms as large as the heaviest rows' squared influences; where
that may cost more than 1e-8 of the variance (case weights spanning 1e3 or more,
third R probe), each row's influence is instead summed over its own window of
times and squared within the nodes of a segment tree, in double-double
(:mod:`aftercar.stats._stable`, O(n log^2 n)).

Intervals are R's default for multi-state curves, ``conf.type = "log"``:
``F exp(+/- z se / F)``, capped at 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtri

from aftercar.errors import InputError
from aftercar.stats import _inputs, _stable
from aftercar.stats.km import _EPS, _REL_TOL, _risk_set

__all__ = ["CumulativeIncidence", "cumulative_incidence"]

_TRI = (np.array([0, 0, 0, 1, 1, 2]), np.array([0, 1, 2, 1, 2, 2]))  # upper triangle of 3x3


@dataclass(frozen=True, repr=False, eq=False)
class CumulativeIncidence:
    """Result of :func:`cumulative_incidence`.

    Attributes
    ----------
    table
        Long format, one row per (group, cause, distinct time): ``group`` (None
        without ``by``), ``cause``, ``time``, ``n_risk``, ``n_event`` (of this
        cause), ``estimate``, ``std_err``, ``lower``, ``upper``. The counts are of
        rows, unweighted even when ``weights`` are given, as R's multi-state
        ``survfit`` reports them (the estimates use the weights).
    causes
        The causes (status codes 1..k present in the data).
    groups
        Group labels (sorted) or ``()``.
    conf_level
        Level of the pointwise limits.
    """

    table: pd.DataFrame
    causes: tuple[int, ...]
    groups: tuple
    conf_level: float

    def at(self, times) -> pd.DataFrame:
        """Estimates and limits at landmark ``times`` per group and cause (step function).

        Before the first time the incidence is 0 with standard error and limits 0 (R
        ``summary(survfit, times =)``); after the last observed time of a group it is
        not estimable (NaN), as :meth:`KaplanMeier.at`.
        """
        t = _inputs.as_float(np.atleast_1d(times), "times")
        parts = []
        for (group, cause), block in self.table.groupby(
            ["group", "cause"], sort=False, dropna=False
        ):
            grid = block["time"].to_numpy(float)
            idx = np.searchsorted(grid, t, side="right") - 1
            out = {"group": group, "cause": cause, "time": t}
            for col in ("estimate", "std_err", "lower", "upper"):
                vals = block[col].to_numpy(float)[np.maximum(idx, 0)]
                vals = np.where(idx < 0, 0.0, vals)  # R: 0 with se 0 and limits (0, 0)
                out[col] = np.where(t > grid[-1], np.nan, vals)
            parts.append(pd.DataFrame(out))
        return pd.concat(parts, ignore_index=True)

    def to_frame(self) -> pd.DataFrame:
        """A copy of :attr:`table`."""
        return self.table.copy()

    def _repr_html_(self) -> str:
        return f"<p>{self!r}</p>" + self.table.head(20).to_html(index=False)

    def __repr__(self) -> str:
        return (
            f"CumulativeIncidence(causes={list(self.causes)}, groups={list(self.groups)}, "
            f"rows={len(self.table)})"
        )


def _as_status(values, n: int) -> np.ndarray:
    arr = _inputs.as_float(values, "status", n=n)
    bad = (arr < 0) | (arr != np.floor(arr))
    if bad.any():
        raise InputError(
            f"`status` must be 0 (censored) or a cause 1, 2, ...; other values at "
            f"{_inputs.positions(bad)}. Fix: code each competing event as a positive integer."
        )
    return arr.astype(np.int64)


def _phase_matrix(coef: np.ndarray, w2: np.ndarray) -> np.ndarray:
    """Per-row upper triangle of ``w^2 c c'`` (n, 6) for coefficient rows ``c`` (n, 3)."""
    return w2[:, None] * coef[:, _TRI[0]] * coef[:, _TRI[1]]


def _variance(basis, risk_coef, gone_coef, start, exit_, w, k) -> np.ndarray:
    """Sum over rows of ``(w c(t) . basis(t))^2``: the phase of each row changes at entry/exit."""
    w2 = w * w
    risk, gone = _phase_matrix(risk_coef, w2), _phase_matrix(gone_coef, w2)
    delta = np.zeros((k + 1, 6))
    for j in range(6):
        delta[:, j] = np.bincount(start, weights=risk[:, j], minlength=k + 1)
        delta[:, j] += np.bincount(exit_, weights=gone[:, j] - risk[:, j], minlength=k + 1)
    m = np.cumsum(delta, axis=0)[:k]
    b = basis
    full = b[:, _TRI[0]] * b[:, _TRI[1]] * np.array([1.0, 2, 2, 1, 2, 1])
    return np.maximum(np.sum(m * full, axis=1), 0.0)


def _window_parts(base: dict, jump: np.ndarray) -> tuple:
    """Double-double prefix sums of ``A``, ``B_0``, ``B_1`` and ``C`` (index j: up to t_{j-1})."""
    a_acc = base["a_acc"]
    prev = (a_acc[0][:-1], a_acc[1][:-1])  # A(s-) at each time s
    b1_hi, b1_lo = _stable.dd_mul((jump, np.zeros_like(jump)), prev)
    return (
        a_acc,
        _stable.prefix(jump),
        _stable.prefix(b1_hi, b1_lo),
        _stable.prefix(jump * base["inv_risk"]),
    )


def _influence_sum(parts: tuple, end, begin) -> tuple:
    r"""Influence on :math:`F_k` over times ``begin <= j < end`` of a row entering there.

    :math:`\sum_s \Delta F_k(s) (A(s-) - A(t_{begin-1})) - \Delta F_k(s) / Y(s)`,
    in double-double: ``(B_1 - C)`` over the window minus ``A`` before it times
    ``B_0`` over it, with no cumulative sum from outside the window left over.
    """
    a_acc, b0, b1, c = parts
    a_before = (a_acc[0][begin], a_acc[1][begin])
    lead = _stable.dd_mul(a_before, _stable.window(b0, end, begin))
    out = _stable.dd_add(_stable.window(b1, end, begin), (-lead[0], -lead[1]))
    lag = _stable.window(c, end, begin)
    return _stable.dd_add(out, (-lag[0], -lag[1]))


def _stable_variance(base: dict, jump, own, w) -> np.ndarray:
    """Jackknife variance of one cause's incidence, summed piece by piece without cancellation.

    A row's influence is ``H(e, t)`` (:func:`_influence_sum` over its window
    after entry) while at risk and ``g + L (B_0(t) - B_0(T))`` once gone, with
    ``g = H(e, T) + own`` and ``L`` its influence on log S. Re-centred at a time
    index ``l``: ``H(e, t) = H(e, l) + H(l, t) + (A(l-) - A(e)) (B_0(t) - B_0(l-))``,
    so on the basis ``(1, H(l, t), B_0(t) - B_0(l-))`` the coefficients are
    ``(H(e, l), 1, A(l-) - A(e))`` at risk and ``(g + L (B_0(l-) - B_0(T)), 0, L)``
    gone. :func:`_stable.piece_squares` sums the squares over nodes of time, in
    double-double: an influence that cancels at an event (F close to 1) keeps
    its precision.
    """
    parts = _window_parts(base, jump)
    inv, e, jump_all = base["inv"], base["start"], base["jump_all"]
    k, n = base["time"].size, w.size
    gone = _stable.dd_add(_influence_sum(parts, inv + 1, e), (own, np.zeros(n)))
    slope = _stable.window_value(parts[0], inv + 1, e) - jump_all  # L: influence on log S

    def coef_at(rows, node_start):
        i = rows % n  # pieces 0..n-1 at risk, n..2n-1 gone
        at_risk, none = rows < n, np.zeros(i.size)
        first = _stable.window(parts[0], node_start, e[i])
        h = _influence_sum(parts, node_start, e[i])
        since = _stable.window(parts[1], node_start, inv[i] + 1)
        later = _stable.dd_add(_stable.dd_mul((slope[i], none), since), (gone[0][i], gone[1][i]))
        coef = [
            (np.where(at_risk, h[part], later[part]), np.where(at_risk, first[part], slope[i]))
            for part in (0, 1)
        ]
        slope_hi = at_risk.astype(float)
        hi = np.column_stack((coef[0][0], slope_hi, coef[0][1]))
        lo = np.column_stack((coef[1][0], none, np.where(at_risk, coef[1][1], 0.0)))
        return w[i][:, None] * hi, w[i][:, None] * lo

    def basis_at(level):
        j = np.arange(k)
        left = (j >> level) << level
        h, d = _influence_sum(parts, j + 1, left), _stable.window(parts[1], j + 1, left)
        return np.column_stack((np.ones(k), h[0], d[0])), np.column_stack((np.zeros(k), h[1], d[1]))

    lo, hi = np.concatenate((e, inv)), np.concatenate((inv, np.full(n, k)))
    return np.maximum(_stable.piece_squares(lo, hi, coef_at, basis_at, k), 0.0)


def _base(time, status, w, entry) -> dict:
    """All-cause quantities of one group on its distinct times (shared by every cause)."""
    ut, inv = np.unique(time, return_inverse=True)
    inv = inv.reshape(-1)
    k = ut.size
    event = status > 0
    n_event = np.bincount(inv, weights=np.where(event, w, 0.0), minlength=k)
    # exact where everyone at risk leaves (no 1e-16 residue: S reaches 0, n - d is 0)
    n_risk = _risk_set(ut, np.bincount(inv, weights=w, minlength=k), entry, w, inv)
    counted = n_risk  # the table's counts are of rows, unweighted, as R's multi-state
    if not np.all(w == 1.0):
        rows = np.bincount(inv, minlength=k).astype(float)
        counted = _risk_set(ut, rows, entry, np.ones_like(w))
    start = np.zeros(time.size, dtype=np.int64)
    if entry is not None:
        start = np.searchsorted(ut, entry, side="right")
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(n_risk > 0, n_event / n_risk, 0.0)
        left = n_risk - n_event
        a_inc = np.where((n_event > 0) & (left > 0), n_event / (n_risk * left), 0.0)
        jump_all = np.where(event & (left > 0)[inv], 1.0 / left[inv], 0.0)
        inv_risk = np.where(n_risk > 0, 1.0 / n_risk, 0.0)
    surv = np.cumprod(1.0 - hazard)
    a_cum = np.cumsum(a_inc)
    a_e = np.where(start > 0, a_cum[np.maximum(start - 1, 0)], 0.0)
    return {
        "a_acc": _stable.prefix(a_inc),
        "time": ut,
        "inv": inv,
        "start": start,
        "n_risk": n_risk,
        "n_risk_count": counted,
        "inv_risk": inv_risk,
        "s_before": np.concatenate(([1.0], surv[:-1])),
        "a_prev": np.concatenate(([0.0], a_cum[:-1])),
        "a_e": a_e,
        "l_end": a_cum[inv] - a_e - jump_all,
        "jump_all": jump_all,
    }


def _pad(v: np.ndarray) -> np.ndarray:
    """Prepend 0: ``_pad(cum)[start]`` is the cumulative value just before entry."""
    return np.concatenate(([0.0], v))


def _size(base: dict, sums: tuple, own, w) -> np.ndarray:
    """Bound on the sum of the absolute terms that :func:`_variance` adds and cancels.

    Each coefficient and basis value is replaced by the sum of the absolute
    values of the terms it was computed from, every row that has entered keeps
    its at-risk terms (they are subtracted at exit), and ``(sum_m |c_m b_m|)^2 <=
    3 sum_m c_m^2 b_m^2`` bounds each row's square.
    """
    inv, e, a_e = base["inv"], base["start"], base["a_e"]
    b0, b1, c = sums
    before = [_pad(x)[e] for x in sums]
    l_end, jump_all = base["l_end"], base["jump_all"]
    a_end = l_end + a_e + jump_all  # A(T)
    l_size = np.abs(l_end) + np.abs(a_end) + a_e + np.abs(jump_all)
    kappa = before[1] + a_e * before[0] + before[2]
    gamma = b1[inv] + before[1] + a_e * (b0[inv] + before[0]) + l_size * b0[inv] + own
    gamma = gamma + c[inv] + before[2]
    w2, k = w * w, b0.size
    out = np.zeros(k)
    terms = ((kappa, gamma, 1.0), (1.0, 0.0, (b1 + c) ** 2), (a_e, l_size, b0**2))
    for risk, gone, basis in terms:
        entered = np.bincount(e, weights=w2 * risk**2, minlength=k + 1)
        entered += np.bincount(inv, weights=w2 * gone**2, minlength=k + 1)
        out += 3.0 * np.cumsum(entered)[:k] * basis
    return out


def _cause(base: dict, status, w, cause: int, z: float) -> pd.DataFrame:
    """Estimate, jackknife SE and log-type limits of one cause's incidence."""
    inv, e, a_e, l_end = base["inv"], base["start"], base["a_e"], base["l_end"]
    k = base["time"].size
    d_k = np.bincount(inv, weights=np.where(status == cause, w, 0.0), minlength=k)
    jump = base["s_before"] * d_k * base["inv_risk"]
    b0, b1, c = (
        np.cumsum(jump),
        np.cumsum(jump * base["a_prev"]),
        np.cumsum(jump * base["inv_risk"]),
    )
    kappa = -_pad(b1)[e] + a_e * _pad(b0)[e] + _pad(c)[e]
    own = np.where(status == cause, (base["s_before"] * base["inv_risk"])[inv], 0.0)
    gamma = (
        (b1[inv] - _pad(b1)[e])
        - a_e * (b0[inv] - _pad(b0)[e])
        - l_end * b0[inv]
        + own
        - (c[inv] - _pad(c)[e])
    )
    n = status.size
    risk_coef = np.column_stack((kappa, np.ones(n), -a_e))
    gone_coef = np.column_stack((gamma, np.zeros(n), l_end))
    basis = np.column_stack((np.ones(k), b1 - c, b0))
    var = _variance(basis, risk_coef, gone_coef, e, inv, w, k)
    if np.any(_EPS * _size(base, (b0, b1, c), own, w) > _REL_TOL * var):
        # the expansion may have lost precision (weights spanning 1e3 or more)
        var = _stable_variance(base, jump, own, w)
    se = np.sqrt(var)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lower = np.where(b0 > 0, b0 * np.exp(-z * se / b0), np.nan)
        upper = np.where(b0 > 0, np.minimum(b0 * np.exp(z * se / b0), 1.0), np.nan)
    return pd.DataFrame(
        {
            "cause": cause,
            "time": base["time"],
            "n_risk": base["n_risk_count"],
            "n_event": np.bincount(inv, weights=(status == cause).astype(float), minlength=k),
            "estimate": b0,
            "std_err": se,
            "lower": lower,
            "upper": upper,
        }
    )


def _curve(time, status, w, entry, causes, z) -> pd.DataFrame:
    """Aalen-Johansen estimates and jackknife SEs for one group, long format."""
    base = _base(time, status, w, entry)
    return pd.concat([_cause(base, status, w, c, z) for c in causes], ignore_index=True)


def cumulative_incidence(
    time, status, /, *, by=None, weights=None, entry=None, conf_level: float = 0.95
) -> CumulativeIncidence:
    """Aalen-Johansen cumulative incidence per cause, as R ``survfit`` multi-state.

    Parameters
    ----------
    time
        Time of the first event or of censoring (months = days / 30.4375 in aftercar).
    status
        0 = censored, 1..k = the cause of the event (e.g. 1 = progression,
        2 = death without progression).
    by
        Optional group labels: one set of curves per group (sorted labels).
    weights
        Optional non-negative case weights (R ``weights=``).
    entry
        Optional delayed-entry times (< ``time``): ``Surv(entry, time, status)``.
    conf_level
        Level of the pointwise limits (R's ``log`` type).

    Returns
    -------
    CumulativeIncidence
        ``table`` in long format (group, cause, time, n_risk, n_event, estimate,
        std_err, lower, upper), ``at(times)``, ``to_frame()``.

    Examples
    --------
    >>> ci = cumulative_incidence([1, 2, 3, 4], [1, 2, 1, 0])
    >>> ci.table.query("cause == 1")["estimate"].tolist()
    [0.25, 0.25, 0.5, 0.5]

    References
    ----------
    Aalen OO, Johansen S. An empirical transition matrix for non-homogeneous
    Markov chains based on censored observations. Scand J Stat 1978;5:141-150.
    Therneau TM. survival 3.5-3, ``survfit`` multi-state (``survfitAJ``) and its
    infinitesimal-jackknife standard errors.
    """
    t = _inputs.as_float(time, "time")
    if t.size == 0:
        raise InputError("cumulative_incidence needs at least one subject; `time` is empty.")
    st = _as_status(status, t.size)
    w = _inputs.as_weights(weights, n=t.size)
    en = _inputs.as_entry(entry, t)
    t, en = _inputs.timefix(t, en)
    if not 0 < conf_level < 1:
        raise InputError(f"conf_level must be in (0, 1); got {conf_level!r}.")
    causes = tuple(int(c) for c in np.unique(st[st > 0]))
    if not causes:
        raise InputError("cumulative_incidence: no events (every status is 0). Fix: check coding.")
    z = float(ndtri(1 - (1 - conf_level) / 2))
    if by is None:
        labels, codes = [None], np.zeros(t.size, dtype=np.int64)
    else:
        labels, codes = _inputs.factorize(_inputs.as_labels(by, "by", n=t.size))
    parts = []
    for g, label in enumerate(labels):  # one vectorised fit per group
        m = codes == g
        part = _curve(t[m], st[m], w[m], None if en is None else en[m], causes, z)
        parts.append(part.assign(group=label))
    table = pd.concat(parts, ignore_index=True)
    table = table[["group", *[c for c in table.columns if c != "group"]]]
    return CumulativeIncidence(table, causes, tuple(labels) if by is not None else (), conf_level)
