"""Fine-Gray subdistribution hazards as R ``finegray()`` + weighted ``coxph``.

R's recipe (survival 3.5-3, ``finegray``): a subject with a competing event at
``T`` stays in the risk set for the cause of interest after ``T`` with weight
``G(t) / G(T)``, G the Kaplan-Meier curve of the censoring distribution (a
subject with an event at t is removed just before the censorings at t). The
data are expanded into ``(start, stop]`` rows: the competing subject's first
row runs to the end of the censoring interval that contains ``T`` with weight
1, then one row per later censoring interval that contains an event of
interest, weighted by ``G(end of the interval before) / G(T)`` (R's ``cprob``
ratio). The model is ``coxph(Surv(fgstart, fgstop, fgstatus) ~ X, weights =
fgwt)``; the robust variance is clustered by subject (``+ cluster(id)``), the
usual Fine-Gray sandwich.

The expansion is one ``np.repeat`` over the kept censoring intervals; the fit is
:func:`aftercar.stats.cox_ph`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from aftercar.errors import InputError, StatisticalWarning
from aftercar.stats import _inputs
from aftercar.stats.competing import _as_status
from aftercar.stats.cox import CoxResult, cox_ph

__all__ = ["FineGrayResult", "fine_gray", "finegray_rows"]


@dataclass(frozen=True, repr=False, eq=False)
class FineGrayResult:
    """Result of :func:`fine_gray`.

    Attributes
    ----------
    cause
        The cause of interest.
    cox
        The weighted Cox fit on the expanded rows (coefficients are log
        subdistribution hazard ratios; ``cox.se`` model-based, ``cox.robust_se``
        clustered by subject; z, p and CIs use the robust SE).
    rows
        The expanded data (``id, start, stop, status, weight``), R's ``finegray``
        (rows with a NaN weight included; the fit leaves them out, as R).
    """

    cause: int
    cox: CoxResult
    rows: pd.DataFrame

    @property
    def coef(self) -> np.ndarray:
        """Log subdistribution hazard ratios."""
        return self.cox.coef

    @property
    def se(self) -> np.ndarray:
        """Model-based standard errors (R's ``sqrt(diag(fit$naive.var))``)."""
        return self.cox.se

    @property
    def robust_se(self) -> np.ndarray:
        """Standard errors clustered by subject (R's ``robust se``)."""
        return self.cox.robust_se

    def to_frame(self) -> pd.DataFrame:
        """Per covariate: coef, subdistribution HR, se, robust_se, z, p, lower, upper."""
        return self.cox.to_frame().rename(columns={"hazard_ratio": "subdistribution_hr"})

    def _repr_html_(self) -> str:
        return f"<p>Fine-Gray, cause {self.cause}</p>" + self.to_frame().to_html()

    def __repr__(self) -> str:
        return f"FineGrayResult(cause={self.cause})\n{self.to_frame().to_string()}"


def _censoring_curve(t, status, entry):
    """R's ``Gsurv``: censoring-time KM (events leave just before censorings at a time).

    At risk for a censoring at c: ``entry < c`` and ``time > c``, or censored at c.
    """
    ct, inv = np.unique(t, return_inverse=True)
    inv = inv.reshape(-1)
    k = ct.size
    cens = np.bincount(inv, weights=(status == 0).astype(float), minlength=k)
    exits = np.bincount(inv, minlength=k).astype(float)
    at_risk = np.concatenate((np.cumsum(exits[::-1])[::-1][1:], [0.0])) + cens
    if entry is not None:  # not yet entered: entry >= c
        at_risk -= entry.size - np.searchsorted(np.sort(entry), ct, side="left")
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.cumprod(np.where(cens > 0, 1.0 - cens / at_risk, 1.0))
    has = cens > 0
    return ct[has], g[has]


def _truncation_curve(t, entry):
    """R's ``Hsurv`` as used by ``finegray``: at each distinct entry time e, the
    product over later entries e' > e of (1 - entries at e' / (entry <= e' < time))."""
    ue, inv = np.unique(entry, return_inverse=True)
    d = np.bincount(inv.reshape(-1), minlength=ue.size).astype(float)
    entered = np.searchsorted(np.sort(entry), ue, side="right")  # entry <= e
    gone = np.searchsorted(np.sort(t), ue, side="right")  # time <= e
    factor = 1.0 - d / (entered - gone)
    after = np.concatenate((np.cumprod(factor[::-1])[::-1][1:], [1.0]))
    return ue, after


def _weights_curve(t, status, entry):
    """(times, probabilities) of R's ``ct2``/``cp2`` before the final max time."""
    ctime, cprob = _censoring_curve(t, status, entry)
    if entry is None or not np.any(entry > t.min()):  # R: no delay, G alone
        return ctime, cprob
    dtime, dprob = _truncation_curve(t, entry)
    grid = np.union1d(dtime, ctime)
    h = dprob[np.searchsorted(dtime, grid, side="right") - 1]
    g = np.concatenate(([1.0], cprob))[np.searchsorted(ctime, grid, side="right")]
    return grid, h * g


def finegray_rows(time, status, /, *, cause: int = 1, entry=None) -> pd.DataFrame:
    """Expanded ``(start, stop]`` rows of R ``finegray(Surv(time, factor(status)) ~ .)``.

    With ``entry`` (delayed entry), as ``finegray(Surv(entry, time, factor(status)) ~
    ., id=)``: the weights are G(t) H(t) (Geskus 2011), H the truncation curve.
    Returns a frame ``id`` (0-based input row), ``start``, ``stop``, ``status``
    (1 = event of interest), ``weight``. As R's, a weight is NaN (0/0) or inf
    where the censoring-times-truncation curve G H is 0 at the subject's
    competing event: someone entered after the risk set had emptied.
    """
    t = _inputs.as_float(time, "time")
    st = _as_status(status, t.size)
    en = _inputs.as_entry(entry, t)
    t, en = _inputs.timefix(t, en)
    zero = 0.0 if t.min() > 0 else 2 * float(t.min()) - 1
    ctime, cprob = _weights_curve(t, st, en)
    ct2 = np.concatenate((ctime, [t.max()]))
    cp2 = np.concatenate(([1.0], cprob))
    interest = t[st == cause]
    if interest.size == 0:
        raise InputError(f"fine_gray: no event of cause {cause}. Fix: check `cause` and `status`.")
    keep = np.zeros(ct2.size, dtype=bool)
    keep[0] = True
    keep[np.unique(np.searchsorted(ct2, interest, side="left"))] = True
    kept = np.flatnonzero(keep)
    n = t.size
    compete = (st != 0) & (st != cause)
    j0 = np.searchsorted(ct2, t, side="left")
    stop = np.where(compete, ct2[np.minimum(j0, ct2.size - 1)], t)
    first = pd.DataFrame(
        {
            "id": np.arange(n),
            "start": zero if en is None else en,
            "stop": stop,
            "status": (st == cause).astype(int),
            "weight": 1.0,
        }
    )
    rows = np.flatnonzero(compete)
    skip = np.searchsorted(kept, j0[rows], side="right")
    counts = kept.size - skip
    rep = np.repeat(rows, counts)
    offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    j = kept[np.repeat(skip, counts) + offset]
    with np.errstate(divide="ignore", invalid="ignore"):  # G H = 0 at T: NaN or inf, as R
        weight = cp2[j] / cp2[j0[rep]]
    extra = pd.DataFrame(
        {
            "id": rep,
            "start": ct2[j - 1],
            "stop": ct2[j],
            "status": 0,
            "weight": weight,
        }
    )
    out = pd.concat([first, extra], ignore_index=True)
    return out.sort_values(["id", "start"], kind="stable", ignore_index=True)


def _check_subjects(x: pd.DataFrame) -> None:
    """Stop on non-numeric covariates, or missing ones named by the caller's (0-based)
    subject positions, before the rows are expanded (where the positions would be of the
    expanded rows, and the message :func:`cox_ph`'s)."""
    try:
        values = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"fine_gray: `X` must be numeric ({exc}). Fix: encode categories as "
                         "0/1 indicator columns.") from None  # fmt: skip
    bad = ~np.isfinite(values)
    if bad.any():
        cols = sorted({str(x.columns[j]) for j in np.flatnonzero(bad.any(axis=0))})
        raise InputError(
            f"fine_gray: covariate(s) {cols} have missing or non-finite values for the "
            f"subject(s) at {_inputs.positions(bad.any(axis=1))}. Fix: drop those subjects "
            "(R's finegray + coxph drop them: na.omit) or impute the values."
        )


def _subjects_of(rows: pd.DataFrame, mask: np.ndarray) -> str:
    """The (0-based) positions of the subjects owning the expanded rows in ``mask``."""
    ids = rows["id"].to_numpy()
    return _inputs.positions(np.bincount(ids[mask], minlength=int(ids.max()) + 1) > 0)


def _usable_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """The expanded rows R's ``coxph`` fits: NaN weights dropped (``na.omit``), with a
    warning; an infinite weight stops, as R ("weights must be finite")."""
    weight = rows["weight"].to_numpy()
    inf = np.isinf(weight)
    if inf.any():
        raise InputError(
            "fine_gray: infinite Fine-Gray weights G(t) H(t) / G(T) H(T) for the subject(s) "
            f"at {_subjects_of(rows, inf)}: the truncation curve H is 0 at their competing "
            "event because someone enters after the risk set has emptied (R's finegray "
            "gives the same Inf and coxph stops: 'weights must be finite'). Fix: analyse "
            "the follow-up before and after the gap separately, or leave out the subjects "
            "entering after it."
        )
    bad = np.isnan(weight)
    if bad.any():
        warnings.warn(
            f"fine_gray: {int(bad.sum())} expanded row(s) of the subject(s) at "
            f"{_subjects_of(rows, bad)} have weight 0/0 (someone entered after the risk "
            "set had emptied, so the truncation curve H is 0 at their competing event) and "
            "are left out, as R's coxph drops them (na.omit).",
            StatisticalWarning,
            stacklevel=3,
        )
    return rows[~bad]


def fine_gray(
    time,
    status,
    X,
    /,
    *,
    cause: int = 1,
    entry=None,
    ties: str = "efron",
    conf_level: float = 0.95,
) -> FineGrayResult:
    """Fine-Gray model of the subdistribution hazard of ``cause``, as R.

    Parameters
    ----------
    time
        Time of the first event or censoring (months = days / 30.4375 in aftercar).
    status
        0 = censored, 1..k = cause of the event.
    X
        Covariates, one row per subject (DataFrame, Series or array).
    cause
        The cause of interest (R's ``etype``); other causes compete.
    entry
        Optional delayed-entry times (< ``time``), one row per subject, as R
        ``finegray(Surv(entry, time, status) ~ ., id=)``.
    ties, conf_level
        As :func:`~aftercar.stats.cox_ph`.

    Returns
    -------
    FineGrayResult
        ``coef`` (log subdistribution HR), ``se``, ``robust_se`` (by subject),
        ``to_frame()``, the Cox fit ``cox`` and the expanded ``rows``.

    Raises
    ------
    InputError
        Bad input; no event of ``cause``; an infinite weight (R's ``coxph``
        stops: "weights must be finite").

    Warns
    -----
    StatisticalWarning
        When someone enters after the risk set has emptied, the expanded rows of
        earlier competing events whose weight is 0/0 (NaN, as R's ``finegray``)
        are left out of the fit, as R's ``coxph`` drops them (``na.omit``).

    References
    ----------
    Fine JP, Gray RJ. A proportional hazards model for the subdistribution of a
    competing risk. JASA 1999;94:496-509.
    Geskus RB. Cause-specific cumulative incidence estimation and the Fine and
    Gray model under both left truncation and right censoring. Biometrics
    2011;67:39-49. Therneau TM. survival 3.5-3: ``finegray``.
    """
    rows = finegray_rows(time, status, cause=cause, entry=entry)
    x = X.to_frame() if isinstance(X, pd.Series) else X
    x = x.reset_index(drop=True) if isinstance(x, pd.DataFrame) else pd.DataFrame(np.asarray(x))
    if len(x) != int(rows["id"].max()) + 1:
        raise InputError(f"fine_gray: `X` has {len(x)} rows but `time` has {rows['id'].max() + 1}.")
    if not isinstance(X, pd.DataFrame | pd.Series):
        x.columns = [f"x{j + 1}" for j in range(x.shape[1])]
    _check_subjects(x)
    used = _usable_rows(rows)
    fit = cox_ph(
        used["stop"].to_numpy(),
        used["status"].to_numpy(),
        x.iloc[used["id"].to_numpy()].reset_index(drop=True),
        entry=used["start"].to_numpy(),
        weights=used["weight"].to_numpy(),
        cluster=used["id"].to_numpy(),
        ties=ties,
        conf_level=conf_level,
        timefix=False,
    )
    return FineGrayResult(int(cause), fit, rows)
