r"""Test of proportional hazards for a Cox fit, as R ``cox.zph`` (survival 3.5-3).

For a transform g of time (``"km"``: 1 - the left-continuous Kaplan-Meier of all
rows, ``"rank"``, ``"identity"``, ``"log"``), centred on its mean over the
events, R adds the time-varying terms :math:`x_j\,g(t)` to the fitted model and
computes the score test for them with the coefficients held at the fit:
with per event group score :math:`U_t` and information :math:`I_t` at
:math:`\hat\beta`,

.. math::

    u = \begin{pmatrix} 0 \\ \sum_t g_t U_t \end{pmatrix}, \quad
    \mathcal I = \begin{pmatrix} \sum_t I_t & \sum_t g_t I_t \\
                 \sum_t g_t I_t & \sum_t g_t^2 I_t \end{pmatrix},

term j's statistic is :math:`u_K' \mathcal I_{KK}^{-1} u_K` with K = all
original coefficients plus term j's time term (1 df), and GLOBAL uses all of
them (p df). The per-group sums come from the same one-sort risk-set index as
:func:`aftercar.stats.cox_ph`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.linalg import lapack
from scipy.stats import chi2

from aftercar.errors import InputError
from aftercar.stats import _cox_core as core

__all__ = ["CoxZph", "cox_zph"]

TRANSFORMS = ("km", "rank", "identity", "log")


@dataclass(frozen=True, repr=False, eq=False)
class CoxZph:
    """Result of :func:`cox_zph`: ``chisq, df, p`` per term and ``GLOBAL``.

    Attributes
    ----------
    table
        Index ``term`` (covariates, then ``GLOBAL``); columns ``chisq, df, p``.
    transform
        The time transform used.
    """

    table: pd.DataFrame
    transform: str

    def to_frame(self) -> pd.DataFrame:
        """A copy of :attr:`table`."""
        return self.table.copy()

    def rejected(self, alpha: float = 0.05) -> list[str]:
        """Terms (and ``GLOBAL``) whose p-value is below ``alpha``."""
        return [str(t) for t in self.table.index[self.table["p"] < alpha]]

    def _repr_html_(self) -> str:
        return f"<p>cox_zph (transform {self.transform!r})</p>" + self.table.to_html()

    def __repr__(self) -> str:
        return f"CoxZph(transform={self.transform!r})\n{self.table.to_string()}"


def _transform(name: str, inp) -> np.ndarray:
    """g(time) at the event rows, as R (ranks and KM over all rows; KM unweighted).

    R's ``rank(times)`` averages ties; ``km`` is 1 - the left-continuous
    Kaplan-Meier of all rows (with their entry times). Both are read off sorted
    arrays with ``searchsorted``; only the event rows' values are needed.
    """
    times, te = inp.time, inp.time[inp.event]
    if name == "identity":
        return te.astype(float)
    if name == "log":
        if np.any(te <= 0):
            raise InputError("cox_zph: transform='log' needs times > 0. Fix: use 'km' or 'rank'.")
        return np.log(te)
    ordered = np.sort(times)
    order = np.argsort(te)  # look up sorted needles: binary searches walk in order
    ts = te[order]
    out = np.empty(te.size)
    if name == "rank":
        lo = np.searchsorted(ordered, ts, side="left")
        hi = np.searchsorted(ordered, ts, side="right")
        out[order] = lo + (hi - lo + 1) / 2.0
        return out
    head = np.concatenate(([True], ts[1:] != ts[:-1]))
    ue, which = ts[head], np.cumsum(head) - 1
    d = np.bincount(which).astype(float)
    n_risk = times.size - np.searchsorted(ordered, ue, side="left")  # time >= t
    if inp.entry is not None:  # not yet entered: entry >= t
        n_risk = n_risk - (times.size - np.searchsorted(np.sort(inp.entry), ue, side="left"))
    surv_before = np.concatenate(([1.0], np.cumprod(1.0 - d / n_risk)[:-1]))
    out[order] = 1.0 - surv_before[which]
    return out


def _solve_as_r(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``solve(a, b)`` refusing what R's ``solve`` refuses, with an InputError.

    R (``La_solve``) stops when the LU factorisation has an exact zero pivot or
    the LAPACK ``dgecon`` estimate of the reciprocal condition number (1-norm)
    is below machine epsilon: "system is computationally singular". Solving
    such a system anyway gives rounding noise (even a negative chi-square).
    """
    if a.size == 0:  # LAPACK would print "illegal value" to the terminal (fuzzing round 4)
        raise InputError(
            "cox_zph: the model has no term left to test (an empty information matrix). "
            "Fix: give the model at least one covariate with events in each level."
        )
    lu, piv, info = lapack.dgetrf(a)
    rcond = 0.0
    if info == 0:
        rcond, _ = lapack.dgecon(lu, float(np.abs(a).sum(axis=0).max()), norm="1")
    if info != 0 or not rcond >= np.finfo(float).eps:
        raise InputError(
            "cox_zph: the information matrix of the model with the time-varying terms is "
            f"computationally singular (reciprocal condition number {rcond:.3g}); R's "
            "cox.zph stops here too. This happens when the fit has too few events for its "
            "covariates, or a coefficient is near infinite (monotone likelihood). Fix: "
            "simplify the model or check the covariates that separate the events."
        )
    return lapack.dgetrs(lu, piv, b)[0]


def cox_zph(fit, /, *, transform: str = "km") -> CoxZph:
    """Schoenfeld-type score test of proportional hazards per covariate and GLOBAL.

    Parameters
    ----------
    fit
        A :class:`~aftercar.stats.CoxResult` from :func:`~aftercar.stats.cox_ph`.
    transform
        ``"km"`` (default, as R), ``"rank"``, ``"identity"`` or ``"log"``.

    Returns
    -------
    CoxZph
        ``table`` with ``chisq, df, p`` per covariate and ``GLOBAL``;
        ``rejected(alpha)`` lists the terms with p < alpha. A small p says the
        covariate's effect changes over time (non-proportional hazards).

    Raises
    ------
    InputError
        Unknown ``transform``, a fit not from ``cox_ph``, or an information
        matrix that R's ``solve`` refuses ("system is computationally singular").

    References
    ----------
    Grambsch PM, Therneau TM. Proportional hazards tests and diagnostics based on
    weighted residuals. Biometrika 1994;81:515-526.
    Therneau TM. survival 3.5-3: ``cox.zph``, ``zph1.c``, ``zph2.c``.
    """
    if transform not in TRANSFORMS:
        raise InputError(f"cox_zph: transform must be one of {TRANSFORMS}; got {transform!r}.")
    state = getattr(fit, "_state", None)
    if state is None:
        raise InputError("cox_zph needs a fit returned by aftercar.stats.cox_ph.")
    design, beta, inp = state
    keep = ~np.isnan(fit.coef)
    u_g, i_g = core.group_score_information(design, np.where(keep, beta, 0.0))
    u_g, i_g = u_g[:, keep], i_g[:, keep][:, :, keep]
    g_events = _transform(transform, inp)
    gtime = np.zeros(inp.time.size)
    gtime[inp.event] = g_events - g_events.mean()
    g = gtime[design.perm[design.gstart]]  # g at each event group's time
    p = int(keep.sum())
    u = np.concatenate((np.zeros(p), g @ u_g))
    i11, i12, i22 = i_g.sum(axis=0), np.tensordot(g, i_g, 1), np.tensordot(g * g, i_g, 1)
    imat = np.block([[i11, i12], [i12, i22]])
    stats = []
    for j in range(p):  # one small solve per covariate
        kk = np.concatenate((np.arange(p), [p + j]))
        stats.append(_solve_as_r(imat[np.ix_(kk, kk)], u[kk]) @ u[kk])
    stats.append(_solve_as_r(imat, u) @ u)
    df = np.array([1] * p + [p])
    names = [n for n, k in zip(fit.names, keep, strict=True) if k] + ["GLOBAL"]
    table = pd.DataFrame(
        {"chisq": stats, "df": df, "p": chi2.sf(stats, df)},
        index=pd.Index(names, name="term"),
    )
    return CoxZph(table, transform)
