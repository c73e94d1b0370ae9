"""Read and validate a curated cohort: :func:`validate_cohort` and :func:`read_cohort`.

Every rule of :data:`aftercar.io.checks.RULES` runs on the whole input, so one
pass reports every problem, each naming the file (``lines.csv`` or
``cohort.xlsx:lines``), the row as a spreadsheet shows it (header = row 1), the
column as the user wrote it, the value, what is wrong and how to fix it.

A per-rule ``policy`` decides what a hit does: ``"error"`` (the cohort cannot be
loaded), ``"warning"`` (loaded; the problem is kept on :attr:`Cohort.warnings`) or
``"exclude"`` (the row is left out and listed in :attr:`Cohort.excluded` with the
reason; a patient's exclusion excludes their lines too). Defaults are in
:data:`~aftercar.io.checks.RULES`: completely blank rows are excluded, patients
without salvage lines, unnamed columns and lines starting before the previous line
are warnings, everything else is an error. File-level rules (missing file, sheet
or column) are always errors.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from aftercar.errors import CohortError, ConfigError, Problem
from aftercar.io import checks
from aftercar.io.checks import HIT_COLUMNS, RULES, Plausibility, TableView
from aftercar.io.dictionary import TABLES, columns, schema
from aftercar.io.parse import check_date_format, date_formats
from aftercar.io.readers import read_raw
from aftercar.io.tables import build_view, match_headers, missing_columns
from aftercar.schema import Col

#: Rules whose policy cannot be changed (the cohort cannot be read without them).
FIXED_RULES = frozenset(
    {
        "missing_path",
        "missing_file",
        "ambiguous_file",
        "missing_sheet",
        "unreadable_file",
        "unsupported_path",
        "empty_file",
        "missing_column",
        "duplicate_column",
        "repeated_header",
        "mixed_separators",
    }
)
POLICIES = ("error", "warning", "exclude")
#: Default earliest plausible date (before any CAR-T therapy) and age range at CAR T.
EARLIEST_DATE = dt.date(1990, 1, 1)
AGE_RANGE = (18.0, 100.0)
#: Rules about a whole column (reported without a row): never ``"exclude"``.
COLUMN_RULES = frozenset({"date_order_inferred", "date_format_mismatch"})
#: Arrow schema metadata key holding the file label (``lines.csv``, ``cohort.xlsx:lines``)
#: of a loaded table, so later checks can name the file in their problems.
FILE_KEY = "aftercar.file"
EXCLUDED_SCHEMA = pa.schema(
    [
        ("table", pa.string()),
        ("row", pa.int64()),
        (Col.PATIENT_ID, pa.string()),
        ("reason", pa.string()),
    ]
)


@dataclass(frozen=True)
class Cohort:
    """A validated, typed cohort.

    Attributes
    ----------
    patients, lines
        Arrow tables with the canonical columns of ``dictionary.csv`` (optional
        columns absent from the input are all-null), ``source_row`` (the
        spreadsheet row, header = row 1) and any user covariates. The schema
        metadata key ``"aftercar.file"`` holds the file as the user sees it.
    excluded
        Rows not analysed: ``table, row, patient_id, reason``.
    warnings
        Warning-level problems found while loading.
    source
        The path the cohort was read from.
    """

    patients: pa.Table
    lines: pa.Table
    excluded: pa.Table
    warnings: tuple[Problem, ...] = ()
    source: str = ""

    def file(self, table: str) -> str:
        """The input file of ``table`` (``"patients"``/``"lines"``) as the user sees it."""
        return file_label(getattr(self, table), table)

    def to_ibis(self, con=None):
        """Return ``(patients, lines)`` as Ibis tables on ``con``.

        ``con`` defaults to a new in-process DuckDB connection from
        :func:`aftercar.backends.duckdb.connect`; the tables are created (or
        replaced) as ``patients`` and ``lines``.
        """
        from aftercar.backends.duckdb import connect

        con = connect() if con is None else con
        return (
            con.create_table("patients", self.patients, overwrite=True),
            con.create_table("lines", self.lines, overwrite=True),
        )

    def __repr__(self) -> str:
        return (
            f"Cohort(source={self.source!r}, patients={self.patients.num_rows}, "
            f"lines={self.lines.num_rows}, excluded={self.excluded.num_rows}, "
            f"warnings={len(self.warnings)})"
        )


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of :func:`validate_cohort`.

    Attributes
    ----------
    problems
        Every error and warning, in file and row order.
    summary
        JSON-ready counts: ``source, patients, lines, patients_without_lines,
        deaths, first_date, last_date, excluded_rows, errors, warnings``.
    cohort
        The loaded cohort when there are no errors, else ``None``.
    lines
        The lines table as far as it could be typed (cells that failed to parse
        are null), for further checks such as regimen vocabulary that can run
        even when other errors exist. Never analyse it when ``ok`` is false.
    """

    problems: tuple[Problem, ...]
    summary: Mapping[str, Any]
    cohort: Cohort | None = None
    lines: pa.Table = field(default_factory=lambda: schema("lines").empty_table(), repr=False)

    @property
    def ok(self) -> bool:
        """True when no problem has severity ``"error"``."""
        return not any(p.severity == "error" for p in self.problems)

    @property
    def errors(self) -> tuple[Problem, ...]:
        """The error-level problems."""
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """The warning-level problems."""
        return tuple(p for p in self.problems if p.severity == "warning")

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"ValidationReport(ok={self.ok}, errors={len(self.errors)}, "
            f"warnings={len(self.warnings)}, patients={s['patients']}, lines={s['lines']})"
        )

    def to_frame(self) -> pd.DataFrame:
        """The problems as a DataFrame (one row per problem, the fields of Problem)."""
        fields = ["file", "row", "column", "value", "message", "hint", "severity", "rule"]
        frame = pd.DataFrame([p.to_dict() for p in self.problems], columns=fields)
        return frame.astype({"row": "Int64"})

    def to_dict(self) -> dict[str, Any]:
        """``{"ok", "summary", "problems"}`` ready for ``json.dumps``."""
        return {
            "ok": self.ok,
            "summary": dict(self.summary),
            "problems": [p.to_dict() for p in self.problems],
        }


def file_label(table: pa.Table, default: str) -> str:
    """The ``"aftercar.file"`` schema metadata of a loaded table (``default`` if absent)."""
    meta = table.schema.metadata or {}
    return meta.get(FILE_KEY.encode(), default.encode()).decode()


def resolve_policy(policy: Mapping[str, str] | None) -> dict[str, str]:
    """Merge ``policy`` over the defaults of :data:`RULES`; refuse unknown rules/values."""
    out = {rule: default for rule, (default, _) in RULES.items()}
    problems = []
    for rule, action in (policy or {}).items():
        if rule not in RULES:
            problems.append(f"unknown rule {rule!r}")
        elif action not in POLICIES:
            problems.append(f"policy for {rule!r} must be one of {', '.join(POLICIES)}")
        elif rule in FIXED_RULES and action != "error":
            problems.append(f"rule {rule!r} is always an error")
        elif rule in COLUMN_RULES and action == "exclude":
            problems.append(f"rule {rule!r} is about a whole column and cannot exclude rows")
        else:
            out[rule] = action
    if problems:
        raise ConfigError("invalid validation policy: " + "; ".join(problems))
    return out


def _plausible(
    p: TableView, ln: TableView, limits: Plausibility
) -> tuple[list[pd.DataFrame], TableView, TableView]:
    """Date and age plausibility; views with the implausible cells masked for later rules."""
    out, views = [], []
    for t in (p, ln):
        dates = [s.name for s in columns(t.name) if s.type == "date"]
        found, masks = checks.date_bounds(t, dates, limits)
        out += found
        views.append(t.masked(masks))
    found, birth = checks.age_implausible(views[0], limits)
    out.append(found)
    return out, views[0].masked({Col.BIRTH_DATE: birth}), views[1]


def _cross_hits(p: TableView, ln: TableView, limits: Plausibility) -> list[pd.DataFrame]:
    """Run every row-level and cross-table rule on the non-blank rows.

    Cells found implausible (dates out of bounds, an impossible age) are masked
    for the later rules, so that one bad cell gives one problem.
    """
    out, p, ln = _plausible(p, ln, limits)
    order = checks.LineOrder.of(ln)
    out += [
        checks.duplicate_patients(p),
        checks.patient_id_variants(p),
        checks.site_variants(p),
        checks.duplicate_lines(ln, order),
        checks.line_sequence(ln, order),
        checks.line_start_order(ln, order),
        *checks.date_order(p, ln),
        checks.age_mismatch(p),
    ]
    if {Col.DEATH_DATE, Col.LAST_FOLLOWUP_DATE} & p.labels.keys():
        out.append(checks.no_followup(p))
    if Col.PATIENT_ID in p.labels and Col.PATIENT_ID in ln.labels:
        out += [checks.unknown_patients(p, ln), checks.no_lines(p, ln)]
    return out


def _nonblank(view: TableView, blank: np.ndarray) -> TableView:
    return view.subset(~blank)


def _to_problems(h: pd.DataFrame, views: dict[str, TableView], severity: np.ndarray) -> list:
    """Problems from hits, in file, row and column order (errors first on ties).

    ``pos`` -1 marks a problem about a whole column (no row). The order is the one
    :func:`_sort_key` gives, computed with one numpy lexsort instead of a Python key
    per problem.
    """
    files = {n: v.file for n, v in views.items()}
    rows = {n: np.append(v.df["_row"].to_numpy(), -1) for n, v in views.items()}
    table = h["table"].to_numpy(dtype=object)
    pos = h["pos"].to_numpy(dtype=np.int64)
    row = np.full(len(h), -1, dtype=np.int64)
    rank = np.zeros(len(h), dtype=np.int64)
    for k, name in enumerate(views):
        here = table == name
        row[here] = rows[name][pos[here]]
        rank[here] = k
    column = h["column"].astype(object).where(h["column"].notna(), "").to_numpy(dtype=object)
    by_column = np.unique(column.astype(str), return_inverse=True)[1]
    warning = np.asarray(severity, dtype=object) == "warning"
    order = np.lexsort((np.arange(len(h)), warning, by_column, row, rank))
    value = [None if pd.isna(v) else str(v) for v in h["value"].to_numpy(dtype=object)[order]]
    return [
        Problem(files[t], None if r < 0 else r, c, v, m, hint, sev, rule)  # type: ignore[arg-type]
        for t, r, c, v, m, hint, sev, rule in zip(
            table[order].tolist(),
            row[order].tolist(),
            h["column"].to_numpy(dtype=object)[order].tolist(),
            value,
            h["message"].to_numpy(dtype=object)[order].tolist(),
            h["hint"].to_numpy(dtype=object)[order].tolist(),
            np.asarray(severity, dtype=object)[order].tolist(),
            h["rule"].to_numpy(dtype=object)[order].tolist(),
            strict=True,
        )
    ]


def _exclusions(h: pd.DataFrame, views: dict[str, TableView]) -> pd.DataFrame:
    """Rows to exclude (``table, pos, reason``), cascading patients to their lines."""
    ex = h.loc[h["pos"].to_numpy(dtype=np.int64) >= 0, ["table", "pos", "message"]]
    ex = ex.rename(columns={"message": "reason"})
    ex = ex.drop_duplicates(["table", "pos"])
    p, ln = views["patients"].df, views["lines"].df
    gone = ex[ex["table"] == "patients"]
    if len(gone):
        ids = p[Col.PATIENT_ID].iloc[gone["pos"].to_numpy()]
        reason = dict(zip(ids, gone["reason"], strict=True))
        hit = checks.isin(ln[Col.PATIENT_ID], ids)
        cascade = pd.DataFrame(
            {
                "table": "lines",
                "pos": ln["_pos"].to_numpy()[hit],
                "reason": "patient excluded: " + ln[Col.PATIENT_ID][hit].map(reason).to_numpy(),
            }
        )
        ex = pd.concat([ex, cascade]).drop_duplicates(["table", "pos"])
    return ex


def _excluded_table(ex: pd.DataFrame, views: dict[str, TableView]) -> pa.Table:
    parts = []
    for name in TABLES:
        sub = ex[ex["table"] == name].sort_values("pos")
        df = views[name].df
        pos = sub["pos"].to_numpy(dtype=np.int64)
        parts.append(
            pd.DataFrame(
                {
                    "table": name,
                    "row": df["_row"].to_numpy()[pos],
                    Col.PATIENT_ID: df[Col.PATIENT_ID].iloc[pos].to_numpy(dtype=object),
                    "reason": sub["reason"].to_numpy(),
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    return pa.Table.from_pandas(frame, schema=EXCLUDED_SCHEMA, preserve_index=False)


def _arrow(view: TableView, drop: np.ndarray) -> pa.Table:
    df = view.df[~drop]
    base = schema(view.name)
    canon = [f.name for f in base if f.name != Col.SOURCE_ROW]
    extra = [c for c in df.columns if c not in canon and not c.startswith("_")]
    arrays = [pa.array(df[c], from_pandas=True).cast(base.field(c).type) for c in canon]
    arrays.append(pa.array(df["_row"].to_numpy(dtype=np.int64)))
    arrays += [pa.array(df[c], from_pandas=True) for c in extra]
    table = pa.Table.from_arrays(arrays, names=[*canon, Col.SOURCE_ROW, *extra])
    return table.replace_schema_metadata({FILE_KEY: view.file})


def _derive_age(p: TableView) -> None:
    """Fill empty ``age_at_cart`` from ``birth_date`` (years = days / 365.25)."""
    days = (p.df[Col.CAR_T_DATE] - p.df[Col.BIRTH_DATE]).dt.days
    age = (days / 365.25).astype("Float64")
    p.df[Col.AGE_AT_CART] = p.df[Col.AGE_AT_CART].fillna(age.where(age >= 0))


def _without_lines(patients: pa.Table, lines: pa.Table) -> int:
    ids = patients.column(Col.PATIENT_ID).drop_null()
    treated = pc.is_in(ids, value_set=pc.unique(lines.column(Col.PATIENT_ID).drop_null()))
    return len(ids) - pc.sum(treated).as_py() if len(ids) else 0


def _summary(
    source: str,
    cohort: tuple[pa.Table, pa.Table],
    excluded: int,
    problems: list[Problem],
    without: int | None = None,
) -> dict[str, Any]:
    """The summary of :class:`ValidationReport` (``without``: patients without lines,
    computed from the tables when not given)."""
    patients, lines = cohort
    dates = [
        patients.column(s.name)
        for s in columns("patients")
        if s.type == "date" and s.name != Col.BIRTH_DATE
    ]
    dates += [lines.column(s.name) for s in columns("lines") if s.type == "date"]
    ranges = [pc.min_max(d).as_py() for d in dates]
    lows = [r["min"] for r in ranges if r["min"] is not None]
    highs = [r["max"] for r in ranges if r["max"] is not None]
    without = _without_lines(patients, lines) if without is None else without
    return {
        "source": source,
        "patients": patients.num_rows,
        "lines": lines.num_rows,
        "patients_without_lines": without,
        "deaths": patients.column(Col.DEATH_DATE).drop_null().length(),
        "first_date": min(lows).isoformat() if lows else None,
        "last_date": max(highs).isoformat() if highs else None,
        "excluded_rows": excluded,
        "errors": sum(p.severity == "error" for p in problems),
        "warnings": sum(p.severity == "warning" for p in problems),
    }


def _sort_key(order: dict[str, int]):
    def key(p: Problem) -> tuple:
        return (
            order.get(p.file or "", len(order)),
            p.file or "",
            -1 if p.row is None else p.row,
            p.column or "",
        )

    return key


def _failed(source: str, problems: list[Problem]) -> ValidationReport:
    empty = (schema("patients").empty_table(), schema("lines").empty_table())
    return ValidationReport(tuple(problems), _summary(source, empty, 0, problems))


def _structure(raw: dict) -> tuple[dict, list[Problem]]:
    matched, problems = {}, []
    for name in TABLES:
        canonical, covariates, probs = match_headers(name, raw[name])
        problems += probs + missing_columns(name, raw[name], canonical)
        matched[name] = (canonical, covariates)
    return matched, problems


def validate_cohort(
    path: str | Path,
    *,
    date_format: str | Sequence[str] | None = None,
    policy: Mapping[str, str] | None = None,
    today: dt.date | None = None,
    earliest_date: dt.date = EARLIEST_DATE,
    age_range: tuple[float, float] = AGE_RANGE,
) -> ValidationReport:
    """Check a cohort and report every problem at once.

    Parameters
    ----------
    path
        A folder with ``patients`` and ``lines`` as CSV or Parquet (stems
        ``patients``/``lines`` or ending ``_patients``/``_lines``), or an ``.xlsx``
        workbook with sheets ``patients`` and ``lines``.
    date_format
        ``strptime`` format(s) for dates that are neither ISO 8601 nor written
        with a month name (e.g. ``"%d/%m/%Y"``); a column uses the first that
        reads all such dates of it (:mod:`aftercar.io.dates`). Without it the
        day/month order is inferred per column where the column settles it.
    policy
        ``{rule: "error" | "warning" | "exclude"}`` overriding the defaults of
        :data:`aftercar.io.checks.RULES` (see the module docstring).
    today
        The date after which dates count as "in the future" (default: today).
    earliest_date
        Dates before it (other than ``birth_date``) are errors (``date_too_early``);
        default 1990-01-01.
    age_range
        Plausible age at CAR T in years, ``(min, max)``, default ``(18, 100)``;
        outside it is an error (``age_implausible``).

    Returns
    -------
    ValidationReport
        ``problems``, ``summary``, and the ``cohort`` when ``ok``.

    Raises
    ------
    ConfigError, InputError
        When ``policy`` names an unknown rule or action; when a ``date_format`` is
        not a ``strptime`` format.
    """
    actions = resolve_policy(policy)
    check_date_format(date_format)
    lo, hi = (float(a) for a in age_range)
    limits = Plausibility(dt.date.today() if today is None else today, earliest_date, lo, hi)
    source = str(path)
    try:
        raw = read_raw(path)
    except CohortError as exc:
        return _failed(source, list(exc.problems))
    views, hits, problems = _parse(raw, date_formats(date_format), limits)
    return _report(source, raw, views, hits, problems, actions)


def _report(source: str, raw: dict, views: dict, hits: pd.DataFrame, problems: list, actions):
    """Apply the policy to the hits, order every problem and assemble the report."""
    action = hits["rule"].map(actions).to_numpy(dtype=object)
    shown = action != "exclude"
    found = _to_problems(hits[shown], views, action[shown])
    if problems:  # file-level problems: merge them in (rare; a Python sort is fine)
        order = _sort_key({raw[n].label: i for i, n in enumerate(TABLES)})
        found = sorted(problems + found, key=order)
    return _assemble(source, views, found, _exclusions(hits[~shown], views))


def _empty_cohort(raw: dict) -> list[Problem]:
    if raw["patients"].data.notna().any(axis=None):
        return []
    label = raw["patients"].label
    return [
        Problem(
            label,
            None,
            None,
            None,
            "the patients table has no data rows",
            "fill in one row per patient",
            "error",
            "empty_cohort",
        )
    ]


def _parse(raw: dict, formats: tuple[str, ...], limits: Plausibility):
    """Type both tables and run every rule: ``(views, hits, structural problems)``."""
    matched, problems = _structure(raw)
    problems += _empty_cohort(raw)
    views, cell_hits, blanks = {}, [pd.DataFrame(columns=HIT_COLUMNS)], {}
    for name in TABLES:
        windows = {s.name: limits.window(s.name) for s in columns(name) if s.type == "date"}
        views[name], found, blanks[name] = build_view(
            name, raw[name], *matched[name], formats=formats, windows=windows
        )
        cell_hits.append(found)
    _derive_age(views["patients"])
    codes = checks.patient_codes(
        views["patients"].df[Col.PATIENT_ID], views["lines"].df[Col.PATIENT_ID]
    )
    for name, pid in zip(TABLES, codes, strict=True):
        views[name].df["_pid"] = pid
    live = {n: _nonblank(v, blanks[n]) for n, v in views.items()}
    found = [h for h in _cross_hits(live["patients"], live["lines"], limits) if len(h)]
    return views, pd.concat([*cell_hits, *found], ignore_index=True), problems


def _untreated(views: dict, drop: dict) -> int:
    """Analysed patients (with an id) none of whose analysed lines names them."""
    ppid = views["patients"].df["_pid"].to_numpy()[~drop["patients"]]
    lpid = views["lines"].df["_pid"].to_numpy()[~drop["lines"]]
    treated = np.zeros(max(int(ppid.max(initial=-1)), int(lpid.max(initial=-1))) + 2, bool)
    treated[lpid[lpid >= 0]] = True
    return int(((ppid >= 0) & ~treated[ppid]).sum())


def _positions_mask(n: int, pos: pd.Series) -> np.ndarray:
    """``n`` flags, true at the row positions ``pos`` (a boolean index, not ``np.isin``:
    the positions come as objects, for which ``np.isin`` compares every pair, hours for a
    sheet whose stray cell makes a million blank rows)."""
    mask = np.zeros(n, dtype=bool)
    mask[pos.to_numpy(dtype=np.int64)] = True
    return mask


def _assemble(source: str, views: dict, problems: list[Problem], ex: pd.DataFrame):
    """Build the report (and the cohort when there is no error) after exclusions."""
    drop = {
        n: _positions_mask(len(v.df), ex.loc[ex["table"] == n, "pos"]) for n, v in views.items()
    }
    tables = (_arrow(views["patients"], drop["patients"]), _arrow(views["lines"], drop["lines"]))
    excluded = _excluded_table(ex, views)
    summary = _summary(source, tables, excluded.num_rows, problems, _untreated(views, drop))
    ok = not any(p.severity == "error" for p in problems)
    warnings = tuple(p for p in problems if p.severity == "warning")
    cohort = Cohort(*tables, excluded, warnings, source) if ok else None
    return ValidationReport(tuple(problems), summary, cohort, tables[1])


def read_cohort(
    path: str | Path,
    *,
    date_format: str | Sequence[str] | None = None,
    policy: Mapping[str, str] | None = None,
    today: dt.date | None = None,
    earliest_date: dt.date = EARLIEST_DATE,
    age_range: tuple[float, float] = AGE_RANGE,
) -> Cohort:
    """Read a curated cohort; raise :class:`~aftercar.errors.CohortError` listing every error.

    See :func:`validate_cohort` for the parameters. Warnings are kept on
    :attr:`Cohort.warnings`; excluded rows on :attr:`Cohort.excluded`.

    Examples
    --------
    >>> cohort = read_cohort("my_cohort/")  # doctest: +SKIP
    >>> cohort = read_cohort("us_dates/", date_format=["%m/%d/%Y", "%m-%d-%y"])  # doctest: +SKIP
    >>> cohort.patients.column("progression_date")  # doctest: +SKIP
    """
    report = validate_cohort(
        path,
        date_format=date_format,
        policy=policy,
        today=today,
        earliest_date=earliest_date,
        age_range=age_range,
    )
    if report.cohort is None:
        n = len(report.errors)
        raise CohortError(report.errors, f"{n} error(s) in the cohort {path}")
    return report.cohort
