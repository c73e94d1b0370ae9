"""Figures by therapy category: ORR forest plot and best-response bars.

The forest plot reads ``results["by_category"][c]["orr"]`` (``responders, n,
estimate, ci95``; exact Clopper-Pearson intervals computed by the analysis) after
disclosure control, so a suppressed estimate is shown as text and not drawn.
The response bars draw the lines per category and IMWG response group counted
by :func:`aftercar.analysis.figures.response_bars` (sCR and CR pooled; NE and
missing shown together).

References
----------
.. [1] Kumar S, Paiva B, Anderson KC, et al. International Myeloma Working Group
   consensus criteria for response and minimal residual disease assessment in
   multiple myeloma. Lancet Oncol 2016;17:e328-e346.
.. [2] Clopper CJ, Pearson ES. The use of confidence or fiducial limits illustrated
   in the case of the binomial. Biometrika 1934;26:404-413.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.ticker import PercentFormatter

from aftercar.analysis.model import ResponseBars
from aftercar.report.disclosure import suppress_value
from aftercar.report.figures._style import FigureOutput, Palette, new_figure, save
from aftercar.schema import Col

FOREST_TITLE = "Overall response rate by therapy category (all salvage lines)"
RESPONSE_TITLE = "Best response by therapy category (all salvage lines)"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if np.isfinite(value) else None


def _forest_rows(results: dict[str, Any], palette: Palette) -> list[dict[str, Any]]:
    by_cat = results.get("by_category") or {}
    rows = []
    for cat in palette.order(list(by_cat)):
        orr = (by_cat.get(cat) or {}).get("orr") or {}
        rows.append({"label": palette.label(cat), "colour": palette.colour(cat), **orr})
    extra = (
        ("First salvage line (all)", (results.get("first_salvage") or {}).get("orr")),
        ("First T-cell-engaging line", (results.get(Col.TCE) or {}).get("orr")),
    )
    for label, orr in extra:
        if isinstance(orr, dict):
            rows.append({"label": label, "colour": "#000000", **orr})
    return rows


def _forest_text(row: dict[str, Any]) -> str:
    est = _number(row.get("estimate"))
    ci = row.get("ci95") if isinstance(row.get("ci95"), list | tuple) else (None, None)
    frac = f"{row.get('responders', '–')}/{row.get('n', '–')}"
    if est is None:
        shown = row.get("estimate")
        return f"{frac}   {shown if isinstance(shown, str) else 'NE'}"
    lo, hi = (_number(v) for v in ci)
    lo_t = f"{lo:.0%}" if lo is not None else "NE"
    hi_t = f"{hi:.0%}" if hi is not None else "NE"
    return f"{frac}   {est:.0%} ({lo_t}–{hi_t})"


_CI_METHOD_TEXT = {
    "exact": "exact Clopper-Pearson",
    "wilson": "Wilson score",
    "patient-clustered": "patient-clustered sandwich, logit scale",
    "exact-clusters": "exact Clopper-Pearson on patients (sandwich undefined or zero)",
}


def _ci_methods_text(rows: list[dict[str, Any]]) -> str:
    """Say which interval each row uses: the rows mix all-lines and one-line-per-patient rates."""
    by_method: dict[str, list[str]] = {}
    for row in rows:
        method = str(row.get("method") or "exact")
        by_method.setdefault(_CI_METHOD_TEXT.get(method, method), []).append(row["label"])
    if len(by_method) == 1:
        return next(iter(by_method))
    common = max(by_method, key=lambda m: len(by_method[m]))
    rest = [f"{m} for {', '.join(labels)}" for m, labels in by_method.items() if m != common]
    return f"{common}; " + "; ".join(rest)


def _forest_row(ax, yi: float, row: dict[str, Any]) -> None:
    """One category's square (ORR), CI bar and right-hand text at height ``yi``."""
    est = _number(row.get("estimate"))
    ci = row.get("ci95") if isinstance(row.get("ci95"), list | tuple) else (None, None)
    lo, hi = (_number(v) for v in ci)
    if est is not None:
        ax.plot([lo if lo is not None else est, hi if hi is not None else est], [yi, yi],
                color=row["colour"], lw=1.6, solid_capstyle="butt")  # fmt: skip
        ax.plot([est], [yi], marker="s", ms=6, color=row["colour"], mec="black", mew=0.4,
                clip_on=False, zorder=3)  # fmt: skip
    ax.text(1.04, yi, _forest_text(row), transform=ax.get_yaxis_transform(), va="center",
            ha="left", fontsize=8.5)  # fmt: skip


def _forest_axes(ax, rows: list[dict[str, Any]], level: str, reference: float | None,
                 reference_label: str) -> None:  # fmt: skip
    """The reference line, column heading, ticks, limits and labels of the forest plot."""
    top = len(rows) - 0.45
    if reference is not None:
        ax.axvline(reference, color="#777777", ls=":", lw=1)
        ax.text(reference, top, reference_label, ha="center", va="bottom", fontsize=7.5,
                color="#555555")  # fmt: skip
    ax.text(1.04, top, f"Responders/n   ORR ({level} CI)", transform=ax.get_yaxis_transform(),
            ha="left", va="bottom", fontsize=8.5, weight="bold")  # fmt: skip
    ax.set_yticks(np.arange(len(rows))[::-1], [r["label"] for r in rows])
    ax.set_ylim(-0.7, len(rows) + 0.1)
    ax.set_xlim(-0.01, 1.01)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.grid(axis="x", color="#e5e5e5", lw=0.6)
    ax.set_axisbelow(True)
    ax.set_xlabel(f"Overall response rate (≥PR), {level} CI")
    ax.set_title(FOREST_TITLE, pad=16)


def forest_figure(
    results: dict[str, Any],
    palette: Palette,
    *,
    reference: float | None = None,
    reference_label: str = "",
) -> FigureOutput | None:
    """Draw the ORR forest plot; ``None`` when ``results`` has no ``by_category``."""
    rows = _forest_rows(results, palette)
    if not rows:
        return None
    conf = (results.get("meta") or {}).get("conf_level", 0.95)
    level = f"{conf * 100:g}%" if isinstance(conf, int | float) else "95%"
    fig = new_figure(7.6, 0.9 + 0.3 * len(rows))
    ax = fig.add_subplot()
    for yi, row in zip(np.arange(len(rows))[::-1], rows, strict=True):
        _forest_row(ax, yi, row)
    _forest_axes(ax, rows, level, reference, reference_label)
    caption = (
        f"Squares: ORR; bars: {level} CI (" + _ci_methods_text(rows) + "). Evaluable lines only."
    )
    return save(fig, "forest_orr", FOREST_TITLE, caption)


def response_figure(
    bars: ResponseBars | None, palette: Palette, *, k: int | None = None
) -> FigureOutput | None:
    """Draw 100% stacked bars of best response per category; ``None`` without lines."""
    if bars is None or not bars.categories:
        return None
    index = {c: i for i, c in enumerate(bars.categories)}
    order = palette.order(list(bars.categories))[::-1]
    rows = [index[c] for c in order]
    share = bars.shares[rows]
    total = bars.lines[rows]
    fig = new_figure(7.6, 1.3 + 0.32 * len(order))
    ax = fig.add_subplot()
    left = np.zeros(len(order))
    for j, col in enumerate(bars.groups):
        ax.barh(
            np.arange(len(order)),
            share[:, j],
            left=left,
            height=0.7,
            color=palette.responses[col],
            label=col,
            lw=0.3,
            edgecolor="white",
        )
        left += share[:, j]
    for i, n in enumerate(total):
        ax.text(
            1.01,
            i,
            f"n={suppress_value(int(n), k)}",
            transform=ax.get_yaxis_transform(),
            va="center",
            fontsize=8.5,
        )
    ax.set_yticks(np.arange(len(order)), [palette.label(c) for c in order])
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel("Share of lines")
    ax.legend(
        ncols=len(bars.groups),
        loc="lower left",
        bbox_to_anchor=(0, 1.0),
        fontsize=8,
        handlelength=1.0,
        columnspacing=0.9,
    )
    ax.set_title(RESPONSE_TITLE, pad=24)
    caption = "Best IMWG response per line; n = lines per category (NE/missing included)."
    return save(fig, "response_by_category", RESPONSE_TITLE, caption)
