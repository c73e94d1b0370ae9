"""Report figures (matplotlib, Agg canvas, style applied in a context only).

Each figure draws data the analysis computed (:class:`aftercar.analysis.Figures`)
in the study taxonomy's labels and colours (:class:`Palette`); nothing here counts
or estimates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aftercar.report.figures._style import FigureOutput, Palette, figure_style
from aftercar.report.figures.categories import forest_figure, response_figure
from aftercar.report.figures.km import in_taxonomy_order, km_figure, styles
from aftercar.report.figures.panels import incidence_figure, small_multiples
from aftercar.report.figures.sequence import sequence_figure
from aftercar.report.figures.swimmer import swimmer_figure
from aftercar.report.model import ReportInput

__all__ = ["FigureOutput", "FigureSet", "Palette", "render_figures"]


@dataclass(frozen=True)
class FigureSet:
    """Rendered figures by key, and why any expected figure was not drawn."""

    figures: dict[str, FigureOutput] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def _reference_orr(index_study: dict[str, Any] | None) -> tuple[float | None, str]:
    for row in (index_study or {}).get("headline", []):
        if row.get("path") == "first_salvage.orr" and "estimate" in row:
            return float(row["estimate"]), f"Index study, first salvage {row['published']}"
    return None, ""


def render_figures(
    data: ReportInput, *, results: dict[str, Any], k: int | None = None
) -> FigureSet:
    """Render every figure of the report.

    Parameters
    ----------
    data
        The report input (figure data, category styles, index study).
    results
        ``data.results`` after disclosure control (used by the forest plot).
    k
        Disclosure threshold: counts printed on figures are suppressed; the figures
        drawn at exact sizes from counts (the swimmer plot, one bar per patient; the
        response bars; the treatment sequence; the cumulative incidence curves) are
        left out when ``k`` is set (found by a probe of every shared output,
        2026-12-06: their bars and steps gave the suppressed counts back).
    """
    out = FigureSet()
    palette = Palette.of(data.categories)
    with figure_style():
        for key, fig in data.figures.curves.items():
            if fig.layout == "small-multiples" and len(fig.curves) > 1:
                ordered = in_taxonomy_order(fig, palette)
                labels, colours = styles(ordered, palette)
                out.figures[key] = small_multiples(
                    ordered, list(zip(labels, colours, strict=True)), k
                )
            elif fig.curves:
                out.figures[key] = km_figure(fig, palette, k=k)
            else:
                out.skipped[key] = (
                    fig.annotation or "no Kaplan-Meier estimate was computed for this figure"
                )
        for key, cif in getattr(data.figures, "incidence", {}).items():
            if k is None:
                out.figures[key] = incidence_figure(cif, k)
            else:
                out.skipped[key] = _left_out(k, "each step of the curves is drawn at its "
                                             "exact height, from which the events come back")
        _categorical_figures(out, data, results, palette, k)
    return out


def _left_out(k: int, why: str) -> str:
    """Why a figure is left out under disclosure control."""
    return f"left out under disclosure control (--suppress-below {k}): {why}"


def _add(out: FigureSet, key: str, fig: FigureOutput | None, reason: str) -> None:
    if fig is None:
        out.skipped[key] = reason
    else:
        out.figures[key] = fig


def _categorical_figures(
    out: FigureSet,
    data: ReportInput,
    results: dict[str, Any],
    palette: Palette,
    k: int | None,
) -> None:
    ref, ref_label = _reference_orr(data.index_study)
    _add(
        out,
        "forest_orr",
        forest_figure(results, palette, reference=ref, reference_label=ref_label),
        "results.json has no by_category section",
    )
    figs = data.figures
    if k is not None:  # bars and bands drawn at their exact sizes give every count back
        out.skipped["response_by_category"] = _left_out(k, "each bar segment is drawn at its "
                                                        "exact share of the lines")
        out.skipped["treatment_sequence"] = _left_out(k, "each group is drawn at its exact "
                                                      "number of patients")
        out.skipped["swimmer"] = _left_out(k, "one bar per patient is individual-level data")
        return
    _add(
        out, "response_by_category", response_figure(figs.response_bars, palette, k=k),
        "no salvage lines",
    )  # fmt: skip
    _add(
        out, "treatment_sequence", sequence_figure(figs.sequence, palette, k=k), "no salvage lines"
    )
    if figs.swimmer is None:
        out.skipped["swimmer"] = "no patients"
    else:
        out.figures["swimmer"] = swimmer_figure(figs.swimmer, palette)
