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
    assert (p.file, p.row, p.column, p.value) == ("site/t.csv", 22, "note", "21;ok;na\\xefve")
    assert "byte 0xEF" in p.message and p.rule == "not_utf8"


def test_a_character_cut_at_the_end_of_the_file(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(HEADER.encode() + "1;\u20ac".encode()[:-1])
    p = utf8_problem(path)
    assert (p.row, p.column) == (2, "name")


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be"])
def test_utf16_is_named_as_such(tmp_path, codec):
    path = tmp_path / "t.csv"
    bom = "\ufeff" if codec.endswith("be") else ""  # "utf-16" writes its own
    path.write_bytes(bom.encode(codec) + HEADER.encode(codec))
    p = utf8_problem(path)
    assert p.row is None and "UTF-16" in p.message
