"""Reconstruct individual patient data from a published Kaplan-Meier curve.

Implements the algorithm of Guyot et al. (2012): from digitised ``(time,
survival)`` coordinates of a KM curve, the numbers at risk printed under the
plot and (optionally) the total number of events, it finds, interval by
interval between at-risk times, the number of censored patients that makes
the KM recursion reproduce the next published number at risk, spreads those
censorings evenly over the interval, and derives the events at each
digitised step. The result is pseudo individual patient data (IPD) whose KM
curve follows the published one.

The loop is over at-risk intervals and, inside each, over digitised points
(the KM recursion is sequential); never over patients.

References
----------
Guyot P, Ades AE, Ouwens MJNM, Welton NJ. Enhanced secondary analysis of
survival data: reconstructing the data from published Kaplan-Meier survival
curves. BMC Med Res Methodol 2012;12:9. doi:10.1186/1471-2288-12-9
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pandas as pd

from aftercar.errors import InputError, Problem

__all__ = [
    "Reconstruction",
    "ReconstructionAccuracy",
    "guyot_reconstruct",
    "read_at_risk_csv",
    "read_curve_csv",
    "read_ipd_csv",
]

_MAX_ITER = 200


@dataclass(frozen=True)
class ReconstructionAccuracy:
    """How closely the reconstructed KM follows the digitised curve.

    Attributes
    ----------
    max_abs_diff, mean_abs_diff
        Max and mean |S_reconstructed - S_digitised| over the digitised points.
    median_input, median_reconstructed
        First time (months) at which each curve is <= 0.5 (None if never).
    rmst_input, rmst_reconstructed
        Restricted mean survival time up to the last digitised time (months).
    tau
        The RMST horizon (last digitised time).
    n, events, events_input
        Patients and events in the pseudo-IPD; ``events_input`` is the published
        total when given.
    notes
        At-risk rows that could not be used (and why) and a reconstructed event
        count that differs from the published total: never dropped silently.
    """

    max_abs_diff: float
    mean_abs_diff: float
    median_input: float | None
    median_reconstructed: float | None
    rmst_input: float
    rmst_reconstructed: float
    tau: float
    n: int
    events: int
    events_input: int | None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dictionary."""
        return asdict(self)


@dataclass(frozen=True)
class Reconstruction:
    """Pseudo-IPD (``ipd``: columns ``time, event``) and its accuracy report."""

    ipd: pd.DataFrame
    accuracy: ReconstructionAccuracy
    km: pd.DataFrame  # time, survival_input, survival_reconstructed

    def to_frame(self) -> pd.DataFrame:
        """The pseudo-IPD, one row per patient."""
        return self.ipd


# --------------------------------------------------------------------------- input


def _fail(file: str, row: int | None, column: str | None, value, message: str, hint: str):
    prob = Problem(file, row, column, None if value is None else str(value), message, hint)
    raise InputError(str(prob), [prob])


def _check_rows(file: str, checks) -> None:
    """Raise one :class:`InputError` listing every row that fails any check.

    ``checks`` holds ``(bad_mask, column, values, message, hint)``; rows are
    numbered as a spreadsheet shows them (header = row 1).
    """
    probs = [
        Problem(file, int(i) + 2, col, str(vals[i]), msg, hint)
        for bad, col, vals, msg, hint in checks
        for i in np.flatnonzero(bad)
    ]
    if probs:
        probs.sort(key=lambda p: p.row)
        if len(probs) == 1:
            raise InputError(str(probs[0]), probs)
        lines = "".join(f"\n  - {p}" for p in probs)
        raise InputError(f"{len(probs)} problems in {file}:{lines}", probs)


def _check_names(name: str, found: list[str], columns: tuple[str, ...],
                 alias: dict[str, str]) -> None:  # fmt: skip
    """A column given under two names ("status" beside "event") or twice (fuzzing round 4:
    the renamed pair gave a TypeError)."""
    for k, v in alias.items():
        if k in found and v in found:
            header = ",".join(columns)
            _fail(name, 1, k, None, f"both '{v}' and '{k}' columns are given (two names of "
                  "one column)", f"keep one of them (the header must be {header})")  # fmt: skip
    twice = sorted({c for c in found if found.count(c) > 1} & set(columns))
    if twice:
        _fail(name, 1, twice[0], None, f"the column '{twice[0]}' is given twice",
              "keep one of them")  # fmt: skip


def _read_numeric_csv(path, columns: tuple[str, ...], alias: dict[str, str]) -> pd.DataFrame:
    name = str(path)
    try:
        df = pd.read_csv(path)
    except FileNotFoundError:
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        _fail(name, None, None, None, f"cannot be read as CSV ({exc})", "save it as plain CSV")
    df.columns = [str(c).strip().lower() for c in df.columns]
    _check_names(name, list(df.columns), columns, alias)
    df = df.rename(columns={k: v for k, v in alias.items() if k in df.columns})
    for col in columns:
        if col not in df.columns:
            _fail(name, 1, col, None, f"missing column '{col}' (found: {list(df.columns)})",
                  f"the header must be {','.join(columns)}")  # fmt: skip
    out = df[list(columns)].copy()
    for col in columns:
        num = pd.to_numeric(out[col], errors="coerce")
        bad = num.isna() | ~np.isfinite(num.astype(float))
        if bad.any():
            i = int(np.argmax(bad.to_numpy()))
            _fail(name, i + 2, col, out[col].iloc[i], "is not a finite number",
                  "give a number in every row")  # fmt: skip
        out[col] = num.astype(float)
    if out.empty:
        _fail(name, None, None, None, "has no data rows", "add the digitised points")
    return out


#: A digitised curve whose largest value is above this is in percent.
_PERCENT_ABOVE = 1.5
#: A proportion up to this is 1 digitised a pixel high.
_DIGITISING = 1.01


def read_curve_csv(path) -> pd.DataFrame:
    """Read ``time,survival`` (proportion or percentage, detected) from a CSV.

    A column whose largest value is above 1.5 is in percent (divided by 100); otherwise
    it holds proportions, and a value up to 1.01 is read as 1 (a digitised start of the
    curve a pixel above 1: one value of 1.004 had made a whole curve "percent", its median
    1.0 month; fuzzing round 3, 2026-12-06). Rows must be in increasing time order and
    survival must not increase; errors name the file, row (header = row 1), column and
    value.
    """
    df = _read_numeric_csv(path, ("time", "survival"), {"surv": "survival", "s": "survival"})
    if df["survival"].max() > _PERCENT_ABOVE:
        df["survival"] = df["survival"] / 100.0
    else:
        noise = (df["survival"] > 1.0) & (df["survival"] <= _DIGITISING)
        df.loc[noise, "survival"] = 1.0
    return check_curve(df, file=str(path))


def read_at_risk_csv(path) -> pd.DataFrame:
    """Read ``time,n_risk`` from a CSV and check it (times increase, counts never do)."""
    df = _read_numeric_csv(path, ("time", "n_risk"), {"nrisk": "n_risk", "n.risk": "n_risk"})
    return check_at_risk(df, file=str(path))


def read_ipd_csv(path) -> pd.DataFrame:
    """Read individual patient data ``time,event`` (months; event 0/1) from a CSV.

    Errors name the file, row (header = row 1), column and value.
    """
    df = _read_numeric_csv(path, ("time", "event"), {"status": "event"})
    t = df["time"].to_numpy(float)
    e = df["event"].to_numpy(float)
    _check_rows(
        str(path),
        [
            (t < 0, "time", t, "is negative", "times are months from time zero (>= 0)"),
            (~np.isin(e, (0.0, 1.0)), "event", e, "is not 0 or 1", "1 = event, 0 = censored"),
        ],
    )
    df["event"] = df["event"].astype(int)
    return df


def check_curve(df: pd.DataFrame, *, file: str = "curve") -> pd.DataFrame:
    """Validate digitised points: times >= 0 and non-decreasing, survival in [0, 1], monotone."""
    t = df["time"].to_numpy(float)
    s = df["survival"].to_numpy(float)
    checks = [
        (t < 0, "time", t, "is negative", "times are months from time zero (>= 0)"),
        ((s < 0) | (s > 1), "survival", s, "is outside 0-1 (or 0-100%)",
         "give survival as a proportion or a percentage"),
        (np.r_[False, np.diff(t) < 0], "time", t, "is smaller than the time in the row above "
         "(times out of order)", "sort the rows by time"),
        (np.r_[False, np.diff(s) > 1e-12], "survival", s, "is larger than the survival in the "
         "row above (a KM curve never increases)",
         "re-digitise this step or set it to the value above"),
    ]  # fmt: skip
    _check_rows(file, checks)
    return df.reset_index(drop=True)


def check_at_risk(df: pd.DataFrame, *, file: str = "at-risk") -> pd.DataFrame:
    """Validate an at-risk table: strictly increasing times, non-increasing integer counts."""
    t = df["time"].to_numpy(float)
    n = df["n_risk"].to_numpy(float)
    checks = [
        (t < 0, "time", t, "is negative", "times are months from time zero (>= 0)"),
        (np.r_[False, np.diff(t) <= 0], "time", t, "is not larger than the time in the row "
         "above (times out of order or repeated)", "sort the rows by time, one row per time"),
        ((n < 0) | (n != np.round(n)), "n_risk", n, "is not a whole number >= 0",
         "copy the number at risk printed under the plot"),
        (np.r_[False, np.diff(n) > 0], "n_risk", n, "is larger than the number at risk in the "
         "row above (at-risk counts never increase)", "check the at-risk table"),
        (n[:1] <= 0, "n_risk", n, "the first number at risk must be positive",
         "give the number of patients at time 0"),
    ]  # fmt: skip
    _check_rows(file, checks)
    return df.reset_index(drop=True)


# ----------------------------------------------------------------------- algorithm


@dataclass
class _State:
    """Working arrays of the Guyot recursion over digitised points k = 0..K-1."""

    T: np.ndarray
    S: np.ndarray
    d: np.ndarray  # events at T[k]
    cen: np.ndarray  # censorings in [T[k], T[k+1])
    nhat: np.ndarray  # at risk just before T[k] (length K + 1)
    km: np.ndarray  # reconstructed KM at T[k]
    last: int = 0  # index of the last point with an event
    cen_times: dict[int, np.ndarray] = field(default_factory=dict)  # by interval start


def _spread_censoring(st: _State, lo: int, hi_excl: int, t_end: float, n_cen: int) -> None:
    """Place ``n_cen`` censorings evenly in ``(T[lo], t_end)`` and bin them by step."""
    st.cen[lo:hi_excl] = 0
    st.cen_times[lo] = np.empty(0)
    if n_cen <= 0:
        return
    t0 = st.T[lo]
    cen_t = t0 + np.arange(1, n_cen + 1) * (t_end - t0) / (n_cen + 1)
    st.cen_times[lo] = cen_t
    edges = np.r_[st.T[lo:hi_excl], np.inf]
    idx = np.clip(np.searchsorted(edges, cen_t, side="right") - 1, 0, hi_excl - lo - 1)
    st.cen[lo:hi_excl] = np.bincount(idx, minlength=hi_excl - lo)


def _km_pass(st: _State, lo: int, hi_excl: int, n_start: float, last: int) -> int:
    """Run the KM recursion over points ``lo..hi_excl-1`` starting with ``n_start`` at risk."""
    st.nhat[lo] = n_start
    for k in range(lo, hi_excl):
        if k == 0:
            st.d[k], st.km[k] = 0, 1.0
        else:
            ratio = st.S[k] / st.km[last] if st.km[last] > 0 else 0.0
            st.d[k] = max(0, min(round(st.nhat[k] * (1.0 - ratio)), st.nhat[k]))
            st.km[k] = st.km[last] * (1.0 - st.d[k] / st.nhat[k]) if st.nhat[k] > 0 else 0.0
        st.nhat[k + 1] = st.nhat[k] - st.d[k] - st.cen[k]
        if st.d[k] != 0:
            last = k
    return last


def _fit_interval(
    st: _State, lo: int, hi_excl: int, n_risk: float, n_next: float, t_next: float
) -> None:
    """Find the censoring count in one interval that reproduces the next at-risk number.

    Censorings are spread evenly between the interval's first digitised time and
    the next at-risk time ``t_next`` (they happened before that count was taken).
    """
    n_cen = round(n_risk * st.S[hi_excl] / max(st.S[lo], 1e-12) - n_next)
    last0 = st.last
    seen: set[int] = set()
    for _ in range(_MAX_ITER):
        n_cen = int(min(max(n_cen, 0), n_risk))
        _spread_censoring(st, lo, hi_excl, t_next, n_cen)
        last = _km_pass(st, lo, hi_excl, n_risk, last0)
        gap = int(st.nhat[hi_excl] - n_next)
        if gap == 0 or n_cen in seen:
            break
        seen.add(n_cen)
        n_cen += gap
    st.last = last


def _fit_last_interval(st: _State, lo: int, n_risk: float, cen_hazard: float, total_events):
    """Last interval: no next at-risk count; use the total events or the censoring hazard.

    Without a published total, the censoring count is the censoring hazard seen
    in the earlier intervals (censorings per person-month at risk) times the
    person-time of the ``n_risk`` patients over the last interval. With a
    total, the count is iterated to match it; if no count matches exactly the
    closest one is kept.
    """
    K = st.T.size
    t_end = st.T[-1]
    n_cen = round(cen_hazard * n_risk * (t_end - st.T[lo]))
    last0 = st.last
    events_before = int(st.d[:lo].sum())
    tried: dict[int, int] = {}
    for _ in range(_MAX_ITER):
        n_cen = int(min(max(n_cen, 0), n_risk))
        if n_cen in tried:
            break
        _spread_censoring(st, lo, K, t_end, n_cen)
        _km_pass(st, lo, K, n_risk, last0)
        if total_events is None:
            break
        gap = int(events_before + st.d[lo:].sum() - total_events)
        tried[n_cen] = abs(gap)
        if gap == 0:
            break
        n_cen += gap
    if tried and tried.get(n_cen, 1) != 0:
        n_cen = min(tried, key=lambda c: (tried[c], c))
        _spread_censoring(st, lo, K, t_end, n_cen)
    st.last = _km_pass(st, lo, K, n_risk, last0)


def _intervals(T: np.ndarray, at_risk: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """First digitised index, count and time of each at-risk interval.

    At-risk times after the last digitised point, and intervals without any
    digitised point (merged into the previous one), are dropped.
    """
    t_risk = at_risk["time"].to_numpy(float)
    n_risk = at_risk["n_risk"].to_numpy(float)
    lower = np.searchsorted(T, t_risk, side="left")
    keep = lower < T.size
    keep &= np.r_[True, np.diff(lower) > 0]  # an interval without digitised points is merged
    return lower[keep], n_risk[keep], t_risk[keep], keep


def _prepare_curve(curve: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    T = curve["time"].to_numpy(float)
    S = curve["survival"].to_numpy(float)
    if T[0] > 0:
        T, S = np.r_[0.0, T], np.r_[1.0, S]
    # KM step at the same time digitised twice: keep the lower (post-step) value
    keep = np.r_[T[1:] != T[:-1], True]
    return T[keep], S[keep]


def guyot_reconstruct(
    curve: pd.DataFrame, at_risk: pd.DataFrame, *, total_events: int | None = None
) -> Reconstruction:
    """Reconstruct pseudo-IPD from a digitised KM curve (Guyot et al. 2012).

    Parameters
    ----------
    curve
        Digitised points: columns ``time`` (months) and ``survival`` (proportion),
        increasing in time, non-increasing in survival. ``(0, 1)`` is added if absent.
    at_risk
        Numbers at risk: columns ``time`` (months; the first is normally 0) and
        ``n_risk``.
    total_events
        Total number of events when the publication reports it; fixes the
        censoring in the last interval.

    Returns
    -------
    Reconstruction
        ``ipd`` (``time, event``), ``accuracy`` and ``km`` (input vs reconstructed
        survival at each digitised time).

    References
    ----------
    Guyot P, Ades AE, Ouwens MJNM, Welton NJ. BMC Med Res Methodol 2012;12:9.
    """
    curve = check_curve(curve)
    at_risk = check_at_risk(at_risk)
    T, S = _prepare_curve(curve)
    lower, n_risk, t_risk, kept = _intervals(T, at_risk)
    if lower.size == 0 or lower[0] != 0:
        raise InputError(
            "The at-risk table must start at time 0 (the number of patients at baseline). "
            "Fix: add a row 'time=0,n_risk=N'."
        )
    K = T.size
    st = _State(T, S, np.zeros(K, int), np.zeros(K, int), np.zeros(K + 1), np.ones(K))
    n_int = lower.size
    for i in range(n_int - 1):
        _fit_interval(st, int(lower[i]), int(lower[i + 1]), n_risk[i], n_risk[i + 1], t_risk[i + 1])
    lo_last = int(lower[-1])
    mid_risk = (st.nhat[:lo_last] + st.nhat[1 : lo_last + 1]) / 2.0
    person_time = np.sum(np.diff(T[: lo_last + 1]) * mid_risk)
    cen_hazard = st.cen[:lo_last].sum() / person_time if person_time > 0 else 0.0
    _fit_last_interval(st, lo_last, float(st.nhat[lo_last]), cen_hazard, total_events)
    rec = _assemble(st, int(n_risk[0]), total_events)
    notes = _notes(at_risk, kept, T[-1], rec.accuracy)
    return replace(rec, accuracy=replace(rec.accuracy, notes=notes)) if notes else rec


def _notes(at_risk: pd.DataFrame, kept: np.ndarray, t_last: float, acc) -> tuple[str, ...]:
    """Say which at-risk rows were not used and whether the event total was matched."""
    notes = []
    for i in np.flatnonzero(~kept):
        t, n = at_risk["time"].iloc[i], at_risk["n_risk"].iloc[i]
        why = (
            f"after the last digitised time {t_last:g}; digitise the curve's flat tail to use it"
            if t > t_last
            else "no digitised point between it and the next at-risk time; merged"
        )
        notes.append(f"at-risk row {i + 2} (time {t:g}, n_risk {n:g}) not used: {why}")
    if acc.events_input is not None and acc.events != acc.events_input:
        notes.append(
            f"reconstructed events ({acc.events}) differ from the published total "
            f"({acc.events_input}); only the last interval's censoring can absorb the difference"
        )
    return tuple(notes)


def _assemble(st: _State, n0: int, total_events: int | None) -> Reconstruction:
    T = st.T
    ev_t = np.repeat(T, st.d)
    cen_t = np.concatenate([np.empty(0), *st.cen_times.values()])
    n_left = int(n0 - st.d.sum() - st.cen.sum())
    cen_t = np.r_[cen_t, np.full(max(n_left, 0), T[-1])]
    ipd = pd.DataFrame({
        "time": np.r_[ev_t, cen_t],
        "event": np.r_[np.ones(ev_t.size, int), np.zeros(cen_t.size, int)],
    }).sort_values(["time", "event"], ascending=[True, False], ignore_index=True)  # fmt: skip
    km = pd.DataFrame({"time": T, "survival_input": st.S, "survival_reconstructed": st.km})
    return Reconstruction(ipd, _accuracy(km, ipd, total_events), km)


def _step_median(t: np.ndarray, s: np.ndarray) -> float | None:
    hit = s <= 0.5 + 1e-12
    return float(t[np.argmax(hit)]) if hit.any() else None


def _step_rmst(t: np.ndarray, s: np.ndarray) -> float:
    """Area under a right-continuous step function from 0 to t[-1] (S = 1 before t[0])."""
    tt = np.r_[0.0, t]
    ss = np.r_[1.0, s]
    return float(np.sum(np.diff(tt) * ss[:-1]))


def _accuracy(km: pd.DataFrame, ipd: pd.DataFrame, total_events) -> ReconstructionAccuracy:
    t = km["time"].to_numpy(float)
    s_in = km["survival_input"].to_numpy(float)
    s_re = km["survival_reconstructed"].to_numpy(float)
    diff = np.abs(s_in - s_re)
    return ReconstructionAccuracy(
        max_abs_diff=float(diff.max()),
        mean_abs_diff=float(diff.mean()),
        median_input=_step_median(t, s_in),
        median_reconstructed=_step_median(t, s_re),
        rmst_input=_step_rmst(t, s_in),
        rmst_reconstructed=_step_rmst(t, s_re),
        tau=float(t[-1]),
        n=len(ipd),
        events=int(ipd["event"].sum()),
        events_input=None if total_events is None else int(total_events),
    )
