"""Kaplan-Meier small multiples (many or small groups) and cumulative-incidence figures.

Small multiples: one panel per group, the group's curve in its colour (taxonomy
colours and labels for therapy categories) with its confidence band, every other
group in light grey behind it for comparison, and the number at risk at each x
tick under the panel. Groups under the size threshold are flagged in their panel
title. Cumulative incidence: one step curve per competing cause with its band.

References
----------
Tufte ER. The Visual Display of Quantitative Information, 1983 (small multiples).
Morris TP, et al. KMunicate. BMJ Open 2019;9:e030215 (numbers at risk).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.ticker import PercentFormatter

from aftercar.analysis.model import CurveFigure, IncidenceFigure
from aftercar.report.figures._style import GROUP_COLOURS, FigureOutput, new_figure, save
from aftercar.report.figures.km import _fmt_count, _fmt_months, spec_for

#: Panels per row of a small-multiples figure.
PANEL_COLUMNS = 3


def _panel(ax: Any, fig: CurveFigure, i: int, style: tuple[str, str], k: int | None) -> None:
    label, colour = style
    curve = fig.curves[i]
    for j, other in enumerate(fig.curves):
        if j != i and len(other.time):
            ax.step(np.r_[other.start, other.time], np.r_[1.0, other.surv], where="post",
                    color="#c8c8c8", lw=0.8)  # fmt: skip
    if len(curve.time):
        x = np.r_[curve.start, curve.time]
        ax.fill_between(x, np.r_[1.0, curve.lower], np.r_[1.0, curve.upper], step="post",
                        color=colour, alpha=0.15, lw=0)  # fmt: skip
        ax.step(x, np.r_[1.0, curve.surv], where="post", color=colour, lw=1.6)
    est = curve.median[0]
    small = ", small group" if curve.label in fig.small_groups else ""
    ax.set_title(
        f"{label} (n={_fmt_count(curve.n, k)})\nmedian {_fmt_months(est)} mo{small}",
        fontsize=8, color="#8a4b00" if small else "#1d1d1f",
    )  # fmt: skip
    ticks = np.asarray(fig.ticks)
    ax.set_xticks(ticks)
    ax.set_xlim(0, max(ticks[-1], 1.0) * 1.02)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.grid(axis="y", color="#e4e4e4", lw=0.5)
    ax.tick_params(labelsize=7.5, labelbottom=True)
    for x, v in zip(ticks, fig.at_risk[i], strict=True):
        ax.annotate(_fmt_count(v, k), xy=(x, 0), xycoords=("data", "axes fraction"),
                    xytext=(0, -20), textcoords="offset points", ha="center", va="top",
                    fontsize=7, color="#444444", annotation_clip=False)  # fmt: skip
    ax.set_xlabel("Months (number at risk below)", fontsize=7.5, labelpad=13)


def small_multiples(
    fig: CurveFigure, styles: list[tuple[str, str]], k: int | None = None
) -> FigureOutput:
    """Draw a KM figure as one panel per group (``styles``: label and colour per group)."""
    spec = spec_for(fig.key)
    n = len(fig.curves)
    cols = min(PANEL_COLUMNS, n)
    rows = math.ceil(n / cols)
    figure = new_figure(7.6, 0.6 + 2.6 * rows)
    axes = figure.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i < n:
            _panel(ax, fig, i, styles[i], k)
        else:
            ax.set_visible(False)
    figure.suptitle(spec.title, x=0.01, ha="left", fontsize=10, weight="bold")
    figure.supylabel(spec.ylabel, fontsize=8.5)
    figure.subplots_adjust(hspace=0.85, wspace=0.14)
    caption = (
        f"{spec.caption} X axis: {spec.xlabel.lower()}; median in months. One panel per "
        "group (other groups in grey behind it), drawn as "
        "small multiples because the figure has many groups or groups under the size "
        "threshold ([analysis] km_max_groups, km_min_group_size)."
    )
    if fig.small_groups:
        caption += (
            f" {len(fig.small_groups)} small group(s) are flagged: their curves and medians "
            "are unstable."
        )
    if fig.annotation:
        caption += f" {fig.annotation}."
    return save(figure, fig.key, spec.title, caption)


#: Title, axis labels and caption of each cumulative-incidence figure.
INCIDENCE_TITLES: dict[str, tuple[str, str, str]] = {
    "first_salvage_competing_risks": (
        "First salvage line: progression vs death without progression",
        "Months since start of first salvage line",
        "Aalen-Johansen cumulative incidence of progression and of death without progression "
        "(competing risks) with 95% pointwise confidence bands; the two curves add up to "
        "1 minus PFS.",
    ),
}


def incidence_figure(fig: IncidenceFigure, k: int | None = None) -> FigureOutput:
    """Draw a cumulative-incidence figure: one step curve per cause with its band."""
    title, xlabel, caption = INCIDENCE_TITLES.get(
        fig.key, (fig.key.replace("_", " ").capitalize(), "Months", "Cumulative incidence.")
    )
    figure = new_figure(7.6, 3.8)
    ax = figure.add_subplot()
    for i, cause in enumerate(fig.causes):
        colour = GROUP_COLOURS[i % len(GROUP_COLOURS)]
        x = np.r_[0.0, cause.time]
        ax.fill_between(x, np.r_[0.0, cause.lower], np.r_[0.0, cause.upper], step="post",
                        color=colour, alpha=0.15, lw=0)  # fmt: skip
        ax.step(x, np.r_[0.0, cause.estimate], where="post", color=colour, lw=1.6,
                label=cause.label)  # fmt: skip
    ticks = np.asarray(fig.ticks)
    ax.set_xticks(ticks)
    ax.set_xlim(0, max(ticks[-1], 1.0) * 1.02)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.grid(axis="y", color="#dddddd", lw=0.6)
    ax.set_ylabel("Cumulative incidence")
    ax.set_xlabel(xlabel)
    ax.set_title(f"{title} (n={_fmt_count(fig.n, k)} lines)")
    ax.legend(loc="upper left", frameon=False)
    return save(figure, fig.key, title, caption)
