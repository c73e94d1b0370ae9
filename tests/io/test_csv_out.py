"""CSV written through pyarrow has one header whatever the table's record batches.

pyarrow 14 (the project's lower bound) writes the header again when a table starts with an
empty record batch (apache/arrow#36889); these tests fail there without
:mod:`aftercar.io.csv_out`. The cohort case is the one the hypothesis property
``test_any_simulated_cohort_passes_validation`` found: a simulated cohort whose first chunk
has no salvage lines.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.csv as pacsv

from aftercar.io import validate_cohort
from aftercar.io.csv_out import append_csv, non_empty_batches, write_csv
from aftercar.io.writer import write_cohort
from aftercar.simulate import simulate_cohort

TABLE = pa.table({"a": [1, 2], "b": ["x", "y"]})
EXPECTED = '"a","b"\n1,"x"\n2,"y"\n1,"x"\n2,"y"\n'


def _gappy() -> pa.Table:
    """TABLE twice, with empty batches before, between and after."""
    empty = TABLE.schema.empty_table()
    table = pa.concat_tables([empty, TABLE, empty, TABLE, empty])
    assert [b.num_rows for b in table.to_batches()].count(0) >= 1
    return table


def test_non_empty_batches_keeps_every_row():
    out = non_empty_batches(_gappy())
    assert out.equals(pa.concat_tables([TABLE, TABLE]))
    assert all(b.num_rows for b in out.to_batches())


def test_write_csv_one_header(tmp_path):
    path = tmp_path / "t.csv"
    write_csv(_gappy(), path)
    assert path.read_text() == EXPECTED
    write_csv(TABLE.schema.empty_table(), path)
    assert path.read_text() == '"a","b"\n'


def test_append_csv_one_header(tmp_path):
    path = tmp_path / "t.csv"
    with pacsv.CSVWriter(str(path), TABLE.schema) as writer:
        append_csv(writer, TABLE.schema.empty_table())
        append_csv(writer, _gappy())
    assert path.read_text() == EXPECTED


def test_cohort_whose_lines_start_with_an_empty_chunk(tmp_path):
    params = {
        "cohort": {"chunk_size": 7, "no_salvage_prob": 0.5},
        "course": {
            "continue_prob": 0.0,
            "switch_prob": 0.0,
            "ne_prob": 0.0,
            "lost_hazard_per_month": 0.125,
        },
        "relapse": {"early_prob": 0.0},
    }
    cohort = simulate_cohort(8, seed=4269086601, params=params)
    assert cohort.lines.to_batches()[0].num_rows == 0  # the case: an empty first chunk
    write_cohort(cohort.patients, cohort.lines, tmp_path)
    text = (tmp_path / "lines.csv").read_text().splitlines()
    assert len(text) == cohort.lines.num_rows + 1
    assert sum(line.startswith('"patient_id"') for line in text) == 1
    report = validate_cohort(tmp_path, today=dt.date(2025, 7, 1))
    assert [str(p) for p in report.problems if p.severity == "error"] == []


def test_pyarrow_is_handed_no_empty_batch(tmp_path, monkeypatch):
    """What the helpers hand to pyarrow, checked on any pyarrow release (the tests above
    fail only on releases with the bug, such as the lower bound 14)."""
    handed: list[list[int]] = []
    real = pacsv.write_csv

    def spy(table, *args, **kwargs):
        handed.append([b.num_rows for b in table.to_batches()])
        return real(table, *args, **kwargs)

    monkeypatch.setattr(pacsv, "write_csv", spy)
    write_csv(_gappy(), tmp_path / "t.csv")

    class Writer:
        def write_table(self, table):
            handed.append([b.num_rows for b in table.to_batches()])

    append_csv(Writer(), _gappy())
    assert handed == [[2, 2], [2, 2]]
