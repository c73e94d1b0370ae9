"""The methods notes of a study: the rules in force, stated in words for the report.

The notes follow the configured endpoint rules (``[endpoints]``), so a changed
rule changes the sentence that describes it; input warnings and unrecognised
regimen words are listed after them.

References
----------
Kumar S, et al. Lancet Oncol 2016;17:e328-e346 (IMWG response categories).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from aftercar.derive import EndpointRules
from aftercar.schema import DAYS_PER_MONTH, codes_where

#: Most input warnings quoted in the notes (all are in ``results.json`` ``input.warnings``).
MAX_INPUT_WARNINGS = 20

DOR_NOTE = (
    "Duration of response is not reported: it runs from the first documented response, "
    "and the curated format holds no response date (only the best response of each line). "
    "Nothing is estimated in its place."
)


def responders_text(codes: Sequence[str]) -> str:
    """The configured response codes as prose; the IMWG default is cited as such."""
    codes = list(codes)
    listed = codes[0] if len(codes) == 1 else ", ".join(codes[:-1]) + " and " + codes[-1]
    imwg = list(codes_where("pr_or_better"))
    if codes == imwg:
        return f"{listed} (IMWG 2016)"
    default = ", ".join(imwg[:-1]) + " and " + imwg[-1]
    return f"{listed} (study configuration; IMWG 2016 counts {default})"


def _pfs_sentence(rules: EndpointRules) -> str:
    if rules.pfs_next_line == "censor":
        rule = "a line followed by another without documented progression is censored at the "
        rule += "next line's start."
    else:
        rule = "the start of a next line is ignored (followed to death or last follow-up)."
    return "PFS of a line runs from its start to progression on that line or death; " + rule


def method_notes(rules: EndpointRules) -> list[str]:
    """Return the notes stating the endpoint rules in force."""
    evaluable = (
        "NE or missing best responses are excluded from denominators and counted separately."
        if rules.exclude_not_evaluable
        else "NE or missing best responses count as non-responders."
    )
    return [
        f"Months = days / {DAYS_PER_MONTH:g}. OS runs from the documented progression after "
        "CAR T (index date) to death from any cause, censored at last follow-up.",
        _pfs_sentence(rules),
        f"Response rates count {responders_text(rules.responders)} over response-evaluable "
        f"lines; {evaluable}",
        "Across repeated lines per patient, response intervals are patient-clustered "
        "(cluster-robust) and Kaplan-Meier medians of pooled lines are descriptive.",
        DOR_NOTE,
    ]


def input_notes(classified: pd.DataFrame, warnings: Sequence[object]) -> list[str]:
    """Notes on regimen texts with unrecognised words and on input warnings."""
    notes = []
    if "unrecognized" in classified.columns:
        unknown = classified["unrecognized"].fillna("").astype(str) != ""
        bad = classified.loc[unknown, "text"]
        if len(bad):
            shown = ", ".join(repr(t) for t in bad.head(10))
            notes.append(
                f"{len(bad)} regimen text(s) contain unrecognized words "
                f"(classified from the recognized part): {shown}."
            )
    notes += [f"Input warning: {w}" for w in warnings[:MAX_INPUT_WARNINGS]]
    if len(warnings) > MAX_INPUT_WARNINGS:
        more = len(warnings) - MAX_INPUT_WARNINGS
        notes.append(f"... and {more} more input warnings (results.json).")
    return notes
