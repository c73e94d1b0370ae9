"""The hand-off between the analyses and the rendering: what the report is given.

:mod:`aftercar.analysis` computes every number, curve and count (and so does not
this package); :class:`ReportInput` carries them, with the display styles of the
study's taxonomy and the index study's published figures, to
:func:`aftercar.report.write_report`, which only renders, applies disclosure
control and writes files.

Times are in months from the index date (post-CAR-T progression), months =
days / :data:`aftercar.schema.DAYS_PER_MONTH`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from aftercar.analysis.model import Figures

#: Table keys the report knows where to place (rendered first, in this order).
KNOWN_TABLES: tuple[str, ...] = (
    "table1",
    "os_summary",
    "response_by_category",
    "pfs_by_category",
    "response_by_line",
    "regimen_mapping",
    "attrition",
)


@dataclass(frozen=True)
class CategoryStyle:
    """How a therapy category is shown: short label (figures), description, colour.

    Taken from the study's taxonomy (``data/taxonomy.toml`` or the study's own).
    """

    name: str
    label: str
    colour: str
    description: str = ""


@dataclass(frozen=True)
class ReportInput:
    """Everything the report renders; built by :mod:`aftercar.pipeline`.

    Parameters
    ----------
    results
        JSON-ready nested dictionary of every number (``results.json``).
        Not-estimable bounds are ``None``. Counts sit under count key names (see
        :data:`aftercar.report.disclosure.COUNT_KEYS`) so that disclosure control
        can find them.
    tables
        Named tables; every one is rendered and written as ``tables/<name>.csv``.
        Count columns are recognised by name.
    figures
        The data of every figure (:class:`aftercar.analysis.Figures`).
    meta
        Provenance: ``title``, ``source``, ``synthetic`` (bool), ``aftercar_version``,
        ``created`` (ISO time), ``config`` (dict), ``config_hash``, ``inputs``
        (list of ``{path, sha256, rows}``), ``dependencies`` ({name: version}),
        ``timings`` ({stage: seconds}).
    notes
        Method notes and warnings shown in the report.
    categories
        Display style of each therapy category, in the taxonomy's order.
    index_study
        The index study's ``citation``, ``doi`` and ``headline`` rows (results.json
        path, label, published value), from the benchmark registry; ``None`` to
        leave the comparison out.
    warnings
        Warnings of the run (input and analyses), written to ``warnings.txt``.
    datasets
        Analysis datasets to export (``adsl``, ``adtte``, ``adrs``: CDISC ADaM,
        :mod:`aftercar.analysis.adam`), written as ``adam/<name>.csv`` and ``.parquet``.
    identifiers
        The cohort's patient ids: under disclosure control an id cited in a free text
        (a regimen text, a note, a warning) is withheld there, as the dates are
        (:func:`aftercar.report.disclosure.without_identifiers`).
    """

    results: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    figures: Figures
    meta: dict[str, Any]
    notes: tuple[str, ...] = ()
    categories: tuple[CategoryStyle, ...] = ()
    index_study: dict[str, Any] | None = None
    warnings: tuple[str, ...] = ()
    datasets: dict[str, pd.DataFrame] = field(default_factory=dict)
    identifiers: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ReportPaths:
    """Where :func:`aftercar.report.write_report` wrote its outputs."""

    outdir: Path
    html: Path
    results_json: Path
    manifest: Path
    tables: dict[str, Path] = field(default_factory=dict)
    figures: dict[str, tuple[Path, Path]] = field(default_factory=dict)
    warnings: Path | None = None
    datasets: dict[str, tuple[Path, Path]] = field(default_factory=dict)
    docx: Path | None = None

    def moved(self, old: Path, new: Path) -> ReportPaths:
        """The same paths under ``new`` instead of ``old`` (after the staging folder moved)."""

        def at(path: Path) -> Path:
            return new / path.relative_to(old)

        return ReportPaths(
            outdir=new,
            html=at(self.html),
            results_json=at(self.results_json),
            manifest=at(self.manifest),
            tables={k: at(p) for k, p in self.tables.items()},
            figures={k: (at(svg), at(png)) for k, (svg, png) in self.figures.items()},
            warnings=None if self.warnings is None else at(self.warnings),
            datasets={k: (at(csv), at(pq)) for k, (csv, pq) in self.datasets.items()},
            docx=None if self.docx is None else at(self.docx),
        )

    def all_files(self) -> list[Path]:
        """Return every written file (report, JSON, tables, figures, manifest)."""
        files = [self.html, self.results_json, self.manifest, *self.tables.values()]
        files += [p for p in (self.warnings, self.docx) if p is not None]
        for svg, png in self.figures.values():
            files += [svg, png]
        for csv, parquet in self.datasets.values():
            files += [csv, parquet]
        return files
