"""Treatment-sequence (alluvial) diagram: therapy category of line 1 -> 2 -> 3.

Columns are salvage lines; each node is a category, its height the number of
patients whose line L was in that category; ribbons join a patient's line L to
line L+1 (patients with no further line simply end). With disclosure control,
nodes and ribbons of fewer than K patients are not drawn, and the figure says so.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.path import Path as MplPath

from aftercar.report.disclosure import suppress_value
from aftercar.report.figures._style import (
    FigureOutput,
    category_colour,
    category_label,
    category_order,
    new_figure,
    save,
)

TITLE = "Treatment sequence: therapy category by salvage line"

#: Number of salvage lines (columns) drawn.
MAX_LINES = 3

NODE_WIDTH = 0.08


def sequence_table(lines: pd.DataFrame, max_lines: int = MAX_LINES) -> pd.DataFrame:
    """One row per patient, columns ``1..max_lines`` holding the line's category."""
    sub = lines[(lines["line"] >= 1) & (lines["line"] <= max_lines)]
    sub = sub.drop_duplicates(["patient_id", "line"])
    wide = sub.pivot(index="patient_id", columns="line", values="category")
    return wide.reindex(columns=range(1, max_lines + 1))


def _layout(wide: pd.DataFrame, order: list[str], gap: float) -> dict[tuple[int, str], list]:
    """Node (line, category) -> [bottom, height, out_cursor, in_cursor] (top-down)."""
    nodes: dict[tuple[int, str], list] = {}
    for line in wide.columns:
        counts = wide[line].value_counts()
        top = 0.0
        for cat in order:
            n = int(counts.get(cat, 0))
            if n:
                nodes[(line, cat)] = [top - n, n, top, top]
                top -= n + gap
    return nodes


def _ribbon(x0: float, y0: tuple[float, float], x1: float, y1: tuple[float, float]) -> MplPath:
    xm = (x0 + x1) / 2
    verts = [
        (x0, y0[0]),
        (xm, y0[0]),
        (xm, y1[0]),
        (x1, y1[0]),
        (x1, y1[1]),
        (xm, y1[1]),
        (xm, y0[1]),
        (x0, y0[1]),
        (x0, y0[0]),
    ]
    codes = [MplPath.MOVETO] + [MplPath.CURVE4] * 3 + [MplPath.LINETO] + [MplPath.CURVE4] * 3
    return MplPath(verts, [*codes, MplPath.CLOSEPOLY])


def _draw_flows(ax, wide: pd.DataFrame, nodes: dict, order: list[str], k: int | None) -> int:
    """Draw ribbons between consecutive lines; return how many were hidden (< K)."""
    hidden = 0
    cols = list(wide.columns)
    rank = {c: i for i, c in enumerate(order)}
    for a, b in itertools.pairwise(cols):
        pairs = wide[[a, b]].dropna().value_counts()
        keys = sorted(pairs.index, key=lambda p: (rank[p[0]], rank[p[1]]))
        for src, dst in keys:
            n = int(pairs[(src, dst)])
            s_node, d_node = nodes[(a, src)], nodes[(b, dst)]
            s_top, d_top = s_node[2], d_node[3]
            s_node[2] -= n
            d_node[3] -= n
            if k is not None and n < k:
                hidden += 1
                continue
            path = _ribbon(
                a - 1 + NODE_WIDTH / 2,
                (s_top, s_top - n),
                b - 1 - NODE_WIDTH / 2,
                (d_top, d_top - n),
            )
            ax.add_patch(PathPatch(path, fc=category_colour(src), alpha=0.35, lw=0))
    return hidden


def _draw_nodes(ax, nodes: dict, k: int | None) -> None:
    for (line, cat), (bottom, n, _o, _i) in nodes.items():
        x = line - 1
        small = k is not None and n < k
        ax.add_patch(
            Rectangle(
                (x - NODE_WIDTH / 2, bottom),
                NODE_WIDTH,
                n,
                lw=0,
                fc="#dddddd" if small else category_colour(cat),
            )
        )
        label = f"{category_label(cat)} ({suppress_value(n, k)})"
        ax.text(
            x + NODE_WIDTH / 2 + 0.015, bottom + n / 2, label, va="center", ha="left", fontsize=7.5
        )


def sequence_figure(lines: pd.DataFrame, *, k: int | None = None) -> FigureOutput | None:
    """Draw the alluvial diagram of categories over lines 1 to :data:`MAX_LINES`."""
    lines = lines[lines["category"].notna()]
    if lines.empty:
        return None
    wide = sequence_table(lines).astype(object)
    wide = wide.loc[:, wide.notna().any()]
    order = category_order([str(c) for c in pd.unique(wide.to_numpy().ravel()) if c == c])
    total = int(wide[wide.columns[0]].notna().sum())
    gap = max(total * 0.025, 0.5)
    nodes = _layout(wide, order, gap)
    fig = new_figure(8.0, 4.6)
    ax = fig.add_subplot()
    hidden = _draw_flows(ax, wide, nodes, order, k)
    _draw_nodes(ax, nodes, k)
    lowest = min((b for b, *_ in nodes.values()), default=-1.0)
    ax.set_xlim(-0.15, len(wide.columns) - 1 + 0.45)
    ax.set_ylim(lowest - gap, gap)
    sizes = wide.notna().sum()
    ax.set_xticks(
        np.arange(len(wide.columns)),
        [f"Salvage line {c}\n(n={suppress_value(int(sizes[c]), k)})" for c in wide.columns],
    )
    ax.xaxis.tick_top()
    ax.tick_params(axis="x", length=0)
    ax.set_yticks([])
    for side in ("left", "bottom", "top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(TITLE, pad=22)
    caption = "Node height = patients; ribbons follow patients from one line to the next."
    if hidden:
        caption += f" {hidden} ribbon(s) of fewer than {k} patients not drawn (disclosure control)."
    return save(fig, "treatment_sequence", TITLE, caption)
