"""Unanchored matching-adjusted indirect comparison (MAIC), method of moments.

Weights ``w_i = exp(x_i' b)`` for the cohort's individual patients make the
weighted means of the chosen baseline covariates equal to the benchmark's
published means (proportions for binary covariates). With covariates centred
on the targets, ``b`` minimises the convex function ``Q(b) = sum exp(x_c b)``
whose gradient ``x_c' exp(x_c b)`` is zero exactly when the weighted means
hit the targets. Weighted outcomes (response rate, Kaplan-Meier curve) then
estimate what the cohort would show in the benchmark's population, as far as
the matched covariates capture the difference (unanchored: no common
comparator, so every prognostic factor and effect modifier must be matched).

References
----------
Signorovitch JE, Wu EQ, Yu AP, et al. Comparative effectiveness without
head-to-head trials: a method for matching-adjusted indirect comparisons
applied to psoriasis treatment with adalimumab or etanercept.
Pharmacoeconomics 2010;28(10):935-945.
Phillippo DM, Ades AE, Dias S, Palmer S, Abrams KR, Welton NJ. NICE DSU
Technical Support Document 18: Methods for population-adjusted indirect
comparisons in submissions to NICE. 2016.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from aftercar.errors import ConvergenceError, InputError

__all__ = ["MaicResult", "maic_bootstrap", "maic_weights", "weighted_km", "weighted_rate"]


@dataclass(frozen=True)
class MaicResult:
    """MAIC weights and diagnostics.

    Attributes
    ----------
    coef
        ``b`` on the centred covariates, one per covariate.
    weights
        ``exp(x_c b)`` per patient (scale is arbitrary).
    rescaled_weights
        Weights rescaled to sum to the number of patients (NICE TSD 18).
    ess
        Effective sample size ``(sum w)^2 / sum w^2`` (patients).
    targets
        Target means by covariate name.
    weighted_means, unweighted_means
        Cohort means after and before weighting.
    max_abs_diff
        Largest |weighted mean - target| (should be < 1e-8).
    """

    coef: pd.Series
    weights: np.ndarray
    rescaled_weights: np.ndarray
    ess: float
    targets: pd.Series
    weighted_means: pd.Series
    unweighted_means: pd.Series
    max_abs_diff: float

    def diagnostics(self) -> pd.DataFrame:
        """Summary of the rescaled weights (min, quartiles, max, share < 0.1, ESS)."""
        w = self.rescaled_weights
        q = np.quantile(w, [0.0, 0.25, 0.5, 0.75, 1.0])
        return pd.DataFrame({
            "statistic": ["n", "ess", "ess_percent", "min", "q1", "median", "q3", "max",
                          "share_below_0.1"],
            "value": [w.size, self.ess, 100 * self.ess / w.size, *q, float(np.mean(w < 0.1))],
        })  # fmt: skip

    def to_frame(self) -> pd.DataFrame:
        """One row per covariate: target, unweighted and weighted mean, coefficient."""
        return pd.DataFrame({
            "target": self.targets, "unweighted_mean": self.unweighted_means,
            "weighted_mean": self.weighted_means, "coef": self.coef,
        })  # fmt: skip


def _matrix(ipd: pd.DataFrame, targets: Mapping[str, float]) -> np.ndarray:
    missing = [c for c in targets if c not in ipd.columns]
    if missing:
        raise InputError(
            f"MAIC covariate(s) {missing} are not columns of the cohort "
            f"(columns: {list(ipd.columns)}). Fix: match the benchmark's baseline names."
        )
    x = ipd[list(targets)].astype("float64").to_numpy(na_value=np.nan)
    bad = ~np.isfinite(x)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise InputError(
            f"MAIC covariate '{list(targets)[c]}' is missing for patient row {r + 1}. "
            "Fix: impute it or drop the patient (and report that) before weighting."
        )
    return x - np.asarray([float(v) for v in targets.values()])[None, :]


def _check_reachable(xc: np.ndarray, names: list[str]) -> None:
    for j, name in enumerate(names):
        if not (xc[:, j].min() < 0 < xc[:, j].max()):
            raise InputError(
                f"MAIC target for '{name}' lies outside the cohort's range of values, so "
                "no positive weights can match it. Fix: drop that covariate or check its "
                "target (proportions are 0-1, not percentages)."
            )


def _newton_polish(xc: np.ndarray, b: np.ndarray, tol: float) -> np.ndarray:
    """Newton steps on the convex objective until the weighted means match to ``tol``."""
    for _ in range(50):
        w = np.exp(xc @ b)
        grad = xc.T @ w
        if np.max(np.abs(grad / w.sum())) < tol:
            return b
        hess = (xc * w[:, None]).T @ xc
        b = b - np.linalg.solve(hess, grad)
    return b


def maic_weights(ipd: pd.DataFrame, targets: Mapping[str, float], *, tol: float = 1e-10):
    """Estimate MAIC weights matching cohort covariate means to published targets.

    Parameters
    ----------
    ipd
        One row per cohort patient; numeric or boolean covariate columns.
    targets
        Published benchmark mean (or proportion 0-1) for each covariate to match.
        For a continuous covariate's SD, add a column ``x**2`` and target
        ``mean**2 + sd**2`` (TSD 18, section 3.3.1).
    tol
        Required max |weighted mean - target| after optimisation.

    Returns
    -------
    MaicResult

    Raises
    ------
    InputError
        Missing covariates or values; a target outside the cohort's range.
    ConvergenceError
        The optimiser did not reach ``tol``.

    References
    ----------
    Signorovitch JE et al. Pharmacoeconomics 2010;28:935-945. Phillippo DM et al.
    NICE DSU TSD 18, 2016 (appendix D code: BFGS on sum exp(X b)).
    """
    if not targets:
        raise InputError("No MAIC targets given. Fix: give at least one covariate mean.")
    names = list(targets)
    xc = _matrix(ipd, targets)
    _check_reachable(xc, names)
    scale = xc.std(axis=0) + 1e-12  # optimise on a standardised scale, map back
    z = xc / scale

    def objective(b: np.ndarray) -> tuple[float, np.ndarray]:
        w = np.exp(z @ b)
        return float(w.sum()), z.T @ w

    res = optimize.minimize(objective, np.zeros(len(names)), jac=True, method="BFGS",
                            options={"gtol": 1e-10, "maxiter": 1000})  # fmt: skip
    b = _newton_polish(xc, res.x / scale, tol)
    w = np.exp(xc @ b)
    diff = float(np.max(np.abs(xc.T @ w / w.sum())))
    if not np.isfinite(diff) or diff > tol:
        raise ConvergenceError(
            f"MAIC weights did not converge (max |weighted mean - target| = {diff:.3g}). "
            "Fix: match fewer covariates or check that the targets are attainable."
        )
    x = xc + np.asarray([float(v) for v in targets.values()])[None, :]
    return MaicResult(
        coef=pd.Series(b, index=names, name="coef"),
        weights=w,
        rescaled_weights=w * w.size / w.sum(),
        ess=float(w.sum() ** 2 / np.sum(w**2)),
        targets=pd.Series({k: float(v) for k, v in targets.items()}, name="target"),
        weighted_means=pd.Series(np.average(x, axis=0, weights=w), index=names),
        unweighted_means=pd.Series(x.mean(axis=0), index=names),
        max_abs_diff=diff,
    )


def weighted_rate(responded, weights) -> float:
    """Weighted proportion ``sum(w * y) / sum(w)`` (e.g. a MAIC-weighted ORR)."""
    y = np.asarray(responded, dtype=float)
    w = np.asarray(weights, dtype=float)
    return float(np.sum(w * y) / np.sum(w))


def weighted_km(time, event, weights):
    """MAIC-weighted Kaplan-Meier curve via :func:`aftercar.stats.kaplan_meier`."""
    from aftercar.stats import kaplan_meier

    return kaplan_meier(time, event, weights=np.asarray(weights, dtype=float))


def _batch_weights(xc: np.ndarray, counts: np.ndarray, iters: int = 60) -> np.ndarray:
    """MAIC weights for many bootstrap replicates at once (damped Newton, vectorised).

    ``counts[r, i]`` is how often patient ``i`` is drawn in replicate ``r``;
    returns per-patient weights ``exp(x_c b_r)`` (B x n). Rows are NaN where the
    replicate cannot match the targets (a target outside the drawn patients'
    range) or did not converge; the caller reports how many replicates were used.
    """
    drawn = counts > 0
    pos = np.stack([(drawn & (xc[:, j] > 0)).any(axis=1) for j in range(xc.shape[1])], axis=1)
    neg = np.stack([(drawn & (xc[:, j] < 0)).any(axis=1) for j in range(xc.shape[1])], axis=1)
    feasible = (pos & neg).all(axis=1)
    out = np.full(counts.shape, np.nan)
    c = counts[feasible]
    b = np.zeros((c.shape[0], xc.shape[1]))

    def q(beta):
        return np.sum(c * np.exp(beta @ xc.T), axis=1)

    for _ in range(iters):
        e = c * np.exp(b @ xc.T)  # B x n
        grad = e @ xc  # B x p
        if np.all(np.abs(grad) <= 1e-12 * e.sum(axis=1)[:, None]):
            break
        hess = np.einsum("bi,ij,ik->bjk", e, xc, xc)
        step = np.linalg.solve(hess, grad[..., None])[..., 0]
        t = np.ones(c.shape[0])
        q0 = q(b)
        for _h in range(30):  # backtracking, vectorised over replicates
            worse = q(b - t[:, None] * step) > q0 * (1 + 1e-15)
            if not worse.any():
                break
            t = np.where(worse, t / 2, t)
        b = b - t[:, None] * step
    w = np.exp(b @ xc.T)
    e = c * w
    ok = np.max(np.abs(e @ xc) / e.sum(axis=1)[:, None], axis=1) < 1e-6
    out[np.flatnonzero(feasible)[ok]] = w[ok]
    return out


def maic_bootstrap(
    ipd: pd.DataFrame,
    targets: Mapping[str, float],
    *,
    responded=None,
    time=None,
    event=None,
    survival: Mapping[str, tuple] | None = None,
    n_boot: int = 1000,
    seed: int = 20230216,
    conf_level: float = 0.95,
) -> dict[str, dict[str, float | None]]:
    """Percentile bootstrap CIs for the MAIC-weighted ORR, medians and ESS.

    Patients are resampled with replacement; the weights are re-estimated in
    every replicate (all replicates solved together, vectorised). Seeded.
    Outcomes may be missing (NaN) for some patients (e.g. ORR among evaluable
    patients only): those patients still carry weight in the matching but are
    left out of that outcome's numerator and denominator.

    Parameters
    ----------
    responded
        0/1 (NaN = not evaluable) per patient, for the weighted ORR.
    time, event
        One time-to-event outcome (months; NaN = not available): key ``median``.
    survival
        More time-to-event outcomes, ``{name: (time, event)}``: keys ``median_<name>``.

    Returns
    -------
    dict
        ``{"ess": {...}, "orr": {...}, "median": {...}, ...}`` each with
        ``estimate``, ``lower``, ``upper`` and ``n_boot_used`` (replicates whose
        targets were reachable and whose estimate exists).

    References
    ----------
    Phillippo DM et al. NICE DSU TSD 18, 2016, section 3.3.
    """
    fit = maic_weights(ipd, targets)
    xc = _matrix(ipd, targets)
    n = xc.shape[0]
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)
    w = _batch_weights(xc, counts)
    ok = np.isfinite(w).all(axis=1)
    cw = counts[ok] * w[ok]
    a = (1.0 - conf_level) / 2.0
    out: dict[str, dict[str, float | None]] = {}

    def summarise(name: str, est, reps: np.ndarray) -> None:
        reps = reps[np.isfinite(reps)]
        lo, hi = np.quantile(reps, [a, 1 - a]) if reps.size else (np.nan, np.nan)
        out[name] = {"estimate": est, "lower": float(lo), "upper": float(hi),
                     "n_boot_used": int(reps.size)}  # fmt: skip

    # a patient drawn c times counts c times: ESS = (sum c w)^2 / sum c w^2
    summarise("ess", fit.ess, cw.sum(axis=1) ** 2 / np.sum(cw * w[ok], axis=1))
    if responded is not None:
        y = np.asarray(responded, dtype=float)
        m = np.isfinite(y)
        with np.errstate(invalid="ignore", divide="ignore"):
            reps = (cw[:, m] @ y[m]) / cw[:, m].sum(axis=1)
        summarise("orr", weighted_rate(y[m], fit.weights[m]), reps)
    outcomes = dict(survival or {})
    if time is not None and event is not None:
        outcomes = {"": (time, event), **outcomes}
    for name, (t, e) in outcomes.items():
        t = np.asarray(t, dtype=float)
        e = np.asarray(e, dtype=float)
        m = np.isfinite(t) & np.isfinite(e)
        med = weighted_km(t[m], e[m], fit.weights[m]).median().estimate
        reps = np.array([_median_or_nan(t[m], e[m], row[m]) for row in cw])
        summarise(f"median_{name}" if name else "median", med, reps)
    return out


def _median_or_nan(time, event, w: np.ndarray) -> float:
    keep = w > 0
    if not keep.any():
        return np.nan
    est = weighted_km(np.asarray(time)[keep], np.asarray(event)[keep], w[keep]).median().estimate
    return np.nan if est is None else float(est)
