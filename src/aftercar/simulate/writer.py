"""Write simulated cohorts: curated format in chunks (memory bounded), optionally raw.

CSV and Parquet are written chunk by chunk with the same column contract as
:func:`aftercar.io.write_cohort` (which writes the xlsx workbook, whole). For a
given seed and parameters the files are byte-identical from run to run (CSV,
Parquet); an xlsx workbook embeds its creation time in the zip metadata, so only
its cell contents are reproducible.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from aftercar.errors import InputError
from aftercar.io.csv_out import append_csv
from aftercar.schema import PROVENANCE_FILE
from aftercar.simulate.checks import check_raw_params, source_name
from aftercar.simulate.cohort import SimulatedCohort, iter_chunks, simulate_cohort
from aftercar.simulate.params import SimulationParams, load_params

FORMATS = ("csv", "parquet", "xlsx")
_XLSX_MAX_ROWS = 1_048_575


class _TableSink:
    """Append Arrow tables to one CSV or Parquet file."""

    def __init__(self, path: Path, schema: pa.Schema, fmt: str) -> None:
        self.path = path
        if fmt == "csv":
            self._writer: Any = pacsv.CSVWriter(str(path), schema)
        else:
            # store_schema=False: dictionary-encoded string columns read back as strings
            self._writer = pq.ParquetWriter(
                str(path), schema, compression="zstd", store_schema=False
            )

    def write(self, table: pa.Table) -> None:
        if isinstance(self._writer, pacsv.CSVWriter):
            append_csv(self._writer, table)
        else:
            self._writer.write_table(table)

    def close(self) -> None:
        self._writer.close()


class _Sinks:
    """One sink per table name, opened lazily on the first chunk."""

    def __init__(self, out: Path, fmt: str, prefix: str = "") -> None:
        self.out, self.fmt, self.prefix = out, fmt, prefix
        self.sinks: dict[str, _TableSink] = {}

    def write(self, name: str, table: pa.Table) -> None:
        if name not in self.sinks:
            path = self.out / f"{self.prefix}{name}.{self.fmt}"
            self.sinks[name] = _TableSink(path, table.schema, self.fmt)
        self.sinks[name].write(table)

    def close(self) -> tuple[Path, ...]:
        for sink in self.sinks.values():
            sink.close()
        return tuple(s.path for s in self.sinks.values())


def _check(n_patients: int, fmt: str, seed: int) -> None:
    if fmt not in FORMATS:
        raise InputError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}. "
                         "Fix: use csv, parquet or xlsx.")  # fmt: skip
    if n_patients < 1:
        raise InputError(f"--patients must be >= 1, got {n_patients}. Fix: pass a positive count.")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise InputError(f"--seed must be a whole number of 0 or more, got {seed!r}. "
                         "Fix: pass e.g. --seed 1.")  # fmt: skip
    if fmt == "xlsx" and n_patients > 100_000:
        raise InputError(
            f"{n_patients} patients are too many for one Excel workbook "
            f"(at most {_XLSX_MAX_ROWS} rows per sheet). Fix: use --format parquet or csv."
        )


def write_simulated(
    n_patients: int,
    out: str | Path,
    *,
    seed: int,
    format: str = "csv",
    raw: bool = False,
    params: Mapping[str, Any] | SimulationParams | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[Path, ...]:
    """Simulate and write a cohort; return the files written.

    Parameters
    ----------
    n_patients
        Number of patients.
    out
        Output folder. Curated mode writes ``patients`` and ``lines`` there;
        raw mode writes ``truth/`` (curated + ``assessments``) and ``raw/``
        (``patients, administrations, procedures, labs``).
    seed, params
        As for :func:`aftercar.simulate.simulate_cohort`.
    format
        ``csv``, ``parquet`` or ``xlsx`` (xlsx: curated mode, <= 100,000 patients).
    raw
        Also generate EHR-like raw records with their truth.
    progress
        Called with the number of patients finished after each chunk.
    """
    _check(n_patients, format, seed)
    out = Path(out)
    if format == "xlsx":
        from aftercar.io.writer import write_cohort

        if raw:
            raise InputError("--raw cannot be written as xlsx. Fix: use --format csv or parquet.")
        cohort = simulate_cohort(n_patients, seed=seed, params=params)
        if progress:
            progress(n_patients)
        files = write_cohort(cohort.patients, cohort.lines, out, format="xlsx")
    else:
        files = _write_chunks(n_patients, out, seed, format, raw, params, progress)
    folders = (out / "truth", out / "raw") if raw else (out,)
    return files + tuple(_write_provenance(f, n_patients, seed) for f in folders)


def _write_provenance(folder: Path, n_patients: int, seed: int) -> Path:
    """Write ``provenance.json``: the files beside it are synthetic (the report says so)."""
    from aftercar import __version__

    path = folder / PROVENANCE_FILE
    record = {
        "synthetic": True,
        "generator": "aftercar simulate",
        "aftercar_version": __version__,
        "patients": n_patients,
        "seed": seed,
    }
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return path


def _write_chunks(n_patients, out: Path, seed, fmt, raw, params, progress) -> tuple[Path, ...]:
    if raw:  # before any folder is made
        check_raw_params(load_params(params).raw, source_name(params))
    cur = _Sinks(out / "truth" if raw else out, fmt)
    rawsink = _Sinks(out / "raw", fmt) if raw else None
    cur.out.mkdir(parents=True, exist_ok=True)
    if rawsink:
        rawsink.out.mkdir(parents=True, exist_ok=True)
    done = 0
    try:
        for chunk in iter_chunks(n_patients, seed=seed, params=params):
            if rawsink is None:
                _write_curated(cur, chunk)
            else:  # truth/ = the cohort as the raw records show it
                from aftercar.simulate.raw import raw_tables

                truth_tabs, raw_tabs = raw_tables(chunk, params=params, encoded=True)
                for name, tab in truth_tabs.items():
                    cur.write(name, tab)
                for name, tab in raw_tabs.items():
                    rawsink.write(name, tab)
            done += chunk.patients.num_rows
            if progress:
                progress(done)
    finally:
        files = cur.close() + (rawsink.close() if rawsink else ())
    return files


def _write_curated(sinks: _Sinks, chunk: SimulatedCohort) -> None:
    sinks.write("patients", chunk.patients)
    sinks.write("lines", chunk.lines)
