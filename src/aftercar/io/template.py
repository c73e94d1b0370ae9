"""An empty Excel workbook in the curated format, for clinicians to fill.

Sheets ``patients`` and ``lines`` carry the headers of ``dictionary.csv``
(required ones bold on an orange fill, each header with a comment describing
it), drop-down lists for response codes, yes/no columns and small coded
columns (ISS stage, ECOG), ISO date formatting on date columns, and a ``notes``
sheet explaining every column. The readers ignore the ``notes`` sheet.
"""

from __future__ import annotations

from pathlib import Path

from aftercar.io.dictionary import TABLES, ColumnSpec, columns
from aftercar.io.safe_text import neutralise_formula

MAX_ROWS = 5000
REQUIRED_FILL = "FFD8A8"
INTRO = (
    "aftercar cohort workbook: one row per patient in 'patients', one row per salvage "
    "line (after the first progression following CAR T) in 'lines'.",
    "Headers in bold on orange are required. Dates: Excel date cells or YYYY-MM-DD. "
    "Yes/no columns: yes or no. Responses: IMWG sCR, CR, VGPR, PR, MR, SD, PD, NE; "
    "leave empty if not assessed.",
    "Check the filled workbook with: aftercar validate cohort.xlsx",
)


def _dropdown(spec: ColumnSpec) -> str | None:
    if spec.type == "bool":
        return '"yes,no"'
    if spec.allowed_values:
        return '"' + ",".join(spec.allowed_values) + '"'
    return None


def _header_sheet(sheet, table: str) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    for j, spec in enumerate(columns(table), start=1):
        cell = sheet.cell(row=1, column=j, value=neutralise_formula(spec.name))
        note = ("REQUIRED. " if spec.required else "") + spec.description
        cell.comment = Comment(note, "aftercar")
        letter = get_column_letter(j)
        sheet.column_dimensions[letter].width = max(14, len(spec.name) + 4)
        if spec.required:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor=REQUIRED_FILL)
        if spec.type == "date":
            sheet.column_dimensions[letter].number_format = "yyyy-mm-dd"
        formula = _dropdown(spec)
        if formula:
            dv = DataValidation(
                type="list",
                formula1=formula,
                allow_blank=True,
                showErrorMessage=True,
                errorStyle="warning",
                error=f"{spec.name}: choose a value from the list",
                errorTitle="aftercar",
            )
            dv.add(f"{letter}2:{letter}{MAX_ROWS}")
            sheet.add_data_validation(dv)
    sheet.freeze_panes = "A2"


def _notes_sheet(sheet) -> None:
    from openpyxl.styles import Font

    for text in INTRO:
        sheet.append([neutralise_formula(text)])
    sheet.append([])
    sheet.append(["sheet", "column", "type", "required", "allowed values", "description"])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for table in TABLES:
        for s in columns(table):
            allowed = ", ".join(s.allowed_values) or ("yes, no" if s.type == "bool" else "")
            row = [table, s.name, s.type, "yes" if s.required else "no", allowed, s.description]
            sheet.append([neutralise_formula(v) for v in row])
    for letter, width in zip("ABCDEF", (10, 26, 10, 10, 30, 90), strict=True):
        sheet.column_dimensions[letter].width = width


def write_template(path: str | Path) -> Path:
    """Write an empty cohort workbook to ``path`` and return the path.

    Parameters
    ----------
    path
        The ``.xlsx`` file to create (its folder must exist; an existing file is
        replaced).
    """
    import openpyxl

    path = Path(path)
    book = openpyxl.Workbook()
    first = book.active
    first.title = "patients"
    _header_sheet(first, "patients")
    _header_sheet(book.create_sheet("lines"), "lines")
    _notes_sheet(book.create_sheet("notes"))
    book.save(path)
    return path
