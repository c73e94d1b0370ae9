"""Turn a raw table into a typed :class:`~aftercar.io.checks.TableView` plus cell hits.

Headers are matched to the data dictionary ignoring case, spaces and punctuation;
unknown headers become user covariates (snake_case names, typed as numbers or
booleans when every value parses, text otherwise); every cell of a dictionary
column is parsed by :func:`aftercar.io.parse.parse_column`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from aftercar.errors import Problem
from aftercar.io import dates
from aftercar.io.cells import Distinct, Finding
from aftercar.io.checks import HIT_COLUMNS, NO_HITS, TableView, hits
from aftercar.io.dictionary import ColumnSpec, columns, normalize_name, snake_name
from aftercar.io.parse import ANY_DATE, MAX_WHOLE, parse_bools, parse_column
from aftercar.io.readers import RawTable
from aftercar.schema import Col, derived_columns

MESSAGES: dict[str, tuple[str, str]] = {
    "number_unparseable": ("{col} is not a number", "write a number, with '.' as decimal point"),
    "number_not_integer": ("{col} must be a whole number", "write a whole number, e.g. 2"),
    "number_out_of_range": ("{col} is outside the allowed range ({range})", "correct the value"),
    "bool_unparseable": (
        "{col} is not yes/no",
        "write yes or no (also accepted: true/false, y/n, 1/0), without a qualifier such as "
        "'?', '*' or brackets; leave empty if unknown",
    ),
    "response_unparseable": (
        "{col} is not an IMWG response category",
        "use sCR, CR, VGPR, PR, MR, SD, PD or NE (full names such as 'very good partial "
        "response' are accepted), without a qualifier such as '<', '?', '*' or a footnote "
        "mark; leave empty if not assessed",
    ),
    "stage_unparseable": (
        "{col} is not an ISS stage",
        "write 1, 2 or 3 (I, II, III are also accepted), without a qualifier such as '<', "
        "'+' or '?'; leave empty if unknown",
    ),
}
FORMULA_HINT = (
    "open the workbook in Excel or LibreOffice and save it again (so that the formula's "
    "result is stored), or type the value instead of the formula"
)


def _range_text(spec: ColumnSpec) -> str:
    if spec.maximum is None:
        return f"at least {spec.minimum:g}"
    if spec.minimum is None:
        return f"at most {spec.maximum:g}"
    return f"{spec.minimum:g} to {spec.maximum:g}"


def _problem(
    file: str, column: str | None, message: str, hint: str, rule: str, severity: str = "error"
) -> Problem:
    return Problem(file, None, column, None, message, hint, severity, rule)  # type: ignore[arg-type]


def _computed(name: str) -> frozenset[str]:
    """Names a covariate of table ``name`` may not take: the columns aftercar derives
    (``derived_tables.csv``) and those of the other input table (a ``death_date`` in
    ``lines``): with them a report stopped (fuzzing round 3, 2026-12-06)."""
    other = "lines" if name == "patients" else "patients"
    names = {c.name for c in derived_columns()} | {s.name for s in columns(other)}
    # source_row is a clash (duplicate_column); drugs a column `aftercar derive` writes in
    # lines, read back with the cohort as it was before
    return frozenset(names - {Col.SOURCE_ROW, Col.DRUGS})


def _computed_problem(label: str, header: str, target: str) -> Problem:
    return _problem(label, header, f"column '{header}' is {target}, a column aftercar "
                    "computes from the dates and lines (or one of the other table): it is "
                    "not read", "rename the column to keep it as a covariate",
                    "derived_column", "warning")  # fmt: skip


def match_headers(name: str, raw: RawTable) -> tuple[dict[str, int], dict[str, int], list[Problem]]:
    """Map dictionary columns and covariates to raw column positions.

    Returns ``(canonical, covariates, problems)`` where the dicts map a column
    name to its position in ``raw``.
    """
    specs = {normalize_name(s.name): s.name for s in columns(name)}
    canonical: dict[str, int] = {}
    covariates: dict[str, int] = {}
    problems = []
    taken = {s.name for s in columns(name)} | {Col.SOURCE_ROW}
    for j, header in enumerate(raw.headers):
        if header == "":
            problems.append(
                _problem(
                    raw.label,
                    f"column {j + 1}",
                    "the column has values but no header; it is ignored",
                    "give the column a header",
                    "unnamed_column",
                    "warning",
                )
            )
            continue
        key = specs.get(normalize_name(header))
        target, pool = (key, canonical) if key else (snake_name(header), covariates)
        if not key and target in _computed(name):
            problems.append(_computed_problem(raw.label, header, target))
            continue
        if target in canonical or target in covariates or (not key and target in taken):
            first = [
                h
                for i, h in enumerate(raw.headers)
                if i < j and (specs.get(normalize_name(h)) or snake_name(h)) == target
            ]
            message = (
                f"columns '{first[0]}' and '{header}' both mean {target}"
                if first
                else f"column '{header}' clashes with aftercar's own column {target}"
            )
            problems.append(
                _problem(
                    raw.label, header, message, "keep one of them or rename one", "duplicate_column"
                )
            )
            continue
        pool[target] = j
    return canonical, covariates, problems


def missing_columns(name: str, raw: RawTable, canonical: dict[str, int]) -> list[Problem]:
    """``missing_column`` problems for required columns absent from ``raw``."""
    out = [
        _problem(
            raw.label,
            s.name,
            f"required column '{s.name}' is missing",
            f"add a column headed {s.name} (case, spaces and punctuation are ignored)",
            "missing_column",
        )
        for s in columns(name)
        if s.required and s.name not in canonical
    ]
    if name == "patients" and not {Col.DEATH_DATE, Col.LAST_FOLLOWUP_DATE} & canonical.keys():
        out.append(
            _problem(
                raw.label,
                Col.LAST_FOLLOWUP_DATE,
                "required column "
                "'last_followup_date' is missing (there is no death_date column "
                "either)",
                "add last_followup_date (date last known alive) and death_date columns",
                "missing_column",
            )
        )
    return out


def _column_hit(view: TableView, column: str, finding: Finding) -> pd.DataFrame:
    """A problem about a whole column: ``pos`` is -1 (reported without a row)."""
    return pd.DataFrame(
        [[view.name, -1, view.label(column), None, finding.message, finding.hint, finding.rule]],
        columns=HIT_COLUMNS,
    )


def _cell_hits(view: TableView, spec: ColumnSpec, findings: list[Finding]) -> list[pd.DataFrame]:
    out = []
    for f in findings:
        if f.mask is None:
            out.append(_column_hit(view, spec.name, f))
            continue
        message, hint = MESSAGES.get(f.rule, ("", ""))
        bounds = spec.minimum is not None or spec.maximum is not None
        message = message.format(col=spec.name, range=_range_text(spec) if bounds else "")
        out.append(
            hits(
                view,
                f.mask,
                spec.name,
                message if f.message is None else f.message,
                hint if f.hint is None else f.hint,
                f.rule,
            )
        )
    return out


def formula_hits(view: TableView, raw: RawTable) -> pd.DataFrame:
    """``formula_no_value``: workbook formulas without a saved result (they read as empty)."""
    if not raw.formulas:
        return NO_HITS
    pos, col, ref, formula = (list(x) for x in zip(*raw.formulas, strict=True))
    return pd.DataFrame(
        {
            "table": view.name,
            "pos": pos,
            "column": [raw.headers[j] or f"column {j + 1}" for j in col],
            "value": formula,
            "message": [
                f"cell {r} holds a formula with no saved result, so it reads as empty" for r in ref
            ],
            "hint": FORMULA_HINT,
            "rule": "formula_no_value",
        },
        columns=HIT_COLUMNS,
    )


def _covariate(text: pd.Series) -> pd.Series:
    """Type a user covariate: numbers, then yes/no, else text (on its distinct values).

    A column with zero-padded values such as ``007`` stays text (codes, not numbers).
    """
    if not text.notna().any():
        return text.astype("string")
    cells = Distinct.of(text)
    numbers = np.asarray(pd.to_numeric(cells.values.astype(object), errors="coerce"), float)
    codes = cells.values.str.fullmatch(r"[+-]?0[0-9]+").any()  # e.g. "007": an identifier
    if not codes and not np.isnan(numbers).any():
        typed = pd.Series(pd.array(cells.spread(numbers, np.nan), dtype="Float64"), text.index)
        finite = np.isfinite(numbers) & (np.abs(numbers) <= MAX_WHOLE)
        whole = finite.all() and bool((numbers == np.round(numbers)).all())
        return typed.round().astype("Int64") if whole else typed
    bools, failures = parse_bools(text)
    if not failures["bool_unparseable"].any():
        return bools
    return text.astype("string")


def _formula_masks(raw: RawTable, canonical: dict[str, int]) -> dict[str, np.ndarray]:
    """Per canonical column, the cells holding a formula without a saved result."""
    out: dict[str, np.ndarray] = {}
    where = {j: name for name, j in canonical.items()}
    for i, j, _, _ in raw.formulas:
        if j in where:
            out.setdefault(where[j], np.zeros(len(raw.data), dtype=bool))[i] = True
    return out


def _ambiguity_hints(name: str, text: pd.DataFrame, findings: dict[str, list[Finding]]) -> None:
    """Suggest the day/month order the table's other date columns settle (if they agree).

    A column whose day/month dates all read both ways is refused (its own values
    are what counts); the hint then names the format the rest of the file shows.
    """
    default = dates.ambiguous_hint("%d/%m/%Y")
    unsettled = {
        c: f
        for c, fs in findings.items()
        for f in fs
        if f.rule == "date_ambiguous" and f.hint == default
    }
    if not unsettled:
        return
    others = [s.name for s in columns(name) if s.type == "date" and s.name not in unsettled]
    orders = {dates.settled_order(text[c]) for c in others} - {None}
    if len(orders) != 1:
        return
    order = orders.pop()
    for column, f in unsettled.items():
        sample = str(text[column][f.mask].iloc[0])
        hint = dates.ambiguous_hint(dates.order_format(order, sample))
        findings[column] = [
            Finding(g.rule, g.mask, g.message, hint) if g is f else g for g in findings[column]
        ]


def build_view(
    name: str,
    raw: RawTable,
    canonical: dict[str, int],
    covariates: dict[str, int],
    *,
    formats: Sequence[str] = (),
    windows: Mapping[str, tuple[dt.date, dt.date]] | None = None,
) -> tuple[TableView, pd.DataFrame, np.ndarray]:
    """Parse ``raw`` into a typed :class:`TableView`; return ``(view, hits, blank)``.

    ``formats`` are the ``--date-format`` values; ``windows`` maps a date column to
    the dates an Excel serial may mean there. ``blank`` marks completely empty rows
    (kept in the view for accounting).
    """
    n = len(raw.data)
    empty = pd.Series(pd.NA, index=raw.data.index, dtype="string")
    text = pd.DataFrame(
        {
            s.name: raw.data[canonical[s.name]] if s.name in canonical else empty
            for s in columns(name)
        },
        index=raw.data.index,
    )
    blank = raw.data.isna().all(axis=1).to_numpy() if raw.data.shape[1] else np.ones(n, bool)
    typed, findings = {}, {}
    for spec in columns(name):
        j = canonical.get(spec.name)
        typed[spec.name], findings[spec.name] = parse_column(
            text[spec.name],
            spec,
            formats=formats,
            numbers=raw.numbers.get(j) if j is not None else None,
            window=(windows or {}).get(spec.name, ANY_DATE),
            rows=raw.rows,
            serial_shift=raw.serial_shift,
        )
    _ambiguity_hints(name, text, findings)
    df = pd.DataFrame(typed, index=raw.data.index)
    for cov, j in covariates.items():
        df[cov] = _covariate(raw.data[j])
    df["_pos"] = np.arange(n)
    df["_row"] = raw.rows
    labels = {s: raw.headers[j] for s, j in canonical.items()}
    view = TableView(name, raw.label, df, text, labels, _formula_masks(raw, canonical))
    found = _view_hits(view, findings, blank)
    return view, pd.concat([found, formula_hits(view, raw)], ignore_index=True), blank


def _view_hits(view: TableView, findings: dict, blank: np.ndarray) -> pd.DataFrame:
    """Cell-level hits of one table: parse failures, empty required cells, blank rows."""
    out = [NO_HITS]
    for spec in columns(view.name):
        out += _cell_hits(view, spec, findings[spec.name])
        if spec.required and spec.name in view.labels:
            empty = view.text[spec.name].isna().to_numpy() & ~blank & ~view.flagged_cells(spec.name)
            out.append(
                hits(
                    view,
                    empty,
                    spec.name,
                    f"{spec.name} is empty",
                    f"fill in {spec.name} (required) or delete the row",
                    "required_value",
                )
            )
    none = pd.Series([None] * len(blank), dtype=object)
    out.append(hits(view, blank, None, "blank row", "", "blank_row", value=none))
    return pd.concat([h for h in out if len(h)] or out[:1], ignore_index=True)
