"""Write a :class:`~aftercar.derive.raw.derive.RawDerivation`: cohort, ``audit/`` and attrition."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from aftercar.io import neutralise_table
from aftercar.io.csv_out import write_csv


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
