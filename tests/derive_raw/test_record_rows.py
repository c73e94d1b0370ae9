"""Row numbers of a raw CSV's records as a spreadsheet shows the file: blank lines are rows
(Arrow's reader skips them), a line end inside quotes is not a record's end."""

from __future__ import annotations

import csv
import io

import pyarrow.csv as pacsv
from hypothesis import given, settings
from hypothesis import strategies as st

from aftercar.derive.raw.read import _record_rows

_FIELD = st.text(alphabet='ab ,"\n', max_size=6)
_RECORD = st.lists(_FIELD, min_size=2, max_size=2)


@settings(max_examples=150, deadline=None)
@given(records=st.lists(st.tuples(_RECORD, st.integers(0, 2)), min_size=1, max_size=8),
       leading=st.integers(0, 2), trailing=st.integers(0, 2),
       newline=st.sampled_from(["\n", "\r\n"]))  # fmt: skip
def test_record_rows_count_blank_lines_and_not_quoted_line_ends(
    tmp_path_factory, records, leading, trailing, newline
):
    out = io.StringIO()
    out.write(newline * leading)
    w = csv.writer(out, lineterminator=newline, quoting=csv.QUOTE_NONNUMERIC)
    w.writerow(["x", "y"])
    expected, row = [], 1 + leading
    for fields, blanks in records:
        out.write(newline * blanks)
        row += blanks + 1
        w.writerow(fields)
        expected.append(row)
    out.write(newline * trailing)
    f = tmp_path_factory.mktemp("csv") / "t.csv"
    f.write_bytes(out.getvalue().encode())
    n = pacsv.read_csv(f).num_rows
    assert n == len(records)
    assert _record_rows(f.read_bytes(), n).tolist() == expected
