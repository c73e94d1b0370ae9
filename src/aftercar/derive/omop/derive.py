"""An OMOP CDM instance in, the curated cohort (+ audit, attrition, EPISODE rows) out.

:func:`derive_omop` maps the OMOP tables to the raw format
(:mod:`aftercar.derive.omop.cohort`, :mod:`aftercar.derive.omop.mapping`) and runs
the raw-records derivation (:func:`aftercar.derive.raw.derive_raw`) on the same
Ibis connection, so the rules are those of ``aftercar derive RAWDIR`` exactly.
OMOP row ids are carried as the raw ``row``: the audit and the attrition name
``drug_exposure_id``, ``procedure_occurrence_id``, ``measurement_id`` and
``person_id`` under their OMOP table names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import ibis
import pyarrow as pa

from aftercar.derive.omop import cohort, covariates
from aftercar.derive.omop.concepts import Concepts, load_concepts
from aftercar.derive.omop.mapping import OmopRaw
from aftercar.derive.omop.source import (
    close_source,
    named_by_file,
    open_source,
    table_labels,
)
from aftercar.derive.raw.derive import derive_raw
from aftercar.derive.raw.labs import EMPTY_UNIT, IMPLAUSIBLE, unit_conflicts
from aftercar.derive.raw.result import RawDerivation
from aftercar.derive.raw.rules import Rules, load_rules
from aftercar.errors import CohortError, Problem
from aftercar.io.checks import Plausibility, age_at_car_t
from aftercar.schema import Col

#: Raw table name -> OMOP table name (for the audit and the attrition).
OMOP_TABLES = {"patients": "person", "administrations": "drug_exposure",
               "procedures": "procedure_occurrence", "labs": "measurement"}  # fmt: skip
_MAX_LISTED = 20


@dataclass
class OmopDerivation:
    """What :func:`derive_omop` returns.

    Attributes
    ----------
    result
        The derivation (curated ``patients`` + ``lines``, ``audit``, ``attrition``)
        with OMOP table names and row ids; ``patient_id`` = ``person_id``.
    cohort_steps
        ``step, persons``: the attrition of the cohort definition.
    diagnosis
        ``patient_id, diagnosis_date, condition_concept_id`` (first myeloma condition).
    concepts
        The concept mappings used.
    n_excluded
        The first ``n_excluded`` rows of ``result.attrition`` are the persons the
        cohort definition leaves out (steps 3-4); the rest are the derivation's.
    """

    result: RawDerivation
    cohort_steps: pa.Table
    diagnosis: pa.Table
    concepts: Concepts
    n_excluded: int = 0


def _lab_check(norm: ibis.Table) -> None:
    """Stop on unreadable mapped measurements, named as OMOP rows (table, measurement_id,
    column); ``norm``: the raw derivation's normalised labs (its ``check_labs`` hook)."""
    bad = norm.filter(norm.problem.notnull()).order_by("row").limit(_MAX_LISTED + 1)
    rows = bad.to_pyarrow().to_pylist()
    problems = []
    for r in rows[:_MAX_LISTED]:
        col, fix = _lab_fix(r)
        value = r["unit"] if "unit" in r["problem"] else r["text"]
        problem = r["problem"]
        if "unit" in problem and value is None:  # no unit concept and no unit text
            problem = EMPTY_UNIT
        # row None: the id is no line number of the file, so the message names it as the id
        where = f"measurement_id {r['row']}, person_id {r[Col.PATIENT_ID]}"
        problems.append(Problem("measurement", None, col, None if value is None else str(value),
                                f"{r['test']}: {problem} ({where})", fix))
    if problems:
        raise CohortError(problems, f"{len(problems)}{'+' if len(rows) > _MAX_LISTED else ''} "
                          "unreadable myeloma measurement row(s)")  # fmt: skip


def _lab_fix(r: dict) -> tuple[str, str]:
    """The column and the fix of an unreadable mapped measurement ``r``."""
    if "unit" in r["problem"] and r["unit"] is None:
        return ("unit_concept_id / unit_source_value", "give the unit of the value as "
                "unit_concept_id (e.g. 8713 g/dL, 8751 mg/L) or as unit_source_value")
    if "unit" in r["problem"]:
        return ("unit_concept_id / unit_source_value", "map the unit concept in a local "
                "concepts TOML [units], or add the unit text to [units] of the rules")
    if r["problem"].startswith(IMPLAUSIBLE):
        return ("value_as_number", "check value_as_number and its unit (unit_concept_id / "
                "unit_source_value: e.g. mg/dL mapped as g/dL) and correct the row")
    if str(r.get("param") or "").startswith("ife"):  # read from its result concept
        return ("value_as_concept_id / value_as_number", "give a POSITIVE or NEGATIVE "
                "result concept (9191 / 9189, 45884084 / 45878583) or map the site's result "
                "concept in a local concepts TOML [values]")
    return ("value_as_number / value_source_value", "give the number in value_as_number, or "
            "a text the rules read in value_source_value (a number, '<0.1', or a word of "
            "absent_m_protein / trace_m_protein in imwg_rules.toml such as 'not detected' "
            "or 'trace')")


def derive_omop(
    source: str | Path,
    *,
    con=None,
    schema: str | None = None,
    concepts: str | Path | Concepts | None = None,
    rules: Rules | None = None,
    progress: Callable[[str], None] | None = None,
) -> OmopDerivation:
    """Derive the study cohort of the OMOP instance ``source``.

    Parameters
    ----------
    source
        DuckDB file, folder of Parquet/CSV tables, or a catalog schema (Spark).
    con
        An Ibis connection (default: :func:`aftercar.backends.connect` ``("duckdb")``).
    schema
        Schema inside a DuckDB file (default ``main``).
    concepts
        Local concepts TOML, loaded :class:`Concepts`, or ``None`` (shipped mappings).
    rules
        Derivation rules (default: the shipped ones).
    progress
        Called with a short description before each step.

    Raises
    ------
    CohortError
        Missing table or column, or unreadable myeloma measurements (exit 2).
    """
    from aftercar.backends import connect

    rules = rules or load_rules()
    con = con if con is not None else connect("duckdb")
    step = progress or (lambda _s: None)
    step("reading the OMOP tables")
    cmap = concepts if isinstance(concepts, Concepts) else load_concepts(concepts, rules)
    tables = open_source(con, source, schema, scope=cohort.myeloma_scope(con, cmap))
    try:
        out = derive_tables(con, tables, cmap, rules, progress)
    except CohortError as err:  # the mapped rows' checks name tables: name their files
        named_by_file(err, table_labels(source, tables))
        raise
    orphans = cohort.orphan_rows(tables).to_pyarrow()
    close_source(con, source)
    return with_orphans(out, orphans)


def with_orphans(d: OmopDerivation, orphans: pa.Table) -> OmopDerivation:
    """``d`` with the rows of no person (:func:`cohort.orphan_rows`) in its attrition,
    among the derivation's rows (ordered by table and row, as a batched run writes them)."""
    if not orphans.num_rows:
        return d
    att = d.result.attrition
    rest = pa.concat_tables([att.slice(d.n_excluded), orphans.cast(att.schema)])
    rest = rest.sort_by([("table", "ascending"), ("row", "ascending")])
    result = replace(d.result, attrition=pa.concat_tables([att.slice(0, d.n_excluded), rest]))
    return replace(d, result=result)


#: What to check when nobody is left at a cohort step: the tables and concepts that step
#: reads (docs/omop.md, "The cohort"). A step not named here gets the general advice.
_EMPTY_STEP_FIX = {
    cohort.STEP_PERSONS: "export the person table with its rows",
    cohort.STEP_MM: "check condition_occurrence: the myeloma diagnoses as condition_concept_id "
    "437233 or a descendant (concept_ancestor), an ICD-10 C90.0x / ICD-9 203.0x "
    "condition_source_value, or a site concept added under [conditions] of a local concepts "
    "TOML (--concepts)",
    cohort.STEP_CAR_T: "check drug_exposure: the CAR-T product as an ide-cel or cilta-cel "
    "concept (RxNorm ingredient, or a clinical drug with concept_ancestor), or a "
    "drug_source_value naming the product; a site concept goes under [ingredients] of a "
    "local concepts TOML (--concepts)",
    cohort.STEP_FU: "check death and observation_period: each person needs a death_date or "
    "an observation_period_end_date on or after the CAR-T infusion",
    cohort.STEP_INDEX: "check measurement and drug_exposure: the index is the first "
    "confirmed IMWG progression after the CAR T, from the IMWG labs (serum M-protein LOINC "
    "33358-3, free light chains 36916-5 / 33944-0, urine M-protein ...) by "
    "measurement_concept_id or measurement_source_value with their units, else (rules "
    "[index] new_therapy_without_lab_progression) the first anti-myeloma therapy after it",
}


def empty_cohort(steps: pa.Table, output: str | Path) -> CohortError | None:
    """The error of a derivation that found nobody (``None``: somebody), naming the first
    cohort step with no person and what that step reads (the fix); ``output``: the folder
    with ``audit/omop_cohort``."""
    persons = steps["persons"].to_pylist()
    if persons and persons[-1] > 0:
        return None
    names = steps["step"].to_pylist()
    first = next((i for i, n in enumerate(persons) if not n), len(persons) - 1)
    fell = f"after {persons[first - 1]:,} {names[first - 1]}" if first else ""
    fix = _EMPTY_STEP_FIX.get(names[first], "check the concept mappings (--concepts) and the "
                                            "tables that step reads")  # fmt: skip
    return CohortError([Problem(str(Path(output) / "audit"), None, None, None,
                                f"no person is left at step {first + 1} of the cohort "
                                f"('{names[first]}') {fell}".rstrip(),
                                f"{fix}; audit/omop_cohort and audit/attrition say who left "
                                "at which step")],
                       "the OMOP cohort is empty (the audit was written)")  # fmt: skip


def derive_tables(
    con,
    tables: dict[str, ibis.Table],
    concepts: Concepts,
    rules: Rules,
    progress: Callable[[str], None] | None = None,
) -> OmopDerivation:
    """Derive the cohort of opened OMOP ``tables`` (:func:`open_source`) on ``con``.

    What :func:`derive_omop` does once the source is open; the batched derivation
    (:mod:`aftercar.derive.omop.batched`) calls it once per batch of persons, with
    every table restricted to the batch's ``person_id`` range.
    """
    step = progress or (lambda _s: None)
    step("mapping OMOP concepts to drugs, procedures and labs")
    return derive_mapped(con, map_tables(con, tables, concepts, rules), concepts, rules,
                         progress)  # fmt: skip


def map_tables(con, tables: dict[str, ibis.Table], concepts: Concepts, rules: Rules) -> OmopRaw:
    """The raw tables of the cohort's persons (:func:`cohort.build`).

    Their measurements are checked by :func:`derive_mapped`, once normalised.
    """
    return cohort.build(con, tables, concepts, rules)


def cohort_steps(om: OmopRaw, n_index: int) -> pa.Table:
    """``step, persons``: the cohort attrition, ``n_index`` persons at the last step."""
    steps = [*om.steps, (cohort.STEP_INDEX, n_index)]
    return pa.table({"step": [s for s, _ in steps],
                     "persons": pa.array([n for _, n in steps], pa.int64())})  # fmt: skip


def _check_ages(patients: pa.Table, limits: Plausibility | None = None) -> None:
    """Stop on a person whose age at the CAR-T infusion is not plausible (the curated
    reader's ``age_implausible`` bounds, 18-100 years), naming the ``person`` table, the
    ``person_id`` and the birth date read (fuzzing round 3, F12: a year_of_birth of 1850
    was derived, and the later error named the derived patients.csv)."""
    if patients.num_rows == 0:
        return
    limits = limits or Plausibility(dt.date.today())
    df = patients.select([Col.PATIENT_ID, Col.BIRTH_DATE, Col.CAR_T_DATE]).to_pandas()
    age = age_at_car_t(df[Col.BIRTH_DATE], df[Col.CAR_T_DATE])
    bad = df[((age < limits.min_age) | (age > limits.max_age)).fillna(False)]
    if bad.empty:
        return
    shown = bad.head(5)
    ids = ", ".join(str(v) for v in shown[Col.PATIENT_ID])
    births = ", ".join(str(v) for v in shown[Col.BIRTH_DATE])
    ages = ", ".join(f"{a:.1f}" for a in age[shown.index])
    problem = Problem(
        "person", None, "year_of_birth", births,
        f"the age at the CAR-T infusion is {ages} years at person_id {ids}"
        + (f" ({len(bad)} persons in all)" if len(bad) > 5 else ""),
        f"check year_of_birth, month_of_birth, day_of_birth and birth_datetime of the person; "
        f"ages outside {limits.min_age:g} to {limits.max_age:g} years are not plausible",
        rule="age_implausible")  # fmt: skip
    raise CohortError([problem], "OMOP person: implausible age at CAR T")


#: The audit table of the measurements whose two units disagree (:func:`_unit_conflicts`).
UNIT_CONFLICTS = "unit_conflicts"


def _unit_conflicts(con, om: OmopRaw, rules: Rules) -> pa.Table:
    """``patient_id, table, row, date, test, unit, unit_source_value``: the measurement rows
    whose ``unit_source_value`` names another unit than their ``unit_concept_id``
    (:func:`aftercar.derive.raw.labs.unit_conflicts`), by person, date and row. They are
    read in the concept's unit (the CDM's standard field) and listed in
    ``audit/unit_conflicts`` for a person to check: until 2026-12-07 the concept was
    read in silence (note29)."""
    c = unit_conflicts(con, om.raw["labs"] if om.unit_labs is None else om.unit_labs, rules)
    c = c.order_by([Col.PATIENT_ID, "date", "row"])
    c = c.select(**{Col.PATIENT_ID: c[Col.PATIENT_ID].cast("string")},
                 table=ibis.literal("measurement"), row=c.row, date=c.date, test=c.test,
                 unit=c.unit, unit_source_value=c.unit_source)  # fmt: skip
    return c.to_pyarrow()


def derive_mapped(con, om: OmopRaw, concepts: Concepts, rules: Rules,
                  progress: Callable[[str], None] | None = None,
                  ordered_attrition: bool = True) -> OmopDerivation:  # fmt: skip
    """Run the raw-records derivation on mapped tables (:func:`map_tables`).

    ``ordered_attrition``: the attrition after the excluded persons by table and row
    (``False``: in no set order; a batched run sorts the batches' attrition together).

    Raises
    ------
    CohortError
        Unreadable myeloma measurements (``measurement`` rows, exit 2).
    """
    units = _unit_conflicts(con, om, rules)  # before derive_raw lets the raw tables go
    res = derive_raw(om.raw, rules=rules, con=con, progress=progress, check_labs=_lab_check,
                     ordered_attrition=ordered_attrition, table_names=OMOP_TABLES)  # fmt: skip
    _check_ages(res.patients)
    excluded = om.excluded.to_pyarrow().cast(res.attrition.schema)
    audit, rest = {**res.audit, UNIT_CONFLICTS: units}, res.attrition
    if om.covariates is not None:  # used covariate rows are events, the others attrition
        ev, unused = covariates.split_rows(om.covariates.to_pyarrow(),
                                           res.patients[Col.PATIENT_ID].combine_chunks(),
                                           audit["events"].schema, rest.schema)  # fmt: skip
        audit["events"] = pa.concat_tables([audit["events"], ev])
        rest = pa.concat_tables([rest, unused])
        if ordered_attrition:
            rest = rest.sort_by([("table", "ascending"), ("row", "ascending")])
    attrition = pa.concat_tables([excluded, rest])
    dx = om.diagnosis.select(**{Col.PATIENT_ID: om.diagnosis.person_id.cast("string")},
                             diagnosis_date=om.diagnosis.diagnosis_date,
                             condition_concept_id=om.diagnosis.condition_concept_id)  # fmt: skip
    result = RawDerivation(res.patients, res.lines, audit, attrition)
    return OmopDerivation(result, cohort_steps(om, res.patients.num_rows), dx.to_pyarrow(),
                          concepts, excluded.num_rows)  # fmt: skip


__all__ = ["OMOP_TABLES", "OmopDerivation", "cohort_steps", "derive_mapped", "derive_omop",
           "derive_tables", "empty_cohort", "map_tables", "with_orphans"]  # fmt: skip
