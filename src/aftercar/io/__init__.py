"""aftercar.io: read, validate and write the curated cohort format.

The format (``docs/data-format.md``) is defined once, in
``aftercar/data/dictionary.csv``. :func:`read_cohort` returns a typed
:class:`Cohort` or raises :class:`~aftercar.errors.CohortError` listing every
problem; :func:`validate_cohort` returns a :class:`ValidationReport` instead;
:func:`write_cohort` writes the format (CSV, Parquet or Excel) and
:func:`write_template` an empty Excel workbook for clinicians to fill;
:func:`neutralise_formula` / :func:`neutralise_table` make text safe to open in a
spreadsheet (no formula injection) for any writer.
"""

from aftercar.io.checks import RULES
from aftercar.io.cohort import Cohort, ValidationReport, read_cohort, validate_cohort
from aftercar.io.hashing import sha256_file
from aftercar.io.safe_text import neutralise_formula, neutralise_table
from aftercar.io.template import write_template
from aftercar.io.writer import cohort_arrow, write_cohort

__all__ = [
    "RULES",
    "Cohort",
    "ValidationReport",
    "cohort_arrow",
    "neutralise_formula",
    "neutralise_table",
    "read_cohort",
    "sha256_file",
    "validate_cohort",
    "write_cohort",
    "write_template",
]
