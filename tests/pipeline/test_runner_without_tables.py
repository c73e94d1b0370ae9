"""``runner.without_tables``: the read cohort's rows are dropped, everything else kept."""

from __future__ import annotations

import pyarrow as pa

from aftercar.io import Cohort
from aftercar.pipeline.runner import without_tables


def test_rows_dropped_schema_source_excluded_and_warnings_kept():
    meta = {b"aftercar.file": b"patients.csv"}
    patients = pa.table({"patient_id": ["P1", "P2"], "age": [60, 70]}).replace_schema_metadata(meta)
    lines = pa.table({"patient_id": ["P1"], "line": [1]})
    excluded = pa.table({"table": ["lines"], "row": [3], "patient_id": ["P9"], "reason": ["x"]})
    data = Cohort(patients, lines, excluded, source="/data/cohort")

    out = without_tables(data)

    assert (out.patients.num_rows, out.lines.num_rows) == (0, 0)
    assert out.patients.schema.equals(patients.schema, check_metadata=True)
    assert out.lines.schema.equals(lines.schema)
    assert out.excluded.equals(excluded)
    assert (out.source, out.warnings) == (data.source, data.warnings)
    assert data.patients.num_rows == 2  # the caller's cohort is not modified
