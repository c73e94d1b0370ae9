"""The fast Arrow CSV reader reads every file exactly as the pandas reader does.

Arrow reads regular CSV files (fast); pandas reads what Arrow refuses. Both must
give the same headers, cells (stripped; empty = missing) and spreadsheet rows.
"""

from __future__ import annotations

import pytest

from aftercar.io import readers

ODD_FILES = {
    "bom_crlf": "\ufeffpatient_id,line,regimen\r\nP1,1,Tec\r\nP2,1,KPd\r\n",
    "quoted_separator_and_newline": 'patient_id,line,regimen\nP1,1,"Dara, Pom\nand dex"\nP2,1,x\n',
    "blank_lines_inside_and_after": "patient_id,line,regimen\nP1,1,Tec\n\n,,\nP2,1,KPd\n\n\n",
    "spaces_and_empty_quotes": 'patient_id,line,regimen\n  P1 ,1, \u00a0Tec\u00a0\nP2,"",  \n',
    "semicolons": "patient_id;line;regimen\nP1;1;Tec\nP2;2;Dara-KPd\n",
    "column_without_header": "patient_id,line,\nP1,1,note\nP2,1,\n",
    "empty_column_without_header": "patient_id,,line\nP1,,1\n",
    "quoted_formula_text": "patient_id,line,regimen\n\"'=1+1\",1,'-x\n",
    "header_only": "patient_id,line,regimen\n",
    "unicode": "patient_id,line,regimen\nPé,1,Daratumumab–Pd\n",
}


def _as_tuple(table: readers.RawTable):
    cells = [[None if v is None else str(v) for v in table.data[j].tolist()] for j in table.data]
    cells = [[None if v in ("<NA>", "nan", "None") else v for v in col] for col in cells]
    return table.headers, cells, table.rows.tolist()


@pytest.mark.parametrize("name", sorted(ODD_FILES))
def test_arrow_and_pandas_readers_agree(tmp_path, monkeypatch, name):
    path = tmp_path / "lines.csv"
    path.write_text(ODD_FILES[name], encoding="utf-8", newline="")
    fast = readers._read_csv(path)
    sep, width = readers._separator(path)
    assert readers._read_csv_arrow(path, sep, width) is not None  # the fast path was taken
    monkeypatch.setattr(readers, "_read_csv_arrow", lambda *a: None)
    slow = readers._read_csv(path)
    assert _as_tuple(fast) == _as_tuple(slow)


def test_formula_quote_is_dropped_and_text_kept(tmp_path):
    path = tmp_path / "lines.csv"
    path.write_text(ODD_FILES["quoted_formula_text"], encoding="utf-8")
    table = readers._read_csv(path)
    assert table.data[0].tolist() == ["=1+1"] and table.data[2].tolist() == ["-x"]


def test_ragged_file_goes_to_pandas_and_is_reported(tmp_path):
    path = tmp_path / "lines.csv"
    path.write_text("patient_id,line\nP1,1,extra\n", encoding="utf-8")
    sep, width = readers._separator(path)
    assert readers._read_csv_arrow(path, sep, width) is None
    with pytest.raises(readers.CohortError, match="the row has 3 cells where the header "
                       "has 2") as err:  # fmt: skip
        readers._read_csv(path)
    assert err.value.problems[0].row == 2
