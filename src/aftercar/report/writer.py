"""Write a study report: ``report.html``, ``results.json``, tables, figures, manifest."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from aftercar.analysis.model import Figures
from aftercar.errors import InputError
from aftercar.io import neutralise_table
from aftercar.io.hashing import sha256_file
from aftercar.report import jsonsafe
from aftercar.report.disclosure import (
    shared_figures,
    suppress_small_counts,
    suppress_table,
    without_quoted_values,
)
from aftercar.report.figures import FigureOutput, render_figures
from aftercar.report.html import relabel, render_html
from aftercar.report.model import ReportInput, ReportPaths
from aftercar.report.output import MANIFEST, check_target, commit, staging

#: ``progress(step, done, total)`` is called before each step when given.
ProgressCallback = Callable[[str, int, int], None]


def _write_datasets(datasets: dict[str, pd.DataFrame], outdir: Path) -> dict[str, tuple]:
    """Analysis datasets as CSV (dates ISO) and Parquet under ``adam/``."""
    if not datasets:
        return {}
    folder = outdir / "adam"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, frame in datasets.items():
        csv, parquet = folder / f"{name}.csv", folder / f"{name}.parquet"
        neutralise_table(frame).to_csv(csv, index=False, lineterminator="\n")
        frame.to_parquet(parquet, index=False)
        paths[name] = (csv, parquet)
    return paths


def _check_input(data: ReportInput, k: int | None = None) -> None:
    """Raise :class:`InputError` naming anything of ``data`` that cannot be rendered."""
    if data.datasets and k is not None:
        raise InputError(
            "analysis datasets (--adam) hold one row per patient, which disclosure control "
            f"(--suppress-below {k}) does not allow in a shared output. Fix: write them in a "
            "separate run without --suppress-below, and keep them inside the institution."
        )
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
        neutralise_table(table).to_csv(path, index=False, lineterminator="\n")
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


def _shared_meta(meta: dict[str, Any], k: int | None) -> dict[str, Any]:
    """Provenance as shared: under disclosure control, input row counts are suppressed
    too and input paths are reduced to file names (no folder of the machine is shown)."""
    shared = dict(meta)
    if k is None:
        return shared
    if "inputs" in shared:
        inputs = [
            {**i, "path": Path(str(i.get("path", ""))).name} if isinstance(i, dict) else i
            for i in shared["inputs"]
        ]
        shared["inputs"] = suppress_small_counts(jsonsafe.to_jsonable(inputs), k)
    if shared.get("source"):
        shared["source"] = Path(str(shared["source"])).name
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


def reproducible_meta(meta: dict[str, Any], epoch: int | None = None) -> dict[str, Any]:
    """Provenance without what changes between identical runs.

    The creation time becomes ``epoch`` (seconds since 1970, default the
    ``SOURCE_DATE_EPOCH`` environment variable, else 0) and the step timings are
    dropped, so identical inputs give byte-identical outputs.
    """
    if epoch is None:
        epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0") or 0)
    created = dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="seconds")
    return {**meta, "created": created, "timings": {}}


def _input_paths(meta: dict[str, Any]) -> list[Path]:
    return [Path(i["path"]) for i in meta.get("inputs", []) if isinstance(i, dict) and "path" in i]


def write_report(
    data: ReportInput,
    outdir: str | Path,
    *,
    suppress_below: int | None = None,
    progress: ProgressCallback | None = None,
    force: bool = False,
    reproducible: bool = False,
    docx: bool = False,
) -> ReportPaths:
    """Render a study report into ``outdir``, whole or not at all.

    Writes ``report.html`` (self-contained: inline CSS and SVG, no network
    resource), ``results.json`` (``data.results`` after disclosure control,
    strict JSON with NaN/inf as null), ``tables/<name>.csv`` for every table,
    ``figures/<key>.svg`` and ``.png`` for every figure, ``warnings.txt`` (every
    warning of the run, one per line; only when there is one), and ``manifest.json``
    (``data.meta`` plus the SHA-256 of every output). Everything is written into a
    staging folder and moved into place when complete (:mod:`aftercar.report.output`):
    the files of an earlier aftercar report are replaced, nothing else is touched.

    Parameters
    ----------
    data
        What to render (see :class:`aftercar.report.ReportInput`).
    outdir
        Output folder: new, empty, or holding an earlier aftercar report.
    suppress_below
        Disclosure threshold K: counts from 1 to K-1 appear as ``"<K"`` in every
        output (see :mod:`aftercar.report.disclosure`); ``None`` for none.
    progress
        Optional callback ``progress(step, done, total)`` called before each step
        (the CLI passes one that advances a rich progress bar).
    force
        Write even when ``outdir`` holds the input or files aftercar did not write
        (they are left untouched).
    reproducible
        Fix the creation time (``SOURCE_DATE_EPOCH``) and drop timings, so identical
        input gives byte-identical output (:func:`reproducible_meta`).
    docx
        Also write ``report.docx``: Table 1, the result tables (editable Word tables)
        and the figures (:mod:`aftercar.report.docx`).

    Returns
    -------
    ReportPaths
        Paths of everything written.

    Raises
    ------
    InputError
        When ``data`` is not renderable, or ``suppress_below`` is not a positive
        integer.
    OutputError
        When ``outdir`` is not aftercar's to write or cannot be written (exit code 2).
    """
    _check_threshold(suppress_below)
    _check_input(data, suppress_below)
    out = Path(outdir)
    check_target(out, _input_paths(data.meta), force=force)
    if reproducible:
        data = replace(data, meta=reproducible_meta(data.meta))
    with staging(out) as tmp:
        paths = _render_into(data, tmp, suppress_below, progress, docx)
        commit(tmp, out)
    return paths.moved(tmp, out)


def _check_threshold(suppress_below: int | None) -> None:
    if suppress_below is not None and (
        isinstance(suppress_below, bool)
        or not isinstance(suppress_below, int)
        or suppress_below < 1
    ):
        raise InputError(
            f"--suppress-below must be a positive integer, got {suppress_below!r}. "
            "Fix: pass e.g. --suppress-below 5 (or leave it out for no suppression)."
        )


def _write_docx(data: ReportInput, results, tables, figs, out: Path,
                k: int | None = None) -> Path:  # fmt: skip
    from aftercar.report.disclosure import disclosure_note
    from aftercar.report.docx import write_docx
    from aftercar.report.html import display_tables, source_label

    subtitle = (f"Input: {source_label(data.meta)}; created {data.meta.get('created', '')}; "
                f"aftercar {data.meta.get('aftercar_version', '')}")  # fmt: skip
    return write_docx(
        out / "report.docx",
        title=data.meta.get("title") or "aftercar report",
        subtitle=subtitle if k is None else f"{subtitle}\n{disclosure_note(k)}",
        tables=display_tables(data, results, tables),
        figures=figs.figures,
        created=data.meta.get("created") or None,
    )


def _render_into(
    data: ReportInput,
    out: Path,
    k: int | None,
    progress: ProgressCallback | None,
    docx: bool = False,
) -> ReportPaths:
    steps = ["disclosure control", "results.json", "tables", "figures", "report.html", "manifest"]

    def step(i: int) -> None:
        if progress is not None:
            progress(steps[i], i, len(steps))

    step(0)
    data = without_quoted_values(data, k)
    results = _shared_results(data.results, k)
    tables = _ordered_tables(data.tables, k)
    step(1)
    results_path = out / "results.json"
    results_path.write_text(jsonsafe.dumps(results) + "\n", encoding="utf-8")
    step(2)
    table_paths = _write_tables(tables, out)
    step(3)
    figs = render_figures(shared_figures(data, k), results=results, k=k)
    conf = (results.get("meta") or {}).get("conf_level")
    if isinstance(conf, int | float) and conf != 0.95:  # captions are written for 95%
        figs = replace(figs, figures={key: replace(f, caption=relabel(f.caption, conf))
                                      for key, f in figs.figures.items()})  # fmt: skip
    figure_paths = _write_figures(figs.figures, out)
    data = replace(data, meta=_shared_meta(data.meta, k))
    step(4)
    html_path = out / "report.html"
    page = render_html(data, results=results, tables=tables, figures=figs, k=k)
    html_path.write_text(page, encoding="utf-8")
    docx_path = _write_docx(data, results, tables, figs, out, k) if docx else None
    step(5)
    warnings_path = out / "warnings.txt" if data.warnings else None
    if warnings_path is not None:
        warnings_path.write_text("".join(f"{w}\n" for w in data.warnings), encoding="utf-8")
    dataset_paths = _write_datasets(data.datasets, out)
    files = [html_path, results_path, *table_paths.values()]
    files += [p for p in (warnings_path, docx_path) if p is not None]
    files += [p for pair in dataset_paths.values() for p in pair]
    for svg, png in figure_paths.values():
        files += [svg, png]
    manifest_path = out / MANIFEST
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
        warnings=warnings_path,
        datasets=dataset_paths,
        docx=docx_path,
    )
