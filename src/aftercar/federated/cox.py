"""Pooled Cox models stratified by site: one round of pattern counts, or Newton rounds.

With every site its own stratum, the partial likelihood of the pooled model is
the sum of the sites' partial likelihoods, each over the site's own risk sets.
Two protocols give it exactly:

* **Pattern counts (one round)** when every covariate is categorical (text, yes/no,
  or a whole number with at most :data:`MAX_LEVELS` values): at each distinct
  time the partial likelihood, its score and information depend on the rows only
  through the number of events and of censorings per covariate pattern. The site
  sends those counts (:func:`pattern_table`); the coordinator rebuilds anonymous
  rows and fits :func:`aftercar.stats.cox_ph` with ``strata=site``, so Efron's (or
  Breslow's) tie correction is the one of ``cox_ph`` by construction.
* **Newton rounds** for any covariates (e.g. age in years): the coordinator
  proposes coefficients (:func:`start`), each site returns its log partial
  likelihood, score and information at them (:func:`site_answer`, computed by
  :func:`evaluate` with the formulas of R's ``coxfit6``), and :func:`step` sums
  them and takes R's Newton-Raphson step (with step halving), until R's
  convergence rule holds. The iterates are those of ``cox_ph`` on the pooled
  rows, so the fit is equal, not approximate.

The patient-clustered (robust) variance of the line-level models takes one more
round at the pooled coefficients (:mod:`aftercar.federated.robust`): each site
returns the p x p sum over its patients of their score-residual outer products.

References
----------
Therneau TM, Grambsch PM. Modeling Survival Data. Springer 2000 (coxph algorithms).
Efron B. J Am Stat Assoc 1977;72:557-565. Breslow N. Biometrics 1974;30:89-99.
Lu CL, et al. WebDISCO: a web service for distributed Cox model learning without
patient-level data sharing. JAMIA 2015;22:1212-1219.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.stats as sps

from aftercar import stats
from aftercar.errors import AftercarError, InputError
from aftercar.schema import Col

#: A whole-number covariate with at most this many distinct values counts as categorical.
MAX_LEVELS = 12

#: Format name of a coefficients (proposal) file and of a site's answer to it.
ROUND_FORMAT = "aftercar-cox-round"
ANSWER_FORMAT = "aftercar-cox-answer"


def is_categorical(values: pd.Series) -> bool:
    """Text, yes/no, or whole numbers with at most :data:`MAX_LEVELS` distinct values."""
    known = values.dropna()
    if len(known) == 0:
        return True
    if pd.api.types.is_bool_dtype(known.dtype) or not pd.api.types.is_numeric_dtype(known.dtype):
        return True
    x = known.to_numpy(float)
    return bool(np.all(x == np.rint(x))) and len(np.unique(x)) <= MAX_LEVELS


def _cell(values: pd.Series) -> pd.Series:
    """Covariate values as JSON scalars (text as text, yes/no as bool, numbers as float)."""
    known = values.dropna()
    if pd.api.types.is_bool_dtype(known.dtype) or (
        len(known) and pd.api.types.infer_dtype(known, skipna=True) == "boolean"
    ):
        return values.astype(object).where(values.notna(), None)
    if pd.api.types.is_numeric_dtype(known.dtype):
        return values.astype(float).astype(object).where(values.notna(), None)
    return values.astype("string").astype(object).where(values.notna(), None)


def _scalar(value: Any) -> Any:
    """A JSON scalar (numpy scalars as Python ones; missing as None)."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _pattern_codes(cells: pd.DataFrame) -> np.ndarray:
    """One integer per row, equal for rows with equal values in every column (NA a value)."""
    code = np.zeros(len(cells), dtype=np.int64)
    for col in cells.columns:
        col_codes, uniq = pd.factorize(cells[col], use_na_sentinel=False)
        code = code * (len(uniq) + 1) + col_codes
    return code


def pattern_table(days: np.ndarray, event: np.ndarray, covariates: pd.DataFrame) -> dict:
    """Events and censorings per (whole day, covariate pattern); missing values kept.

    Returns ``{"covariates": names, "patterns": [[value, ...]], Col.TIME: [...],
    "pattern": [...], "events": [...], "censored": [...]}`` (one entry per
    non-empty cell, sorted by time then pattern).
    """
    cells = pd.DataFrame({c: _cell(covariates[c]) for c in covariates.columns})
    codes = _pattern_codes(cells)
    _, first, codes = np.unique(codes, return_index=True, return_inverse=True)
    frame = pd.DataFrame({Col.TIME: days, "pattern": codes.ravel(), "ev": event.astype(np.int64)})
    frame["cens"] = 1 - frame["ev"]
    agg = frame.groupby([Col.TIME, "pattern"], sort=True)[["ev", "cens"]].sum().reset_index()
    patterns = [[_scalar(v) for v in row] for row in cells.iloc[first].itertuples(index=False)]
    return {
        "covariates": list(covariates.columns),
        "patterns": patterns,
        Col.TIME: agg[Col.TIME].astype(np.int64).tolist(),
        "pattern": agg["pattern"].astype(np.int64).tolist(),
        "events": agg["ev"].astype(np.int64).tolist(),
        "censored": agg["cens"].astype(np.int64).tolist(),
    }


def pattern_rows(table: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Anonymous rows of a shared pattern table: days, events and the covariate values.

    The table lists, per pattern, the number at risk and the events at each time
    (``time, pattern, n_risk, events``); the censorings at a time are the number at
    risk less the events and less the pattern's number at risk at its next time.
    """
    frame = pd.DataFrame({c: table[c] for c in (Col.TIME, "pattern", "n_risk", "events")})
    frame = frame.sort_values(["pattern", Col.TIME], kind="stable")
    following = frame.groupby("pattern")["n_risk"].shift(-1, fill_value=0)
    cens = (frame["n_risk"] - frame["events"] - following).to_numpy(np.int64)
    ev = frame["events"].to_numpy(np.int64)
    pat, time = frame["pattern"].to_numpy(np.int64), frame[Col.TIME].to_numpy(float)
    idx = np.concatenate([np.repeat(pat, ev), np.repeat(pat, cens)])
    days = np.concatenate([np.repeat(time, ev), np.repeat(time, cens)])
    event = np.concatenate([np.ones(int(ev.sum()), bool), np.zeros(int(cens.sum()), bool)])
    values = pd.DataFrame(table["patterns"], columns=table["covariates"], dtype=object)
    cov = values.iloc[idx].reset_index(drop=True) if len(values.columns) else values
    return days, event, cov


# --------------------------------------------------------------------------
# Log partial likelihood, score and information at given coefficients (one stratum)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """Log partial likelihood, score and information of one stratum at ``beta``."""

    loglik: float
    score: np.ndarray
    information: np.ndarray
    n: int
    events: int


def _column_sums(group: np.ndarray, values: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((k, values.shape[1]))
    np.add.at(out, group, values)
    return out


def _risk_sums(t: np.ndarray, x: np.ndarray, r: np.ndarray, e: np.ndarray):
    """Risk-set and death sums (weight, x, x x') at each distinct event time."""
    order = np.argsort(-t, kind="stable")
    t, x, r, e = t[order], x[order], r[order], e[order]
    xx = x[:, :, None] * x[:, None, :]
    rx, rxx = r[:, None] * x, r[:, None, None] * xx
    last = np.r_[t[1:] != t[:-1], True]  # last row of each distinct time (descending)
    s0, s1, s2 = np.cumsum(r)[last], np.cumsum(rx, axis=0)[last], np.cumsum(rxx, axis=0)[last]
    group = np.cumsum(np.r_[True, t[1:] != t[:-1]]) - 1
    k = group[-1] + 1 if len(t) else 0
    d = np.bincount(group, weights=e.astype(float), minlength=k)
    d0 = np.bincount(group, weights=r * e, minlength=k)
    d1 = _column_sums(group, rx * e[:, None], k)
    d2 = np.zeros((k, x.shape[1], x.shape[1]))
    np.add.at(d2, group[e], rxx[e])
    dx = _column_sums(group, x * e[:, None], k)
    return s0, s1, s2, d, d0, d1, d2, dx, t[last]


def _linear(time: Any, event: Any, x: Any, beta: Any):
    """Times, event flags, covariates centred on their mean, and the linear predictor."""
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=bool)
    xm = np.asarray(x, dtype=float).reshape(len(t), -1)
    xm = xm - xm.mean(axis=0) if len(t) else xm
    return t, e, xm, xm @ np.asarray(beta, dtype=float)


def _terms(t: np.ndarray, e: np.ndarray, xm: np.ndarray, eta: np.ndarray, ties: str):
    """Per Efron (or Breslow) term: its event group, denominator, mean and second moment;
    per event group: the events' covariate sums and the group's time (descending)."""
    s0, s1, s2, d, d0, d1, d2, dx, tg = _risk_sums(t, xm, np.exp(eta), e)
    has = d > 0
    s0, s1, s2, d, d0, d1, d2, dx, tg = (a[has] for a in (s0, s1, s2, d, d0, d1, d2, dx, tg))
    reps = d.astype(np.int64)
    which = np.repeat(np.arange(len(d)), reps)
    kth = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
    frac = kth / d[which] if ties == "efron" else np.zeros(len(which))
    den = s0[which] - frac * d0[which]
    mean = (s1[which] - frac[:, None] * d1[which]) / den[:, None]
    second = (s2[which] - frac[:, None, None] * d2[which]) / den[:, None, None]
    return which, den, mean, second, dx, tg


def group_terms(
    time: Any, event: Any, x: Any, beta: Any, *, ties: str = "efron"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per distinct event time: the time, score ``U_t`` (G, p) and information ``I_t``
    (G, p, p) at ``beta`` (the summands of :func:`evaluate`, as R's ``cox.zph`` uses)."""
    t, e, xm, eta = _linear(time, event, x, beta)
    p = xm.shape[1]
    if not e.any():
        return np.zeros(0), np.zeros((0, p)), np.zeros((0, p, p))
    which, _, mean, second, dx, tg = _terms(t, e, xm, eta, ties)
    u = dx - _column_sums(which, mean, len(tg))
    info = np.zeros((len(tg), p, p))
    np.add.at(info, which, second - mean[:, :, None] * mean[:, None, :])
    return tg, u, info


def evaluate(time: Any, event: Any, x: Any, beta: Any, *, ties: str = "efron") -> Evaluation:
    """Log partial likelihood, score and information at ``beta`` (R ``coxfit6``).

    At each distinct event time with ``d`` events, Efron's correction subtracts
    ``k/d`` of the events' sums from the risk-set sums for ``k = 0..d-1``
    (Breslow: ``k = 0`` only, ``d`` times). The covariates are centred on their
    mean first, which leaves all three unchanged and keeps ``exp`` in range.

    Parameters
    ----------
    time, event
        Times (any unit) and event flags of one stratum.
    x
        Covariates, shape (n, p).
    beta
        Coefficients, shape (p,).
    ties
        ``"efron"`` or ``"breslow"``.
    """
    t, e, xm, eta = _linear(time, event, x, beta)
    p = xm.shape[1]
    if not e.any():
        return Evaluation(0.0, np.zeros(p), np.zeros((p, p)), len(t), 0)
    _, den, mean, second, dx, _ = _terms(t, e, xm, eta, ties)
    loglik = float(eta[e].sum() - np.log(den).sum())
    score = dx.sum(axis=0) - mean.sum(axis=0)
    info = (second - mean[:, :, None] * mean[:, None, :]).sum(axis=0)
    return Evaluation(loglik, score, info, len(t), int(e.sum()))


# --------------------------------------------------------------------------
# The Newton protocol: proposals (coordinator) and answers (sites)
# --------------------------------------------------------------------------


def digest(obj: Any) -> str:
    """SHA-256 of the canonical JSON of ``obj`` (sorted keys, no spaces)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def design_matrix(
    patients: pd.DataFrame, proposal: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """The proposal's terms for the complete cases: (rows used, x of shape (n, p)).

    A term is a covariate taken as a number, or ``covariate=level`` as a 0/1
    indicator; complete cases are the rows with every covariate of
    ``proposal["complete_on"]`` known (as :func:`aftercar.analysis.baseline.baseline_cox`).
    """
    complete = np.ones(len(patients), dtype=bool)
    for name in proposal["complete_on"]:
        complete &= patients[name].notna().to_numpy() if name in patients else False
    cols = []
    for term in proposal["terms"]:
        values = patients[term["covariate"]]
        if term.get("level") is None:
            cols.append(pd.to_numeric(values.astype("Float64"), errors="coerce").to_numpy(float))
        else:
            cols.append((values.astype("string") == term["level"]).fillna(False).to_numpy(float))
    x = np.column_stack(cols) if cols else np.zeros((len(patients), 0))
    return complete, x[complete]


def term_constants(x: np.ndarray) -> list[float | None]:
    """Per term: its one value when every complete case has it, else ``None``."""
    xs = np.asarray(x, dtype=float).reshape(len(x), -1)
    if len(xs) == 0:
        return [None] * xs.shape[1]
    same = np.all(xs == xs[:1], axis=0)
    return [float(v) if ok else None for v, ok in zip(xs[0], same, strict=True)]


def check_round(n_valid: int, event: Any, x: np.ndarray, names: list[str], k: int | None) -> None:
    """Refuse a round answer that would give back a count from 1 to K-1.

    Under ``--suppress-below K`` the answer's complete cases, events, censorings
    (complete cases less events) and incomplete cases (OS-analysable patients
    less complete cases) must each be 0 or >= K, and so must the count of each
    value of a two-valued term (a yes/no covariate or a level indicator).

    Parameters
    ----------
    n_valid
        OS-analysable patients of the site (complete or not).
    event
        Event flags of the complete cases.
    x
        The complete cases' terms, shape (n, p).
    names
        The terms' names (for the message).
    k
        Disclosure threshold K, or ``None`` (no check).

    Raises
    ------
    InputError
        Naming ``--suppress-below`` and what is too small (never its value).
    """
    if k is None:
        return
    e = np.asarray(event, dtype=bool)
    xs = np.asarray(x, dtype=float).reshape(len(e), -1)
    counts = {"complete cases": len(e), "events": int(e.sum()),
              "censored complete cases": int((~e).sum()),
              "patients excluded as incomplete": n_valid - len(e)}  # fmt: skip
    small = [name for name, c in counts.items() if 0 < c < k]
    ones = (xs == xs[:1]).sum(axis=0) if len(xs) else np.zeros(xs.shape[1])
    two = np.array([len(np.unique(col)) == 2 for col in xs.T], dtype=bool)
    rest = len(xs) - ones
    bad = two & (((ones > 0) & (ones < k)) | ((rest > 0) & (rest < k)))
    small += [f"patients with one value of {names[i]}" for i in np.flatnonzero(bad)]
    if small:
        raise InputError(
            f"--cox-round: under --suppress-below {k} this site cannot answer the Cox rounds: "
            f"fewer than {k} (but more than 0) {'; '.join(small)}, which the answer would "
            "give back. Fix: drop the covariates named from [analysis] cox_covariates, or "
            "use categorical covariates only (one pooling pass, no rounds), or answer the "
            "rounds without --suppress-below only where the site's governance allows it."
        )


def site_answer(
    time: Any,
    event: Any,
    x: np.ndarray,
    proposal: dict[str, Any],
    site: str,
    suppress_below: int | None = None,
) -> dict[str, Any]:
    """A site's answer to a proposal: log partial likelihood, score, information, n, events.

    At the proposal's first round (``beta`` = 0) the answer also carries, per term,
    its value when constant at the site (``term_constant``), from which the
    coordinator finds terms that are constant among the pooled complete cases;
    without ``suppress_below`` also each term's sum and sum of squares. Under
    ``suppress_below`` those sums (counts of yes/no terms; the distribution of a
    three-valued one) are not sent; :func:`check_round` has refused the round
    when ``n``, ``events`` or ``n - events`` is 1 to K-1.
    """
    ev = evaluate(time, event, x, proposal["beta"], ties=proposal.get("ties", "efron"))
    out = {
        "format": ANSWER_FORMAT,
        "schema_version": 1,
        Col.SITE: site,
        "model": proposal["model"],
        "config_hash": proposal["config_hash"],
        "proposal": digest(proposal),
        "round": proposal["round"],
        "loglik": ev.loglik,
        "score": ev.score.tolist(),
        "information": ev.information.tolist(),
        "n": ev.n,
        "events": ev.events,
    }
    if proposal["round"] == 0:
        xs = np.asarray(x, dtype=float).reshape(np.size(time), -1)
        out["term_constant"] = term_constants(xs)
        if suppress_below is None:
            out["term_sums"] = xs.sum(axis=0).tolist()
            out["term_squares"] = (xs * xs).sum(axis=0).tolist()
    return out


def start(model: str, terms: list[dict], complete_on: list[str], **meta: Any) -> dict[str, Any]:
    """The first proposal of a model (``beta`` = 0)."""
    return {
        "format": ROUND_FORMAT,
        "schema_version": 1,
        "model": model,
        "terms": terms,
        "complete_on": complete_on,
        "round": 0,
        "beta": [0.0] * len(terms),
        "state": {},
        **meta,
    }


@dataclass(frozen=True)
class Pooled:
    """Summed answers of every site to one proposal."""

    loglik: float
    score: np.ndarray
    information: np.ndarray
    n: int
    events: int


def pool_answers(proposal: dict[str, Any], answers: list[dict[str, Any]]) -> Pooled:
    """Sum the sites' answers to ``proposal`` (each must answer exactly this proposal)."""
    want = digest(proposal)
    for a in answers:
        if a.get("proposal") != want:
            raise InputError(
                f"Cox round: the answer of site {a.get(Col.SITE)!r} is to another proposal "
                f"(round {a.get('round')}). Fix: send every site the same coefficients file."
            )
    p = len(proposal["terms"])
    return Pooled(
        loglik=float(sum(a["loglik"] for a in answers)),
        score=np.sum([np.asarray(a["score"], float).reshape(p) for a in answers], axis=0),
        information=np.sum(
            [np.asarray(a["information"], float).reshape(p, p) for a in answers], axis=0
        ),
        n=int(sum(a["n"] for a in answers)),
        events=int(sum(a["events"] for a in answers)),
    )


def _solve(info: np.ndarray, score: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(info, score)
    except np.linalg.LinAlgError as exc:
        raise AftercarError(
            "Cox round: the pooled information matrix is singular (collinear terms). "
            "Fix: drop a covariate from [analysis] cox_covariates."
        ) from exc


def step(
    proposal: dict[str, Any], pooled: Pooled, *, control: stats.CoxControl | None = None
) -> dict[str, Any]:
    """The next proposal after R's Newton-Raphson rule, or the converged one.

    Returns a proposal whose ``state.phase`` is ``"converged"`` (then ``beta`` is
    the fit and ``state`` holds the final log-likelihood, score and information) or
    ``"iterate"`` (send it to every site).
    """
    ctl = control or stats.CoxControl()
    st = dict(proposal["state"])
    beta = np.asarray(proposal["beta"], dtype=float)
    nxt = dict(proposal, round=proposal["round"] + 1)
    if proposal["round"] == 0:
        delta = _solve(pooled.information, pooled.score)
        st = {"phase": "iterate", "accepted": beta.tolist(), "best": pooled.loglik,
              "halving": 0, "loglik0": pooled.loglik, "sctest": float(pooled.score @ delta),
              "iter": 1}  # fmt: skip
        return nxt | {"beta": (beta + delta).tolist(), "state": st}
    finite = bool(np.isfinite(pooled.loglik) and np.isfinite(pooled.information).all())
    with np.errstate(divide="ignore", invalid="ignore"):
        change = abs(1 - np.float64(st["best"]) / np.float64(pooled.loglik))
    if finite and st["halving"] == 0 and change <= ctl.eps:
        final = st | {
            "phase": "converged",
            "loglik": pooled.loglik,
            "n": pooled.n,
            "events": pooled.events,
            "information": pooled.information.tolist(),
        }
        return proposal | {"state": final}
    if st["iter"] >= int(ctl.iter_max):
        raise AftercarError(
            f"Cox round: no convergence in {ctl.iter_max} Newton-Raphson rounds. "
            "Fix: check for a covariate that separates events from non-events."
        )
    accepted = np.asarray(st["accepted"], dtype=float)
    if not finite or pooled.loglik < st["best"]:
        h = st["halving"] + 1
        new = (beta + h * accepted) / (h + 1.0)
        st |= {"halving": h}
    else:
        new = beta + _solve(pooled.information, pooled.score)
        st |= {"halving": 0, "best": pooled.loglik, "accepted": beta.tolist()}
    st["iter"] += 1
    return nxt | {"beta": new.tolist(), "state": st}


@dataclass(frozen=True)
class RoundFit:
    """A converged Newton-protocol fit in the shape :func:`analysis.summaries.cox_block` reads."""

    coef: np.ndarray
    se: np.ndarray
    robust_se: None
    hr_lower: np.ndarray
    hr_upper: np.ndarray
    p: np.ndarray
    loglik: tuple[float, float]
    wald_test: stats.ChiSquareTest
    score_test: stats.ChiSquareTest
    lr_test: stats.ChiSquareTest


def round_fit(proposal: dict[str, Any], conf_level: float) -> RoundFit:
    """Coefficients, model SEs, CIs and tests of a converged proposal (as ``cox_ph``)."""
    st = proposal["state"]
    coef = np.asarray(proposal["beta"], dtype=float)
    var = np.linalg.inv(np.asarray(st["information"], dtype=float))
    se = np.sqrt(np.diag(var))
    crit = sps.norm.ppf(1 - (1 - conf_level) / 2)
    df = len(coef)
    return RoundFit(
        coef=coef,
        se=se,
        robust_se=None,
        hr_lower=np.exp(coef - crit * se),
        hr_upper=np.exp(coef + crit * se),
        p=2 * sps.norm.sf(np.abs(coef / se)),
        loglik=(st["loglik0"], st["loglik"]),
        wald_test=stats.ChiSquareTest.of(float(coef @ np.linalg.solve(var, coef)), df),
        score_test=stats.ChiSquareTest.of(st["sctest"], df),
        lr_test=stats.ChiSquareTest.of(2 * (st["loglik"] - st["loglik0"]), df),
    )
