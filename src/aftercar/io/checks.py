"""Validation rules of the curated cohort format, vectorised over whole columns.

Each rule has a stable id (``Problem.rule``), a default policy (``error``,
``warning`` or ``exclude``) and a fixed message and hint; :data:`RULES` lists
them and ``docs/data-format.md`` shows examples. Rules return *hits*: a
DataFrame with one row per offending cell (``table, pos, column, value, message,
hint, rule``) that :mod:`aftercar.io.cohort` turns into
:class:`~aftercar.errors.Problem` records or exclusions.

Date order (Van Oekelen et al. 2023 define time zero as the IMWG progression
after CAR T): ``birth_date <= car_t_date <= progression_date <= line start_date
<= line end_date``; a line's ``progression_date >= start_date``; ``death_date``
and ``last_followup_date`` on or after every other date of the patient, and
``last_followup_date <= death_date``.

Plausibility (:class:`Plausibility`, bounds configurable): no date after today
(``date_future``) or, but for ``birth_date``, before 1990-01-01, and no Excel
empty-cell date such as 1899-12-30 (``date_too_early``); an age at CAR T of 18 to
100 years (``age_implausible``). Cells found implausible are masked before the
order rules run, so one bad cell gives one problem.

The row rules group and join on integer patient codes (:func:`patient_codes`)
and one sort of the lines (:class:`LineOrder`), with numpy: no Python loop over
rows and no repeated hashing of the id text.

This module holds :data:`RULES` and gives every rule from one place: the rules
live in :mod:`aftercar.io.row_checks` (patients and lines as rows) and
:mod:`aftercar.io.date_checks` (dates and ages), on the :class:`TableView` and
:func:`hits` of :mod:`aftercar.io.table_view`.

References
----------
Van Oekelen O et al. Interventions and outcomes of patients with multiple myeloma
receiving salvage therapy after BCMA-directed CAR T therapy. Blood 2023;141:756-765.
Kumar S et al. Lancet Oncol 2016;17:e328-e346 (IMWG progression and response).
Rajkumar SV et al. Guidelines for determination of the number of prior lines of
therapy in multiple myeloma. Blood 2015;126:921-922 (lines of therapy).
"""

from __future__ import annotations

from aftercar.io.date_checks import (
    DATE_HINT,
    EXCEL_FIRST,
    EXCEL_ZERO_DATES,
    ZERO_DATE_HINT,
    Plausibility,
    age_at_car_t,
    age_implausible,
    age_mismatch,
    cross_order,
    date_bounds,
    date_order,
    no_followup,
    pair_order,
)
from aftercar.io.row_checks import (
    LineOrder,
    duplicate_lines,
    duplicate_patients,
    line_sequence,
    line_start_order,
    no_lines,
    patient_id_variants,
    site_variants,
    unknown_patients,
)
from aftercar.io.table_view import HIT_COLUMNS, NO_HITS, TableView, hits, isin, patient_codes

__all__ = [
    "DATE_HINT",
    "EXCEL_FIRST",
    "EXCEL_ZERO_DATES",
    "HIT_COLUMNS",
    "NO_HITS",
    "RULES",
    "ZERO_DATE_HINT",
    "LineOrder",
    "Plausibility",
    "TableView",
    "age_at_car_t",
    "age_implausible",
    "age_mismatch",
    "cross_order",
    "date_bounds",
    "date_order",
    "duplicate_lines",
    "duplicate_patients",
    "hits",
    "isin",
    "line_sequence",
    "line_start_order",
    "no_followup",
    "no_lines",
    "pair_order",
    "patient_codes",
    "patient_id_variants",
    "rules_markdown",
    "site_variants",
    "unknown_patients",
]

#: rule id -> (default policy, what it checks). Policies: error, warning, exclude.
RULES: dict[str, tuple[str, str]] = {
    "missing_path": ("error", "the cohort path does not exist"),
    "missing_file": ("error", "a folder lacks the patients or lines file"),
    "ambiguous_file": ("error", "several files could be the same table"),
    "missing_sheet": ("error", "a workbook lacks the patients or lines sheet"),
    "unreadable_file": ("error", "a file cannot be read (encoding, format; a stray NUL "
                        "character, named by its line; merged cells in a workbook sheet, "
                        "named by their range, since only a range's first cell holds its "
                        "value)"),
    "unsupported_path": ("error", "the path is neither a folder nor a workbook"),
    "empty_file": ("error", "a table has no header row"),
    "missing_column": ("error", "a required column is missing"),
    "duplicate_column": ("error", "two headers name the same column"),
    "repeated_header": ("error", "a data row repeats the header row (pasted exports)"),
    "mixed_separators": ("error", "the header row and the rows use different separators"),
    "unnamed_column": ("warning", "a column has values but no header (ignored)"),
    "derived_column": ("warning", "a column named like one aftercar computes (os_months, "
                       "n_lines) or one of the other table is not read"),
    "empty_cohort": ("error", "the patients table has no data rows"),
    "blank_row": ("exclude", "a row is completely empty"),
    "required_value": ("error", "a required cell is empty"),
    "formula_no_value": ("error", "a workbook formula has no saved result (it reads as empty)"),
    "date_ambiguous": ("error", "a date such as 03/04/2021 has no known day/month order"),
    "date_order_inferred": (
        "warning",
        "the day/month order of a date column was inferred from its own values",
    ),
    "date_format_mismatch": ("error", "a --date-format fits some but not all dates of a column"),
    "date_unparseable": ("error", "a cell of a date column is not a date"),
    "date_excel_serial": ("warning", "a date is an Excel serial number in a number cell"),
    "number_unparseable": ("error", "a cell of a number column is not a number"),
    "number_not_integer": ("error", "a whole number has a fraction"),
    "number_out_of_range": ("error", "a number is outside its allowed range"),
    "bool_unparseable": ("error", "a cell of a yes/no column is not yes/no"),
    "response_unparseable": ("error", "a response is not an IMWG category"),
    "stage_unparseable": ("error", "an ISS stage is not 1-3 / I-III"),
    "duplicate_patient": ("error", "a patient_id appears twice in patients"),
    "patient_id_variant": (
        "warning",
        "two patient_ids differ only in letter case, spaces, invisible characters or a dash "
        "look-alike (kept as two patients)",
    ),
    "site_variant": (
        "warning",
        "two site names differ only in letter case, spaces, invisible characters or a dash "
        "look-alike (kept as two sites)",
    ),
    "duplicate_line": ("error", "a (patient_id, line) pair appears twice in lines"),
    "unknown_patient": ("error", "a line names a patient_id absent from patients"),
    "line_sequence": ("error", "a patient's line numbers are not 1, 2, 3, ..."),
    "line_start_order": ("warning", "a line starts before the previous line"),
    "date_order": ("error", "two dates of a patient are in the wrong order"),
    "date_future": ("error", "a date is after today"),
    "date_too_early": (
        "error",
        "a date is before 1990-01-01 or is Excel's empty-cell date (1899-12-30, 1900-01-01)",
    ),
    "age_implausible": ("error", "the age at CAR T is outside 18 to 100 years"),
    "age_mismatch": ("warning", "age_at_cart differs by > 1 year from birth_date to car_t_date"),
    "no_followup": ("error", "neither death_date nor last_followup_date is given"),
    "no_lines": ("warning", "a patient has no salvage line (kept; counts for OS)"),
}


def rules_markdown() -> str:
    """Render :data:`RULES` as the Markdown table used in ``docs/data-format.md``."""
    out = ["| rule | default | what it checks |", "|---|---|---|"]
    out += [f"| `{rule}` | {policy} | {what} |" for rule, (policy, what) in RULES.items()]
    return "\n".join(out)
