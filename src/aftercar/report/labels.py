"""Human labels of the names the analyses use: columns, covariates, categories, models.

Input columns take the ``label`` of ``data/dictionary.csv`` (the data dictionary
that also drives the readers and the template); derived columns and result keys
take :data:`RESULT_LABELS`; therapy categories take the taxonomy's labels
(:class:`aftercar.report.model.CategoryStyle`). A name known nowhere is shown with
its underscores as spaces, never as the raw key.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources

from aftercar.schema import Col

#: Labels of derived columns and result keys (input columns: ``dictionary.csv``).
RESULT_LABELS: dict[str, str] = {
    Col.EARLY_RELAPSE: "Early relapse (< 6 months after CAR T)",
    Col.TCE: "T-cell-engaging therapy",
    Col.TCE_BY_LANDMARK: "T-cell-engaging therapy by the landmark",
    Col.CATEGORY: "Therapy category",
    Col.LINE: "Salvage line",
    Col.EVALUABLE: "Evaluable",
    Col.DRUGS: "Drugs",
    Col.BCMA_DIRECTED: "BCMA-directed",
    Col.N_LINES: "Salvage lines",
    "procedures": "Procedures",
    "targets": "Targets",
    "unrecognized": "Unrecognised words",
    "lines": "Lines",
    "patients": "Patients",
    "n": "N",
    "events": "Events",
    "step": "Step",
    "note": "Note",
    "reason": "Reason",
    "table": "Table",
    "row": "Row",
    "group": "Group",
    "term": "Term",
    "analysis": "Analysis",
    "reference": "Reference",
    "hazard_ratio": "Hazard ratio",
    "p_value": "p",
    "robust_se": "Robust SE",
    "path": "File",
    "sha256": "SHA-256",
    "rows": "Rows",
    "package": "Package",
    "version": "Version",
    "stage": "Stage",
    "seconds": "Seconds",
}


@cache
def dictionary_labels() -> dict[str, str]:
    """``{column: label}`` of the input columns (``data/dictionary.csv``, first wins)."""
    ref = resources.files("aftercar").joinpath("data", "dictionary.csv")
    with ref.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    out: dict[str, str] = {}
    for row in rows:
        if row.get("label"):
            out.setdefault(row["column"], row["label"])
    return out


def label(name: object) -> str:
    """Human label of a column, covariate or result key (spaced words when unknown)."""
    text = str(name)
    known = dictionary_labels().get(text) or RESULT_LABELS.get(text)
    if known:
        return known
    spaced = text.replace("_", " ").strip()
    return spaced[:1].upper() + spaced[1:]


class Labeller:
    """Labels of therapy categories (the taxonomy's) and of every other name.

    Parameters
    ----------
    categories
        ``{category name: display label}`` from the study's taxonomy.
    """

    def __init__(self, categories: Mapping[str, str] | None = None) -> None:
        self.categories = dict(categories or {})

    def category(self, name: object) -> str:
        """Display label of a therapy category (spaced words when the taxonomy has none)."""
        text = str(name)
        return self.categories.get(text) or label(text)

    def term(self, term: object) -> str:
        """Label of a Cox model term: ``category=level`` as "Therapy category: <label>",
        another ``what=level`` as its level, else the covariate's label."""
        text = str(term)
        if "=" in text:
            what, level = text.split("=", 1)
            if what == Col.CATEGORY:
                return f"{label(what)}: {self.category(level)}"
            return self.category(level)
        return label(text)

    def value(self, value: object) -> object:
        """A cell value: category names become their labels, anything else is unchanged."""
        if isinstance(value, str) and value in self.categories:
            return self.categories[value]
        return value

    def prose(self, text: str, names: Iterable[str] = ()) -> str:
        """Replace raw names (categories, covariates, ``names``) in running text by labels."""
        words = {n: self.category(n) for n in self.categories}
        words |= {n: label(n) for n in names if "_" in n}
        words |= {n: lab for n, lab in dictionary_labels().items() if "_" in n}
        words |= {n: lab for n, lab in RESULT_LABELS.items() if "_" in n}
        raw = sorted((w for w in words if "_" in w), key=len, reverse=True)
        if not raw:
            return text
        pattern = re.compile(r"\b(" + "|".join(re.escape(w) for w in raw) + r")\b")
        return pattern.sub(lambda m: words[m.group(1)], text)
