"""``report.docx``: Table 1, the result tables and the figures as an editable Word file.

The tables are the same :class:`~aftercar.report.display.DisplayTable` objects the
HTML page shows (human headers, formatted estimates, footnotes), written as real
Word tables (editable cells, not pictures) with python-docx; figures are the
200-dpi PNGs, each with its caption. Disclosure control has already been applied
to everything handed in.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from pathlib import Path

from aftercar.report.display import DisplayTable, heading_span
from aftercar.report.figures import FigureOutput

#: Table order in the document (others follow in the order given).
ORDER: tuple[str, ...] = (
    "table1_wide",
    "os_summary",
    "rmst",
    "first_salvage_by_category",
    "competing_risks",
    "response_by_category",
    "pfs_by_category",
    "response_by_line",
    "bcma_retargeting",
    "tce_os",
    "cox_os",
    "pfs_cox_lines",
    "ph_tests",
)

#: Tables left out of the Word file (listings, not results).
LEFT_OUT: frozenset[str] = frozenset({"regimen_mapping", "analysis_exclusions", "attrition"})

#: Width of figures on the page (inches; A4 with 2 cm margins leaves about 6.7).
FIGURE_WIDTH_IN = 6.3


#: Characters XML 1.0 cannot hold (C0 controls but tab, newline and return; lone surrogates,
#: as surrogateescape leaves of bytes that are not UTF-8; U+FFFE/U+FFFF):
#: python-docx refuses them ("All strings must be XML compatible"), so a study title or a
#: site name pasted with a vertical tab crashed the Word file (fuzz round 7, session 26).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml(text: str) -> str:
    """``text`` with each character XML cannot hold shown as U+FFFD (the replacement mark)."""
    return _NOT_XML.sub("\ufffd", str(text))


def _table(doc, table: DisplayTable) -> None:
    from docx.shared import Pt

    doc.add_heading(_xml(table.title), level=2)
    word = doc.add_table(rows=1, cols=len(table.columns))
    word.style = "Table Grid"
    for cell, text in zip(word.rows[0].cells, table.columns, strict=True):
        cell.text = _xml(text)
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for i, row in enumerate(table.rows):
        cells = word.add_row().cells
        if i in table.headings:
            span = heading_span(row)
            merged = cells[0].merge(cells[span - 1]) if span > 1 else cells[0]
            merged.text = _xml(row[0])
            merged.paragraphs[0].runs[0].bold = True
            for cell, text in zip(cells[span:], row[span:], strict=True):
                cell.text = _xml(text)
            continue
        for cell, text in zip(cells, row, strict=True):
            cell.text = _xml(text)
    _font_size(word, Pt(8))
    for note in table.footnotes:
        par = doc.add_paragraph(_xml(note))
        par.runs[0].font.size = Pt(7.5)


def _font_size(word, size) -> None:
    for cell in (c for row in word.rows for c in row.cells):
        for run in (r for par in cell.paragraphs for r in par.runs):
            run.font.size = size


def _ordered(tables: dict[str, DisplayTable]) -> Iterable[DisplayTable]:
    names = [n for n in ORDER if n in tables]
    names += [n for n in tables if n not in ORDER and n not in LEFT_OUT]
    return (tables[n] for n in names)


def write_docx(
    path: Path,
    *,
    title: str,
    subtitle: str,
    tables: dict[str, DisplayTable],
    figures: dict[str, FigureOutput],
    created: str | None = None,
) -> Path:
    """Write ``report.docx`` with the tables (editable) and figures (PNG) of the report.

    Parameters
    ----------
    path
        File to write.
    title, subtitle
        Document heading and the line under it (input, date, version).
    tables
        The report's display tables by name (Table 1 first).
    figures
        Rendered figures by key.
    created
        The report's creation time (ISO): the time of every member of the file, so that
        ``aftercar report --reproducible`` writes it byte for byte alike (the zip
        members carried the wall-clock time; fuzzing round 4). ``None``: as written.

    Returns
    -------
    Path
        ``path``.
    """
    from docx import Document
    from docx.shared import Inches

    doc = Document()
    doc.add_heading(_xml(title), level=0)
    doc.add_paragraph(_xml(subtitle))
    doc.add_heading("Tables", level=1)
    for table in _ordered(tables):
        _table(doc, table)
    doc.add_heading("Figures", level=1)
    for fig in figures.values():
        doc.add_heading(_xml(fig.title), level=2)
        doc.add_picture(io.BytesIO(fig.png), width=Inches(FIGURE_WIDTH_IN))
        doc.add_paragraph(_xml(fig.caption))
    doc.save(str(path))
    if created:
        _stamp(path, created)
    return path


def _stamp(path: Path, created: str) -> None:
    """Rewrite the zip file ``path`` with every member dated ``created`` (ISO; the zip
    format starts in 1980, so an earlier time is 1980-01-01)."""
    import datetime as dt
    import zipfile

    when = dt.datetime.fromisoformat(created).replace(tzinfo=None)
    stamp = max(when, dt.datetime(1980, 1, 1)).timetuple()[:6]
    with zipfile.ZipFile(path) as src:
        members = [(info, src.read(info)) for info in src.infolist()]
    with zipfile.ZipFile(path, "w") as out:
        for info, body in members:
            fixed = zipfile.ZipInfo(info.filename, date_time=stamp)
            fixed.compress_type, fixed.external_attr = info.compress_type, info.external_attr
            out.writestr(fixed, body)
