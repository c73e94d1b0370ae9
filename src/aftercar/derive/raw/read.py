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
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from aftercar.errors import CohortError, Problem
from aftercar.schema import Col

RAW_TABLES = ("patients", "administrations", "procedures", "labs")
#: At most this many problems are listed per column and kind.
_MAX_LISTED = 20


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
    for ext in ("csv", "parquet"):
        f = _base(path) / f"{name}.{ext}"
        if f.is_file():
            return f
    return None


#: Parquet columns already of these types are used as they are (no text round trip).
_NATIVE = {"date": pa.types.is_date32, "float": pa.types.is_floating}


def _read_strings(f: Path) -> pa.Table:
    if f.suffix == ".parquet":
        t = pq.read_table(f)
        cols = [c if pa.types.is_string(c.type) or pa.types.is_date32(c.type)
                or pa.types.is_floating(c.type) else c.cast(pa.string())
                for c in t.columns]  # fmt: skip
        return pa.table(cols, names=t.column_names)
    opts = pacsv.ConvertOptions(column_types={}, strings_can_be_null=True, auto_dict_encode=False)
    t = pacsv.read_csv(f, convert_options=opts)
    return pa.table([c.cast(pa.string()) for c in t.columns], names=t.column_names)


def _listed(f: Path, col: str, bad: np.ndarray, values: pa.ChunkedArray, msg: str,
            hint: str) -> list[Problem]:  # fmt: skip
    idx = np.flatnonzero(bad)
    out = [
        Problem(
            f.name,
            int(i) + 2,
            col,
            None if values[int(i)].as_py() is None else str(values[int(i)].as_py()),
            msg,
            hint,
        )
        for i in idx[:_MAX_LISTED]
    ]
    if idx.size > _MAX_LISTED:
        out.append(Problem(f.name, None, col, None, f"{idx.size - _MAX_LISTED} more row(s) "
                           f"with the same problem", hint))  # fmt: skip
    return out


def _parse(f: Path, t: pa.Table, spec: RawColumn) -> tuple[pa.ChunkedArray, list[Problem]]:
    col = t[spec.name]
    if spec.type in _NATIVE and _NATIVE[spec.type](col.type):
        return _native(f, col, spec)
    if not pa.types.is_string(col.type):
        col = col.cast(pa.string())
    raw = pc.utf8_trim_whitespace(col)
    raw = pc.if_else(pc.equal(raw, ""), pa.scalar(None, pa.string()), raw)
    missing = pc.is_null(raw).to_numpy(zero_copy_only=False)
    problems = []
    if spec.required and missing.any():
        problems += _listed(f, spec.name, missing, raw, "required value is empty",
                            f"fill in {spec.name} ({spec.description})")  # fmt: skip
    if spec.type == "date":
        out = pc.strptime(raw, format="%Y-%m-%d", unit="s", error_is_null=True).cast(pa.date32())
        hint = "write dates as YYYY-MM-DD"
    elif spec.type == "float":
        out = _to_float(raw)
        hint = "write a plain number (e.g. 1.5), or leave it empty"
    else:
        return raw, problems
    bad = pc.is_null(out).to_numpy(zero_copy_only=False) & ~missing
    if bad.any():
        problems += _listed(f, spec.name, bad, raw, f"not a valid {spec.type}", hint)
    return out, problems


def _native(f: Path, col: pa.ChunkedArray, spec: RawColumn):
    """A Parquet column already of the right type: only the required check."""
    missing = pc.is_null(col).to_numpy(zero_copy_only=False)
    if spec.required and missing.any():
        return col, _listed(
            f,
            spec.name,
            missing,
            col,
            "required value is empty",
            f"fill in {spec.name} ({spec.description})",
        )
    return col, []


def _to_float(raw: pa.ChunkedArray) -> pa.ChunkedArray:
    ok = pc.match_substring_regex(raw, r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
    return pc.if_else(ok, raw, pa.scalar(None, pa.string())).cast(pa.float64())


def _read_table(path: Path, name: str, specs: list[RawColumn]) -> tuple[pa.Table | None, list]:
    f = _table_file(path, name)
    if f is None:
        return None, [Problem(str(_base(path) / f"{name}.csv"), None, None, None,
                              f"the raw '{name}' table is missing",
                              f"put {name}.csv or {name}.parquet in {_base(path)}")]  # fmt: skip
    t = _read_strings(f)
    absent = [s.name for s in specs if s.name not in t.column_names and s.required]
    if absent:
        hint = "add the column (see docs/derivation.md, raw format)"
        return None, [
            Problem(f.name, 1, c, None, "required column is missing", hint) for c in absent
        ]
    cols, problems = {}, []
    for s in specs:
        if s.name in t.column_names:
            cols[s.name], more = _parse(f, t, s)
            problems += more
    extra = {c: t[c] for c in t.column_names if c not in cols}
    out = pa.table({**cols, **extra, "row": pa.array(np.arange(2, t.num_rows + 2), pa.int64())})
    return out, problems


def _unknown_patients(path: Path, tables: dict[str, pa.Table]) -> list[Problem]:
    ids = tables["patients"][Col.PATIENT_ID]
    problems = []
    for name in RAW_TABLES[1:]:
        bad = ~pc.is_in(tables[name][Col.PATIENT_ID], value_set=ids.combine_chunks()).to_numpy(
            zero_copy_only=False)  # fmt: skip
        f = _table_file(path, name)
        problems += _listed(f, Col.PATIENT_ID, bad & ~pc.is_null(tables[name][Col.PATIENT_ID])
                            .to_numpy(zero_copy_only=False), tables[name][Col.PATIENT_ID],
                            "patient is not in the patients table",
                            "add the patient to patients, or remove these rows")  # fmt: skip
    dup = pc.value_counts(ids.combine_chunks())
    twice = pc.filter(dup.field("values"), pc.greater(dup.field("counts"), 1))
    for v in twice.to_pylist()[:_MAX_LISTED]:
        problems.append(
            Problem(
                _table_file(path, "patients").name,
                None,
                Col.PATIENT_ID,
                v,
                "patient_id appears more than once",
                "keep one row per patient",
            )
        )
    return problems


def read_raw(path: str | Path) -> dict[str, pa.Table]:
    """Read and check the four raw tables of the folder ``path``.

    Returns
    -------
    dict
        ``{"patients", "administrations", "procedures", "labs"}`` Arrow tables with
        parsed ``date`` columns (date32), ``dose`` as float, labs ``value`` as text,
        and ``row`` = the row number as a spreadsheet shows it.

    Raises
    ------
    CohortError
        Every problem found, each naming file, row, column, value and a fix.
    """
    path = Path(path)
    specs = raw_format()
    tables, problems = {}, []
    for name in RAW_TABLES:
        t, more = _read_table(path, name, [s for s in specs if s.table == name])
        problems += more
        if t is not None:
            tables[name] = t
    if not problems:
        problems += _unknown_patients(path, tables)
    if "patients" in tables and not problems:
        problems += _followup(path, tables["patients"])
    if problems:
        raise CohortError(problems, f"{len(problems)} problem(s) in the raw records at {path}")
    return tables


def _followup(path: Path, p: pa.Table) -> list[Problem]:
    neither = pc.and_(pc.is_null(p[Col.DEATH_DATE]), pc.is_null(p[Col.LAST_FOLLOWUP_DATE]))
    return _listed(_table_file(path, "patients"), Col.LAST_FOLLOWUP_DATE,
                   neither.to_numpy(zero_copy_only=False), p[Col.PATIENT_ID],
                   "neither death_date nor last_followup_date is given",
                   "give the date last known alive")  # fmt: skip
