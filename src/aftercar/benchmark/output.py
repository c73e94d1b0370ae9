"""Write a benchmark comparison: ``comparison.json``, ``comparison.html`` and KM overlays.

The HTML is one self-contained section (inline CSS, inline SVG figures; no
network access, no scripts) that the report can embed or a reader can open.
Figures are drawn with matplotlib (Agg backend) and saved as SVG and PNG,
named ``km_overlay_<endpoint>.svg/.png``.
"""

from __future__ import annotations

import html
import io
import json
import math
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

from aftercar.benchmark.compare import Comparison, RateComparison, SurvivalComparison

__all__ = ["km_overlay_figure", "render_html", "render_section", "write_comparison"]


def _steps(table) -> tuple[np.ndarray, np.ndarray]:
    t = np.r_[0.0, table["time"].to_numpy(float)]
    s = np.r_[1.0, table["surv"].to_numpy(float)]
    return t, s


def km_overlay_figure(res: SurvivalComparison, benchmark_name: str, curve):
    """A matplotlib figure: cohort KM (with CI band) over the benchmark curve."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.0), dpi=120)
    ax = fig.subplots()
    t, s = _steps(res.km)
    lo = np.r_[1.0, res.km["lower"].to_numpy(float)]
    hi = np.r_[1.0, res.km["upper"].to_numpy(float)]
    ax.step(t, s, where="post", color="#1f5fa8", lw=1.8, label=f"Cohort (n={res.n})")
    ax.fill_between(t, lo, hi, step="post", color="#1f5fa8", alpha=0.15, lw=0)
    tmax = max(float(t[-1]), (res.benchmark_median or 0.0) * 2.0, 1.0)
    if res.benchmark_km is not None:
        bt, bs = _steps(res.benchmark_km)
        ax.step(bt, bs, where="post", color="#b5371f", lw=1.5,
                label=f"{benchmark_name} (reconstructed IPD)")  # fmt: skip
    grid = np.linspace(0.0, tmax, 400)
    ax.plot(grid, curve.survival(grid), color="#b5371f", lw=1.2, ls="--",
            label=f"{benchmark_name} ({res.curve['kind'].replace('_', ' ')})")  # fmt: skip
    ax.set_xlim(0, tmax)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("Months")
    ax.set_ylabel("Survival probability")
    ax.set_title(res.benchmark_label, fontsize=9)
    ax.legend(fontsize=8, frameon=False, loc="upper right")
    ax.grid(alpha=0.3)
    return fig


def _svg_text(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "NE"
    if isinstance(x, float):
        return f"{x:.{digits}g}" if abs(x) < 1e-3 else f"{x:.{digits}f}".rstrip("0").rstrip(".")
    return html.escape(str(x))


def _p(p: float) -> str:
    """``p = 0.0123`` or ``p &lt; 0.0001``."""
    return "p &lt; 0.0001" if p < 1e-4 else f"p = {p:.4f}"


def _mo(x: float | None) -> str:
    """Months to one decimal, NE when not estimable."""
    return "NE" if x is None or not math.isfinite(x) else f"{x:.1f}"


def _rate_rows(r: RateComparison) -> str:
    return (
        f"<tr><th>{html.escape(r.endpoint)}</th><td>{html.escape(r.benchmark_label)}</td>"
        f"<td>{r.responders}/{r.n} = {100 * r.rate:.1f}% "
        f"({100 * r.lower:.1f}-{100 * r.upper:.1f})</td>"
        f"<td>{100 * r.benchmark_rate:.1f}%</td>"
        f"<td>exact binomial {_p(r.p_value)}</td></tr>"
    )


def _surv_rows(r: SurvivalComparison) -> str:
    o = r.one_sample
    if r.benchmark_median is not None:
        bm = f"median {_mo(r.benchmark_median)}"
        if r.benchmark_median_ci:
            bm += f" ({_mo(r.benchmark_median_ci[0])}-{_mo(r.benchmark_median_ci[1])})"
        bm += " mo"
    else:
        bm = f"no published median; fitted curve median {_mo(r.curve.get('median'))} mo"
    test = (
        f"one-sample log-rank: O = {o.observed}, E = {o.expected:.2f}, O/E = {o.ratio:.2f} "
        f"({o.ratio_lower:.2f}-{o.ratio_upper:.2f}), z = {o.z:.2f}, {_p(o.p_value)}, "
        f"exact Poisson {_p(o.exact_p_value)}"
    )
    if r.two_sample:
        ts = r.two_sample
        test += (
            f"; vs reconstructed IPD: log-rank {_p(ts['logrank_p'])}, HR = "
            f"{ts['hazard_ratio']:.2f} ({ts['hr_lower']:.2f}-{ts['hr_upper']:.2f})"
        )
    return (
        f"<tr><th>{html.escape(r.endpoint)}</th><td>{html.escape(r.benchmark_label)}</td>"
        f"<td>median {_mo(r.median)} ({_mo(r.median_lower)}-{_mo(r.median_upper)}) mo; "
        f"{r.events}/{r.n} events</td><td>{bm}</td><td>{test}</td></tr>"
    )


def _maic_html(m) -> str:
    bal = "".join(
        f"<tr><td>{html.escape(r['covariate'])}</td><td>{_fmt(r['target'])}</td>"
        f"<td>{_fmt(r['unweighted'])}</td><td>{_fmt(r['weighted'])}</td></tr>"
        for r in m.balance
    )
    outs = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{_fmt(o['unweighted'])}</td><td>{_fmt(o['estimate'])}"
        f" ({_fmt(o['lower'])}-{_fmt(o['upper'])})</td><td>{o['n_boot_used']}</td></tr>"
        for k, o in m.outcomes.items()
    )
    return (
        f"<h3>Matching-adjusted indirect comparison (n = {m.n}, ESS = {m.ess:.1f})</h3>"
        "<table><thead><tr><th>Covariate</th><th>Target</th><th>Cohort</th><th>Weighted</th>"
        f"</tr></thead><tbody>{bal}</tbody></table>"
        "<table><thead><tr><th>Outcome</th><th>Unweighted</th><th>Weighted (95% bootstrap CI)"
        f"</th><th>Replicates</th></tr></thead><tbody>{outs}</tbody></table>"
        "<p class='note'>Unanchored MAIC (NICE DSU TSD 18): valid only if every prognostic "
        "factor and effect modifier is matched.</p>"
    )


_CSS = """
.aftercar-benchmark{font-family:system-ui,-apple-system,Segoe UI,Arial,sans-serif;
 max-width:980px;color:#1d1d1f}
.aftercar-benchmark table{border-collapse:collapse;width:100%;font-size:0.9em}
.aftercar-benchmark th,.aftercar-benchmark td{border-bottom:1px solid #ddd;padding:4px 6px;
 text-align:left;vertical-align:top}
.aftercar-benchmark .note{color:#555;font-size:0.85em}
.aftercar-benchmark figure{margin:12px 0}
"""


def render_section(comp: Comparison, figures: dict[str, str]) -> str:
    """The comparison as one ``<section>`` (scoped ``<style>`` inside) to embed in a report."""
    b = comp.benchmark
    rows = "".join(
        _rate_rows(r) if isinstance(r, RateComparison) else _surv_rows(r) for r in comp.results
    )
    figs = "".join(
        f"<figure>{svg}<figcaption class='note'>Kaplan-Meier overlay, {html.escape(k)}"
        "</figcaption></figure>"
        for k, svg in figures.items()
    )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in (*comp.notes, *b.notes))
    maic = "" if comp.maic is None else _maic_html(comp.maic)
    doi = f" doi:{html.escape(b.doi)}" if b.doi else ""
    return (
        f"<section class='aftercar-benchmark' id='benchmark-comparison'><style>{_CSS}</style>"
        f"<h2>Comparison with {html.escape(b.short)}</h2>"
        f"<p class='note'>{html.escape(b.citation)}{doi} &mdash; "
        f"{html.escape(b.source_url)}<br>Benchmark population: {html.escape(b.population)}"
        f" (time zero: {html.escape(b.time_zero)}).<br>Published KM data: "
        f"{html.escape(b.km_coordinates)}</p>"
        f"<p class='note'>Cohort: {html.escape(comp.source)}</p>"
        "<table><thead><tr><th>Endpoint</th><th>Benchmark endpoint</th><th>Cohort (95% CI)"
        "</th><th>Benchmark</th><th>Test</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>{maic}{figs}"
        f"<h3>Notes</h3><ul class='note'>{notes}</ul></section>"
    )


def render_html(comp: Comparison, figures: dict[str, str]) -> str:
    """A standalone, self-contained page holding :func:`render_section`."""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Benchmark comparison: {html.escape(comp.benchmark.short)}</title></head>"
        f"<body>{render_section(comp, figures)}</body></html>"
    )


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return None if not np.isfinite(obj) else float(obj)
    if isinstance(obj, tuple):
        return list(obj)
    raise TypeError(f"not JSON serialisable: {type(obj)}")


def write_comparison(comp: Comparison, outdir: str | Path) -> dict[str, Path]:
    """Write ``comparison.json``, ``comparison.html`` and KM overlays (SVG + PNG).

    Returns the paths written, by name.
    """
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    figures: dict[str, str] = {}
    for r in comp.results:
        if isinstance(r, SurvivalComparison):
            curve = comp.benchmark.curve(r.endpoint, kind=r.curve["kind"] if r.curve["kind"]
                                         != "nelson_aalen" else "auto")  # fmt: skip
            fig = km_overlay_figure(r, comp.benchmark.short, curve)
            # deterministic, per-figure SVG ids: two inline SVGs must not share ids
            with matplotlib.rc_context({"svg.hashsalt": f"aftercar-{r.endpoint}"}):
                for ext in ("svg", "png"):
                    p = out / f"km_overlay_{r.endpoint}.{ext}"
                    fig.savefig(p, format=ext, metadata={"Date": None} if ext == "svg" else None)
                    paths[p.name] = p
                figures[r.endpoint] = _svg_text(fig)
    js = out / "comparison.json"
    js.write_text(json.dumps(comp.to_dict(), indent=2, default=_json_default) + "\n", "utf-8")
    page = out / "comparison.html"
    page.write_text(render_html(comp, figures), "utf-8")
    paths[js.name] = js
    paths[page.name] = page
    return paths
