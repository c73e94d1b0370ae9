"""The whole study: every analysis on the derived tables, assembled into one typed result.

:func:`analyse` runs the analyses of the index study (Van Oekelen 2023) in order
(cohort summary, OS, first salvage, all lines, TCE, baseline Cox, Table 1,
attrition) and assembles ``results.json``, the result tables, the figures' data
and the notes from their results only. Nothing here reads files or knows the
backend; the pipeline hands in the derived tables and the input summary.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from aftercar.analysis import figures as fig
from aftercar.analysis.attrition import analysis_exclusions, attrition
from aftercar.analysis.baseline import baseline_cox
from aftercar.analysis.descriptive import regimen_mapping, table1
from aftercar.analysis.lines import all_lines, first_salvage
from aftercar.analysis.methods import DOR_NOTE, input_notes, method_notes
from aftercar.analysis.model import AnalysisResult, Figures
from aftercar.analysis.options import AnalysisOptions
from aftercar.analysis.survival import cohort_summary, os_analyses
from aftercar.analysis.table1 import table1_wide
from aftercar.analysis.tce import tce_analyses
from aftercar.derive import DerivedCohort, EndpointRules
from aftercar.schema import DAYS_PER_MONTH, Col

#: Kaplan-Meier figure keys in report order (others follow in the order computed).
CURVE_ORDER: tuple[str, ...] = (
    "os",
    "os_by_relapse_timing",
    "os_by_product",
    "first_salvage_pfs",
    "pfs_by_category",
    "os_tce_landmark",
)

_EXCLUDED = ("table", "row", Col.PATIENT_ID, "reason")


@dataclass(frozen=True)
class InputSummary:
    """What was read: the source, rows read and excluded, and input warnings.

    ``excluded`` has columns ``table, row, patient_id, reason`` (``Cohort.excluded``).
    """

    source: str
    patients_read: int
    lines_read: int
    excluded: pd.DataFrame
    warnings: Sequence[Any] = ()

    def to_dict(self) -> dict[str, Any]:
        """The ``input`` block of ``results.json``."""
        return {
            "source": self.source,
            "patients_read": self.patients_read,
            "lines_read": self.lines_read,
            "excluded": records(self.excluded[list(_EXCLUDED)]),
            "warnings": [w.to_dict() for w in self.warnings],
        }


@dataclass(frozen=True)
class StudyResults:
    """Everything the study's analyses produced.

    Attributes
    ----------
    results
        The JSON-ready content of ``results.json``.
    tables
        Named result tables (``tables/<name>.csv``).
    figures
        The data of every figure.
    notes
        Method notes and warnings.
    warnings
        Everything the user should look at: input warnings, then the analyses'
        warnings (models not fitted, covariates skipped, sparse groups, ...).
    """

    results: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    figures: Figures
    notes: tuple[str, ...] = field(default=())
    warnings: tuple[str, ...] = field(default=())


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Return JSON-ready records (missing values as None, integers as int)."""
    clean = frame.astype(object).where(frame.notna(), None)
    return clean.to_dict(orient="records")


def _sections(
    derived: DerivedCohort, rules: EndpointRules, opts: AnalysisOptions
) -> list[AnalysisResult]:
    patients, lines = derived.patients, derived.lines
    return [
        cohort_summary(patients, lines, opts),
        os_analyses(patients, opts, cutoff=rules.early_relapse_months),
        first_salvage(lines, opts),
        all_lines(lines, opts),
        tce_analyses(derived, opts),
        baseline_cox(patients, opts),
    ]


def _annotations(results: dict[str, Any]) -> dict[str, str]:
    """Log-rank p (and HR for two groups) of each comparison figure, from the results."""
    os_block = results.get("os_from_progression") or {}
    landmarks = list(((results.get(Col.TCE) or {}).get("landmarks") or {}).values())
    out = {
        "os_by_relapse_timing": fig.test_text(
            (os_block.get("by_relapse_timing") or {}).get("logrank")
        ),
        "os_by_product": fig.test_text((os_block.get("by_product") or {}).get("logrank")),
    }
    if landmarks:
        first = landmarks[0]
        out["os_tce_landmark"] = fig.test_text(
            (first.get("km") or {}).get("logrank"), first.get("cox")
        )
    return out


def _figures(
    derived: DerivedCohort,
    sections: list[AnalysisResult],
    results: dict[str, Any],
    options: AnalysisOptions,
) -> Figures:
    curves: dict[str, dict[str, Any]] = {}
    for sec in sections:
        curves.update(sec.curves)
    keys = [k for k in CURVE_ORDER if k in curves] + [k for k in curves if k not in CURVE_ORDER]
    notes = _annotations(results)
    drawn = {
        k: fig.curve_figure(
            k,
            {g: fig.curve(g, f) for g, f in curves[k].items() if f is not None},
            notes.get(k, ""),
            max_groups=options.km_max_groups,
            min_size=options.km_min_group_size,
            many=options.km_many_groups,
        )
        for k in keys
    }
    return Figures(
        curves=drawn,
        response_bars=fig.response_bars(derived.lines),
        sequence=fig.sequence(derived.lines),
        swimmer=fig.swimmer(derived.patients, derived.lines),
        incidence=_incidence(derived, options),
    )


def _incidence(derived: DerivedCohort, options: AnalysisOptions) -> dict[str, Any]:
    cif = fig.first_salvage_incidence(derived.lines, options.conf_level)
    return {} if cif is None else {cif.key: cif}


def analyse(
    derived: DerivedCohort,
    inputs: InputSummary,
    *,
    rules: EndpointRules,
    options: AnalysisOptions,
    meta: Mapping[str, Any] | None = None,
) -> StudyResults:
    """Run every analysis of the study and assemble its results.

    Parameters
    ----------
    derived
        The derived tables (:func:`aftercar.derive.derive_cohort`).
    inputs
        What was read (source, rows, exclusions, warnings).
    rules, options
        The typed ``[endpoints]`` and ``[analysis]`` sections of the study TOML.
    meta
        Provenance placed under ``results.json`` ``meta`` (version, config hash,
        synthetic flag).

    Returns
    -------
    StudyResults
    """
    sections = _sections(derived, rules, options)
    results: dict[str, Any] = {"input": inputs.to_dict()}
    baseline = table1(derived.patients, cutoff=rules.early_relapse_months)
    shown = baseline[["characteristic", "level", "n", "percent", "summary"]].copy()
    shown["percent"] = shown["percent"].astype(float).round(1)
    tables: dict[str, pd.DataFrame] = {"table1": shown}
    notes = method_notes(rules) + input_notes(derived.classified, inputs.warnings)
    warnings = [f"input: {w}" for w in inputs.warnings]
    for sec in sections:
        results.update(sec.results)
        tables.update(sec.tables)
        notes += sec.notes
        warnings += sec.notes
    wide, results["table1_wide"] = table1_wide(
        derived.patients, cutoff=rules.early_relapse_months, by=options.table1_by or None
    )
    tables["table1_wide"] = wide
    if results["table1_wide"]["missing_group"]:  # how many: results.json (suppressed there)
        note = f"Table 1 by {options.table1_by}: patients without a value are in "
        notes.append(note + "the Overall column only (table1_wide.missing_group).")
        warnings.append(notes[-1])
    tables["regimen_mapping"] = regimen_mapping(derived.lines, derived.classified)
    not_lines = derived.excluded_lines
    tables["attrition"] = attrition(derived.patients, derived.lines, inputs.excluded, not_lines)
    tables["analysis_exclusions"] = analysis_exclusions(derived.patients, derived.lines, not_lines)
    results["table1"] = records(baseline)
    results["attrition"] = {
        "steps": records(tables["attrition"]),
        "analysis_exclusions": records(tables["analysis_exclusions"]),
    }
    endpoints = {
        "early_relapse_months": rules.early_relapse_months,
        "pfs_next_line": rules.pfs_next_line,
        "responders": list(rules.responders),
        "exclude_not_evaluable": rules.exclude_not_evaluable,
        "non_therapy_rows": rules.non_therapy_rows,
    }
    results["endpoints"] = endpoints | {
        "days_per_month": DAYS_PER_MONTH,
        "duration_of_response": DOR_NOTE,
    }
    results["meta"] = {"conf_level": options.conf_level, **(meta or {})}
    results["notes"] = notes
    figures = _figures(derived, sections, results, options)
    results["figures"] = figures.to_dict()
    return StudyResults(results, tables, figures, tuple(notes), tuple(warnings))
