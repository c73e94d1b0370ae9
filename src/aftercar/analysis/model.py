"""Typed results of the study's analyses: what the report renders and ``results.json`` holds.

Every analysis returns an :class:`AnalysisResult`; the figures' data (Kaplan-Meier
curves with their at-risk tables, response bars, treatment sequence, swimmer
rows) are computed here too, so that the report draws numbers it is given and
computes none. Everything has a JSON form (``to_dict``) that goes to
``results.json``.

Times are months (days / 30.4375) from the index date or the line start.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from aftercar.schema import Col


def _floats(values: Any) -> list[float | None]:
    arr = np.asarray(values, dtype=float)
    return [None if not np.isfinite(v) else float(v) for v in arr]


def _ints(values: Any) -> list[int]:
    return [int(v) for v in np.asarray(values, dtype=float)]


@dataclass(frozen=True)
class AnalysisResult:
    """What one analysis produced.

    Attributes
    ----------
    results
        JSON-ready numbers under their ``results.json`` keys (``docs/results-schema.md``).
    tables
        Named result tables (written as ``tables/<name>.csv``).
    curves
        Figure key -> group label -> :class:`Curve`.
    notes
        Method notes and warnings.
    """

    results: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    curves: dict[str, dict[str, Curve]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Curve:
    """One Kaplan-Meier curve ready to draw: the step table and the median with its CI."""

    label: str
    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    surv: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    median: tuple[float | None, float | None, float | None]
    start: float
    n: float

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``results.json`` ``figures.<key>.groups[]``)."""
        return {
            "group": self.label,
            "n": int(self.n),
            "median_months": list(self.median),
            Col.START: self.start,
            Col.TIME: _floats(self.time),
            "n_risk": _ints(self.n_risk),
            "n_event": _ints(self.n_event),
            "n_censor": _ints(self.n_censor),
            "surv": _floats(self.surv),
            "lower": _floats(self.lower),
            "upper": _floats(self.upper),
        }


@dataclass(frozen=True)
class CurveFigure:
    """A Kaplan-Meier figure: its curves, the at-risk table at the x ticks, and the
    comparison to print on it (log-rank p, HR for two groups; "" for none).

    ``layout`` is ``"overlay"`` (one panel) or ``"small-multiples"`` (one panel per
    group, for many or small groups: ``[analysis] km_max_groups``,
    ``km_min_group_size``); ``small_groups`` names the groups under the size threshold.
    """

    key: str
    curves: tuple[Curve, ...]
    ticks: tuple[float, ...]
    at_risk: tuple[tuple[int, ...], ...]
    cumulative_events: tuple[tuple[int, ...], ...]
    annotation: str = ""
    layout: str = "overlay"
    small_groups: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``results.json`` ``figures.<key>``)."""
        groups = [
            curve.to_dict() | {"at_risk": list(risk), "events": list(events)}
            for curve, risk, events in zip(
                self.curves, self.at_risk, self.cumulative_events, strict=True
            )
        ]
        out = {"kind": "kaplan-meier", "ticks": list(self.ticks), "groups": groups}
        out |= {"layout": self.layout, "small_groups": list(self.small_groups)}
        return out | ({"annotation": self.annotation} if self.annotation else {})


@dataclass(frozen=True)
class ResponseBars:
    """Best response per therapy category: lines per response group and their shares."""

    categories: tuple[str, ...]
    groups: tuple[str, ...]
    counts: np.ndarray
    shares: np.ndarray
    lines: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``results.json`` ``figures.response_by_category``)."""
        rows = [
            {
                Col.CATEGORY: cat,
                "lines": int(self.lines[i]),
                "counts": _ints(self.counts[i]),
                "shares": _floats(self.shares[i]),
            }
            for i, cat in enumerate(self.categories)
        ]
        return {"kind": "response-bars", "response_groups": list(self.groups), "rows": rows}


@dataclass(frozen=True)
class Sequence:
    """Therapy categories over the first salvage lines: nodes and patient flows."""

    lines: tuple[int, ...]
    patients: tuple[int, ...]
    nodes: tuple[tuple[int, str, int], ...]
    flows: tuple[tuple[int, str, str, int], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``results.json`` ``figures.treatment_sequence``)."""
        return {
            "kind": "sequence",
            "lines": [
                {Col.LINE: ln, "patients": n}
                for ln, n in zip(self.lines, self.patients, strict=True)
            ],
            "nodes": [{Col.LINE: a, Col.CATEGORY: c, "patients": n} for a, c, n in self.nodes],
            "flows": [
                {"from_line": a, "from": s, "to": d, "patients": n} for a, s, d, n in self.flows
            ],
        }


@dataclass(frozen=True)
class Swimmer:
    """Rows of the swimmer plot (a sample above the size limit; no identifiers).

    ``bars``: ``y, follow_up_months, died`` (one per patient drawn, sorted by
    follow-up); ``segments``: ``y, x0, x1, category, responded,
    progression_months`` (one per salvage line drawn).
    """

    bars: pd.DataFrame
    segments: pd.DataFrame
    patients_total: int
    note: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``results.json`` ``figures.swimmer``)."""
        seg = self.segments.astype(object).where(self.segments.notna(), None)
        bars = self.bars.astype(object).where(self.bars.notna(), None)
        return {
            "kind": "swimmer",
            "patients": self.patients_total,
            "note": self.note,
            "bars": bars.to_dict(orient="list"),
            "segments": seg.to_dict(orient="list"),
        }


@dataclass(frozen=True)
class Figures:
    """Data of every figure of the report."""

    curves: Mapping[str, CurveFigure]
    response_bars: ResponseBars | None
    sequence: Sequence | None
    swimmer: Swimmer | None
    incidence: Mapping[str, IncidenceFigure] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``results.json`` ``figures``)."""
        out: dict[str, Any] = {key: fig.to_dict() for key, fig in self.curves.items()}
        out |= {key: fig.to_dict() for key, fig in self.incidence.items()}
        for key, part in (
            ("response_by_category", self.response_bars),
            ("treatment_sequence", self.sequence),
            ("swimmer", self.swimmer),
        ):
            if part is not None:
                out[key] = part.to_dict()
        return out


@dataclass(frozen=True)
class IncidenceCurve:
    """One cause's cumulative incidence (Aalen-Johansen): step table with pointwise CI."""

    label: str
    time: np.ndarray
    estimate: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``results.json`` ``figures.<key>.causes[]``)."""
        return {
            "cause": self.label,
            Col.TIME: _floats(self.time),
            "estimate": _floats(self.estimate),
            "lower": _floats(self.lower),
            "upper": _floats(self.upper),
        }


@dataclass(frozen=True)
class IncidenceFigure:
    """A cumulative-incidence figure of competing causes (e.g. progression vs death)."""

    key: str
    causes: tuple[IncidenceCurve, ...]
    ticks: tuple[float, ...]
    n: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``results.json`` ``figures.<key>``)."""
        return {
            "kind": "cumulative-incidence",
            "n": self.n,
            "ticks": list(self.ticks),
            "causes": [c.to_dict() for c in self.causes],
        }
