"""Input checks for :func:`aftercar.stats.cox_ph`.

The statistics layer receives arrays, not files, so every error names the
argument and the (0-based) positions of the offending values, says what is
wrong and how to fix it, and is raised as :class:`aftercar.errors.InputError`.
All checks are vectorised.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from aftercar.errors import InputError
from aftercar.stats import _cox_core as core
from aftercar.stats._inputs import as_float, warn_few_clusters
from aftercar.stats._inputs import positions as _positions


def _as_codes(values, name: str, n: int) -> tuple[np.ndarray, int]:
    if isinstance(values, pd.DataFrame):  # several columns: one level per combination
        if len(values) != n:
            raise InputError(
                f"cox_ph: `{name}` has {len(values)} rows but `time` has {n}. "
                "Fix: pass one value per row."
            )
        bad = values.isna().any(axis=1).to_numpy()
        if bad.any():
            raise InputError(
                f"cox_ph: `{name}` is missing at {_positions(bad)}. "
                f"Fix: give every row a {name} value."
            )
        codes = values.groupby(list(values.columns), sort=True).ngroup().to_numpy()
        return codes.astype(np.int64), int(codes.max()) + 1 if n else 0
    arr = values.to_numpy() if isinstance(values, pd.Series | pd.Index) else np.asarray(values)
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    if arr.size != n:
        raise InputError(
            f"cox_ph: `{name}` has {arr.size} values but `time` has {n}. "
            "Fix: pass one value per row."
        )
    bad = pd.isna(arr) if arr.dtype.kind in "OSUfcmM" else np.zeros(n, dtype=bool)
    if bad.any():
        raise InputError(
            f"cox_ph: `{name}` is missing at {_positions(bad)}. Fix: give every row a {name} value."
        )
    codes, uniques = pd.factorize(arr)
    return codes.astype(np.int64, copy=False), len(uniques)


def _covariate_matrix(covariates, n: int) -> tuple[np.ndarray, tuple[str, ...]]:
    if isinstance(covariates, pd.Series):
        covariates = covariates.to_frame()
    if isinstance(covariates, pd.DataFrame):
        names = tuple(str(c) for c in covariates.columns)
        nonnum = [
            c
            for c in covariates.columns
            if not (
                pd.api.types.is_numeric_dtype(covariates[c])
                or pd.api.types.is_bool_dtype(covariates[c])
            )
        ]
        if nonnum:
            raise InputError(
                f"cox_ph: covariate column(s) {nonnum} are not numeric. "
                "Fix: encode categories as 0/1 indicator columns."
            )
        x = covariates.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        try:
            x = np.asarray(covariates, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"cox_ph: `covariates` must be numeric ({exc}). Fix: pass a DataFrame or a "
                "numeric array with one row per time value; encode categories as 0/1 columns."
            ) from None
        if x.ndim == 1:
            x = x[:, None]
        names = tuple(f"x{j + 1}" for j in range(x.shape[1]) if x.ndim == 2)
    if x.ndim != 2 or x.shape[0] != n or x.shape[1] == 0:
        raise InputError(
            f"cox_ph: `covariates` must be a table with {n} rows and at least one column; "
            f"got shape {x.shape}. Fix: pass one row of covariates per time value."
        )
    bad = ~np.isfinite(x)
    if bad.any():
        cols = sorted({names[j] for j in np.flatnonzero(bad.any(axis=0))})
        raise InputError(
            f"cox_ph: covariate(s) {cols} have missing or non-finite values at "
            f"{_positions(bad.any(axis=1))}. Fix: drop those rows or impute the values."
        )
    return np.asfortranarray(x), names  # column-major: the fit works column by column


def _check_event_entry_weights(time, event, entry, weights) -> None:
    bad = (event != 0) & (event != 1)
    if bad.any():
        raise InputError(
            f"cox_ph: `event` must be 0/1 or True/False; other values at {_positions(bad)}. "
            "Fix: code 1 = event observed, 0 = censored."
        )
    if entry is not None:
        bad = entry >= time
        if bad.any():
            raise InputError(
                f"cox_ph: entry (start) time is not before the stop time at {_positions(bad)}. "
                "Fix: each (start, stop] interval must have start < stop, as in R's Surv()."
            )
    if weights is not None:
        bad = weights <= 0
        if bad.any():
            raise InputError(
                f"cox_ph: `weights` must be > 0 (as in R coxph); not so at {_positions(bad)}. "
                "Fix: drop rows with zero weight."
            )


@dataclass(frozen=True)
class Inputs:
    time: np.ndarray
    event: np.ndarray
    x: np.ndarray
    names: tuple[str, ...]
    entry: np.ndarray | None
    weights: np.ndarray
    strata: np.ndarray
    cluster: tuple[np.ndarray, int] | None


def apply_timefix(inp: Inputs) -> Inputs:
    stop, entry, collapsed = core.aeq_times(inp.time, inp.entry)
    if collapsed.any():
        raise InputError(
            f"cox_ph: (entry, time] intervals at {_positions(collapsed)} are shorter than the "
            "time tolerance (R's aeqSurv error 'an interval has effective length 0'). "
            "Fix: merge or drop those rows, or pass timefix=False."
        )
    return replace(inp, time=stop, entry=entry)


def _resolve_cluster(cluster, robust, weights, n):
    if robust is False and cluster is not None:
        raise InputError(
            "cox_ph: `cluster` was given with robust=False. Fix: drop `cluster` for the "
            "model-based variance, or leave robust unset to get the cluster-robust one."
        )
    if cluster is not None:
        return _as_codes(cluster, "cluster", n)
    fractional = weights is not None and bool(np.any(weights != np.floor(weights)))
    if robust or (robust is None and fractional):
        return (np.arange(n, dtype=np.int64), n)
    return None


def validate(time, event, covariates, entry, weights, strata, cluster, robust) -> Inputs:
    t = as_float(time, "time", caller="cox_ph")
    n = t.size
    if n == 0:
        raise InputError("cox_ph: no rows. Fix: pass at least one row with an event.")
    ev = as_float(event, "event", n=n, caller="cox_ph")
    en = None if entry is None else as_float(entry, "entry", n=n, caller="cox_ph")
    w = None if weights is None else as_float(weights, "weights", n=n, caller="cox_ph")
    _check_event_entry_weights(t, ev, en, w)
    x, names = _covariate_matrix(covariates, n)
    st = np.zeros(n, dtype=np.int64) if strata is None else _as_codes(strata, "strata", n)[0]
    cl = _resolve_cluster(cluster, robust, w, n)
    if cl is not None:
        warn_few_clusters(cl[1], "cox_ph")
    if not (ev == 1).any():
        raise InputError(
            "cox_ph: there are no events, so no hazard ratio can be estimated. "
            "Fix: check the event coding (1 = event) or the selected rows."
        )
    wts = np.ones(n) if w is None else w
    return Inputs(t, ev == 1, x, names, en, wts, st, cl)


@dataclass(frozen=True)
class CoxControl:
    """Iteration and tolerance settings of :func:`cox_ph`, as R ``coxph.control``.

    Attributes
    ----------
    eps
        Convergence: stop when ``|1 - loglik_old / loglik_new| <= eps`` (R 1e-9).
    iter_max
        Maximum Newton-Raphson iterations (R ``iter.max``, 20).
    toler_chol
        Cholesky pivot tolerance (R ``toler.chol``, ``eps_machine ** 0.75``).
    toler_inf
        Relative step size above which a coefficient is flagged as possibly
        infinite (R ``toler.inf``); ``None`` means ``sqrt(eps)`` as R.
    """

    eps: float = 1e-9
    iter_max: int = 20
    toler_chol: float = float(np.finfo(float).eps ** 0.75)
    toler_inf: float | None = None

    def __post_init__(self) -> None:
        if not (self.eps > 0 and self.toler_chol > 0 and int(self.iter_max) >= 0):
            raise InputError(
                f"CoxControl: eps and toler_chol must be > 0 and iter_max >= 0; got {self!r}."
            )

    @property
    def inf_tolerance(self) -> float:
        """``toler_inf`` resolved (``sqrt(eps)`` when not given)."""
        return float(np.sqrt(self.eps)) if self.toler_inf is None else float(self.toler_inf)


LEGACY_CONTROL = ("eps", "iter_max", "toler_chol", "toler_inf")


def resolve_control(control: CoxControl | None, legacy: dict) -> CoxControl:
    """Fold the deprecated ``eps=``/``iter_max=``/... keywords into a :class:`CoxControl`."""
    unknown = sorted(set(legacy) - set(LEGACY_CONTROL))
    if unknown:
        raise TypeError(f"cox_ph() got unexpected keyword argument(s) {unknown}")
    control = CoxControl() if control is None else control
    if not legacy:
        return control
    if control != CoxControl():
        raise InputError(
            "cox_ph: pass the tolerances either in control=CoxControl(...) or as the "
            "deprecated keywords, not both."
        )
    warnings.warn(
        f"cox_ph: the keyword(s) {sorted(legacy)} are deprecated; pass "
        f"control=CoxControl({', '.join(f'{k}={v!r}' for k, v in legacy.items())}).",
        DeprecationWarning,
        stacklevel=3,
    )
    return CoxControl(**legacy)
