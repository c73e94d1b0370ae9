"""The salvage course: sequential lines as a multi-state process.

The loop runs over line numbers (1..``max_lines``), never over patients: at each
line every still-active patient draws, at once, an arm (regimen category) by era
and prior exposure, a best response by arm and covariates, and competing times to
progression, death, a switch without progression, loss to follow-up and the
administrative cut-off. The first of them ends the line. After progression the
patient starts the next line with ``continue_prob``, else enters a terminal phase
(death, loss or cut-off).

References
----------
Kumar S et al. IMWG consensus criteria for response and MRD assessment. Lancet
Oncol 2016;17:e328 (response codes and PD). Rajkumar SV et al. Guidelines for
determination of the number of prior lines of therapy in multiple myeloma. Blood
2015;126:921 (a line ends when the regimen is changed or stopped). Van Oekelen O
et al. Blood 2023;141:756 and Reyes KR et al. Blood Adv 2024;8:2207 (calibration
targets). Parameter values: ``aftercar/data/simulation.toml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from aftercar.schema import DAYS_PER_MONTH, Col
from aftercar.simulate.baseline import rowwise_categorical
from aftercar.simulate.params import RESPONSE_CODES, SimulationParams, to_day

#: Line end events, in the order used to break ties.
EVENTS = ("progression", "death", "switch", "lost", "cutoff")
_PROG, _DEATH, _SWITCH, _LOST, _CUT = range(5)
#: Response index meaning "not assessed" (null) and "not evaluable" (NE).
RESP_NULL, RESP_NE = -1, 7


@dataclass
class _State:
    """Per-patient state carried from line to line (arrays of length n)."""

    next_start: np.ndarray
    active: np.ndarray
    exposed: np.ndarray  # (n, n_arms) bool
    tce_any: np.ndarray
    death: np.ndarray  # day or -1
    last_fu: np.ndarray  # day or -1
    n_lines: np.ndarray


def _hr(base: dict[str, Any], kind: str, pts: dict[str, Any], idx: np.ndarray) -> np.ndarray:
    """Multiplicative covariate effect ``kind`` ('progression_hr', 'death_hr', 'response_or')."""
    out = np.ones(idx.size)
    for cov, key in (("emd", "emd"), ("early", "early"), ("high_risk", "high_risk")):
        name = f"{key}_{kind}"
        if name in base:
            out *= np.where(pts[cov][idx], base[name], 1.0)
    return out


def _choose_arm(rng, p: SimulationParams, st: _State, idx, start) -> np.ndarray:
    arms = p.arms
    era = p.section("era")
    cal = p.section("calibration")
    starts = np.array([to_day(s) for s in era["starts"]])
    tce_mult = np.asarray(era["tce_multipliers"], dtype=float)[
        np.searchsorted(starts, start, side="right") - 1
    ]
    w = np.broadcast_to(arms.weight, (idx.size, arms.weight.size)).copy()
    w *= np.where(st.exposed[idx], arms.repeat_factor, 1.0)
    w *= np.where(st.tce_any[idx, None], arms.after_tce, 1.0)
    w[:, arms.tce] *= (tce_mult * cal["tce_weight_multiplier"])[:, None]
    return rowwise_categorical(rng, w)


def _choose_response(rng, p: SimulationParams, pts, idx, arm) -> np.ndarray:
    arms = p.arms
    orr = arms.orr[arm]
    odds = orr / (1.0 - orr) * _hr(p.section("covariates"), "response_or", pts, idx)
    responder = rng.random(idx.size) < odds / (1.0 + odds)
    deep = rowwise_categorical(rng, arms.resp[arm])
    shallow = 4 + rowwise_categorical(rng, arms.nonresp[arm])
    return np.where(responder, deep, shallow)


def _event_times(rng, p: SimulationParams, pts, idx, arm, resp, start) -> np.ndarray:
    """Days from line start to each competing event, shape (m, 5)."""
    c = p.section("course")
    cov = p.section("covariates")
    m = idx.size
    med = np.array([c["pfs_median_by_response"][code] for code in RESPONSE_CODES])[resp]
    med = med * p.arms.pfs_factor[arm] * p.section("calibration")["pfs_scale"]
    med = med / _hr(cov, "progression_hr", pts, idx)
    t = np.zeros((m, 5))  # zeros: the cut-off column is filled after the ceil below
    t[:, _PROG] = med * np.exp(c["pfs_sigma"] * rng.normal(size=m)) * DAYS_PER_MONTH
    death_rate = c["death_hazard_per_month"] * _hr(cov, "death_hr", pts, idx)
    t[:, _DEATH] = rng.exponential(1.0, m) / death_rate * DAYS_PER_MONTH
    switching = (p.arms.fixed_days[arm] < 0) & (rng.random(m) < c["switch_prob"])
    sw = rng.uniform(c["switch_min_months"], c["switch_max_months"], m) * DAYS_PER_MONTH
    t[:, _SWITCH] = np.where(switching, sw, np.inf)
    t[:, _LOST] = rng.exponential(1.0, m) / c["lost_hazard_per_month"] * DAYS_PER_MONTH
    t = np.maximum(np.ceil(t), 1.0)
    t[:, _CUT] = to_day(p.section("cohort")["cutoff_date"]) - start
    return t


def _assessment(rng, p: SimulationParams, arm, resp, event, t_event) -> np.ndarray:
    """Apply NE / not-assessed: general rates, arm-specific and short lines."""
    c = p.section("course")
    m = resp.size
    u = rng.random(m)
    out = np.where(u < c["ne_prob"], RESP_NE, resp)
    out = np.where((u >= c["ne_prob"]) & (u < c["ne_prob"] + c["missing_prob"]), RESP_NULL, out)
    unassessed = rng.random(m) < p.arms.unassessed_prob[arm]
    short = (event != _PROG) & (t_event < c["short_line_days"])
    short &= rng.random(m) < c["short_line_unassessed_prob"]
    return np.where(unassessed | short, RESP_NULL, out)


def _end_of_line(p: SimulationParams, arm, event, t_event, start):
    """Line end day (or -1 = still open) and end-reason code."""
    fixed = p.arms.fixed_days[arm]
    duration = np.where(fixed < 0, np.inf, np.maximum(fixed - 1, 0))
    completed = duration < t_event
    end = np.where(completed, start + duration, start + t_event)
    reason = np.where(completed, len(EVENTS), event)  # len(EVENTS) = "completed"
    still_open = ~completed & ((event == _LOST) | (event == _CUT))
    end = np.where(still_open, -1, end)
    return end.astype(np.int64), reason


def _terminal(rng, p: SimulationParams, pts, idx, from_day, st: _State) -> None:
    """No further therapy: death after a short terminal phase, or censoring."""
    c = p.section("course")
    cutoff = to_day(p.section("cohort")["cutoff_date"])
    m = idx.size
    hr = _hr(p.section("covariates"), "death_hr", pts, idx)
    t_death = np.ceil(
        rng.exponential(c["terminal_median_months"] / np.log(2), m) / hr * DAYS_PER_MONTH
    )
    t_lost = np.ceil(rng.exponential(1.0 / c["lost_hazard_per_month"], m) * DAYS_PER_MONTH)
    death_day = from_day + np.maximum(t_death, 0).astype(np.int64)
    lost_day = from_day + t_lost.astype(np.int64)
    dies = (death_day <= cutoff) & (death_day <= lost_day)
    st.death[idx] = np.where(dies, death_day, -1)
    st.last_fu[idx] = np.where(dies, -1, np.minimum(lost_day, cutoff))
    st.active[idx] = False


def _advance(rng, p, pts, st: _State, idx, ends, last_line: bool) -> None:
    """Update the state after the line: next start, death or censoring.

    ``ends`` is ``(event, t_event, start)``: the event that ended each line, its
    time in days from the line start, and the line start day.
    """
    event, t_event, start = ends
    c = p.section("course")
    cutoff = to_day(p.section("cohort")["cutoff_date"])
    day = start + t_event.astype(np.int64)
    gap = rng.integers(c["gap_min_days"], c["gap_max_days"] + 1, idx.size)
    goes_on = (event == _SWITCH) | ((event == _PROG) & (rng.random(idx.size) < c["continue_prob"]))
    goes_on &= not last_line
    st.next_start[idx] = day + gap
    dead = event == _DEATH
    st.death[idx[dead]] = day[dead]
    st.active[idx[dead]] = False
    lost = event == _LOST
    st.last_fu[idx[lost]] = day[lost]
    cut = event == _CUT
    st.last_fu[idx[cut]] = cutoff
    st.active[idx[lost | cut]] = False
    stop = ((event == _PROG) | (event == _SWITCH)) & ~goes_on
    _terminal(rng, p, pts, idx[stop], day[stop], st)
    late = goes_on & (day + gap > cutoff)
    st.last_fu[idx[late]] = cutoff
    st.active[idx[late]] = False


def _choose_text(rng, p: SimulationParams, arm, start) -> np.ndarray:
    """Pick a regimen text of each line's arm available at its start date."""
    reg = p.regimens
    text = np.empty(arm.size, dtype=np.int64)
    for a in np.unique(arm):
        rows = np.flatnonzero(arm == a)
        cand = np.flatnonzero(reg.arm == a)
        w = reg.weight[cand][None, :] * (reg.available_from[cand][None, :] <= start[rows, None])
        w[w.sum(axis=1) == 0] = reg.weight[cand]  # nothing available yet: any text
        text[rows] = cand[rowwise_categorical(rng, w)]
    return text


def _one_line(rng, p, pts, st: _State, k: int) -> dict[str, np.ndarray]:
    idx = np.flatnonzero(st.active)
    start = st.next_start[idx]
    arm = _choose_arm(rng, p, st, idx, start)
    resp = _choose_response(rng, p, pts, idx, arm)
    t = _event_times(rng, p, pts, idx, arm, resp, start)
    event = np.argmin(t, axis=1)
    t_event = t[np.arange(idx.size), event]
    end, reason = _end_of_line(p, arm, event, t_event, start)
    text = _choose_text(rng, p, arm, start)
    trial = rng.random(idx.size) < p.regimens.trial_prob[text]
    reason_pick = rowwise_categorical(
        rng, np.broadcast_to(p.section("course")["switch_reason_probs"], (idx.size, 3))
    )
    line = {
        "patient": idx,
        Col.LINE: np.full(idx.size, k, dtype=np.int64),
        "arm": arm,
        "text": text,
        Col.START: start,
        "end": end,
        "response": _assessment(rng, p, arm, resp, event, t_event),
        "true_response": resp,
        "progression": np.where(event == _PROG, start + t_event.astype(np.int64), -1),
        "trial": trial,
        "reason": reason,
        "switch_reason": reason_pick,
    }
    st.exposed[idx, arm] = True
    st.tce_any[idx] |= p.arms.tce[arm]
    st.n_lines[idx] = k
    last = k == p.section("course")["max_lines"]
    _advance(rng, p, pts, st, idx, (event, t_event, start), last)
    return line


def simulate_course(
    rng: np.random.Generator, pts: dict[str, Any], p: SimulationParams
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Simulate every patient's salvage lines, death and follow-up.

    Parameters
    ----------
    rng
        Random generator (one per chunk).
    pts
        Baseline arrays from :func:`aftercar.simulate.baseline.simulate_baseline`.
    p
        Parameters.

    Returns
    -------
    (lines, outcome)
        ``lines``: arrays, one entry per line, sorted by patient then line.
        ``outcome``: per patient ``death`` and ``last_fu`` (day or -1) and
        ``n_lines``.
    """
    n = pts["car_t"].size
    c = p.section("course")
    gap = rng.integers(c["gap_min_days"], c["gap_max_days"] + 1, n)
    st = _State(
        next_start=pts["progression"] + gap,
        active=rng.random(n) >= p.section("cohort")["no_salvage_prob"],
        exposed=np.zeros((n, len(p.arms.names)), dtype=bool),
        tce_any=np.zeros(n, dtype=bool),
        death=np.full(n, -1, dtype=np.int64),
        last_fu=np.full(n, -1, dtype=np.int64),
        n_lines=np.zeros(n, dtype=np.int64),
    )
    _terminal(rng, p, pts, np.flatnonzero(~st.active), pts["progression"][~st.active], st)
    parts = [_one_line(rng, p, pts, st, k) for k in range(1, c["max_lines"] + 1) if st.active.any()]
    # fixed number of iterations per k regardless: list comprehension stops adding
    # once nobody is active (the condition is re-evaluated for every k).
    if parts:
        lines = {key: np.concatenate([d[key] for d in parts]) for key in parts[0]}
        order = np.argsort(lines["patient"], kind="stable")
        lines = {key: v[order] for key, v in lines.items()}
    else:
        lines = {}
    return lines, {"death": st.death, "last_fu": st.last_fu, Col.N_LINES: st.n_lines}
