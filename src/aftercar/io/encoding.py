"""Find the first place where a CSV file is not UTF-8 text, and say where it is.

Engines read a CSV file that is not UTF-8 in different ways: DuckDB stops with its own
text (whose quoted line can be the one before the culprit), Spark replaces the bytes with
U+FFFD without a word, pandas names a byte offset. :func:`utf8_problem` scans the file
once, in C-speed ``bytes.decode`` chunks (a ``.gz`` file decompressed as it goes), and
returns a :class:`~aftercar.errors.Problem` naming the file, its line as an editor numbers
it (the header is line 1), the column the bytes fall in (by the header), the line's text
with the bytes written as ``\\xNN``, and the fix.
"""

from __future__ import annotations

import csv
import gzip
import zlib
from pathlib import Path

from aftercar.errors import Problem

__all__ = ["GZIP_ERRORS", "open_csv", "utf8_problem"]

_CHUNK = 1 << 24
#: Byte-order marks of other encodings, longest first (UTF-32-LE starts as UTF-16-LE).
_BOMS = {b"\xff\xfe\x00\x00": "UTF-32 (little-endian)", b"\x00\x00\xfe\xff": "UTF-32 (big-endian)",
         b"\xff\xfe": "UTF-16 (little-endian)", b"\xfe\xff": "UTF-16 (big-endian)"}  # fmt: skip
#: Errors of a ``.gz`` file that is cut short or not gzip at all.
GZIP_ERRORS = (EOFError, OSError, zlib.error)
_FIX = ("save the file as UTF-8 text ('CSV UTF-8' in a spreadsheet program; from the shell "
        "`iconv -f WINDOWS-1252 -t UTF-8 IN.csv > OUT.csv` if it was written as Windows or "
        "Latin-1 text)")  # fmt: skip


def open_csv(path: str | Path, mode: str = "rb", **text_options):
    """Open a ``.csv`` file, or a ``.csv.gz`` one decompressed as it is read; ``mode`` ``"rb"``
    or ``"rt"`` (then ``text_options``: ``encoding``, ``errors``, ``newline``)."""
    path = Path(path)
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, mode, **text_options)
    return path.open(mode, **text_options)


def _first_bad(path: Path) -> tuple[int, bytes, int] | None:
    """``(line, that line's bytes, offset of the bad bytes in it)``, or ``None``. Whole
    lines are decoded at a time (a UTF-8 character never holds the byte ``\\n``), so no
    character is cut by a chunk's end."""
    line, carry = 1, b""
    with open_csv(path) as fh:
        while True:
            chunk = fh.read(_CHUNK)
            data = carry + chunk
            cut = data.rfind(b"\n") + 1 if chunk else len(data)
            done, carry = data[:cut], data[cut:]
            try:
                done.decode("utf-8")
            except UnicodeDecodeError as exc:
                start = done.rfind(b"\n", 0, exc.start) + 1
                end = done.find(b"\n", exc.start)
                end = len(done) if end < 0 else end
                return line + done.count(b"\n", 0, exc.start), done[start:end], exc.start - start
            line += done.count(b"\n")
            if not chunk:
                return None


def _column(path: Path, text: bytes, at: int) -> str | None:
    """The header name of the field holding byte ``at`` of the data line ``text``."""
    with open_csv(path) as fh:
        head = fh.readline().decode("utf-8-sig", errors="replace").rstrip("\r\n")
    sep = max(",;\t|", key=head.count)  # the separator the header holds most of
    names = next(csv.reader([head], delimiter=sep), [])
    before = next(csv.reader([text[:at].decode("utf-8", errors="replace")], delimiter=sep),
                  [""])  # fmt: skip
    index = max(len(before) - 1, 0)
    return names[index] if index < len(names) else None


def utf8_problem(path: str | Path, label: str | None = None,
                 rule: str = "not_utf8") -> Problem | None:
    """The first bytes of CSV file ``path`` that are not UTF-8, as a problem; else ``None``.

    The problem names the line as an editor numbers it (the header is line 1; a quoted
    value holding a line break makes it differ from the spreadsheet row, so no row is
    given) and the column by the header, unless the line holds an odd number of quotes
    (a quoted value spanning lines: the column is then not known).

    Parameters
    ----------
    path
        A ``.csv`` or ``.csv.gz`` file.
    label
        How the problem names the file (default: the file's name).
    rule
        The problem's rule identifier.
    """
    path = Path(path)
    label = label or path.name
    try:
        return _scan(path, label, rule)
    except GZIP_ERRORS as exc:
        return Problem(label, None, None, None,
                       f"the file cannot be decompressed ({type(exc).__name__}: {exc})",
                       "write the file again (`gzip -t FILE` tests a .gz file)",
                       rule="unreadable_file")  # fmt: skip


def _scan(path: Path, label: str, rule: str) -> Problem | None:
    with open_csv(path) as fh:
        head = fh.read(1024)
    bom = next((what for mark, what in _BOMS.items() if head.startswith(mark)), None)
    if bom is None and b"\x00" in head:
        bom = "UTF-16 or UTF-32 (it holds NUL bytes)"
    if bom is not None:
        return Problem(label, None, None, None, f"the file is {bom} text, not UTF-8", _FIX,
                       rule=rule)  # fmt: skip
    found = _first_bad(path)
    if found is None:
        return None
    line, text, at = found
    known = line > 1 and text.count(b'"') % 2 == 0
    column = _column(path, text, at) if known else None
    start = max(0, at - 100)
    shown = text[start:at + 100].decode("utf-8", errors="backslashreplace").rstrip("\r")
    byte = text[at:at + 1].hex().upper()
    return Problem(label, None, column, ("..." if start else "") + shown,
                   f"the file is not UTF-8 text: byte 0x{byte} on line {line} is not UTF-8",
                   _FIX, rule=rule)  # fmt: skip
