"""Turn a raw table into a typed :class:`~aftercar.io.checks.TableView` plus cell hits.

Headers are matched to the data dictionary ignoring case, spaces and punctuation;
unknown headers become user covariates (snake_case names, typed as numbers or
booleans when every value parses, text otherwise); every cell of a dictionary
column is parsed by :func:`aftercar.io.parse.parse_column`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from aftercar.errors import Problem
from aftercar.io.checks import NO_HITS, TableView, hits
from aftercar.io.dictionary import ColumnSpec, columns, normalize_name, snake_name
from aftercar.io.parse import parse_bools, parse_column
from aftercar.io.readers import RawTable

DATE_HINT = "write the date as YYYY-MM-DD (e.g. 2021-04-03) or use an Excel date cell"

MESSAGES: dict[str, tuple[str, str]] = {
    "date_ambiguous": (
        "{col} is an ambiguous date (day and month order unknown)",
        "write the date as YYYY-MM-DD (e.g. 2021-04-03), or pass --date-format to say how "
        "to read it (e.g. --date-format %d/%m/%Y)",
    ),
    "date_unparseable": ("{col} is not a date{fmt}", DATE_HINT),
    "number_unparseable": ("{col} is not a number", "write a number, with '.' as decimal point"),
    "number_not_integer": ("{col} must be a whole number", "write a whole number, e.g. 2"),
    "number_out_of_range": ("{col} is outside the allowed range ({range})", "correct the value"),
    "bool_unparseable": (
        "{col} is not yes/no",
        "write yes or no (also accepted: true/false, y/n, 1/0); leave empty if unknown",
    ),
    "response_unparseable": (
        "{col} is not an IMWG response category",
        "use sCR, CR, VGPR, PR, MR, SD, PD or NE (full names such as 'very good partial "
        "response' are accepted); leave empty if not assessed",
    ),
    "stage_unparseable": (
        "{col} is not an ISS stage",
        "write 1, 2 or 3 (I, II, III are also accepted); leave empty if unknown",
    ),
}


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


def match_headers(name: str, raw: RawTable) -> tuple[dict[str, int], dict[str, int], list[Problem]]:
    """Map dictionary columns and covariates to raw column positions.

    Returns ``(canonical, covariates, problems)`` where the dicts map a column
    name to its position in ``raw``.
    """
    specs = {normalize_name(s.name): s.name for s in columns(name)}
    canonical: dict[str, int] = {}
    covariates: dict[str, int] = {}
    problems = []
    taken = {s.name for s in columns(name)} | {"source_row"}
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
    if name == "patients" and not {"death_date", "last_followup_date"} & canonical.keys():
        out.append(
            _problem(
                raw.label,
                "last_followup_date",
                "required column "
                "'last_followup_date' is missing (there is no death_date column "
                "either)",
                "add last_followup_date (date last known alive) and death_date columns",
                "missing_column",
            )
        )
    return out


def _cell_hits(view: TableView, spec: ColumnSpec, failures: dict, date_format: str | None):
    fmt = f" in the format {date_format}" if date_format else ""
    out = []
    for rule, mask in failures.items():
        if not mask.any():
            continue
        message, hint = MESSAGES[rule]
        message = message.format(
            col=spec.name,
            fmt=fmt,
            range=_range_text(spec) if spec.minimum is not None or spec.maximum is not None else "",
        )
        out.append(hits(view, mask, spec.name, message, hint, rule))
    return out


def _covariate(text: pd.Series) -> pd.Series:
    """Type a user covariate: numbers, then yes/no, else text (whole column at once).

    A column with zero-padded values such as ``007`` stays text (codes, not numbers).
    """
    present = text.notna()
    if not present.any():
        return text.astype("string")
    numbers = pd.to_numeric(text, errors="coerce")
    codes = text.str.fullmatch(r"[+-]?0[0-9]+").fillna(False).any()  # e.g. "007": an identifier
    if not codes and numbers[present].notna().all():
        numbers = numbers.astype("Float64")
        whole = (numbers[present] == numbers[present].round()).all()
        return numbers.round().astype("Int64") if whole else numbers
    bools, failures = parse_bools(text)
    if not failures["bool_unparseable"].any():
        return bools
    return text.astype("string")


def build_view(
    name: str,
    raw: RawTable,
    canonical: dict[str, int],
    covariates: dict[str, int],
    *,
    date_format: str | None,
) -> tuple[TableView, pd.DataFrame, np.ndarray]:
    """Parse ``raw`` into a typed :class:`TableView`; return ``(view, hits, blank)``.

    ``blank`` marks completely empty rows (kept in the view for accounting).
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
    typed = {}
    failures = {}
    for spec in columns(name):
        typed[spec.name], failures[spec.name] = parse_column(
            text[spec.name], spec, date_format=date_format
        )
    df = pd.DataFrame(typed, index=raw.data.index)
    for cov, j in covariates.items():
        df[cov] = _covariate(raw.data[j])
    df["_pos"] = np.arange(n)
    df["_row"] = raw.rows
    labels = {s: raw.headers[j] for s, j in canonical.items()}
    view = TableView(name, raw.label, df, text, labels)
    return view, _view_hits(view, failures, blank, date_format), blank


def _view_hits(view: TableView, failures: dict, blank: np.ndarray, date_format: str | None):
    """Cell-level hits of one table: parse failures, empty required cells, blank rows."""
    out = [NO_HITS]
    for spec in columns(view.name):
        out += _cell_hits(view, spec, failures[spec.name], date_format)
        if spec.required and spec.name in view.labels:
            empty = view.text[spec.name].isna().to_numpy() & ~blank
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
