"""Swimmer plot: one bar per patient from the index date to the end of follow-up.

Segments show each salvage line coloured by therapy category; markers show a
response (>= PR; drawn at the line's midpoint because response dates are not part
of the curated format), progression on the line, death, and an arrow for patients
alive at last follow-up (censored). Cohorts larger than :data:`MAX_PATIENTS` are
shown as a seeded random sample, and the figure says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from aftercar.report.figures._style import (
    FigureOutput,
    category_colour,
    category_label,
    category_order,
    new_figure,
    save,
)

#: Largest number of patients drawn; larger cohorts are sampled.
MAX_PATIENTS = 150

#: Seed of the sample of patients drawn for large cohorts.
SAMPLE_SEED = 20230756

TITLE = "Swimmer plot: salvage lines after post-CAR-T progression"


def _sample(patients: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Return the patients to draw (sorted by follow-up) and a note on sampling."""
    n = len(patients)
    note = ""
    if n > MAX_PATIENTS:
        rng = np.random.default_rng(SAMPLE_SEED)
        pick = np.sort(rng.choice(n, size=MAX_PATIENTS, replace=False))
        patients = patients.iloc[pick]
        note = f"Random sample of {MAX_PATIENTS} of {n:,} patients (seed {SAMPLE_SEED})."
    order = pd.to_numeric(patients["os_months"], errors="coerce").fillna(0).to_numpy()
    patients = patients.iloc[np.argsort(order, kind="stable")]
    return patients.reset_index(drop=True), note


def _segments(lines: pd.DataFrame, pos: pd.Series, follow: pd.Series) -> pd.DataFrame:
    """Line segments with y position and end (next line start, or end of follow-up)."""
    seg = lines[lines["patient_id"].isin(pos.index)].copy()
    seg["y"] = seg["patient_id"].map(pos).to_numpy()
    seg = seg.sort_values(["y", "start_months"], kind="stable")
    start = pd.to_numeric(seg["start_months"], errors="coerce")
    end = pd.to_numeric(seg["end_months"], errors="coerce")
    nxt = start.groupby(seg["y"].to_numpy()).shift(-1)
    fallback = nxt.fillna(seg["patient_id"].map(follow))
    seg["x0"] = start
    seg["x1"] = end.fillna(fallback).clip(lower=start)
    return seg.dropna(subset=["x0"])


def _draw_markers(ax, seg: pd.DataFrame, pts: pd.DataFrame) -> None:
    scale = 1.0 if len(pts) <= 60 else 0.72
    responded = seg["responded"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    mid = ((seg["x0"] + seg["x1"]) / 2).to_numpy()
    ax.plot(
        mid[responded],
        seg["y"].to_numpy()[responded],
        ls="none",
        marker="o",
        ms=3.4 * scale,
        mfc="white",
        mec="black",
        mew=0.7,
    )
    prog = pd.to_numeric(seg["progression_months"], errors="coerce").to_numpy()
    has = np.isfinite(prog)
    ax.plot(
        prog[has],
        seg["y"].to_numpy()[has],
        ls="none",
        marker="x",
        ms=3.4 * scale,
        mew=0.9,
        color="#B2182B",
    )
    event = pts["os_event"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    os_m = pd.to_numeric(pts["os_months"], errors="coerce").to_numpy()
    y = np.arange(len(pts))
    ax.plot(os_m[event], y[event], ls="none", marker="s", ms=3.0 * scale, color="black")
    ax.plot(os_m[~event], y[~event], ls="none", marker=">", ms=3.6 * scale, color="#555555")


def _legend(ax, categories: list[str]) -> None:
    handles = [Patch(color=category_colour(c), label=category_label(c)) for c in categories]
    handles += [
        Line2D([], [], ls="none", marker="o", mfc="white", mec="black", label="Response (≥PR)"),
        Line2D([], [], ls="none", marker="x", color="#B2182B", label="Progression"),
        Line2D([], [], ls="none", marker="s", color="black", label="Death"),
        Line2D([], [], ls="none", marker=">", color="#555555", label="Alive (censored)"),
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)


def swimmer_figure(patients: pd.DataFrame, lines: pd.DataFrame) -> FigureOutput:
    """Draw the swimmer plot (vectorised: one ``barh`` call per category)."""
    pts, note = _sample(patients)
    pos = pd.Series(np.arange(len(pts)), index=pts["patient_id"].to_numpy())
    follow = pd.Series(pd.to_numeric(pts["os_months"], errors="coerce").to_numpy(), index=pos.index)
    seg = _segments(lines, pos, follow)
    height = min(max(2.6, 0.075 * len(pts) + 1.2), 14.0)
    fig = new_figure(8.2, height)
    ax = fig.add_subplot()
    ax.barh(np.arange(len(pts)), follow.fillna(0).to_numpy(), height=0.18, color="#cfcfcf", lw=0)
    categories = category_order([str(c) for c in seg["category"].dropna().unique()])
    cat = seg["category"].astype(str)
    for c in categories:
        part = seg[cat == c]
        ax.barh(
            part["y"],
            part["x1"] - part["x0"],
            left=part["x0"],
            height=0.72,
            color=category_colour(c),
            lw=0,
        )
    _draw_markers(ax, seg, pts)
    ax.set_ylim(-0.8, len(pts) - 0.2)
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    ax.set_xlim(left=0)
    ax.set_xlabel("Months since post-CAR-T progression")
    ax.set_ylabel(f"Patients (n={len(pts)}), sorted by follow-up")
    ax.set_title(TITLE)
    _legend(ax, categories)
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
