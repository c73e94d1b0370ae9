"""Report figures (matplotlib, Agg canvas, style applied in a context only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from aftercar.report.figures._style import FigureOutput, figure_style
from aftercar.report.figures.categories import forest_figure, response_figure
from aftercar.report.figures.km import km_figure
from aftercar.report.figures.sequence import sequence_figure
from aftercar.report.figures.swimmer import swimmer_figure
from aftercar.report.model import KNOWN_CURVES, ReportInput

__all__ = ["FigureOutput", "FigureSet", "render_figures"]


@dataclass(frozen=True)
class FigureSet:
    """Rendered figures by key, and why any expected figure was not drawn."""

    figures: dict[str, FigureOutput] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def _curve_keys(curves: dict[str, Any]) -> list[str]:
    return [k for k in KNOWN_CURVES if k in curves] + [k for k in curves if k not in KNOWN_CURVES]


def _reference_orr(index_study: dict[str, Any] | None) -> tuple[float | None, str]:
    for row in (index_study or {}).get("headline", []):
        if row.get("path") == "first_salvage.orr" and "estimate" in row:
            return float(row["estimate"]), f"Index study, first salvage {row['published']}"
    return None, ""


def render_figures(
    data: ReportInput,
    *,
    results: dict[str, Any],
    k: int | None = None,
    index_study: dict[str, Any] | None = None,
) -> FigureSet:
    """Render every figure of the report.

    Parameters
    ----------
    data
        The report input (curves, lines, patients).
    results
        ``data.results`` after disclosure control (used by the forest plot).
    k
        Disclosure threshold: counts printed on figures are suppressed; the swimmer
        plot (one bar per patient) is left out when ``k`` is set.
    index_study
        Published figures of the index study (reference line of the forest plot).
    """
    out = FigureSet()
    with figure_style():
        for key in _curve_keys(data.curves):
            groups = {g: r for g, r in data.curves[key].items() if r is not None}
            if groups:
                out.figures[key] = km_figure(key, groups, k=k)
            else:
                out.skipped[key] = "no Kaplan-Meier estimate was computed for this figure"
        _categorical_figures(out, data, results, k, index_study)
    return out


def _add(out: FigureSet, key: str, fig: FigureOutput | None, reason: str) -> None:
    if fig is None:
        out.skipped[key] = reason
    else:
        out.figures[key] = fig


def _categorical_figures(
    out: FigureSet,
    data: ReportInput,
    results: dict[str, Any],
    k: int | None,
    index_study: dict[str, Any] | None,
) -> None:
    # a line without a category is drawn as "unclassified", never dropped silently
    lines: pd.DataFrame = data.lines.assign(
        category=data.lines["category"]
        .astype(object)
        .where(data.lines["category"].notna(), "unclassified")
    )
    ref, ref_label = _reference_orr(index_study)
    _add(
        out,
        "forest_orr",
        forest_figure(results, reference=ref, reference_label=ref_label),
        "results.json has no by_category section",
    )
    _add(out, "response_by_category", response_figure(lines, k=k), "no salvage lines")
    _add(out, "treatment_sequence", sequence_figure(lines, k=k), "no salvage lines")
    if k is not None:
        out.skipped["swimmer"] = (
            f"left out under disclosure control (--suppress-below {k}): one bar per patient "
            "is individual-level data"
        )
    elif data.patients.empty:
        out.skipped["swimmer"] = "no patients"
    else:
        out.figures["swimmer"] = swimmer_figure(data.patients, lines)
