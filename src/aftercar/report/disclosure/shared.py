"""The report input as shared under disclosure control: quoted cells, counts in text,
paths, identifiers in free text, model terms of the tables."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache
from typing import Any

import pandas as pd

from aftercar.report.disclosure.keys import _DATE_TEXT, _small
from aftercar.report.disclosure.results_json import _withhold_table_terms, sparse_terms
from aftercar.report.margins import marker
from aftercar.report.model import ReportInput
from aftercar.schema import Col

#: Prefix of the notes that quote an input warning (they name rows and cell values).
INPUT_WARNING = "Input warning: "


#: Fields of an input problem that are shared under disclosure control (the message,
#: value and hint quote cell values, e.g. patient identifiers or dates).
SHARED_PROBLEM_FIELDS = ("file", "row", "column", "severity", "rule")


#: A count written in a sentence: "3 lines", "(2 lines, 2 events)", "16 events".
_COUNT_IN_TEXT = re.compile(
    r"(?<![\w.])(\d+)(\s+(?:patients?|lines?|events?|responders?|rows?|deaths?|"
    r"progressions?|groups?|censored|covariates?|levels?|clusters?|cases?|subjects?))\b"
)


_ABSOLUTE = re.compile(r"^(/|[A-Za-z]:[\\/]|\\\\)")


def suppress_text(text: str, k: int | None) -> str:
    """Counts written in a sentence (``"2 lines"``) from 1 to K-1 become ``"<K lines"``."""
    if k is None:
        return text

    def sub(hit: re.Match[str]) -> str:
        return (marker(k) if _small(int(hit.group(1)), k) else hit.group(1)) + hit.group(2)

    return _COUNT_IN_TEXT.sub(sub, text)


def without_paths(obj: Any) -> Any:
    """Absolute paths (``/...``, ``C:\\...``) anywhere in ``obj`` reduced to file names."""
    if isinstance(obj, str) and _ABSOLUTE.match(obj):
        return re.split(r"[\\/]", obj.rstrip("\\/"))[-1]
    if isinstance(obj, Mapping):
        return {key: without_paths(v) for key, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [without_paths(v) for v in obj]
    return obj


def _shared_warning_fields(block: Any) -> Any:
    if not (isinstance(block, dict) and isinstance(block.get("warnings"), list)):
        return block
    shared = [
        {f: w.get(f) for f in SHARED_PROBLEM_FIELDS} if isinstance(w, dict) else w
        for w in block["warnings"]
    ]
    return block | {"warnings": shared}


#: A word of a free text that could be an identifier (no spaces, slashes, brackets, quotes).
_WORD = re.compile(r"[^\s,;:/()\[\]'\"]+")


#: Table columns holding free text written by people (a regimen text and its unread words).
FREE_TEXT_COLUMNS: frozenset[str] = frozenset({Col.REGIMEN, "text", "unrecognized",
                                                "corrections"})  # fmt: skip


def _id_key(text: str) -> str:
    """An id compared without case or punctuation ("syn-0000002", "SYN0000002" and
    "SYN-0000002" are one id; fuzz round 9, session 28: the variants were shared as
    written). Looser than the input check ``patient_id_variant``, which keeps dashes: here
    a false match only withholds a word."""
    return re.sub(r"[\W_]+", "", text).casefold()


@lru_cache(maxsize=8)
def _id_keys(ids: frozenset[str]) -> frozenset[str]:
    return frozenset(k for k in map(_id_key, ids) if k)


def _identifying(word: str, ids: frozenset[str]) -> bool:
    """``word`` is one of the cohort's ids (in any case or punctuation), long or lettered
    enough not to be a dose or a count ("SYN-0000002", "P07", "10234"; not "2" of "x 2")."""
    keys = _id_keys(ids)
    for w in (word, word.rstrip(".")):
        k = _id_key(w)
        if (w in ids or k in keys) and (len(k) >= 4 or (len(k) >= 2 and not k.isdigit())):
            return True
    return False


def without_identifiers(text: str, ids: frozenset[str]) -> str:
    """Free text with the dates and the cohort's patient ids it cites replaced by
    ``[withheld]`` (fuzzing round 4: a regimen text "KPd started 2021-03-04 for
    SYN-0000002" reached the notes, the regimen table and the HTML under
    ``--suppress-below``)."""
    text = _DATE_TEXT.sub("[withheld]", text)
    if not ids:
        return text
    return _WORD.sub(lambda m: "[withheld]" if _identifying(m.group(0), ids) else m.group(0),
                     text)  # fmt: skip


def _free_text_withheld(table: pd.DataFrame, ids: frozenset[str]) -> pd.DataFrame:
    cols = [c for c in table.columns if c in FREE_TEXT_COLUMNS]
    if not cols:
        return table
    out = table.copy()
    for c in cols:
        out[c] = out[c].map(lambda v: without_identifiers(v, ids) if isinstance(v, str) else v)
    return out


def without_quoted_values(data: ReportInput, k: int | None) -> ReportInput:
    """Under disclosure control, notes and warnings that quote input cells are withheld,
    and the dates and patient ids a free text cites (:func:`without_identifiers`).

    Input warnings keep their file, row, column, rule and severity; their messages,
    values and hints (which quote identifiers and dates) are left out of
    ``results.json``, the notes, the appendix and ``warnings.txt``. Counts written
    in the remaining notes and warnings (``"2 lines"``) are suppressed like any
    count, and absolute paths in the results and provenance are reduced to file
    names. Model terms with a level held by fewer than K patients or lines have
    their estimates withheld in the tables as in ``results.json`` (:func:`sparse_terms`).
    """
    if k is None:
        return data
    quoted = [n for n in data.notes if n.startswith(INPUT_WARNING)]
    summary = (
        [f"{len(quoted)} input warning(s) not quoted under disclosure control (they name "
         "rows and cell values); results.json input.warnings lists their rules and rows."]
        if quoted else []
    )  # fmt: skip
    ids = data.identifiers
    notes = [without_identifiers(suppress_text(n, k), ids) for n in data.notes
             if not n.startswith(INPUT_WARNING)]  # fmt: skip
    notes += summary
    results = dict(data.results)
    if "input" in results:
        results["input"] = _shared_warning_fields(results["input"])
    if isinstance(results.get("notes"), list):
        results["notes"] = notes
    warnings = tuple(without_identifiers(suppress_text(w, k), ids) for w in data.warnings
                     if not w.startswith("input: "))  # fmt: skip
    tables = _withhold_table_terms(data.tables, sparse_terms(data.results, k))
    return replace(
        data,
        results=without_paths(results),
        tables={n: _free_text_withheld(t, ids) for n, t in tables.items()},
        notes=tuple(notes),
        warnings=warnings + tuple(summary),
        meta=without_paths(data.meta),
    )
