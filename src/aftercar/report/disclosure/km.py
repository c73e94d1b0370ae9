"""Kaplan-Meier figures under disclosure control: curves left out, at-risk ticks kept, the
note added (the figure as drawn and its ``results.json`` form)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from aftercar.analysis.model import CurveFigure
from aftercar.report.disclosure.cells import _set, true_value
from aftercar.report.disclosure.structures import km_ticks, survival_group_states
from aftercar.report.margins import SUPPRESSED
from aftercar.report.model import ReportInput
from aftercar.schema import Col

#: Per-step counts of a curve: individual-level under disclosure control.
STEP_COUNT_KEYS = ("n_risk", "n_event", "n_censor")


#: Kept in the JSON form of a curve left out under disclosure control.
_GROUP_LABEL_KEYS = ("group", "n")


def _km_left_out_note(k: int, groups: list[str], ticks_dropped: int) -> str:
    """The note a Kaplan-Meier figure carries under disclosure control (short lines:
    it is drawn inside the axes)."""
    lines = []
    if groups:
        lines.append(f"{len(groups)} group(s) left out (under {k} patients, or protecting one)")
    if ticks_dropped:
        lines.append(f"numbers at risk only where they change by 0 or at least {k}")
    return "\n".join([f"Disclosure control (--suppress-below {k}):", *lines]) if lines else ""


def km_plan(
    curves: list[tuple[str, float, list[Any], list[Any], float, float]], k: int
) -> tuple[dict[str, str], list[int], str]:
    """Which curves of a Kaplan-Meier figure are drawn and which ticks keep their counts.

    ``curves``: ``(label, n, at_risk, cumulative_events, events, censored)``. Returns
    the labels left out with the state of their n (groups of fewer than K patients, or
    a group suppressed or withheld to protect one: the group sizes add up to the
    figure's patients, as in the comparison the figure draws), the tick indices kept
    (:func:`km_ticks`) and the note to show.
    """
    parts = {label: (n, events) for label, n, _, _, events, _ in curves}
    totals = (sum(p[0] for p in parts.values()), sum(p[1] for p in parts.values()))
    states = survival_group_states(parts, totals, k)
    out = {label: states.get((label, "n"), "shown") for label in parts}
    out = {label: state for label, state in out.items() if state != "shown"}
    drawn = [(n, risk, ev, e, c) for label, n, risk, ev, e, c in curves if label not in out]
    n_ticks = len(curves[0][2]) if curves else 0
    kept = km_ticks(drawn, k) if drawn else list(range(min(n_ticks, 1)))
    return out, kept, _km_left_out_note(k, sorted(out), n_ticks - len(kept))


def _curve_json_counts(group: Mapping[str, Any]) -> tuple[float, float]:
    def total(key: str) -> float:
        values = [true_value(v) for v in group.get(key) or []]
        return float(sum(v for v in values if v is not None))

    return total("n_event"), total("n_censor")


def _left_out(key: str, value: Any) -> Any:
    """A value of a curve left out: label, n and start kept, every series emptied."""
    if key in _GROUP_LABEL_KEYS or key == Col.START:
        return value
    if key == "median_months" and isinstance(value, list):
        return [SUPPRESSED for _ in value]
    return [] if isinstance(value, list) else SUPPRESSED


def km_json(fig: dict[str, Any], k: int) -> dict[str, Any]:
    """The JSON form of a Kaplan-Meier figure under disclosure control (:func:`km_plan`):
    curves left out keep their label and their n as the comparison shows it (``<K``,
    ``suppressed`` or ``withheld``); drawn curves lose their
    per-step counts; the at-risk and cumulative-event rows keep the kept ticks."""
    groups = [g for g in fig.get("groups", []) if isinstance(g, dict)]
    curves = [
        (str(g.get("group")), true_value(g.get("n")) or 0.0, list(g.get("at_risk") or []),
         list(g.get("events") or []), *_curve_json_counts(g))
        for g in groups
    ]  # fmt: skip
    out, kept, note = km_plan(curves, k)
    new_groups = []
    for g in groups:
        if str(g.get("group")) in out:
            hidden = {key: _left_out(key, v) for key, v in g.items()}
            _set(hidden, "n", out[str(g.get("group"))])  # as the comparison shows it
            new_groups.append(hidden)
            continue
        g = {key: ([] if key in STEP_COUNT_KEYS else v) for key, v in g.items()}
        for key in ("at_risk", "events"):
            if isinstance(g.get(key), list):
                g[key] = [g[key][i] for i in kept if i < len(g[key])]
        new_groups.append(g)
    ticks = fig.get("ticks") or []
    shared = fig | {"groups": new_groups, "ticks": [ticks[i] for i in kept if i < len(ticks)]}
    return shared | ({"disclosure_note": note} if note else {})


def shared_curve_figure(fig: CurveFigure, k: int) -> CurveFigure:
    """A Kaplan-Meier figure as drawn under disclosure control (:func:`km_plan`):
    curves left out, ticks of the at-risk table kept, the note added to the figure's
    annotation (with no curve left, the note is the whole annotation)."""
    curves = [
        (c.label, float(c.n), list(risk), list(ev), float(np.sum(c.n_event)),
         float(np.sum(c.n_censor)))
        for c, risk, ev in zip(fig.curves, fig.at_risk, fig.cumulative_events, strict=True)
    ]  # fmt: skip
    out, kept, note = km_plan(curves, k)
    rows = [
        (c, tuple(risk[i] for i in kept), tuple(ev[i] for i in kept))
        for c, risk, ev in zip(fig.curves, fig.at_risk, fig.cumulative_events, strict=True)
        if c.label not in out
    ]
    if not rows:  # nothing left to draw: the note says why
        empty: tuple = ()
        return replace(
            fig, curves=empty, ticks=empty, at_risk=empty, cumulative_events=empty, annotation=note
        )
    annotation = "\n".join(t for t in (fig.annotation, note) if t)
    return replace(
        fig,
        curves=tuple(r[0] for r in rows),
        ticks=tuple(fig.ticks[i] for i in kept),
        at_risk=tuple(r[1] for r in rows),
        cumulative_events=tuple(r[2] for r in rows),
        annotation=annotation,
    )


def shared_figures(data: ReportInput, k: int | None) -> ReportInput:
    """``data`` with its figures' data as shared under disclosure control.

    Kaplan-Meier figures: :func:`shared_curve_figure` (a figure with no curve left
    keeps the note as its annotation); the swimmer plot (one bar per patient) is
    left out. Counts printed on the other figures are suppressed where drawn.
    """
    if k is None:
        return data
    curves = {
        key: shared_curve_figure(fig, k) if fig.curves else fig
        for key, fig in data.figures.curves.items()
    }
    figures = replace(data.figures, curves=curves, swimmer=None)
    return replace(data, figures=figures)
