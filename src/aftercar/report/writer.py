"""Write a study report: ``report.html``, ``results.json``, tables, figures, manifest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from aftercar.analysis.model import Figures
from aftercar.errors import InputError
from aftercar.io.hashing import sha256_file
from aftercar.report import jsonsafe
from aftercar.report.disclosure import suppress_small_counts, suppress_table
from aftercar.report.figures import FigureOutput, render_figures
from aftercar.report.html import render_html
from aftercar.report.model import ReportInput, ReportPaths

#: ``progress(step, done, total)`` is called before each step when given.
ProgressCallback = Callable[[str, int, int], None]


def _check_input(data: ReportInput) -> None:
    """Raise :class:`InputError` naming anything of ``data`` that cannot be rendered."""
    problems = []
    if not isinstance(data.figures, Figures):
        problems.append("ReportInput.figures must be aftercar.analysis.Figures")
    for key, table in data.tables.items():
        if not isinstance(table, pd.DataFrame):
            problems.append(f"ReportInput.tables[{key!r}] must be a pandas DataFrame")
    if problems:
        raise InputError(
            "cannot render the report: "
            + "; ".join(problems)
            + ". Fix: build ReportInput as documented in aftercar.report.model."
        )


def _shared_results(results: dict[str, Any], k: int | None) -> dict[str, Any]:
    """``results.json`` as shared: under disclosure control, individual-level figure
    data (the swimmer rows) and per-row shares that could reveal a small count are
    left out, then every count from 1 to K-1 is suppressed."""
    if k is not None and isinstance(results.get("figures"), dict):
        figures = dict(results["figures"])
        figures.pop("swimmer", None)
        bars = figures.get("response_by_category")
        if isinstance(bars, dict):
            rows = [{n: v for n, v in r.items() if n != "shares"} for r in bars.get("rows", [])]
            figures["response_by_category"] = bars | {"rows": rows}
        results = results | {"figures": figures}
    return suppress_small_counts(jsonsafe.to_jsonable(results), k)


def _write_tables(tables: dict[str, pd.DataFrame], outdir: Path) -> dict[str, Path]:
    folder = outdir / "tables"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, table in tables.items():
        path = folder / f"{name}.csv"
        table.to_csv(path, index=False, lineterminator="\n")
        paths[name] = path
    return paths


def _write_figures(figs: dict[str, FigureOutput], outdir: Path) -> dict[str, tuple[Path, Path]]:
    folder = outdir / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for key, fig in figs.items():
        svg, png = folder / f"{key}.svg", folder / f"{key}.png"
        svg.write_text(fig.svg, encoding="utf-8")
        png.write_bytes(fig.png)
        paths[key] = (svg, png)
    return paths


def _remove_stale(folder: Path, keep: set[Path], suffixes: tuple[str, ...]) -> list[Path]:
    """Delete earlier outputs (by suffix) in ``folder`` that this run did not write.

    A figure or table left from an earlier run (e.g. the swimmer plot of a run
    without ``--suppress-below``) must not sit in a shared folder next to a
    suppressed report.
    """
    stale = [p for p in folder.iterdir() if p.suffix in suffixes and p not in keep]
    for path in stale:
        path.unlink()
    return stale


def _shared_meta(meta: dict[str, Any], k: int | None) -> dict[str, Any]:
    """Provenance as shared: row counts of the input files are suppressed too."""
    shared = dict(meta)
    if "inputs" in shared:
        shared["inputs"] = suppress_small_counts(jsonsafe.to_jsonable(shared["inputs"]), k)
    return shared


def _manifest(meta: dict[str, Any], outdir: Path, files: list[Path], k: int | None) -> dict:
    outputs = [
        {
            "path": p.relative_to(outdir).as_posix(),
            "sha256": sha256_file(p),
            "bytes": p.stat().st_size,
        }
        for p in files
    ]
    manifest = dict(meta)
    manifest["disclosure"] = {"suppress_below": k}
    manifest["outputs"] = outputs
    return manifest


def _ordered_tables(tables: dict[str, pd.DataFrame], k: int | None) -> dict[str, pd.DataFrame]:
    """Suppress every table; known tables first, then the rest in given order."""
    from aftercar.report.model import KNOWN_TABLES

    names = [n for n in KNOWN_TABLES if n in tables] + [n for n in tables if n not in KNOWN_TABLES]
    return {n: suppress_table(tables[n], k) for n in names}


def write_report(
    data: ReportInput,
    outdir: str | Path,
    *,
    suppress_below: int | None = None,
    progress: ProgressCallback | None = None,
) -> ReportPaths:
    """Render a study report into ``outdir``.

    Writes ``report.html`` (self-contained: inline CSS and SVG, no network
    resource), ``results.json`` (``data.results`` after disclosure control,
    strict JSON with NaN/inf as null), ``tables/<name>.csv`` for every table,
    ``figures/<key>.svg`` and ``.png`` for every figure, and ``manifest.json``
    (``data.meta`` plus the SHA-256 of every output). CSV, SVG and PNG files left
    in ``tables/`` and ``figures/`` by an earlier run and not rewritten are deleted,
    so a suppressed report never sits beside unsuppressed leftovers.

    Parameters
    ----------
    data
        What to render (see :class:`aftercar.report.ReportInput`).
    outdir
        Output folder; created when absent, existing files are overwritten.
    suppress_below
        Disclosure threshold K: counts from 1 to K-1 appear as ``"<K"`` in every
        output (see :mod:`aftercar.report.disclosure`); ``None`` for none.
    progress
        Optional callback ``progress(step, done, total)`` called before each step
        (the CLI passes one that advances a rich progress bar).

    Returns
    -------
    ReportPaths
        Paths of everything written.

    Raises
    ------
    InputError
        When ``data`` is not renderable, or ``suppress_below`` is not a positive
        integer.
    """
    if suppress_below is not None and (
        isinstance(suppress_below, bool)
        or not isinstance(suppress_below, int)
        or suppress_below < 1
    ):
        raise InputError(
            f"--suppress-below must be a positive integer, got {suppress_below!r}. "
            "Fix: pass e.g. --suppress-below 5 (or leave it out for no suppression)."
        )
    _check_input(data)
    k = suppress_below
    steps = ["disclosure control", "results.json", "tables", "figures", "report.html", "manifest"]

    def step(i: int) -> None:
        if progress is not None:
            progress(steps[i], i, len(steps))

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    step(0)
    results = _shared_results(data.results, k)
    tables = _ordered_tables(data.tables, k)
    step(1)
    results_path = out / "results.json"
    results_path.write_text(jsonsafe.dumps(results) + "\n", encoding="utf-8")
    step(2)
    table_paths = _write_tables(tables, out)
    _remove_stale(out / "tables", set(table_paths.values()), (".csv",))
    step(3)
    figs = render_figures(data, results=results, k=k)
    figure_paths = _write_figures(figs.figures, out)
    written = {p for pair in figure_paths.values() for p in pair}
    _remove_stale(out / "figures", written, (".svg", ".png"))
    data = replace(data, meta=_shared_meta(data.meta, k))
    step(4)
    html_path = out / "report.html"
    page = render_html(data, results=results, tables=tables, figures=figs, k=k)
    html_path.write_text(page, encoding="utf-8")
    step(5)
    files = [html_path, results_path, *table_paths.values()]
    for svg, png in figure_paths.values():
        files += [svg, png]
    manifest_path = out / "manifest.json"
    manifest = _manifest(data.meta, out, files, k)
    manifest_path.write_text(jsonsafe.dumps(manifest) + "\n", encoding="utf-8")
    if progress is not None:
        progress("done", len(steps), len(steps))
    return ReportPaths(
        outdir=out,
        html=html_path,
        results_json=results_path,
        manifest=manifest_path,
        tables=table_paths,
        figures=figure_paths,
    )
