"""Swimmer plot: one bar per patient from the index date to the end of follow-up.

Segments show each salvage line coloured by therapy category; markers show a
response (>= PR; drawn at the line's midpoint because response dates are not part
of the curated format), progression on the line, death, and an arrow for patients
alive at last follow-up (censored). Cohorts larger than
:data:`aftercar.analysis.figures.SWIMMER_MAX_PATIENTS` are shown as a seeded
random sample (drawn by the analysis), and the figure says so.
"""

from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from aftercar.analysis.model import Swimmer
from aftercar.report.figures._style import FigureOutput, Palette, new_figure, save
from aftercar.schema import Col

TITLE = "Swimmer plot: salvage lines after post-CAR-T progression"


def _draw_markers(ax, sw: Swimmer) -> None:
    seg, bars = sw.segments, sw.bars
    scale = 1.0 if len(bars) <= 60 else 0.72
    responded = seg[Col.RESPONDED].to_numpy(dtype=bool)
    mid = ((seg["x0"] + seg["x1"]) / 2).to_numpy()
    y_seg = seg["y"].to_numpy()
    marker = {"ls": "none", "ms": 3.4 * scale}
    ax.plot(mid[responded], y_seg[responded], marker="o", mfc="white", mec="black", mew=0.7,
            **marker)  # fmt: skip
    prog = seg[Col.PROGRESSION_MONTHS].to_numpy(dtype=float)
    has = np.isfinite(prog)
    ax.plot(prog[has], y_seg[has], marker="x", mew=0.9, color="#B2182B", **marker)
    event = bars["died"].to_numpy(dtype=bool)
    os_m = bars["follow_up_months"].to_numpy(dtype=float)
    y = bars["y"].to_numpy()
    ax.plot(os_m[event], y[event], ls="none", marker="s", ms=3.0 * scale, color="black")
    ax.plot(os_m[~event], y[~event], ls="none", marker=">", ms=3.6 * scale, color="#555555")


def _legend(ax, categories: list[str], palette: Palette) -> None:
    handles = [Patch(color=palette.colour(c), label=palette.label(c)) for c in categories]
    handles += [
        Line2D([], [], ls="none", marker="o", mfc="white", mec="black", label="Response (≥PR)"),
        Line2D([], [], ls="none", marker="x", color="#B2182B", label="Progression"),
        Line2D([], [], ls="none", marker="s", color="black", label="Death"),
        Line2D([], [], ls="none", marker=">", color="#555555", label="Alive (censored)"),
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)


def swimmer_figure(sw: Swimmer, palette: Palette) -> FigureOutput:
    """Draw the swimmer plot (vectorised: one ``barh`` call per category)."""
    seg, bars = sw.segments, sw.bars
    n_drawn, note = len(bars), sw.note
    height = min(max(2.6, 0.075 * n_drawn + 1.2), 14.0)
    fig = new_figure(8.2, height)
    ax = fig.add_subplot()
    follow = np.nan_to_num(bars["follow_up_months"].to_numpy(dtype=float))
    ax.barh(bars["y"].to_numpy(), follow, height=0.18, color="#cfcfcf", lw=0)
    categories = palette.order([str(c) for c in seg[Col.CATEGORY].unique()])
    cat = seg[Col.CATEGORY].astype(str)
    for c in categories:
        part = seg[cat == c]
        ax.barh(
            part["y"],
            part["x1"] - part["x0"],
            left=part["x0"],
            height=0.72,
            color=palette.colour(c),
            lw=0,
        )
    _draw_markers(ax, sw)
    ax.set_ylim(-0.8, n_drawn - 0.2)
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    ax.set_xlim(left=0)
    ax.set_xlabel("Months since post-CAR-T progression")
    ax.set_ylabel(f"Patients (n={n_drawn}), sorted by follow-up")
    ax.set_title(TITLE)
    _legend(ax, categories, palette)
    if note:
        ax.text(
            0.0,
            1.0,
            note,
            transform=ax.transAxes,
            ha="left",
            va="bottom",
            fontsize=8,
            style="italic",
            color="#444444",
        )
        ax.set_title(TITLE, pad=14)
    caption = (
        "One bar per patient; segments are salvage lines coloured by therapy category. "
        "Response markers sit at the middle of the line (response dates are not recorded). " + note
    )
    return save(fig, "swimmer", TITLE, caption.strip())
