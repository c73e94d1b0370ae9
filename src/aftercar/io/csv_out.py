"""CSV files written through pyarrow, whatever the pyarrow release.

pyarrow releases before 2026 write a table's header (or its previous rows) a second time
when the table holds an empty record batch: ``write_csv`` of a table whose first batch is
empty starts ``"a"\\n"a"\\n1\\n``, which a reader takes for a data row of column names
(apache/arrow#36889, fixed by apache/arrow#48718). Tables built by concatenation, as the
simulator's chunks and the derivation's batches are, hold such batches. Every CSV that
aftercar writes through pyarrow goes through :func:`write_csv` or :func:`append_csv`, which
leave the empty batches out; the file is then the same on every pyarrow release the project
allows.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

__all__ = ["append_csv", "non_empty_batches", "write_csv"]


def non_empty_batches(table: pa.Table) -> pa.Table:
    """``table`` without its empty record batches (the same rows, the same schema)."""
    batches = [batch for batch in table.to_batches() if batch.num_rows]
    return pa.Table.from_batches(batches, schema=table.schema)


def write_csv(table: pa.Table, path: str | Path) -> None:
    """Write ``table`` to the CSV file ``path``: one header, then its rows."""
    pacsv.write_csv(non_empty_batches(table), str(path))


def append_csv(writer: pacsv.CSVWriter, table: pa.Table) -> None:
    """Append the rows of ``table`` to an open ``pyarrow.csv.CSVWriter``."""
    writer.write_table(non_empty_batches(table))
