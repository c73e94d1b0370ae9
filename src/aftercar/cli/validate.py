"""``aftercar validate COHORT [--json] [--date-format FMT ...]``: check a cohort.

Prints a summary (patients, lines, date range, patients without lines, excluded
rows, warnings) and every problem, grouped by rule, each with its file, row,
column, value and fix (beyond 20 per rule, the others by file, column and row
number; ``--json`` gives every problem in full). Exit code 0 when there are only
warnings, 2 on errors (the command raises :class:`~aftercar.errors.CohortError`; the CLI maps it).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from aftercar.errors import CohortError, InputError, Problem
from aftercar.schema import Col

if TYPE_CHECKING:
    import pyarrow as pa

    from aftercar.io import Cohort, ValidationReport


class ShownCohortError(CohortError):
    """A :class:`CohortError` whose problems were already printed in full."""

    def __str__(self) -> str:
        return self.summary


def _extra_problems(cohort_or_lines: Cohort | pa.Table) -> list[Problem]:
    """Problems found by later stages (the single plug-in point of ``validate``).

    Receives the loaded :class:`~aftercar.io.Cohort` when the cohort has no
    errors, else the lines table as far as it could be typed (cells that failed
    to parse are null). Returns extra problems, each naming its row (the
    ``source_row`` column) and its file (:func:`aftercar.io.cohort.file_label`
    of the table, e.g. ``lines.csv``): the regimen warnings of
    :func:`aftercar.vocab.regimen_problems` (unrecognised or corrected words, a
    sequence in one cell, a row that is not a line of therapy) and, on a loaded
    cohort, the CAR-T product warnings of :func:`aftercar.vocab.product_problems`
    (unknown products, one product written several ways).
    """
    from aftercar.io import Cohort
    from aftercar.io.cohort import file_label
    from aftercar.vocab import product_problems, regimen_problems

    loaded = isinstance(cohort_or_lines, Cohort)
    lines = cohort_or_lines.lines if loaded else cohort_or_lines
    out = []
    if {Col.REGIMEN, Col.SOURCE_ROW} <= set(lines.column_names):
        rows = lines.column(Col.SOURCE_ROW).to_pylist()
        out += regimen_problems(lines.column(Col.REGIMEN), rows, file=file_label(lines, "lines"))
    patients = cohort_or_lines.patients if loaded else None
    if patients is not None and Col.CAR_T_PRODUCT in patients.column_names:
        rows = patients.column(Col.SOURCE_ROW).to_pylist()
        label = file_label(patients, "patients")
        out += product_problems(patients.column(Col.CAR_T_PRODUCT), rows, file=label)
    return out


def _with_extra(report: ValidationReport) -> ValidationReport:
    target = report.cohort if report.cohort is not None else report.lines
    extra = _extra_problems(target)
    if not extra:
        return report
    problems = report.problems + tuple(extra)
    summary = dict(report.summary)
    summary["errors"] = sum(p.severity == "error" for p in problems)
    summary["warnings"] = sum(p.severity == "warning" for p in problems)
    cohort = report.cohort
    if cohort is not None and summary["errors"]:
        cohort = None
    elif cohort is not None:
        warnings = cohort.warnings + tuple(p for p in extra if p.severity == "warning")
        cohort = dataclasses.replace(cohort, warnings=warnings)
    return dataclasses.replace(report, problems=problems, summary=summary, cohort=cohort)


def _summary_table(report: ValidationReport) -> Table:
    s = report.summary
    table = Table(title=f"Cohort {s['source']}", show_header=False, title_justify="left")
    table.add_column("item", style="bold")
    table.add_column("value")
    span = f"{s['first_date']} to {s['last_date']}" if s["first_date"] else "-"
    rows = [
        ("patients", s["patients"]),
        ("salvage lines", s["lines"]),
        ("patients without lines", s["patients_without_lines"]),
        ("deaths", s["deaths"]),
        ("date range", span),
        ("excluded rows", s["excluded_rows"]),
        ("errors", s["errors"]),
        ("warnings", s["warnings"]),
    ]
    for name, value in rows:
        table.add_row(name, str(value))
    return table


#: Problems of one rule shown in full; the rest are listed by row number only.
SHOW_IN_FULL = 20


def _problem_table(severity: str, rule: str, items: list[Problem]) -> Table:
    colour = "red" if severity == "error" else "yellow"
    hints = {p.hint for p in items}
    caption = f"Fix: {items[0].hint}" if len(hints) == 1 else None
    table = Table(
        title=f"[{colour}]{severity}[/] {rule} ({len(items)})",
        caption=caption,
        title_justify="left",
        caption_justify="left",
    )
    for name in ("file", "row", "column", "value", "problem"):
        table.add_column(name, overflow="fold")
    if caption is None:
        table.add_column("fix", overflow="fold")
    for p in items[:SHOW_IN_FULL]:
        cells = [
            p.file or "",
            "" if p.row is None else str(p.row),
            p.column or "",
            "" if p.value is None else p.value,
            p.message,
        ]
        # Cells quote the user's own text: escape it so rich shows "[x]" as written.
        table.add_row(*(escape(c) for c in cells), *([] if caption else [escape(p.hint)]))
    return table


def _rest(items: list[Problem]) -> Text:
    """The problems beyond :data:`SHOW_IN_FULL`, as file, column and row numbers."""
    where: dict[tuple[str, str], list[str]] = defaultdict(list)
    for p in items:
        where[(p.file or "", p.column or "")].append("-" if p.row is None else str(p.row))
    parts = [f"{f}, column '{c}', rows {', '.join(rows)}" for (f, c), rows in where.items()]
    return Text(f"... and {len(items)} more (all in --json): " + "; ".join(parts))


def _problem_tables(problems: tuple[Problem, ...]) -> list[Table | Text]:
    groups: dict[tuple[str, str], list[Problem]] = defaultdict(list)
    for p in problems:
        groups[(p.severity, p.rule)].append(p)
    out: list[Table | Text] = []
    for (severity, rule), items in sorted(groups.items()):
        out.append(_problem_table(severity, rule, items))
        if len(items) > SHOW_IN_FULL:
            out.append(_rest(items[SHOW_IN_FULL:]))
    return out


def _excluded_table(report: ValidationReport) -> list[Table | Text]:
    cohort = report.cohort
    if cohort is None or cohort.excluded.num_rows == 0:
        return []
    rows = cohort.excluded.to_pylist()
    table = Table(title=f"Rows not analysed ({len(rows)})", title_justify="left")
    for name in ("table", "row", Col.PATIENT_ID, "reason"):
        table.add_column(name, overflow="fold")
    for r in rows[:SHOW_IN_FULL]:
        table.add_row(r["table"], str(r["row"]), escape(r[Col.PATIENT_ID] or ""), r["reason"])
    if len(rows) <= SHOW_IN_FULL:
        return [table]
    where: dict[str, list[str]] = defaultdict(list)
    for r in rows[SHOW_IN_FULL:]:
        where[r["table"]].append(str(r["row"]))
    rest = "; ".join(f"{t} rows {', '.join(v)}" for t, v in where.items())
    return [table, Text(f"... and {len(rows) - SHOW_IN_FULL} more: {rest}")]


def _print_report(report: ValidationReport) -> None:
    console = Console(highlight=False)
    console.print(_summary_table(report))
    for table in _problem_tables(report.problems):
        console.print(table)
    for item in _excluded_table(report):
        console.print(item)
    if report.ok:
        console.print(f"[green]valid[/]: {report.summary['warnings']} warning(s)")


#: ``--date-format``, repeatable (shared by ``validate`` and ``report``).
DateFormats = Annotated[
    list[str] | None,
    typer.Option(
        "--date-format",
        help="strptime format of dates that are neither ISO nor written with a month "
        "name, e.g. %d/%m/%Y. Repeat it to give several: each date column uses the first "
        "that reads all of its dates. Without it, the day/month order is inferred per "
        "column where the column settles it.",
    ),
]
#: ``--earliest-date``: dates before it are errors.
EarliestDate = Annotated[
    str | None,
    typer.Option(help="Dates before it are errors (YYYY-MM-DD; default 1990-01-01)."),
]
#: ``--age-range``: plausible age at CAR T.
AgeRange = Annotated[
    str | None,
    typer.Option(help="Plausible age at CAR T in years, MIN-MAX (default 18-100)."),
]


def _age_range(text: str | None) -> tuple[float, float]:
    from aftercar.io.cohort import AGE_RANGE

    if text is None:
        return AGE_RANGE
    parts = text.replace(",", "-").split("-")
    try:
        low, high = (float(x) for x in parts)
    except ValueError:
        low = high = float("nan")
    if not low < high:
        raise InputError(
            f"--age-range {text!r} is not an age range. Fix: give MIN-MAX in years, e.g. 18-100"
        )
    return low, high


def _earliest(text: str | None) -> dt.date:
    from aftercar.io.cohort import EARLIEST_DATE

    if text is None:
        return EARLIEST_DATE
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"--earliest-date {text!r} is not a date. Fix: write it as YYYY-MM-DD, e.g. 1990-01-01"
        ) from None


def validate(
    cohort: Annotated[Path, typer.Argument(help="Cohort folder (CSV/Parquet) or .xlsx workbook.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object instead.")] = False,
    date_format: DateFormats = None,
    earliest_date: EarliestDate = None,
    age_range: AgeRange = None,
) -> None:
    """Check a cohort and list every problem (exit 2 on errors, 0 with warnings only)."""
    from aftercar.io import validate_cohort

    report = _with_extra(
        validate_cohort(
            cohort,
            date_format=date_format or None,
            earliest_date=_earliest(earliest_date),
            age_range=_age_range(age_range),
        )
    )
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print_report(report)
    if not report.ok:
        n = report.summary["errors"]
        where = "the JSON output" if as_json else "the list above"
        raise ShownCohortError(report.errors, f"{n} error(s) in the cohort {cohort}; see {where}")


def register(app: typer.Typer) -> None:
    """Add the ``validate`` command to ``app``."""
    app.command("validate")(validate)
