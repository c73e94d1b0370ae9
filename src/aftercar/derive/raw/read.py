"""Read a raw-records folder (``aftercar simulate --raw`` layout) into checked Arrow tables.

A raw folder holds ``patients``, ``administrations``, ``procedures`` and ``labs``
as CSV or Parquet, either directly or in a ``raw/`` sub-folder. The columns are
declared once in ``data/raw_format.csv``. Every problem (missing file or column,
empty required value, unparseable date or number, unknown patient) is reported
at once as a :class:`~aftercar.errors.Problem` naming the file, the row as a
spreadsheet shows it (header = row 1), the column, the value and a fix; the
reader then raises :class:`~aftercar.errors.CohortError` (exit code 2).
Each table gets a ``row`` column (that spreadsheet row) for the audit.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from aftercar.errors import CohortError, Problem
from aftercar.io.checks import (
    EXCEL_ZERO_DATES,
    RULES,
    ZERO_DATE_HINT,
    Plausibility,
    age_implausible,
    date_bounds,
    pair_order,
)
from aftercar.io.dates import arrow_day
from aftercar.io.dictionary import columns, normalize_name
from aftercar.io.encoding import utf8_problem
from aftercar.io.readers import RawTable
from aftercar.io.tables import build_view
from aftercar.schema import Col

RAW_TABLES = ("patients", "administrations", "procedures", "labs")
#: At most this many problems are listed per column and kind.
_MAX_LISTED = 20
#: Schema metadata key of a table read by :func:`read_raw`: the name of its file
#: ("labs.csv"), which the derivation's messages give.
FILE_KEY = "aftercar.file"


@dataclass(frozen=True)
class RawColumn:
    """One column of the raw format (a row of ``raw_format.csv``)."""

    table: str
    name: str
    type: str
    required: bool
    description: str


def raw_format() -> list[RawColumn]:
    """Return the raw input columns declared in ``data/raw_format.csv``."""
    text = resources.files("aftercar.data").joinpath("raw_format.csv").read_text("utf-8")
    return [RawColumn(r["table"], r["column"], r["type"], r["required"] == "yes", r["description"])
            for r in csv.DictReader(io.StringIO(text))]  # fmt: skip


def is_raw_folder(path: str | Path) -> bool:
    """True when ``path`` holds raw records (an ``administrations`` or ``labs`` file)."""
    return _table_file(Path(path), "administrations") is not None


def _base(path: Path) -> Path:
    return path / "raw" if (path / "raw").is_dir() else path


def _table_file(path: Path, name: str) -> Path | None:
    found = _table_files(path, name)
    return found[0] if found else None


def _table_files(path: Path, name: str) -> list[Path]:
    """``name.csv`` and / or ``name.parquet`` of the raw folder (those that exist)."""
    return [f for f in (_base(path) / f"{name}.{ext}" for ext in ("csv", "parquet"))
            if f.is_file()]  # fmt: skip


def _find(path: Path, name: str) -> tuple[Path | None, list[Problem]]:
    """The file of the raw table ``name``; a missing table or one given both as CSV and
    as Parquet (which one is meant?) is a problem."""
    found = _table_files(path, name)
    odd = [f for f in (_base(path) / f"{name}.{ext}" for ext in ("csv", "parquet"))
           if not f.is_file() and (f.exists() or f.is_symlink())]  # fmt: skip
    if not found and odd:  # a folder, or a link to nothing (it was "missing")
        what = "a link to a file that does not exist" if odd[0].is_symlink() and not \
            odd[0].exists() else "not a file"  # fmt: skip
        return None, [Problem(str(odd[0]), None, None, None, f"is {what}",
                              f"put the raw '{name}' table there as a CSV or Parquet file")]
    if not found:
        return None, [Problem(str(_base(path) / f"{name}.csv"), None, None, None,
                              f"the raw '{name}' table is missing",
                              f"put {name}.csv or {name}.parquet in {_base(path)}")]  # fmt: skip
    if len(found) > 1:
        return None, [Problem(str(_base(path)), None, None, None,
                              f"the raw '{name}' table is given twice: "
                              f"{' and '.join(f.name for f in found)}",
                              "keep exactly one of them in the folder (move or delete the "
                              "other)", rule="ambiguous_file")]  # fmt: skip
    return found[0], []


#: Parquet columns already of these types are used as they are (no text round trip).
_NATIVE = {"date": pa.types.is_date32, "float": pa.types.is_floating}


def _is_temporal(t: pa.DataType) -> bool:
    """A Parquet timestamp (naive or with a time zone) or date64: read as its date."""
    return pa.types.is_timestamp(t) or pa.types.is_date64(t)


def _no_nested(f: Path, schema: pa.Schema) -> None:
    """Stop on a Parquet column of lists, structs or maps: a raw table holds one value per
    cell (a list<string> column was a traceback: fuzzing, 2026-12-07)."""
    nested = [fd for fd in schema if pa.types.is_nested(fd.type)]
    if nested:
        raise CohortError([Problem(f.name, None, fd.name, None,
                                   f"column of the nested Parquet type {fd.type}: a raw table "
                                   "holds one value per cell",
                                   "write the column as text, a number or a date (one value "
                                   "per row), or leave it out") for fd in nested],
                          f"{f.name}: nested Parquet columns")  # fmt: skip


def _read_strings(f: Path, texts: list[str], dates: tuple[str, ...] = ()) -> pa.Table:
    """The table with every column as text, but native Parquet dates and floats (and
    timestamps in the ``dates`` columns); the Parquet ``texts`` columns stay
    dictionary-encoded as stored (a repeated drug, test or patient id is held once:
    100,000 patients' raw tables take about half the memory)."""
    if f.suffix == ".parquet":
        schema = pq.read_schema(f)
        _no_nested(f, schema)
        # a header in other case or with spaces ("DATE ") is its raw-format column
        texts = [n for n in schema.names if n.strip().lower() in texts
                 and pa.types.is_string(schema.field(n).type)]  # fmt: skip
        dates = tuple(n for n in schema.names if n.strip().lower() in dates)
        t = pq.read_table(f, read_dictionary=texts)
        # a column stored dictionary-encoded but not asked for as one is decoded: only the
        # ``texts`` columns may be dictionaries (an id column is compared with plain text)
        cols = [c if pa.types.is_string(c.type) or (n in texts and _is_text(c.type))
                or pa.types.is_date32(c.type) or pa.types.is_floating(c.type)
                or (n in dates and _is_temporal(c.type))
                else c.cast(pa.string())
                for n, c in zip(t.column_names, t.columns, strict=True)]  # fmt: skip
        return pa.table(cols, names=t.column_names)
    # every column read as the text written: inferred types would rewrite it (a date column
    # with one time of day became timestamps, every row then quoted as '... 00:00:00';
    # an id 007 became 7)
    sep = _delimiter(f)
    header = _csv_header(f, sep)
    opts = pacsv.ConvertOptions(column_types=dict.fromkeys(header, pa.string()),
                                strings_can_be_null=True, auto_dict_encode=False)  # fmt: skip
    t = pacsv.read_csv(f, parse_options=pacsv.ParseOptions(delimiter=sep), convert_options=opts)
    return pa.table([c.cast(pa.string()) for c in t.columns], names=t.column_names)


def _encoding(f: Path) -> list[Problem]:
    """A CSV file that is not UTF-8 text (UTF-16, or a Latin-1 or Windows-1252 export), by
    its line, column and value (:func:`aftercar.io.encoding.utf8_problem`, as the OMOP
    reader names it); Arrow named the column by its 0-based index and no line (fuzzing,
    2026-12-07)."""
    if f.suffix == ".parquet":
        return []
    found = utf8_problem(f, f.name)
    return [] if found is None else [found]


def _bad_records(f: Path) -> list[Problem]:
    """The rows of the CSV file ``f`` with another number of fields than its header, each
    named (Arrow's parse error named the first one's text, not its row: fuzzing,
    2026-12-07); none for a Parquet file or another error."""
    if f.suffix == ".parquet":
        return []
    found: list[Problem] = []

    def bad(row) -> str:
        if len(found) <= _MAX_LISTED:
            found.append(_record_problem(f, row))
        return "skip"

    sep = _delimiter(f)
    opts = pacsv.ParseOptions(delimiter=sep, invalid_row_handler=bad)
    text = pacsv.ConvertOptions(column_types=dict.fromkeys(_csv_header(f, sep), pa.string()))
    try:  # one thread: each row's number is known
        pacsv.read_csv(f, read_options=pacsv.ReadOptions(use_threads=False), parse_options=opts,
                       convert_options=text)  # fmt: skip
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return []
    if len(found) > _MAX_LISTED:
        found[-1] = Problem(f.name, None, None, None, "more rows with another number of fields "
                            "than the header", found[0].hint)  # fmt: skip
    # Arrow numbers the records it reads (a blank line skipped): the file's rows instead
    rows = _text_records(f.read_bytes())
    return [replace(p, row=int(rows[p.row - 1])) if p.row and p.row <= rows.size else p
            for p in found]  # fmt: skip


def _record_problem(f: Path, row) -> Problem:
    """A row with ``row.actual_columns`` fields where the header has ``row.expected_columns``."""
    text = row.text if len(row.text) <= 80 else row.text[:80] + "..."
    if row.text.lstrip().count('"') % 2 or "\n" in row.text:  # read on to the file's end
        return Problem(f.name, row.number, None, text, "a quote opens a value that no quote "
                       "closes: the rest of the file was read as that value",
                       'close the quote (write a quote inside a value as two: "")')  # fmt: skip
    return Problem(f.name, row.number, None, text,
                   f"the row has {row.actual_columns} fields where the header has "
                   f"{row.expected_columns}",
                   "quote a value that holds the separator (\"Immunofixation, urine\"), or "
                   "remove the extra or add the missing fields")  # fmt: skip


def _delimiter(f: Path) -> str:
    """The field separator of the CSV file ``f``: a comma, else the semicolon or tab its
    header holds (European spreadsheets save CSV with semicolons)."""
    with f.open(encoding="utf-8-sig", errors="replace", newline="") as fh:
        first = fh.readline()
    if "," in first:
        return ","
    return max((";", "\t"), key=first.count) if (";" in first or "\t" in first) else ","


def _csv_header(f: Path, sep: str = ",") -> list[str]:
    """The header names of the CSV file ``f`` as Arrow reads them."""
    with f.open(encoding="utf-8-sig", errors="replace", newline="") as fh:
        return next(csv.reader(fh, delimiter=sep), [])


def _canonical_names(t: pa.Table, specs: list[RawColumn]) -> pa.Table:
    """``t`` with each header that is a column of the raw format (of ``patients``: or a
    curated patient column) but for its case, spaces and punctuation ("Patient_ID ",
    "Patient ID", "CAR-T Date"; :func:`aftercar.io.dictionary.normalize_name`, as the
    curated reader matches headers) renamed to it: two headers of one column are then
    refused as such (a "Patient ID" beside "patient_id" was written out into a cohort
    ``aftercar validate`` refused; fuzzing, 2026-12-07)."""
    known = {normalize_name(s.name): s.name for s in specs}
    if specs and specs[0].table == "patients":
        known = {normalize_name(c.name): c.name for c in columns("patients")} | known
    names = [known.get(normalize_name(c), c) for c in t.column_names]
    return t.rename_columns(names) if names != t.column_names else t


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or (pa.types.is_dictionary(t) and pa.types.is_string(t.value_type))


def _clean_text(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """Trimmed text, empty = null; a dictionary column is cleaned in its dictionary."""
    if not pa.types.is_dictionary(col.type):
        raw = pc.utf8_trim_whitespace(col)
        return pc.if_else(pc.equal(raw, ""), pa.scalar(None, pa.string()), raw)
    chunks = []
    for ch in col.chunks:
        d = pc.utf8_trim_whitespace(ch.dictionary)
        empty = pc.fill_null(pc.equal(d, ""), True)  # empty or null in the dictionary
        idx = pc.if_else(pc.take(empty, ch.indices), pa.scalar(None, ch.indices.type),
                         ch.indices)  # fmt: skip
        chunks.append(pa.DictionaryArray.from_arrays(idx, d))
    return pa.chunked_array(chunks, col.type)


def _shown(values: pa.ChunkedArray, i: int) -> str | None:
    """Value ``i`` as text for a message: Arrow's own text where Python has no such value
    (a date of year 0, "0000-01-01", read from a file: fuzzing, 2026-12-07, a traceback)."""
    try:
        v = values[i].as_py()
    except (OverflowError, ValueError):
        return pc.cast(values.slice(i, 1), pa.string())[0].as_py()
    return None if v is None else str(v)


@dataclass(frozen=True, eq=False)
class _Source:
    """A raw table's file and the row number of each record read from it (the header is
    row 1 and a blank line is a row, as a spreadsheet shows the file)."""

    path: Path
    rows: np.ndarray

    @property
    def name(self) -> str:
        return self.path.name


def _record_rows(raw: bytes | None, n: int) -> np.ndarray:
    """The row number of each of the ``n`` records Arrow read from the CSV bytes ``raw``
    (``None``: a Parquet file): 2, 3, ... but past the blank lines Arrow's CSV reader
    skips (the rows after one were named one row too early: fuzzing, 2026-12-07). A line
    ending inside quotes is not a record's end."""
    plain = np.arange(2, n + 2, dtype=np.int64)
    if raw is None:
        return plain
    end = _content_end(raw)  # blank lines at the end are no rows' concern
    if raw.count(b"\n", 0, end) == n and not raw.startswith((b"\n", b"\r")):
        return plain  # a line per record: no blank line (the common case, one count)
    kept = _text_records(raw)
    if kept.size != n + 1:  # not the records Arrow read: keep the plain numbering
        return plain
    return kept[1:]


def _content_end(raw: bytes) -> int:
    """The length of ``raw`` without the line ends at its end (no copy of the bytes)."""
    end = len(raw)
    while end and raw[end - 1] in b"\r\n":
        end -= 1
    return end


def _spanning_values(f: _Source, raw: bytes | None, t: pa.Table, read: list[str]) -> list[Problem]:
    """Values that hold a line break, in the raw-format columns ``read``: a quote opened
    in a value and closed lines later (or never) makes the rows between part of that
    value, and Arrow reads them so without a word when the fields still add up (fuzzing,
    2026-12-07). A raw table's ids, dates, drug names, units and values never hold one;
    another column (a free-text note) may. An unclosed quote is named wherever it is."""
    if raw is None or t.num_rows == 0:
        return []
    fix = 'close the quote where the value ends (write a quote inside a value as two: "")'
    open_to_end = _open_to_end(raw, t)
    if open_to_end is not None:
        return [Problem(f.name, int(f.rows[-1]), open_to_end, None,
                        "a quote opens a value that no quote closes: the rest of the file "
                        "was read as that value", fix)]  # fmt: skip
    crs = raw.count(b"\r")
    if raw.count(b"\n") <= t.num_rows + 1 and crs in (0, raw.count(b"\r\n")):
        return []  # a line per record at most (LF or CR LF): no value holds a line break
    found = []
    for c in (c for c in read if c in t.column_names and _is_text(t[c].type)):
        col = t[c] if pa.types.is_string(t[c].type) else t[c].cast(pa.string())
        bad = pc.fill_null(pc.match_substring_regex(col, "[\r\n]"), False)
        found += _listed(f, c, bad.to_numpy(zero_copy_only=False), col,
                         "the value holds a line break: a quote opened in it closes lines "
                         "later, so the rows between were read as part of this value", fix)
    return found


def _open_to_end(raw: bytes, t: pa.Table) -> str | None:
    """The column of the last record whose value runs, line breaks and all, to the end of
    the file: a quote no quote closes (Arrow reads the rest of the file into it). A quote
    inside an unquoted value (``lesion 5" wide``) is text, as Arrow reads it, and a quoted
    value that holds a line break but is closed is followed by its closing quote."""
    end = _content_end(raw)
    for c in t.column_names:
        col = t[c]
        if not _is_text(col.type):
            continue
        v = col[t.num_rows - 1].as_py()
        if v and ("\n" in v or "\r" in v) and raw.endswith(v.rstrip("\r\n").encode(), 0, end):
            return c
    return None


def _text_records(raw: bytes) -> np.ndarray:
    """The row numbers (1-based, a blank line counted) of the records of CSV bytes that
    hold text: the header's, then each data row's, as Arrow reads them."""
    data = np.frombuffer(raw, dtype=np.uint8)
    quotes = np.flatnonzero(data == 34)
    at = np.flatnonzero((data == 10) | (data == 13))
    at = at[np.searchsorted(quotes, at) % 2 == 0]  # outside quotes ("" keeps the parity)
    at = at[~((data[at] == 10) & np.isin(at - 1, at[data[at] == 13]))]  # CR LF: one end
    pair = (data[at] == 13) & (data[np.minimum(at + 1, data.size - 1)] == 10)
    starts = np.concatenate(([0], at + 1 + pair))
    stops = np.concatenate((at, [data.size]))
    return (np.flatnonzero(stops > starts) + 1).astype(np.int64)  # empty: a blank line


def _listed(f: Path | _Source, col: str, bad: np.ndarray, values: pa.ChunkedArray, msg: str,
            hint: str, rule: str = "") -> list[Problem]:  # fmt: skip
    idx = np.flatnonzero(bad)
    rows = f.rows if isinstance(f, _Source) else np.arange(2, len(bad) + 2)
    out = [Problem(f.name, int(rows[i]), col, _shown(values, int(i)), msg, hint, rule=rule)
           for i in idx[:_MAX_LISTED]]  # fmt: skip
    if idx.size > _MAX_LISTED:
        out.append(Problem(f.name, None, col, None, f"{idx.size - _MAX_LISTED} more row(s) "
                           f"with the same problem", hint, rule=rule))  # fmt: skip
    return out


def _parse(f: _Source, t: pa.Table, spec: RawColumn) -> tuple[pa.ChunkedArray, list[Problem]]:
    col = t[spec.name]
    if spec.type == "date" and _is_temporal(col.type):
        col = arrow_day(col)
    if spec.type in _NATIVE and _NATIVE[spec.type](col.type):
        return _native(f, col, spec)
    if not _is_text(col.type) or (pa.types.is_dictionary(col.type) and spec.type != "string"):
        col = col.cast(pa.string())
    raw = _clean_text(col)
    missing = pc.is_null(raw).to_numpy(zero_copy_only=False)
    problems = _nul_bytes(f, spec.name, raw)
    if spec.required and missing.any():
        problems += _listed(f, spec.name, missing, raw, "required value is empty",
                            f"fill in {spec.name} ({spec.description})")  # fmt: skip
    if spec.type == "date":
        out, more = _parse_dates(f, spec.name, raw, missing)
        return out, problems + more
    if spec.type != "float":
        return raw, problems
    out = _to_float(raw)
    bad = pc.is_null(out).to_numpy(zero_copy_only=False) & ~missing
    if bad.any():
        problems += _listed(f, spec.name, bad, raw, "not a valid float",
                            "write a plain number (e.g. 1.5), or leave it empty")  # fmt: skip
    return out, problems + _bad_numbers(f, spec, out, raw)


#: ``YYYY-MM-DD`` as Arrow's ``%Y-%m-%d`` reads it (one-digit month or day allowed).
_YMD = r"^\d{1,4}-\s*(?P<m>\d{1,2})-\s*(?P<d>\d{1,2})$"


def _parse_dates(f: _Source, name: str, raw: pa.ChunkedArray, missing: np.ndarray):
    """Text dates read as ``YYYY-MM-DD``. Arrow's strptime rolls an impossible day over
    (2023-02-30 is read as 2023-03-02), so a date whose month and day are not the ones
    written is refused too."""
    parsed = pc.strptime(raw, format="%Y-%m-%d", unit="s", error_is_null=True).cast(pa.date32())
    unread = pc.is_null(parsed).to_numpy(zero_copy_only=False) & ~missing
    rolled = _rolled_over(raw, parsed)
    problems = _listed(f, name, unread, raw, "not a valid date", "write dates as YYYY-MM-DD")
    if not rolled.any():
        return parsed, problems
    problems += _listed(f, name, rolled, raw, "not a valid date: that month has no such day",
                        "check the day and the month (YYYY-MM-DD; e.g. February has 28 days, "
                        "29 in a leap year)")  # fmt: skip
    return pc.if_else(pa.array(rolled), pa.scalar(None, pa.date32()), parsed), problems


def _rolled_over(raw: pa.ChunkedArray, parsed: pa.ChunkedArray) -> np.ndarray:
    """True where the date read is not the month and day written. A rolled-over day lands
    on day 1-3 of the next month, so only those dates are compared with their text."""
    early = pc.fill_null(pc.less_equal(pc.day(parsed), 3), False).to_numpy(zero_copy_only=False)
    idx = np.flatnonzero(early)
    out = np.zeros(len(parsed), dtype=bool)
    if idx.size == 0:
        return out
    text, dates = raw.take(idx), parsed.take(idx)
    parts = pc.extract_regex(text, _YMD)
    same = pc.and_(
        pc.equal(pc.month(dates), pc.struct_field(parts, "m").cast(pa.int64())),
        pc.equal(pc.day(dates), pc.struct_field(parts, "d").cast(pa.int64())),
    )
    out[idx] = ~pc.fill_null(same, False).to_numpy(zero_copy_only=False)
    return out


def _implausible(f: _Source, name: str, dates: pa.ChunkedArray) -> list[Problem]:
    """Dates the curated reader refuses too (:class:`aftercar.io.checks.Plausibility`):
    after today (``date_future``), or before 1990-01-01 or Excel's empty-cell date
    (``date_too_early``; a ``birth_date`` only the latter)."""
    limits = Plausibility(dt.date.today())
    excel = pa.array([dt.date.fromisoformat(z) for z in EXCEL_ZERO_DATES], pa.date32())
    zero = pc.fill_null(pc.is_in(dates, value_set=excel), False)
    early = pc.fill_null(pc.less(dates, pa.scalar(limits.earliest, pa.date32())), False)
    future = pc.fill_null(pc.greater(dates, pa.scalar(limits.today, pa.date32())), False)
    zero, early, future = (np.asarray(a.to_numpy(zero_copy_only=False), dtype=bool)
                           for a in (zero, early, future))  # fmt: skip
    if name == Col.BIRTH_DATE:  # checked through the age by the curated reader
        early = np.zeros_like(early)
    first = limits.earliest.isoformat()
    return (
        _listed(f, name, zero, dates, f"{name} is the date Excel shows for an empty or zero cell",
                ZERO_DATE_HINT, "date_too_early")
        + _listed(f, name, early & ~zero, dates, f"{name} is before {first}",
                  f"check the year; dates before {first} are not plausible here (before any "
                  "CAR-T therapy)", "date_too_early")
        + _listed(f, name, future, dates, f"{name} is in the future (after "
                  f"{limits.today.isoformat()})", "check the year and the day/month order",
                  "date_future")
    )  # fmt: skip


def _native(f: _Source, col: pa.ChunkedArray, spec: RawColumn):
    """A Parquet column already of the right type: the required check (and a number's)."""
    missing = pc.is_null(col).to_numpy(zero_copy_only=False)
    more = _bad_numbers(f, spec, col) if spec.type == "float" else []
    if spec.required and missing.any():
        return col, _listed(
            f,
            spec.name,
            missing,
            col,
            "required value is empty",
            f"fill in {spec.name} ({spec.description})",
        ) + more
    return col, more


def _nul_bytes(f: _Source, name: str, raw: pa.ChunkedArray) -> list[Problem]:
    """Text holding a NUL byte: a binary or damaged export, not a value ("isatux<NUL>imab"
    was read as a dose, a NUL in a site copied into the cohort; fuzzing, 2026-12-07)."""
    text = raw.cast(pa.string()) if pa.types.is_dictionary(raw.type) else raw
    bad = pc.fill_null(pc.match_substring(text, "\x00"), False).to_numpy(zero_copy_only=False)
    if not bad.any():
        return []
    shown = pc.replace_substring(text, "\x00", "\u2400")  # the NUL shown as a visible sign
    return _listed(f, name, bad, shown, "the text holds a NUL byte (a binary or damaged "
                   "export)", "export the table again as text (UTF-8 CSV) or Parquet")


def _bad_numbers(f: _Source, spec: RawColumn, out: pa.ChunkedArray,
                 shown: pa.ChunkedArray | None = None) -> list[Problem]:  # fmt: skip
    """A number that is negative, infinite or NaN (a dose of -5 mg or 1e400 was taken
    without a word; fuzzing, 2026-12-07)."""
    x = out.cast(pa.float64()).to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(x) & ((x < 0) | ~np.isfinite(x))
    bad |= np.isnan(x) & ~pc.is_null(out).to_numpy(zero_copy_only=False)  # NaN, not empty
    if not bad.any():
        return []
    return _listed(f, spec.name, bad, out if shown is None else shown,
                   "a negative, infinite or NaN number",
                   f"write {spec.name} as a number of 0 or more, or leave it empty")


def _to_float(raw: pa.ChunkedArray) -> pa.ChunkedArray:
    ok = pc.match_substring_regex(raw, r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
    return pc.if_else(ok, raw, pa.scalar(None, pa.string())).cast(pa.float64())


def _read_table(path: Path, name: str, specs: list[RawColumn]) -> tuple[pa.Table | None, list]:
    f, problems = _find(path, name)
    if f is None:
        return None, problems
    try:
        t = _read_strings(f, [s.name for s in specs if s.type == "string" and name != "patients"],
                          tuple(s.name for s in specs if s.type == "date"))  # fmt: skip
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        rows = _encoding(f) or (_bad_records(f) if isinstance(exc, pa.ArrowInvalid) else [])
        return None, rows or [Problem(str(f), None, None, None,
                                      "cannot be read: " + " ".join(str(exc).split())[:300],
                                      "save it as a UTF-8, comma-separated CSV file with a "
                                      "header row (or as Parquet)")]  # fmt: skip
    given, t = t.column_names, _canonical_names(t, specs)
    twice = sorted({c for c in t.column_names if t.column_names.count(c) > 1})
    if twice:
        return None, [Problem(f.name, 1, c, None, _twice(c, given, t.column_names),
                              "keep one column of that name (rename or remove the others)")
                      for c in twice]  # fmt: skip
    absent = [s.name for s in specs if s.name not in t.column_names and s.required]
    if absent:
        hint = "add the column (see docs/derivation.md, raw format)"
        return None, [
            Problem(f.name, 1, c, None, "required column is missing", hint) for c in absent
        ]
    raw = None if f.suffix == ".parquet" else f.read_bytes()
    cols, src = {}, _Source(f, _record_rows(raw, t.num_rows))
    problems += _spanning_values(src, raw, t, [s.name for s in specs])
    del raw  # the file's bytes are not held while its columns are parsed
    for s in specs:
        if s.name in t.column_names:
            cols[s.name], more = _parse(src, t, s)
            problems += more
            if s.type == "date":
                problems += _implausible(src, s.name, cols[s.name])
        elif name != "patients":  # an optional column left out is empty (labs without a
            # unit column ended in a traceback: a hand-made probe, session 27; a patient's
            # optional columns are read by name where they are used)
            cols[s.name] = pa.nulls(t.num_rows, _ARROW_TYPES[s.type])
    # a patient's other columns are carried as covariates; the other tables' are not read
    # (an extra "role", "param" or "factor" column had taken the place of the derivation's
    # own: fuzzing round 3, 2026-12-06)
    extra = {c: t[c] for c in t.column_names if c not in cols} if name == "patients" else {}
    out = pa.table({**cols, **extra, "row": pa.array(src.rows, pa.int64())})
    return out.replace_schema_metadata({FILE_KEY: f.name}), problems


def _twice(name: str, given: list[str], read: list[str]) -> str:
    """What is wrong with a column ``name`` of the header more than once."""
    heads = [g for g, r in zip(given, read, strict=True) if r == name]
    if len(set(heads)) == 1:
        return f"the column appears {len(heads)} times in the header"
    return f"the columns {', '.join(repr(h) for h in heads)} all mean {name}"


#: The Arrow type of each column type of ``raw_format.csv``.
_ARROW_TYPES = {"string": pa.string(), "date": pa.date32(), "float": pa.float64()}


def _unknown_patients(path: Path, tables: dict[str, pa.Table]) -> list[Problem]:
    ids = tables["patients"][Col.PATIENT_ID]
    problems = []
    for name in RAW_TABLES[1:]:
        bad = ~_known(tables[name][Col.PATIENT_ID], ids.combine_chunks())
        f = _Source(_table_file(path, name), tables[name]["row"].to_numpy())
        problems += _listed(f, Col.PATIENT_ID, bad & ~pc.is_null(tables[name][Col.PATIENT_ID])
                            .to_numpy(zero_copy_only=False), tables[name][Col.PATIENT_ID],
                            "patient is not in the patients table",
                            "add the patient to patients, or remove these rows")  # fmt: skip
    return problems + _duplicate_patients(_table_file(path, "patients"), tables["patients"])


def _duplicate_patients(f: Path, p: pa.Table) -> list[Problem]:
    """One problem per ``patient_id`` given by several rows, naming those rows."""
    ids = p[Col.PATIENT_ID].combine_chunks()
    dup = pc.value_counts(ids)
    twice = pc.filter(dup.field("values"), pc.greater(dup.field("counts"), 1))
    if len(twice) == 0:
        return []
    at = pc.fill_null(pc.is_in(ids, value_set=twice), False)
    rows: dict[str, list[int]] = {}
    for v, r in zip(pc.filter(ids, at).to_pylist(), pc.filter(p["row"], at).to_pylist(),
                    strict=True):  # fmt: skip
        rows.setdefault(v, []).append(r)
    hint = "keep one row per patient (merge or remove the other rows)"
    out = [Problem(f.name, r[0], Col.PATIENT_ID, v,
                   "patient_id appears more than once: rows " + ", ".join(map(str, r)), hint)
           for v, r in list(rows.items())[:_MAX_LISTED]]  # fmt: skip
    if len(rows) > _MAX_LISTED:
        out.append(Problem(f.name, None, Col.PATIENT_ID, None, f"{len(rows) - _MAX_LISTED} "
                           "more patient_id(s) appear more than once", hint))  # fmt: skip
    return out


def _known(col: pa.ChunkedArray, ids: pa.Array) -> np.ndarray:
    """True where ``col`` (text or dictionary) is one of ``ids`` (null: False)."""
    if not pa.types.is_dictionary(col.type):
        return pc.is_in(col, value_set=ids).to_numpy(zero_copy_only=False)
    parts = [pc.fill_null(pc.take(pc.is_in(ch.dictionary, value_set=ids), ch.indices), False)
             for ch in col.chunks]  # fmt: skip
    return np.concatenate([p.to_numpy(zero_copy_only=False) for p in parts] or [np.zeros(0, bool)])


def read_raw(path: str | Path) -> dict[str, pa.Table]:
    """Read and check the four raw tables of the folder ``path``.

    Returns
    -------
    dict
        ``{"patients", "administrations", "procedures", "labs"}`` Arrow tables with
        parsed ``date`` columns (date32; an administration's optional ``end_date`` is on
        or after its ``date``), ``dose`` as float, labs ``value`` as text, and ``row`` =
        the row number as a spreadsheet shows it.

    Raises
    ------
    CohortError
        Every problem found, each naming file, row, column, value and a fix.
    """
    path = Path(path)
    specs = raw_format()
    tables, problems = {}, _two_sets(path)
    for name in RAW_TABLES:
        t, more = _read_table(path, name, [s for s in specs if s.table == name])
        problems += more
        if t is not None:
            tables[name] = t
    if not problems:
        problems += _unknown_patients(path, tables)
    if "patients" in tables and not problems:
        tables["patients"] = _with_follow_up_columns(tables["patients"])
        problems += _followup(path, tables["patients"])
        found, typed = curated_columns(_table_file(path, "patients"), tables["patients"])
        problems += found
        tables["patients"] = typed
    if "administrations" in tables and not problems:
        problems += _spans(path, tables["administrations"])
    if problems:
        raise CohortError(problems, f"{len(problems)} problem(s) in the raw records at {path}")
    return tables


def _two_sets(path: Path) -> list[Problem]:
    """Raw tables both in ``path`` and in ``path/raw`` (which the reader prefers): which set
    is meant? (``raw/`` was read and the others left without a word; fuzzing, 2026-12-07)."""
    if _base(path) == path:
        return []
    top = [f.name for name in RAW_TABLES if name != "patients"
           for f in (path / f"{name}.{ext}" for ext in ("csv", "parquet")) if f.is_file()]
    if not top:
        return []
    return [Problem(str(path), None, None, None,
                    f"raw tables in both {path} ({', '.join(top)}) and its raw/ folder, which "
                    "is the one read", f"keep one set: move the tables of {path} away, or "
                    "derive the folder that holds only the set you mean",
                    rule="ambiguous_file")]  # fmt: skip


def _with_follow_up_columns(p: pa.Table) -> pa.Table:
    """``patients`` with ``death_date`` and ``last_followup_date`` (optional columns; an
    absent one is empty for every patient, then checked by :func:`_followup`)."""
    for col in (Col.DEATH_DATE, Col.LAST_FOLLOWUP_DATE):
        if col not in p.column_names:
            p = p.append_column(col, pa.nulls(p.num_rows, pa.date32()))
    return p


def _followup(path: Path, p: pa.Table) -> list[Problem]:
    neither = pc.and_(pc.is_null(p[Col.DEATH_DATE]), pc.is_null(p[Col.LAST_FOLLOWUP_DATE]))
    return _listed(_Source(_table_file(path, "patients"), p["row"].to_numpy()),
                   Col.LAST_FOLLOWUP_DATE,
                   neither.to_numpy(zero_copy_only=False), p[Col.PATIENT_ID],
                   "neither death_date nor last_followup_date is given",
                   "give the date last known alive")  # fmt: skip


def _spans(path: Path, a: pa.Table) -> list[Problem]:
    """An ``end_date`` before its ``date`` (a continued exposure cannot end before it starts)."""
    if Col.END_DATE not in a.column_names:
        return []
    before = pc.fill_null(pc.less(a[Col.END_DATE], a["date"]), False)
    return _listed(_Source(_table_file(path, "administrations"), a["row"].to_numpy()),
                   Col.END_DATE,
                   before.to_numpy(zero_copy_only=False), a[Col.END_DATE],
                   "end_date is before the administration's date",
                   "give the last day of the exposure (on or after date), or leave it empty "
                   "for a dose given on date only")  # fmt: skip


#: Pairs of patient dates the curated reader orders (``date_order``) that the raw records
#: carry: the CAR T and follow-up dates are the raw reader's own (a follow-up before the
#: CAR T is the derivation's exclusion, listed in the attrition, not an error).
_ORDERED = (
    (Col.BIRTH_DATE, Col.CAR_T_DATE),
    (Col.BIRTH_DATE, Col.DEATH_DATE),
    (Col.BIRTH_DATE, Col.LAST_FOLLOWUP_DATE),
    (Col.LAST_FOLLOWUP_DATE, Col.DEATH_DATE),
)


#: Curated patient columns the derivation writes itself (a raw column of that name is
#: dropped or replaced, so never checked): the index progression and the CAR T's response.
_DERIVED = frozenset({Col.PROGRESSION_DATE, Col.CAR_T_BEST_RESPONSE})


def replaced_columns(patients: pa.Table) -> list[str]:
    """The columns of a raw ``patients`` table that the derivation writes itself
    (:data:`_DERIVED`): their values are not read (fuzzing round 3, F14: a clinician's
    ``progression_date`` was replaced without a word)."""
    return sorted(c for c in _DERIVED if c in patients.column_names)


def curated_columns(f: Path, p: pa.Table) -> tuple[list[Problem], pa.Table]:
    """The curated reader's errors on the patient columns the raw ``patients`` table passes
    through (``ecog``, ``age_at_cart``, ``birth_date``, ``iss_stage``, ...; not those the
    derivation writes itself, :data:`_DERIVED`): cell types and
    bounds, ``birth_date`` not Excel's empty-cell date, the ages and date orders above, so
    that the derived cohort is one ``aftercar validate`` accepts (before 2026-12-05 an
    ``ecog`` of 9 was written out, and an ``age_at_cart`` of "old" failed when the cohort
    was written, after the derivation, without file or row)."""
    known = {s.name for s in columns("patients")} - _DERIVED
    names = [c for c in p.column_names if c in known]
    text = pd.DataFrame({j: _as_text(p[c]) for j, c in enumerate(names)})
    raw = RawTable(f.name, tuple(names), text, p["row"].to_numpy())
    view, cell, _blank = build_view("patients", raw, {c: j for j, c in enumerate(names)}, {})
    return _curated_problems(f, view, cell, names), _typed(p, view, names)


def _typed(p: pa.Table, view, names: list[str]) -> pa.Table:
    """``p`` with the pass-through columns (not of the raw format: ``birth_date``,
    ``iss_stage``, ``ecog`` ...) as the curated reader read them ("22/07/1965",
    "1965-07-22 00:00:00", ISS "II"): written as text they stopped the cohort's writer,
    after the derivation, without file or row (fuzzing, 2026-12-07)."""
    own = {s.name for s in raw_format() if s.table == "patients"}
    df = view.df.set_index("_pos").reindex(range(p.num_rows))  # each raw row in its place
    for c in names:
        if c in own or c not in df.columns:
            continue
        col = df[c]
        typ = pa.date32() if pd.api.types.is_datetime64_any_dtype(col) else None
        arr = pa.array(col.dt.date if typ is not None else col, type=typ, from_pandas=True)
        p = p.set_column(p.column_names.index(c), c, arr)
    return p


def _curated_problems(f: Path, view, cell, names: list[str]) -> list[Problem]:
    """The curated reader's errors found on ``view`` (:func:`curated_columns`)."""
    limits = Plausibility(dt.date.today())
    found = [cell, age_implausible(view, limits)[0]]
    if Col.BIRTH_DATE in names:
        found += date_bounds(view, [Col.BIRTH_DATE], limits)[0]
    found += [pair_order(view, a, b) for a, b in _ORDERED if a in names and b in names]
    h = pd.concat([x for x in found if len(x)] or [pd.DataFrame(columns=["rule"])],
                  ignore_index=True)  # fmt: skip
    h = h[[RULES.get(r, ("error",))[0] == "error" and r != "blank_row" for r in h["rule"]]]
    if not len(h):
        return []
    rows = view.df["_row"].to_numpy()
    return [Problem(f.name, int(rows[pos]), col, None if pd.isna(v) else str(v), msg,
                    _raw_hint(hint), rule=rule)
            for pos, col, v, msg, hint, rule in zip(h["pos"], h["column"], h["value"],
                                                    h["message"], h["hint"], h["rule"],
                                                    strict=True)]  # fmt: skip


def _raw_hint(hint: str) -> str:
    """A curated reader's fix as it applies to raw records: ``aftercar derive`` has no
    ``--date-format`` (the fix suggested it: fuzzing, 2026-12-07)."""
    if "--date-format" not in hint:
        return hint
    return "write the date as YYYY-MM-DD (e.g. 2021-04-03; aftercar derive has no --date-format)"


def _as_text(col: pa.ChunkedArray) -> pd.Series:
    """A patients column as the text the curated reader parses (empty = missing)."""
    t = col if pa.types.is_string(col.type) or pa.types.is_large_string(col.type) \
        else col.cast(pa.string())  # fmt: skip
    out = t.to_pandas().astype("string").str.strip()
    return out.mask(out == "")
