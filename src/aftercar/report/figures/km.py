"""Kaplan-Meier figures in the KMunicate style, with aligned at-risk tables.

Step curves with pointwise confidence bands, censoring ticks, and under the time
axis a table of the number at risk and the cumulative number of events per group
at each x tick (months). Large curves are thinned to at most
:data:`MAX_STEPS` steps (one per time bin, the bin's last step), which changes
nothing visible at figure resolution.

References
----------
.. [1] Morris TP, Jarvis CI, Cragg W, et al. Proposals on Kaplan-Meier plots in
   medical research and a survey of stakeholder views: KMunicate. BMJ Open
   2019;9:e030215.
.. [2] Pocock SJ, Clayton TC, Altman DG. Survival plots of time-to-event outcomes
   in clinical trials: good practice and pitfalls. Lancet 2002;359:1686-9.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.ticker import PercentFormatter

from aftercar.analysis.model import Curve, CurveFigure
from aftercar.report.disclosure import suppress_value
from aftercar.report.figures._style import GROUP_COLOURS, FigureOutput, Palette, new_figure, save
from aftercar.schema import Col

#: Most steps drawn per curve; larger curves are thinned by time bin.
MAX_STEPS = 2000

#: Censoring ticks are drawn only for groups with at most this many censored times
#: (beyond that they merge into a band and hide the curve, Pocock et al. 2002).
MAX_CENSOR_TICKS = 300

#: Confidence bands are drawn for at most this many groups (more would hide the curves).
MAX_BAND_GROUPS = 3

#: The cumulative-events rows are shown for at most this many groups.
MAX_EVENT_ROW_GROUPS = 4


@dataclass(frozen=True)
class CurveSpec:
    """Labels of one Kaplan-Meier figure."""

    title: str
    ylabel: str
    xlabel: str
    caption: str


_OS_X = "Months since post-CAR-T progression"
SPECS: dict[str, CurveSpec] = {
    "os": CurveSpec(
        "Overall survival from post-CAR-T progression",
        "Overall survival",
        _OS_X,
        "Kaplan-Meier estimate with 95% pointwise confidence band; ticks mark censoring "
        f"(omitted for groups with more than {MAX_CENSOR_TICKS} censored times).",
    ),
    "os_by_relapse_timing": CurveSpec(
        "Overall survival by timing of relapse after CAR T",
        "Overall survival",
        _OS_X,
        "Early relapse: progression within 6 months of CAR-T infusion.",
    ),
    "os_by_product": CurveSpec(
        "Overall survival by CAR-T product", "Overall survival", _OS_X, "By CAR-T product."
    ),
    "first_salvage_pfs": CurveSpec(
        "Progression-free survival on the first salvage line",
        "Progression-free survival",
        "Months since start of first salvage line",
        "PFS from start of the first post-CAR-T line to progression or death.",
    ),
    "pfs_by_category": CurveSpec(
        "Progression-free survival by therapy category (all lines)",
        "Progression-free survival",
        "Months since start of line",
        "Lines, not patients, are the units; patients contribute several lines.",
    ),
    "os_tce_landmark": CurveSpec(
        "Overall survival by T-cell-engaging therapy (landmark analysis)",
        "Overall survival",
        "Months since landmark",
        "Landmark analysis: groups fixed by TCE receipt before the landmark, "
        "avoiding immortal-time bias.",
    ),
}


def spec_for(key: str) -> CurveSpec:
    """Return the labels of a figure key (generic ones for keys the report does not know)."""
    if key in SPECS:
        return SPECS[key]
    title = key.replace("_", " ").capitalize()
    return CurveSpec(title, "Survival probability", "Months", "Kaplan-Meier estimate.")


def thin_steps(time: np.ndarray, tmax: float, max_steps: int = MAX_STEPS) -> np.ndarray:
    """Return indices keeping the last step of each of ``max_steps`` time bins."""
    if len(time) <= max_steps or tmax <= 0:
        return np.arange(len(time))
    bins = np.floor(time / tmax * max_steps).astype(np.int64)
    keep = np.r_[bins[1:] != bins[:-1], True]
    return np.flatnonzero(keep)


def _fmt_count(value: float, k: int | None) -> str:
    """A count for display: suppressed below K, thousands separated."""
    shown = suppress_value(round(value), k)
    return f"{shown:,}" if isinstance(shown, int) else str(shown)


def _fmt_months(value: Any) -> str:
    return "NE" if value is None or not np.isfinite(float(value)) else f"{float(value):.1f}"


def _legend_label(curve: Curve, label: str, k: int | None) -> str:
    est, lo, hi = curve.median
    n_text = _fmt_count(curve.n, k)
    return (
        f"{label} (n={n_text}; median {_fmt_months(est)} [{_fmt_months(lo)}–{_fmt_months(hi)}] mo)"
    )


def _draw_curve(
    ax: Any, curve: Curve, label: str, colour: str, tmax: float, k: int | None, band: bool
) -> None:
    keep = thin_steps(curve.time, tmax)
    t, s = curve.time[keep], curve.surv[keep]
    lo, hi = curve.lower[keep], curve.upper[keep]
    x = np.r_[min(curve.start, t[0]) if len(t) else curve.start, t]
    ax.step(
        x, np.r_[1.0, s], where="post", color=colour, lw=1.6, label=_legend_label(curve, label, k)
    )
    if band:
        ax.fill_between(
            x, np.r_[1.0, lo], np.r_[1.0, hi], step="post", color=colour, alpha=0.14, lw=0
        )
    cens = np.flatnonzero(curve.n_censor > 0)
    if len(cens) > MAX_CENSOR_TICKS:
        return
    ax.plot(curve.time[cens], curve.surv[cens], ls="none", marker="|", ms=5, mew=1.0, color=colour)


def _risk_table(
    ax: Any, fig: CurveFigure, labels: list[str], colours: list[str], k: int | None
) -> None:
    """Write the at-risk (and cumulative-event) rows under the axis, one per group."""
    ticks = np.asarray(fig.ticks)
    rows: list[tuple[str, str | None, tuple[int, ...] | None]] = [("Number at risk", None, None)]
    rows += list(zip(labels, colours, fig.at_risk, strict=True))
    if len(labels) <= MAX_EVENT_ROW_GROUPS:
        rows.append(("Cumulative events", None, None))
        rows += list(zip(labels, colours, fig.cumulative_events, strict=True))
    n = len(rows)
    for i, (label, colour, values) in enumerate(rows):
        y = 1 - (i + 0.5) / n
        trans = ax.get_yaxis_transform()
        if values is None or colour is None:
            ax.text(-0.05, y, label, transform=trans, ha="right", va="center", weight="bold")
            continue
        dark = tuple(0.7 * c for c in to_rgb(colour))  # readable on white, same hue
        ax.text(-0.05, y, label, transform=trans, ha="right", va="center", color=dark)
        for x, v in zip(ticks, values, strict=True):
            ax.text(x, y, _fmt_count(v, k), ha="center", va="center", fontsize=8.5)
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="x", which="both", length=0, labelbottom=False)


def styles(fig: CurveFigure, palette: Palette) -> tuple[list[str], list[str]]:
    """Labels and colours of a figure's groups (the taxonomy's for therapy categories)."""
    names = [c.label for c in fig.curves]
    if Col.CATEGORY in fig.key or all(palette.is_category(g) for g in names):
        return [palette.label(g) for g in names], [palette.colour(g) for g in names]
    return names, [GROUP_COLOURS[i % len(GROUP_COLOURS)] for i in range(len(names))]


def in_taxonomy_order(fig: CurveFigure, palette: Palette) -> CurveFigure:
    """The figure's groups in the taxonomy's order when they are therapy categories."""
    names = [c.label for c in fig.curves]
    if not all(palette.is_category(g) for g in names):
        return fig
    order = [names.index(g) for g in palette.order(names)]
    return replace(
        fig,
        curves=tuple(fig.curves[i] for i in order),
        at_risk=tuple(fig.at_risk[i] for i in order),
        cumulative_events=tuple(fig.cumulative_events[i] for i in order),
    )


def km_figure(fig: CurveFigure, palette: Palette, *, k: int | None = None) -> FigureOutput:
    """Draw one Kaplan-Meier figure (all its curves) with its at-risk table.

    Parameters
    ----------
    fig
        The figure's data (:class:`aftercar.analysis.CurveFigure`): curves, x
        ticks, numbers at risk and cumulative events per tick.
    palette
        Category labels and colours (curves of therapy categories use them).
    k
        Disclosure threshold: at-risk and event counts from 1 to K-1 show ``"<K"``.
    """
    spec = spec_for(fig.key)
    names = [c.label for c in fig.curves]
    labels, colours = styles(fig, palette)
    times = [float(np.nanmax(c.time)) for c in fig.curves if len(c.time)]
    tmax = max(max(times, default=1.0), 1.0)
    n_rows = (2 if len(names) <= MAX_EVENT_ROW_GROUPS else 1) * (len(names) + 1)
    table_h = 0.19 * n_rows
    figure = new_figure(7.6, 3.7 + table_h)
    gs = figure.add_gridspec(2, 1, height_ratios=[3.4, table_h], hspace=0.28)
    ax = figure.add_subplot(gs[0])
    tab = figure.add_subplot(gs[1], sharex=ax)
    band = len(names) <= MAX_BAND_GROUPS
    for curve, label, colour in zip(fig.curves, labels, colours, strict=True):
        _draw_curve(ax, curve, label, colour, tmax, k, band)
    _decorate(ax, spec, np.asarray(fig.ticks), tmax, len(names))
    if fig.annotation:  # computed by the analysis; drawn where KM curves end (lower left)
        box = {"facecolor": "white", "alpha": 0.85, "lw": 0, "pad": 1.5}
        ax.text(0.01, 0.03, fig.annotation, transform=ax.transAxes, fontsize=8.5, bbox=box)
    _risk_table(tab, fig, labels, colours, k)
    caption = spec.caption
    if not band:
        caption += f" Confidence bands omitted with more than {MAX_BAND_GROUPS} groups."
    return save(figure, fig.key, spec.title, caption)


def _decorate(ax: Any, spec: CurveSpec, ticks: np.ndarray, tmax: float, groups: int) -> None:
    """Axes limits, ticks, labels and the legend (upper right, where KM curves rarely go)."""
    ax.set_xlim(0, tmax * 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_xticks(ticks)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.grid(axis="y", color="#dddddd", lw=0.6)
    ax.set_axisbelow(True)
    ax.set_ylabel(spec.ylabel)
    ax.set_xlabel(spec.xlabel)
    ax.set_title(spec.title)
    legend = ax.legend(
        loc="upper right",
        handlelength=1.4,
        frameon=True,
        framealpha=0.9,
        fontsize=8.5 if groups <= 4 else 7.5,
        labelspacing=0.3,
    )
    legend.get_frame().set_linewidth(0)
