"""The data behind each report figure, computed once here so the report only draws.

* Kaplan-Meier figures: each curve's step table and median, the x ticks (months)
  and, per group, the number at risk and the cumulative number of events at each
  tick (the KMunicate table, Morris et al. 2019);
* best response per therapy category (lines per IMWG response group, shares);
* treatment sequence: patients per category on lines 1 to :data:`SEQUENCE_LINES`
  and the flows between consecutive lines;
* swimmer plot rows: one bar per patient (a seeded sample above
  :data:`SWIMMER_MAX_PATIENTS`) and one segment per salvage line.

References
----------
Morris TP, et al. Proposals on Kaplan-Meier plots in medical research and a
survey of stakeholder views: KMunicate. BMJ Open 2019;9:e030215.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from aftercar import stats
from aftercar.analysis.model import (
    Curve,
    CurveFigure,
    IncidenceCurve,
    IncidenceFigure,
    ResponseBars,
    Sequence,
    Swimmer,
)
from aftercar.analysis.summaries import triple
from aftercar.schema import Col, response_levels

#: Causes of a first-salvage PFS event in the cumulative-incidence figure (code: label).
INCIDENCE_CAUSES: dict[int, str] = {1: "Progression", 2: "Death without progression"}

#: Tick spacings (months) to choose from, so that at most 9 ticks are shown.
TICK_STEPS: tuple[float, ...] = (1, 2, 3, 6, 12, 24, 36, 60, 120)

#: Salvage lines (columns) of the treatment-sequence diagram.
SEQUENCE_LINES = 3

#: Largest number of patients in the swimmer plot; larger cohorts are sampled.
SWIMMER_MAX_PATIENTS = 150

#: Seed of the swimmer plot's sample of patients.
SWIMMER_SEED = 20230756


def _column(table: pd.DataFrame, name: str) -> np.ndarray:
    if name not in table:
        return np.full(len(table), np.nan)
    return pd.to_numeric(table[name], errors="coerce").to_numpy(dtype=float)


def curve(label: str, fit: Any) -> Curve:
    """Return the drawable :class:`Curve` of a Kaplan-Meier fit of :mod:`aftercar.stats`."""
    table = fit.table
    return Curve(
        label=str(label),
        time=_column(table, Col.TIME),
        n_risk=_column(table, "n_risk"),
        n_event=_column(table, "n_event"),
        n_censor=_column(table, "n_censor"),
        surv=_column(table, "surv"),
        lower=_column(table, "lower"),
        upper=_column(table, "upper"),
        median=triple(fit.median()),
        start=float(getattr(fit, "start_time", 0.0) or 0.0),
        n=float(getattr(fit, "n", table["n_risk"].iloc[0] if len(table) else 0.0)),
    )


def nice_ticks(tmax: float) -> np.ndarray:
    """Month ticks from 0 with a spacing from :data:`TICK_STEPS` (at most 9 ticks)."""
    step = next((s for s in TICK_STEPS if tmax / s <= 8), TICK_STEPS[-1])
    return np.arange(0.0, tmax + 1e-9, step)


def at_risk(c: Curve, ticks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Number at risk and cumulative events at each tick (vectorised).

    The number at risk at ``t`` is the risk set of the first tabulated time
    ``>= t`` (0 beyond the last time); cumulative events count times ``<= t``.
    """
    if len(c.time) == 0:
        return np.zeros(len(ticks)), np.zeros(len(ticks))
    idx = np.searchsorted(c.time, ticks, side="left")
    risk = np.where(idx < len(c.time), c.n_risk[np.minimum(idx, len(c.time) - 1)], 0.0)
    cum = np.r_[0.0, np.cumsum(c.n_event)]
    events = cum[np.searchsorted(c.time, ticks, side="right")]
    return risk, events


def test_text(logrank: dict[str, Any] | None, cox: dict[str, Any] | None = None) -> str:
    """The comparison printed on a KM figure: log-rank p and, for two groups, the HR."""
    parts = []
    if logrank and logrank.get("p_value") is not None:
        p = logrank["p_value"]
        parts.append("Log-rank p < 0.001" if p < 0.001 else f"Log-rank p = {p:.3f}")
    terms = (cox or {}).get("terms") or []
    if len(terms) == 1 and terms[0].get("hazard_ratio") is not None:
        hr, (lo, hi) = terms[0]["hazard_ratio"], terms[0]["ci95"]
        if lo is not None and hi is not None:
            parts.append(f"HR {hr:.2f} ({lo:.2f}-{hi:.2f})")
    return "; ".join(parts)


def layout(
    curves: dict[str, Curve], max_groups: int, min_size: float, many: str = "small-multiples"
) -> tuple[str, tuple[str, ...]]:
    """How a KM figure is drawn, and its groups under ``min_size`` (patients or lines).

    More than ``max_groups`` groups, or any group under ``min_size`` among two or
    more, gives ``many`` (``"small-multiples"`` or ``"overlay"``); else ``"overlay"``.
    """
    small = tuple(g for g, c in curves.items() if c.n < min_size) if len(curves) > 1 else ()
    crowded = len(curves) > max_groups or bool(small)
    return (many if crowded else "overlay"), small


def curve_figure(
    key: str,
    curves: dict[str, Curve],
    annotation: str = "",
    *,
    max_groups: int = 6,
    min_size: float = 0,
    many: str = "small-multiples",
) -> CurveFigure:
    """Return a Kaplan-Meier figure's data: curves, x ticks, the at-risk table and the
    layout (:func:`layout`)."""
    groups = tuple(curves.values())
    shape, small = layout(curves, max_groups, min_size, many)
    tmax = max((float(np.nanmax(c.time)) for c in groups if len(c.time)), default=1.0)
    ticks = nice_ticks(max(tmax, 1.0))
    tables = [at_risk(c, ticks) for c in groups]
    return CurveFigure(
        key=key,
        curves=groups,
        ticks=tuple(float(t) for t in ticks),
        at_risk=tuple(tuple(int(np.rint(v)) for v in r) for r, _ in tables),
        cumulative_events=tuple(tuple(int(np.rint(v)) for v in e) for _, e in tables),
        annotation=annotation,
        layout=shape,
        small_groups=small,
    )


def _categories(lines: pd.DataFrame) -> pd.Series:
    """Categories of the lines; a line without one is "unclassified", never dropped."""
    cat = lines[Col.CATEGORY].astype(object)
    return cat.where(cat.notna(), "unclassified").astype(str)


def response_bars(lines: pd.DataFrame) -> ResponseBars | None:
    """Lines per category (rows) and IMWG response group (columns); ``None`` without lines."""
    if lines.empty:
        return None
    levels = response_levels()
    groups = tuple(dict.fromkeys(level.figure_group for level in levels))
    mapping = {level.code: level.figure_group for level in levels}
    group = lines[Col.BEST_RESPONSE].map(mapping).fillna(levels[-1].figure_group)
    counts = pd.crosstab(_categories(lines), group).reindex(columns=list(groups), fill_value=0)
    arr = counts.to_numpy(dtype=float)
    total = arr.sum(axis=1)
    shares = arr / np.where(total > 0, total, 1)[:, None]
    return ResponseBars(
        tuple(counts.index), groups, arr.astype(np.int64), shares, total.astype(np.int64)
    )


def sequence(lines: pd.DataFrame, max_lines: int = SEQUENCE_LINES) -> Sequence | None:
    """Patients per category on lines 1..``max_lines`` and flows between consecutive lines."""
    sub = lines.loc[lines[Col.LINE].between(1, max_lines)]
    if sub.empty:
        return None
    sub = sub.assign(**{Col.CATEGORY: _categories(sub)})
    sub = sub.drop_duplicates([Col.PATIENT_ID, Col.LINE])
    wide = sub.pivot(index=Col.PATIENT_ID, columns=Col.LINE, values=Col.CATEGORY)
    wide = wide.reindex(columns=range(1, max_lines + 1)).astype(object)
    wide = wide.loc[:, wide.notna().any()]
    nodes = [
        (int(line), str(cat), int(n))
        for line in wide.columns
        for cat, n in wide[line].value_counts().sort_index().items()
    ]
    flows = []
    for a, b in itertools.pairwise(wide.columns):
        pairs = wide[[a, b]].dropna().value_counts().sort_index()
        flows += [(int(a), str(s), str(d), int(n)) for (s, d), n in pairs.items()]
    sizes = wide.notna().sum()
    return Sequence(
        lines=tuple(int(c) for c in wide.columns),
        patients=tuple(int(sizes[c]) for c in wide.columns),
        nodes=tuple(nodes),
        flows=tuple(flows),
    )


def _sample(patients: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The patients to draw (sorted by follow-up, then id) and a note on sampling; the same
    whatever the input's row order (fuzzing round 4: two patients of equal follow-up
    swapped places when the rows were shuffled)."""
    ids = patients[Col.PATIENT_ID].astype(str).to_numpy()
    patients = patients.iloc[np.argsort(ids, kind="stable")]
    n = len(patients)
    note = ""
    if n > SWIMMER_MAX_PATIENTS:
        rng = np.random.default_rng(SWIMMER_SEED)
        pick = np.sort(rng.choice(n, size=SWIMMER_MAX_PATIENTS, replace=False))
        patients = patients.iloc[pick]
        note = f"Random sample of {SWIMMER_MAX_PATIENTS} of {n:,} patients (seed {SWIMMER_SEED})."
    order = pd.to_numeric(patients[Col.OS_MONTHS], errors="coerce").fillna(0).to_numpy()
    return patients.iloc[np.argsort(order, kind="stable")].reset_index(drop=True), note


def _segments(lines: pd.DataFrame, pos: pd.Series, follow: pd.Series) -> pd.DataFrame:
    """Line segments with y position and end (line end, else next start, else follow-up)."""
    seg = lines[lines[Col.PATIENT_ID].isin(pos.index)].copy()
    seg["y"] = seg[Col.PATIENT_ID].map(pos).to_numpy()
    keys = ["y", Col.START_MONTHS] + ([Col.LINE] if Col.LINE in seg.columns else [])
    seg = seg.sort_values(keys, kind="stable")
    start = pd.to_numeric(seg[Col.START_MONTHS], errors="coerce")
    end = pd.to_numeric(seg[Col.END_MONTHS], errors="coerce")
    nxt = start.groupby(seg["y"].to_numpy()).shift(-1)
    fallback = nxt.fillna(seg[Col.PATIENT_ID].map(follow))
    out = pd.DataFrame(
        {
            "y": seg["y"].to_numpy(dtype=np.int64),
            "x0": start.to_numpy(dtype=float),
            "x1": end.fillna(fallback).clip(lower=start).to_numpy(dtype=float),
            Col.CATEGORY: _categories(seg).to_numpy(),
            Col.RESPONDED: seg[Col.RESPONDED].astype("boolean").fillna(False).to_numpy(bool),
            Col.PROGRESSION_MONTHS: _column(seg, Col.PROGRESSION_MONTHS),
        }
    )
    return out.loc[np.isfinite(out["x0"].to_numpy())].reset_index(drop=True)


def swimmer(patients: pd.DataFrame, lines: pd.DataFrame) -> Swimmer | None:
    """Rows of the swimmer plot; ``None`` without patients."""
    if patients.empty:
        return None
    pts, note = _sample(patients)
    pos = pd.Series(np.arange(len(pts)), index=pts[Col.PATIENT_ID].to_numpy())
    follow = pd.Series(_column(pts, Col.OS_MONTHS), index=pos.index)
    bars = pd.DataFrame(
        {
            "y": np.arange(len(pts), dtype=np.int64),
            "follow_up_months": follow.to_numpy(),
            "died": pts[Col.OS_EVENT].astype("boolean").fillna(False).to_numpy(bool),
        }
    )
    return Swimmer(bars, _segments(lines, pos, follow), len(patients), note)


def first_salvage_incidence(
    lines: pd.DataFrame, conf_level: float = 0.95
) -> IncidenceFigure | None:
    """Cumulative incidence of progression vs death without progression on line 1.

    The coding is that of ``results.json`` ``first_salvage.competing_risks``: a PFS
    event is a progression when the line has a documented progression, else a death
    without progression; ``None`` without any event.
    """
    first = lines.loc[lines[Col.LINE] == 1]
    t = _column(first, Col.PFS_MONTHS)
    ok = np.isfinite(t) & (t >= 0)
    event = first[Col.PFS_EVENT].astype("boolean").fillna(False).to_numpy(bool)
    progressed = np.isfinite(_column(first, Col.PROGRESSION_MONTHS))
    status = np.where(event, np.where(progressed, 1, 2), 0)[ok]
    if not (status > 0).any():
        return None
    table = stats.cumulative_incidence(t[ok], status, conf_level=conf_level).table
    causes = []
    for code, label in INCIDENCE_CAUSES.items():
        part = table.loc[table["cause"] == code]
        causes.append(
            IncidenceCurve(
                label=label,
                time=_column(part, Col.TIME),
                estimate=_column(part, "estimate"),
                lower=_column(part, "lower"),
                upper=_column(part, "upper"),
            )
        )
    ticks = nice_ticks(max(float(np.nanmax(t[ok])), 1.0))
    return IncidenceFigure(
        key="first_salvage_competing_risks",
        causes=tuple(causes),
        ticks=tuple(float(x) for x in ticks),
        n=int(ok.sum()),
    )
