"""Write a :class:`~aftercar.derive.raw.derive.RawDerivation`: cohort, ``audit/`` and attrition."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow.parquet as pq

from aftercar.errors import AftercarError
from aftercar.io import neutralise_table
from aftercar.io.csv_out import write_csv
from aftercar.schema import WRITING_FILE


@contextmanager
def writing(output: Path) -> Iterator[None]:
    """Mark ``output`` as being written (:data:`aftercar.schema.WRITING_FILE`) while the
    block runs; the mark stays when the block does not end (a kill, a full disk), so that
    readers refuse the half-written folder rather than mix two runs' files. A refusal
    (:class:`~aftercar.errors.AftercarError`, raised before the files are written) takes
    the mark away: the folder holds the previous run's files, whole (review, 2026-12-06)."""
    output.mkdir(parents=True, exist_ok=True)
    mark = output / WRITING_FILE
    mark.write_text("aftercar derive is writing this folder; if no run is, it was "
                    "interrupted: run it again\n", encoding="utf-8")  # fmt: skip
    try:
        yield
    except AftercarError:  # refused (before writing: an xlsx cell, an EPISODE table)
        mark.unlink(missing_ok=True)
        raise
    mark.unlink(missing_ok=True)


def write_derivation(result, output: Path, fmt: str) -> list[Path]:
    """Write the cohort (curated format) and ``audit/`` (+ attrition) under ``output``."""
    from aftercar.io import write_cohort

    written = list(write_cohort(result.patients, result.lines, output, format=fmt))
    audit = output / "audit"
    audit.mkdir(parents=True, exist_ok=True)
    ext = "parquet" if fmt == "parquet" else "csv"
    tables = {**result.audit, "attrition": result.attrition}
    for name, table in tables.items():
        path = audit / f"{name}.{ext}"
        if ext == "parquet":
            pq.write_table(table, path)
        else:
            write_csv(neutralise_table(table), path)  # read back unchanged by io
        written.append(path)
    return written
