"""JSON-ready summaries of ``aftercar.stats`` results: every number with its n and CI.

Each helper calls one statistic of :mod:`aftercar.stats` and returns a plain
dictionary (numbers or ``None``; not-estimable bounds are ``None``, never NaN) in
the shapes documented in ``docs/results-schema.md``:

* time to event: ``{n, events, median_months, ci95: [lower, upper], rates}``;
* proportion: ``{responders, n, estimate, ci95, method}``;
* log-rank: ``{chisq, df, p_value, groups: [{group, n, observed, expected}]}``;
* Cox: ``{n, events, terms: [{term, coef, se, robust_se, hazard_ratio, ci95, p_value}]}``.

No statistic is computed here; this module only calls and formats.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from aftercar import stats
from aftercar.analysis.options import AnalysisOptions
from aftercar.errors import AftercarError, StatisticalWarning

#: Largest table total for Fisher's exact test; above it Pearson's chi-square is used.
FISHER_MAX_N = 1000


def num(value: Any) -> float | None:
    """Return ``value`` as a float, or ``None`` when missing, NaN or infinite."""
    if value is None or value is pd.NA:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def triple(result: Any) -> tuple[float | None, float | None, float | None]:
    """Return ``(estimate, lower, upper)`` from a stats result or a 3-tuple."""
    if hasattr(result, "estimate") and hasattr(result, "lower"):
        return num(result.estimate), num(result.lower), num(result.upper)
    est, lo, hi = tuple(result)[:3]
    return num(est), num(lo), num(hi)


def _clean(time: Any, event: Any) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=bool)
    ok = np.isfinite(t) & (t >= 0)
    return t[ok], e[ok]


def km_fit(time: Any, event: Any, opts: AnalysisOptions) -> Any | None:
    """Fit a Kaplan-Meier curve on finite, non-negative times; ``None`` if empty."""
    t, e = _clean(time, event)
    if len(t) == 0:
        return None
    return stats.kaplan_meier(t, e, conf_type=opts.km_conf_type, conf_level=opts.conf_level)


def km_block(
    time: Any, event: Any, opts: AnalysisOptions, *, rates: tuple[float, ...] = ()
) -> tuple[dict[str, Any], Any | None]:
    """Summarise a Kaplan-Meier fit: n, events, median with CI and rates at ``rates`` months."""
    t, e = _clean(time, event)
    fit = km_fit(t, e, opts)
    block: dict[str, Any] = {"n": len(t), "events": int(e.sum())}
    if fit is None:
        block |= {"median_months": None, "ci95": [None, None]}
        if rates:
            block["rates"] = [{"months": r, "surv": None, "ci95": [None, None]} for r in rates]
        return block, None
    est, lo, hi = triple(fit.median())
    block |= {"median_months": est, "ci95": [lo, hi]}
    if rates:
        block["rates"] = _rates(fit, rates, t)
    return block, fit


def _rates(fit: Any, rates: tuple[float, ...], t: np.ndarray) -> list[dict[str, Any]]:
    at = fit.at(list(rates))
    out = []
    for r, (_, row) in zip(rates, at.iterrows(), strict=True):
        beyond = bool(r <= t.max())
        surv = num(row["surv"]) if beyond else None
        ci = [num(row["lower"]), num(row["upper"])] if beyond else [None, None]
        out.append({"months": float(r), "surv": surv, "ci95": ci})
    return out


def prop_block(x: int, n: int, opts: AnalysisOptions) -> dict[str, Any]:
    """Proportion ``x / n`` with its exact (or Wilson) confidence interval."""
    block: dict[str, Any] = {"responders": int(x), "n": int(n)}
    if n == 0:
        return block | {"estimate": None, "ci95": [None, None], "method": opts.proportion_method}
    res = stats.proportion_ci(
        int(x), int(n), method=opts.proportion_method, conf_level=opts.conf_level
    )
    est, lo, hi = triple(res)
    return block | {"estimate": est, "ci95": [lo, hi], "method": opts.proportion_method}


def response_block(responded: pd.Series, opts: AnalysisOptions) -> dict[str, Any]:
    """ORR over evaluable lines (non-missing ``responded``), not-evaluable lines counted."""
    known = responded.notna().to_numpy()
    x = int(responded[known].astype(bool).sum())
    block = prop_block(x, int(known.sum()), opts)
    block["not_evaluable"] = int((~known).sum())
    return block


def clustered_block(
    responded: pd.Series, cluster: pd.Series, opts: AnalysisOptions
) -> dict[str, Any]:
    """Pooled response across lines with patient-clustered (sandwich, logit-scale) inference.

    When every or no line responded the sandwich is undefined and
    :func:`aftercar.stats.clustered_proportion` gives an exact interval on the
    number of patients instead; ``method`` says which was used.
    """
    known = responded.notna().to_numpy()
    y = responded[known].astype(bool).to_numpy()
    ids = np.asarray(cluster)[known]
    block = prop_block(int(y.sum()), len(y), opts)
    block["patients"] = len(pd.unique(ids))
    block["not_evaluable"] = int((~known).sum())
    if len(y) == 0:
        return block
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)  # the method field says it
        res = stats.clustered_proportion(y, ids, conf_level=opts.conf_level)
    est, lo, hi = triple(res)
    method = "patient-clustered" if res.method == "sandwich-logit" else res.method
    return block | {"estimate": est, "ci95": [lo, hi], "method": method}


def clustered_groups(
    responded: pd.Series,
    cluster: np.ndarray,
    group: np.ndarray,
    n_groups: int,
    opts: AnalysisOptions,
) -> list[dict[str, Any]]:
    """Clustered response blocks for groups ``0 .. n_groups - 1`` in one pass.

    ``cluster`` and ``group`` are integer codes (one per line). Calls
    :func:`aftercar.stats.clustered_proportions` once over the evaluable lines
    instead of once per group; the blocks equal :func:`clustered_block` per group.
    """
    known = responded.notna().to_numpy()
    not_eval = np.bincount(group[~known], minlength=n_groups)
    blocks: list[dict[str, Any]] = [
        {
            "responders": 0,
            "n": 0,
            "estimate": None,
            "ci95": [None, None],
            "method": opts.proportion_method,
            "patients": 0,
            "not_evaluable": int(not_eval[k]),
        }
        for k in range(n_groups)
    ]
    if not known.any():
        return blocks
    y = responded[known].astype(bool).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)  # the method column says it
        frame = stats.clustered_proportions(
            y, cluster[known], group[known], conf_level=opts.conf_level
        )
    for row in frame.itertuples(index=False):  # one row per group
        k = int(row.group)
        method = "patient-clustered" if row.method == "sandwich-logit" else row.method
        blocks[k] = {
            "responders": int(row.x),
            "n": int(row.n),
            "estimate": num(row.estimate),
            "ci95": [num(row.lower), num(row.upper)],
            "method": method,
            "patients": int(row.n_clusters),
            "not_evaluable": int(not_eval[k]),
        }
    return blocks


def logrank_block(time: Any, event: Any, group: Any) -> dict[str, Any] | None:
    """Log-rank test across groups; ``None`` with fewer than two non-empty groups."""
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=bool)
    codes, labels = pd.factorize(pd.Series(group).astype("string"), sort=True)
    ok = np.isfinite(t) & (t >= 0) & (codes >= 0)
    t, e, codes = t[ok], e[ok], codes[ok]
    if len(np.unique(codes)) < 2 or e.sum() == 0:
        return None
    return logrank_result_block(stats.logrank_test(t, e, codes), codes, labels)


def logrank_result_block(res, codes: np.ndarray, labels: pd.Index) -> dict:
    """``results.json`` block of a log-rank test: chi-square, df, p and per group the
    size, observed and expected events (``codes`` index ``labels``)."""
    levels = [labels[int(c)] for c in getattr(res, "levels", np.unique(codes))]
    counts = np.bincount(codes, minlength=len(labels))
    observed = np.asarray(res.observed, dtype=float)
    expected = np.asarray(res.expected, dtype=float)
    groups = [
        {
            "group": str(level),
            "n": int(counts[labels.get_loc(level)]),
            "observed": num(observed[i]),
            "expected": num(expected[i]),
        }
        for i, level in enumerate(levels)
    ]
    return {
        "chisq": num(res.chisq),
        "df": int(res.df),
        "p_value": num(res.p_value),
        "groups": groups,
    }


def cox_block(result: Any, names: list[str], *, n: int, events: int) -> dict[str, Any]:
    """Format a Cox fit: per term coefficient, SEs, hazard ratio with CI and p-value.

    The CI and p-value use the robust (clustered) SE when the fit has one, as
    R's ``summary.coxph`` does.
    """
    coef = np.atleast_1d(np.asarray(result.coef, dtype=float))
    se = np.atleast_1d(np.asarray(result.se, dtype=float))
    robust = getattr(result, "robust_se", None)
    robust = None if robust is None else np.atleast_1d(np.asarray(robust, dtype=float))
    lower = np.atleast_1d(np.asarray(result.hr_lower, dtype=float))
    upper = np.atleast_1d(np.asarray(result.hr_upper, dtype=float))
    p = np.atleast_1d(np.asarray(result.p, dtype=float))
    terms = [
        {
            "term": name,
            "coef": num(coef[i]),
            "se": num(se[i]),
            "robust_se": None if robust is None else num(robust[i]),
            "hazard_ratio": num(np.exp(coef[i])),
            "ci95": [num(lower[i]), num(upper[i])],
            "p_value": num(p[i]),
        }
        for i, name in enumerate(names)
    ]
    return {"n": int(n), "events": int(events), "terms": terms, **_cox_tests(result)}


def _test_dict(test: Any) -> dict[str, Any] | None:
    if test is None:
        return None
    if isinstance(test, dict):
        return {k: num(v) for k, v in test.items()}
    fields = ("statistic", "chisq", "df", "p_value")
    out = {f: num(getattr(test, f)) for f in fields if hasattr(test, f)}
    if not out:
        try:
            stat, df, p = tuple(test)[:3]
        except TypeError:
            return None
        out = {"statistic": num(stat), "df": num(df), "p_value": num(p)}
    return out


def _cox_tests(result: Any) -> dict[str, Any]:
    loglik = getattr(result, "loglik", None)
    ll = (
        [num(v) for v in np.atleast_1d(np.asarray(loglik, dtype=float))]
        if loglik is not None
        else []
    )
    return {
        "loglik": ll,
        "wald_test": _test_dict(getattr(result, "wald_test", None)),
        "score_test": _test_dict(getattr(result, "score_test", None)),
        "lr_test": _test_dict(getattr(result, "lr_test", None)),
    }


def fit_cox(
    time: Any,
    event: Any,
    covariates: pd.DataFrame,
    opts: AnalysisOptions,
    notes: list[str],
    **kwargs: Any,
) -> dict[str, Any] | None:
    """Fit ``aftercar.stats.cox_ph`` and format it; warnings and failures become notes."""
    label = kwargs.pop("label", "Cox model")
    ev = np.asarray(event, dtype=bool)
    if ev.sum() == 0 or covariates.shape[1] == 0:
        notes.append(f"{label}: not fitted (no events or no covariates).")
        return None
    constant = [c for c in covariates.columns if covariates[c].nunique() < 2]
    if constant:
        notes.append(f"{label}: not fitted ({', '.join(constant)} constant).")
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = stats.cox_ph(
                np.asarray(time, dtype=float),
                ev,
                covariates,
                ties=opts.cox_ties,
                conf_level=opts.conf_level,
                **kwargs,
            )
        except AftercarError as exc:
            notes.append(f"{label}: not estimable ({exc}).")
            return None
    notes.extend(f"{label}: {w.message}" for w in caught)
    block = cox_block(res, list(covariates.columns), n=len(ev), events=int(ev.sum()))
    for term, counts in zip(block["terms"], level_counts(covariates, kwargs.get("cluster")),
                            strict=True):  # fmt: skip
        if counts is not None:
            term["level_n"] = counts
    block["ph_test"] = ph_test(res, notes, label)
    return block


def level_counts(covariates: pd.DataFrame, cluster: Any = None) -> list[list[int] | None]:
    """Per covariate, the sizes of its two levels when it is binary (0/1), else ``None``.

    A size counts the rows at that level, or the distinct clusters (patients) when
    ``cluster`` is given: a hazard ratio of a level held by fewer than K patients or
    lines is withheld under disclosure control (``aftercar.report.disclosure``).

    Parameters
    ----------
    covariates
        The design matrix of the model, one column per term.
    cluster
        Cluster (patient) labels, one per row, or ``None``.

    Returns
    -------
    list
        ``[n at 0, n at 1]`` per binary column, ``None`` for the others.
    """
    x = covariates.to_numpy(dtype=float)
    binary = np.isin(x, (0.0, 1.0)).all(axis=0)
    if cluster is None:
        ones = (x == 1.0).sum(axis=0)
        return [[int(len(x) - o), int(o)] if b else None for o, b in zip(ones, binary, strict=True)]
    ids = pd.Series(np.asarray(cluster))
    out: list[list[int] | None] = []
    for j, b in enumerate(binary):
        at_one = x[:, j] == 1.0
        out.append([int(ids[~at_one].nunique()), int(ids[at_one].nunique())] if b else None)
    return out


#: GLOBAL proportional-hazards p-value below which a model gets a warning.
PH_ALPHA = 0.05


def ph_test(fit: Any, notes: list[str], label: str) -> dict[str, Any] | None:
    """Grambsch-Therneau test of proportional hazards (R ``cox.zph``, km transform) as JSON.

    Per term and GLOBAL; a note (and so a warning of the run) when the GLOBAL p is
    below :data:`PH_ALPHA`: T-cell-engaging therapy effects often have crossing
    hazards, and the hazard ratio then averages an effect that changes over time.

    References
    ----------
    Grambsch PM, Therneau TM. Biometrika 1994;81:515-526.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StatisticalWarning)
            table = stats.cox_zph(fit).table
    except (AftercarError, np.linalg.LinAlgError, ValueError) as exc:
        notes.append(f"{label}: proportional-hazards test not computed ({exc}).")
        return None
    terms = [
        {"term": str(term), "chisq": num(row.chisq), "df": num(row.df), "p_value": num(row.p)}
        for term, row in table.iterrows()
    ]
    overall = terms[-1]["p_value"]
    if overall is not None and overall < PH_ALPHA:
        notes.append(
            f"{label}: proportional hazards rejected (cox.zph GLOBAL p = {overall:.3g}); the "
            "hazard ratio averages an effect that changes over time - see RMST and landmarks."
        )
    return {"method": "Grambsch-Therneau (cox.zph, km transform)", "terms": terms}


def table_test(table: np.ndarray, notes: list[str], label: str) -> dict[str, Any] | None:
    """Test of independence of a groups x outcomes table of independent observations.

    Fisher's exact test (R ``fisher.test``, network algorithm) up to
    :data:`FISHER_MAX_N` observations, Pearson's chi-square above (where the
    exact enumeration is slow and the approximation is good) and for smaller
    tables whose exact enumeration is infeasible (a note says so); a chi-square
    warning (small expected counts) becomes a note. ``None`` when fewer than two
    groups or outcomes are present.
    """
    arr = np.asarray(table, dtype=float)
    arr = arr[arr.sum(axis=1) > 0][:, arr.sum(axis=0) > 0]
    if min(arr.shape, default=0) < 2:
        return None
    res = None
    if arr.sum() <= FISHER_MAX_N:
        try:
            res = stats.fisher_test(arr.astype(int))
        except AftercarError as exc:  # the exact enumeration is too large (as R's FEXACT)
            notes.append(f"{label}: exact test infeasible ({exc}); Pearson chi-square used.")
    if res is None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = stats.chisq_test(arr, correct=False)
        notes.extend(f"{label}: {w.message}" for w in caught)
    return {
        "method": res.method,
        "p_value": num(res.p_value),
        "statistic": num(res.statistic),
        "df": res.df,
        "groups": int(arr.shape[0]),
    }
