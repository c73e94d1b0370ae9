"""Provenance of a run: input files with their hashes, versions, timings, synthetic label.

A cohort is labelled synthetic when its provenance says so: either every input
file name starts with ``synthetic`` (the bundled demo cohort) or the cohort
folder holds a ``provenance.json`` with ``"synthetic": true`` (written by
``aftercar simulate`` beside every cohort it writes).
"""

from __future__ import annotations

import datetime as dt
import json
from importlib import metadata
from pathlib import Path
from typing import Any

from aftercar import __version__
from aftercar.config import StudyConfig
from aftercar.io import Cohort
from aftercar.io.hashing import sha256_file
from aftercar.schema import PROVENANCE_FILE

_DEPENDENCIES = (
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "duckdb",
    "ibis-framework",
    "matplotlib",
    "jinja2",
    "statsmodels",
    "openpyxl",
)

_SUFFIXES = (".csv", ".parquet", ".pq", ".xlsx")


def rows_read(data: Cohort) -> dict[str, int]:
    """Data rows read per input table: analysed plus excluded on reading."""
    excluded = data.excluded.column("table").to_pylist()
    return {
        "patients": data.patients.num_rows + excluded.count("patients"),
        "lines": data.lines.num_rows + excluded.count("lines"),
    }


def input_files(source: str, data: Cohort) -> list[dict[str, Any]]:
    """Return ``[{path, sha256, rows}]`` for the input files the cohort was read from."""
    path = Path(source)
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(
            p
            for p in path.iterdir()
            if p.suffix.lower() in _SUFFIXES
            and ("patients" in p.stem.lower() or "lines" in p.stem.lower())
        )
    else:
        return []
    rows = rows_read(data)
    out = []
    for f in files:
        kind = "lines" if f.stem.lower().endswith("lines") else "patients"
        n = rows["patients"] + rows["lines"] if f.suffix.lower() == ".xlsx" else rows[kind]
        out.append({"path": str(f), "sha256": sha256_file(f), "rows": n})
    return out


def cohort_provenance(source: str) -> dict[str, Any]:
    """Return the ``provenance.json`` beside a cohort (``{}`` when there is none or it is bad)."""
    path = Path(source)
    folder = path if path.is_dir() else path.parent
    marker = folder / PROVENANCE_FILE
    try:
        data = json.loads(marker.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def is_synthetic(source: str, inputs: list[dict[str, Any]]) -> bool:
    """True when the cohort's provenance labels it synthetic (see the module docstring)."""
    if inputs and all(Path(i["path"]).name.lower().startswith("synthetic") for i in inputs):
        return True
    return cohort_provenance(source).get("synthetic") is True


def dependencies() -> dict[str, str]:
    """Installed versions of the libraries the results depend on."""
    out = {}
    for name in _DEPENDENCIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def run_meta(
    data: Cohort,
    config: StudyConfig,
    inputs: list[dict[str, Any]],
    synthetic: bool,
    timings: dict[str, float],
) -> dict[str, Any]:
    """The run's provenance (``manifest.json`` and the report header)."""
    return {
        "title": config.study.title,
        "source": data.source,
        "synthetic": synthetic,
        "aftercar_version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "config": config.to_dict(),
        "config_hash": config.config_hash(),
        "inputs": inputs,
        "dependencies": dependencies(),
        "timings": timings,
    }
