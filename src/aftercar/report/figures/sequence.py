"""Treatment-sequence (alluvial) diagram: therapy category of line 1 -> 2 -> 3.

Columns are salvage lines; each node is a category, its height the number of
patients whose line L was in that category; ribbons join a patient's line L to
line L+1 (patients with no further line simply end). With disclosure control,
nodes and ribbons of fewer than K patients are not drawn, and the figure says so.
"""

from __future__ import annotations

import numpy as np
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.path import Path as MplPath

from aftercar.analysis.model import Sequence
from aftercar.report.disclosure import suppress_value
from aftercar.report.figures._style import FigureOutput, Palette, new_figure, save

TITLE = "Treatment sequence: therapy category by salvage line"

NODE_WIDTH = 0.08


def _layout(seq: Sequence, order: list[str], gap: float) -> dict[tuple[int, str], list]:
    """Node (line, category) -> [bottom, height, out_cursor, in_cursor] (top-down)."""
    rank = {c: i for i, c in enumerate(order)}
    nodes: dict[tuple[int, str], list] = {}
    for line in seq.lines:
        top = 0.0
        here = sorted((n for n in seq.nodes if n[0] == line), key=lambda n: rank[n[1]])
        for _, cat, n in here:
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


def _draw_flows(
    ax, seq: Sequence, nodes: dict, order: list[str], palette: Palette, k: int | None
) -> int:
    """Draw ribbons between consecutive lines; return how many were hidden (< K)."""
    hidden = 0
    rank = {c: i for i, c in enumerate(order)}
    flows = sorted(seq.flows, key=lambda f: (f[0], rank[f[1]], rank[f[2]]))
    following = dict(zip(seq.lines, seq.lines[1:], strict=False))
    for a, src, dst, n in flows:
        b = following[a]
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
        ax.add_patch(PathPatch(path, fc=palette.colour(src), alpha=0.35, lw=0))
    return hidden


def _draw_nodes(ax, nodes: dict, palette: Palette, k: int | None) -> None:
    for (line, cat), (bottom, n, _o, _i) in nodes.items():
        x = line - 1
        small = k is not None and n < k
        ax.add_patch(
            Rectangle(
                (x - NODE_WIDTH / 2, bottom),
                NODE_WIDTH,
                n,
                lw=0,
                fc="#dddddd" if small else palette.colour(cat),
            )
        )
        label = f"{palette.label(cat)} ({suppress_value(n, k)})"
        ax.text(
            x + NODE_WIDTH / 2 + 0.015, bottom + n / 2, label, va="center", ha="left", fontsize=7.5
        )


def sequence_figure(
    seq: Sequence | None, palette: Palette, *, k: int | None = None
) -> FigureOutput | None:
    """Draw the alluvial diagram of categories over the first salvage lines."""
    if seq is None or not seq.lines:
        return None
    order = palette.order(sorted({cat for _, cat, _ in seq.nodes}))
    total = seq.patients[0]
    gap = max(total * 0.025, 0.5)
    nodes = _layout(seq, order, gap)
    fig = new_figure(8.0, 4.6)
    ax = fig.add_subplot()
    hidden = _draw_flows(ax, seq, nodes, order, palette, k)
    _draw_nodes(ax, nodes, palette, k)
    lowest = min((b for b, *_ in nodes.values()), default=-1.0)
    ax.set_xlim(-0.15, len(seq.lines) - 1 + 0.45)
    ax.set_ylim(lowest - gap, gap)
    ax.set_xticks(
        np.arange(len(seq.lines)),
        [
            f"Salvage line {c}\n(n={suppress_value(n, k)})"
            for c, n in zip(seq.lines, seq.patients, strict=True)
        ],
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
