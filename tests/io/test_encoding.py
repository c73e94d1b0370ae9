"""Where a CSV file stops being UTF-8: line, column and text (:mod:`aftercar.io.encoding`)."""

from __future__ import annotations

import gzip

import pytest

from aftercar.io import encoding
from aftercar.io.encoding import utf8_problem

HEADER = "id;name;note\n"  # a separator other than the comma: the column comes from the header


def _rows(n: int) -> str:
    return "".join(f"{i};caf\u00e9 \u20ac{i};r\u00e9sum\u00e9\n" for i in range(n))


def test_valid_utf8_with_characters_cut_by_every_chunk_boundary(tmp_path, monkeypatch):
    path = tmp_path / "t.csv"
    path.write_text("\ufeff" + HEADER + _rows(50), encoding="utf-8")
    for size in (1, 2, 3, 5, 7):  # every split of the 2- and 3-byte characters
        monkeypatch.setattr(encoding, "_CHUNK", size)
        assert utf8_problem(path) is None


@pytest.mark.parametrize("size", [3, 64, 1 << 24])
@pytest.mark.parametrize("gz", [False, True])
def test_the_first_bad_byte_is_named_by_line_column_and_text(tmp_path, monkeypatch, size, gz):
    monkeypatch.setattr(encoding, "_CHUNK", size)
    data = (HEADER + _rows(20)).encode() + "21;ok;na\u00efve\n".encode("latin-1") + b"22;\xff;x\n"
    path = tmp_path / ("t.csv.gz" if gz else "t.csv")
    path.write_bytes(gzip.compress(data) if gz else data)
    p = utf8_problem(path, "site/t.csv")
    assert (p.file, p.row, p.column, p.value) == ("site/t.csv", None, "note", "21;ok;na\\xefve")
    assert "byte 0xEF on line 22" in p.message and p.rule == "not_utf8"


def test_a_character_cut_at_the_end_of_the_file(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(HEADER.encode() + "1;\u20ac".encode()[:-1])
    p = utf8_problem(path)
    assert (p.column, "on line 2" in p.message) == ("name", True)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32", "utf-16-le"])
def test_utf16_is_named_as_such(tmp_path, codec):
    path = tmp_path / "t.csv"
    bom = "\ufeff" if codec.endswith("be") else ""  # "utf-16"/"utf-32" write their own;
    path.write_bytes(bom.encode(codec) + HEADER.encode(codec))  # "utf-16-le": none at all
    p = utf8_problem(path)
    named = {"utf-16": "UTF-16 (little", "utf-16-be": "UTF-16 (big", "utf-32": "UTF-32 (little",
             "utf-16-le": "(it holds NUL bytes)"}[codec]  # fmt: skip
    assert p.row is None and named in p.message


def test_a_quoted_value_over_two_lines_gives_the_line_not_a_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b'a,b,c\n1,"x\ny\xe9",3\n')
    p = utf8_problem(path)
    assert p.column is None and "on line 3" in p.message


def test_a_cut_gzip_file_is_named_not_a_crash(tmp_path):
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress((HEADER + _rows(200)).encode())[:-30])
    p = utf8_problem(path)
    assert p.rule == "unreadable_file" and "cannot be decompressed" in p.message


def test_the_text_shown_holds_the_bad_byte_of_a_long_line(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(HEADER.encode() + b"1;" + b"x" * 500 + b"\xe9;z\n")
    p = utf8_problem(path)
    assert "\\xe9" in p.value and p.value.startswith("...") and p.column == "name"


def test_a_curated_csv_in_utf16_without_a_byte_order_mark_is_named(tmp_path):
    # found by fuzzing (2026-12-06): it read as 794 problems with NUL characters in the names
    from aftercar.io import validate_cohort

    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "patients.csv").write_bytes("patient_id,site\nP1,A\n".encode("utf-16-le"))
    (folder / "lines.csv").write_text("patient_id,line\nP1,1\n", encoding="utf-8")
    report = validate_cohort(folder)
    assert [(p.file, p.rule) for p in report.errors] == [("patients.csv", "unreadable_file")]
    assert "NUL bytes" in report.errors[0].message


def test_a_stray_nul_in_a_utf8_csv_names_its_line(tmp_path):
    # fuzz round 7 (session 26): one NUL in a regimen was called UTF-16 text
    from aftercar.io import validate_cohort

    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "patients.csv").write_text("patient_id,site\nP1,A\nP2,B\n", encoding="utf-8")
    (folder / "lines.csv").write_text("patient_id,line,regimen\nP1,1,KRd\nP2,1,Dara\x00Pd\n",
                                      encoding="utf-8")  # fmt: skip
    report = validate_cohort(folder)
    (p,) = report.errors
    assert (p.file, p.row, p.rule) == ("lines.csv", 3, "unreadable_file")
    assert "NUL character" in p.message and "byte 10 of the line" in p.message
    assert "remove it" in p.hint


def test_a_stray_nul_far_into_the_file_is_found(tmp_path):
    # a review of session 26: only the first kilobyte was searched
    from aftercar.io import validate_cohort

    folder = tmp_path / "c"
    folder.mkdir()
    ids = [f"P{i:03d}" for i in range(200)]
    (folder / "patients.csv").write_text(
        "patient_id,site\n" + "".join(f"{p},A\n" for p in ids), encoding="utf-8")
    rows = "".join(f"{p},1,KRd\n" for p in ids[:-1]) + f"{ids[-1]},1,Dara\x00Pd\n"
    (folder / "lines.csv").write_text("patient_id,line,regimen\n" + rows, encoding="utf-8")
    (p,) = validate_cohort(folder).errors
    assert (p.file, p.row, p.rule) == ("lines.csv", 201, "unreadable_file")
