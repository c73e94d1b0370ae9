"""The hand-off between the analysis (pipeline) and the rendering (report) layers.

The pipeline computes every number and curve; :class:`ReportInput` carries them to
:func:`aftercar.report.write_report`, which only renders, applies disclosure
control and writes files. Nothing in this module computes statistics.

Times are in months from the index date (post-CAR-T progression), months =
days / 30.4375.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

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

#: Curve (figure) keys the report knows where to place.
KNOWN_CURVES: tuple[str, ...] = (
    "os",
    "os_by_relapse_timing",
    "os_by_product",
    "first_salvage_pfs",
    "pfs_by_category",
    "os_tce_landmark",
)

#: Columns of :attr:`ReportInput.lines` the figures read.
LINE_COLUMNS: tuple[str, ...] = (
    "patient_id",
    "line",
    "regimen",
    "category",
    "tce",
    "bcma_directed",
    "start_months",
    "end_months",
    "best_response",
    "responded",
    "progression_months",
)

#: Columns of :attr:`ReportInput.patients` the figures read.
PATIENT_COLUMNS: tuple[str, ...] = (
    "patient_id",
    "os_months",
    "os_event",
    "early_relapse",
    "car_t_product",
    "n_lines",
)


@dataclass(frozen=True)
class ReportInput:
    """Everything the report renders; built by :mod:`aftercar.pipeline`.

    Parameters
    ----------
    results
        JSON-ready nested dictionary of every number (the ``results.json`` keys of
        issue 6 and more). Not-estimable bounds are ``None``. Counts must sit under
        count key names (see :data:`aftercar.report.disclosure.COUNT_KEYS`) so that
        disclosure control can find them.
    tables
        Named tables (``"table1"``, ``"os_summary"``, ``"response_by_category"``,
        ``"pfs_by_category"``, ``"response_by_line"``, ``"regimen_mapping"``,
        ``"attrition"``, and any more); every one is rendered and written as
        ``tables/<name>.csv``. Count columns are recognised by name.
    curves
        Figure key -> {group label -> Kaplan-Meier result of :mod:`aftercar.stats`}
        (objects with ``.table``, ``.median()`` and ``.at(times)``). Keys: ``"os"``,
        ``"os_by_relapse_timing"``, ``"os_by_product"``, ``"first_salvage_pfs"``,
        ``"pfs_by_category"``, ``"os_tce_landmark"``, and any more.
    lines
        One row per analysed salvage line (columns :data:`LINE_COLUMNS`; times in
        months from the index date; ``progression_months`` null when the line did
        not progress).
    patients
        One row per patient (columns :data:`PATIENT_COLUMNS`).
    meta
        Provenance: ``title``, ``source``, ``synthetic`` (bool), ``aftercar_version``,
        ``created`` (ISO time), ``config`` (dict), ``config_hash``, ``inputs``
        (list of ``{path, sha256, rows}``), ``dependencies`` ({name: version}),
        ``timings`` ({stage: seconds}).
    notes
        Method notes and warnings shown in the report.
    """

    results: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    curves: dict[str, dict[str, Any]]
    lines: pd.DataFrame
    patients: pd.DataFrame
    meta: dict[str, Any]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportPaths:
    """Where :func:`aftercar.report.write_report` wrote its outputs."""

    outdir: Path
    html: Path
    results_json: Path
    manifest: Path
    tables: dict[str, Path] = field(default_factory=dict)
    figures: dict[str, tuple[Path, Path]] = field(default_factory=dict)

    def all_files(self) -> list[Path]:
        """Return every written file (report, JSON, tables, figures, manifest)."""
        files = [self.html, self.results_json, self.manifest, *self.tables.values()]
        for svg, png in self.figures.values():
            files += [svg, png]
        return files
