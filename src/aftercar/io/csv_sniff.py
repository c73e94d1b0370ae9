"""What a CSV file's bytes say before (and when) it is read as a table.

The separator the header shows; files that are not CSV text (a workbook, Parquet,
UTF-16, a stray NUL byte); a header and rows separated differently; and a file
pandas cannot parse, named by its row. Each problem stops the read with a
:class:`~aftercar.errors.CohortError`; :mod:`aftercar.io.readers` reads the file.
"""

from __future__ import annotations

import re
from pathlib import Path

from aftercar.errors import CohortError, Problem
from aftercar.io.raw_table import _problem


def _separator(path: Path) -> tuple[str, int]:
    """The separator and the number of columns the header line shows.

    ``,`` unless the header holds more ``;`` or tabs (European Excel, TSV exports).
    """
    try:
        with path.open(encoding="utf-8-sig", errors="replace") as fh:
            header = fh.readline()
    except OSError:
        return ",", 1
    counts = {sep: header.count(sep) for sep in (",", ";", "\t")}
    sep = max(counts, key=lambda sep: (counts[sep], sep == ","))
    return sep, counts[sep] + 1


#: First bytes of files that are not CSV text -> (what the file is, how to fix it).
_NOT_TEXT = {
    b"PK\x03\x04": ("an Excel workbook (.xlsx) or another zip file",
                     "give it the .xlsx extension (aftercar reads workbooks), or save it as "
                     "'CSV UTF-8' from your spreadsheet program"),
    b"\xd0\xcf\x11\xe0": ("an old Excel workbook (.xls)",
                          "save it as .xlsx or as 'CSV UTF-8' from your spreadsheet program"),
    b"PAR1": ("a Parquet file", "give it the .parquet extension"),
    b"\xff\xfe": ("UTF-16 text", "save it as 'CSV UTF-8' from your spreadsheet program"),
    b"\xfe\xff": ("UTF-16 text", "save it as 'CSV UTF-8' from your spreadsheet program"),
}  # fmt: skip


def _stray_nul(path: Path, chunk: int = 1 << 20) -> None:
    """Stop on the first NUL byte of a UTF-8 file, naming its line and byte (the whole file is
    scanned in chunks: a review of session 26 found one past the first kilobyte let through)."""
    line = 1
    with path.open("rb") as f:
        while block := f.read(chunk):
            at = block.find(b"\x00")
            if at < 0:
                line += block.count(b"\n")
                continue
            line += block.count(b"\n", 0, at)
            byte = at - block.rfind(b"\n", 0, at)  # within the line (1-based; from its chunk)
            raise CohortError([Problem(
                path.name, line, None, "\\x00", f"line {line} holds a NUL character (byte 0) "
                f"at byte {byte} of the line, which no cell can hold",
                "remove it (a paste from another program can leave one)", "error",
                "unreadable_file")])  # fmt: skip


def _not_text(path: Path) -> None:
    """Stop on a ``.csv`` file that is a workbook, Parquet or UTF-16 (by its first bytes)."""
    with path.open("rb") as f:
        head = f.read(1024)
    for magic, (what, hint) in _NOT_TEXT.items():
        if head.startswith(magic):
            problem = _problem(path.name, f"the file is {what}, not CSV text", hint,
                               "unreadable_file")  # fmt: skip
            raise CohortError([problem])
    if head.count(b"\x00") * 10 < len(head):  # a stray NUL in UTF-8 text (fuzz round 7)
        _stray_nul(path)
    if b"\x00" in head:  # UTF-16 / UTF-32 without a byte-order mark (found by fuzzing)
        raise CohortError([_problem(
            path.name, "the file holds NUL bytes: it is UTF-16 or UTF-32 text without a "
            "byte-order mark, not UTF-8", "save it as 'CSV UTF-8' from your spreadsheet program",
            "unreadable_file")])  # fmt: skip


_SEP_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs"}


def _mixed_separators(path: Path, sep: str, width: int) -> None:
    """Stop when the header's separator is absent from the first data line while another
    fills it (a tab-separated header pasted over comma rows): one problem instead of a
    missing value in every column of every row (found by fuzzing, 2026-12-06)."""
    if width < 3:
        return
    try:
        with path.open(encoding="utf-8-sig", errors="replace") as fh:
            fh.readline()
            line = fh.readline()
    except OSError:
        return
    line = re.sub(r'"[^"]*"', "", line)  # separators inside quoted cells are text
    if not line.strip() or line.count(sep):
        return
    other = max((s for s in _SEP_NAMES if s != sep), key=line.count)
    if line.count(other) >= width - 1:
        raise CohortError([Problem(
            path.name, 2, None, None,
            f"the header row is separated by {_SEP_NAMES[sep]} but the rows by "
            f"{_SEP_NAMES[other]}",
            f"use one separator in the whole file: save it again as 'CSV UTF-8', or replace "
            f"the {_SEP_NAMES[sep]} of the header row with {_SEP_NAMES[other]}",
            "error", "mixed_separators")])  # fmt: skip


#: pandas' C parser on a row with more cells than the first: "Error tokenizing data. C
#: error: Expected 18 fields in line 3, saw 20".
_RAGGED = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _csv_parse_problem(label: str, exc: Exception) -> Problem:
    """A CSV file pandas cannot parse: a row with too many cells (named by its row and
    counts), else pandas' last line of error."""
    msg = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    hint = "check that every row has as many cells as the header and that quotes are balanced"
    m = _RAGGED.search(msg)
    if m is None:
        return _problem(label, f"the file cannot be read as CSV ({msg})", hint, "unreadable_file")
    expected, line, saw = (int(g) for g in m.groups())
    return Problem(label, line, None, None,
                   f"the row has {saw} cells where the header has {expected}",
                   "quote the cells that hold the separator, or remove the extra cells of "
                   "that row", "error", "unreadable_file")  # fmt: skip
