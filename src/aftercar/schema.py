"""One home for the names every stage shares: table columns, IMWG response levels, the month.

* **Columns.** The input tables are declared in ``data/dictionary.csv`` and the
  derived tables (per-line and per-patient endpoints, TCE exposure, landmark
  cohorts) in ``data/derived_tables.csv``: name, type, unit and meaning. :class:`Col`
  holds one Python name per declared column so that no other module spells a
  column name; a test keeps :class:`Col` and the two files equal and fails if a
  column name is written as a string anywhere else.
* **Response levels.** The IMWG codes, best to worst, with their labels, figure
  groups, colours and depth flags come from ``data/response_codes.csv``
  (:func:`response_levels`); nothing else lists them.
* **Time.** :data:`DAYS_PER_MONTH` is the only definition of a month in aftercar.

It imports only the standard library, so every stage (``io`` included) may import it.

References
----------
Kumar S, et al. International Myeloma Working Group consensus criteria for
response and minimal residual disease assessment in multiple myeloma. Lancet
Oncol 2016;17:e328-e346 (the response categories and their order).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

#: The file beside a cohort that states where it came from (``{"synthetic": true, ...}``).
PROVENANCE_FILE = "provenance.json"
#: Written into a cohort folder while ``aftercar derive`` writes its files, removed when
#: they are all written: a folder that still holds it was left by an interrupted run, its
#: files a mix of two runs (fuzzing round 6, I03).
WRITING_FILE = ".aftercar-writing"

#: Days per month for every time in aftercar: 365.25 / 12 (months = days / 30.4375).
DAYS_PER_MONTH = 30.4375


class Col:
    """Column names of the input and derived tables (see the module docstring)."""

    # input: patients
    PATIENT_ID = "patient_id"
    SITE = "site"
    SEX = "sex"
    BIRTH_DATE = "birth_date"
    AGE_AT_CART = "age_at_cart"
    CAR_T_PRODUCT = "car_t_product"
    CAR_T_DATE = "car_t_date"
    CAR_T_BEST_RESPONSE = "car_t_best_response"
    PROGRESSION_DATE = "progression_date"
    DEATH_DATE = "death_date"
    LAST_FOLLOWUP_DATE = "last_followup_date"
    HIGH_RISK_CYTOGENETICS = "high_risk_cytogenetics"
    EXTRAMEDULLARY_DISEASE = "extramedullary_disease"
    PRIOR_LINES = "prior_lines"
    TRIPLE_CLASS_REFRACTORY = "triple_class_refractory"
    PENTA_REFRACTORY = "penta_refractory"
    ISS_STAGE = "iss_stage"
    ECOG = "ecog"
    # input: lines
    LINE = "line"
    REGIMEN = "regimen"
    START_DATE = "start_date"
    END_DATE = "end_date"
    BEST_RESPONSE = "best_response"
    CLINICAL_TRIAL = "clinical_trial"
    END_REASON = "end_reason"
    # both input tables: the row of the input file
    SOURCE_ROW = "source_row"
    # derived: line endpoints
    DRUGS = "drugs"
    CATEGORY = "category"
    TCE = "tce"
    BCMA_DIRECTED = "bcma_directed"
    START_MONTHS = "start_months"
    END_MONTHS = "end_months"
    PROGRESSION_MONTHS = "progression_months"
    EVALUABLE = "evaluable"
    RESPONDED = "responded"
    VGPR_OR_BETTER = "vgpr_or_better"
    CR_OR_BETTER = "cr_or_better"
    PFS_MONTHS = "pfs_months"
    PFS_EVENT = "pfs_event"
    TTNT_MONTHS = "ttnt_months"
    TTNT_EVENT = "ttnt_event"
    # derived: patient endpoints
    OS_MONTHS = "os_months"
    OS_EVENT = "os_event"
    OS_VALID = "os_valid"
    RELAPSE_MONTHS = "relapse_months"
    EARLY_RELAPSE = "early_relapse"
    N_LINES = "n_lines"
    FIRST_TCE_MONTHS = "first_tce_months"
    # derived: TCE exposure (counting process) and landmark cohorts
    START = "start"
    STOP = "stop"
    EVENT = "event"
    TIME = "time"
    TCE_BY_LANDMARK = "tce_by_landmark"


@dataclass(frozen=True)
class ColumnDecl:
    """One declared column of a derived table (a row of ``derived_tables.csv``)."""

    table: str
    name: str
    type: str
    unit: str
    description: str


def _read_csv(name: str) -> list[dict[str, str]]:
    ref = resources.files("aftercar").joinpath("data", name)
    with ref.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@cache
def derived_columns(table: str | None = None) -> tuple[ColumnDecl, ...]:
    """Return the declared columns of a derived table (all tables when ``table`` is None).

    Types are ``string``, ``int``, ``float`` (times in the stated unit), ``bool``
    (never missing) and ``boolean`` (may be missing).
    """
    rows = [
        ColumnDecl(r["table"], r["column"], r["type"], r["unit"], r["description"])
        for r in _read_csv("derived_tables.csv")
    ]
    return tuple(r for r in rows if table is None or r.table == table)


def derived_tables() -> tuple[str, ...]:
    """Return the names of the declared derived tables, in file order."""
    return tuple(dict.fromkeys(c.table for c in derived_columns()))


@dataclass(frozen=True)
class ResponseLevel:
    """An IMWG response category (a row of ``response_codes.csv``)."""

    code: str
    rank: int
    label: str
    figure_group: str
    colour: str
    pr_or_better: bool
    vgpr_or_better: bool
    cr_or_better: bool
    synonyms: tuple[str, ...]


@cache
def response_levels() -> tuple[ResponseLevel, ...]:
    """Return the IMWG response categories, best first (sCR ... PD, then NE)."""
    out = [
        ResponseLevel(
            code=r["code"],
            rank=int(r["rank"]),
            label=r["label"],
            figure_group=r["figure_group"],
            colour=r["colour"],
            pr_or_better=r["pr_or_better"] == "yes",
            vgpr_or_better=r["vgpr_or_better"] == "yes",
            cr_or_better=r["cr_or_better"] == "yes",
            synonyms=tuple(s for s in r["synonyms"].split(";") if s),
        )
        for r in _read_csv("response_codes.csv")
    ]
    return tuple(sorted(out, key=lambda level: level.rank))


def response_codes() -> tuple[str, ...]:
    """Return the IMWG codes, best first (the last one is "not evaluable")."""
    return tuple(level.code for level in response_levels())


def not_evaluable_code() -> str:
    """Return the code of "not evaluable" (the last response level)."""
    return response_levels()[-1].code


def codes_where(flag: str) -> tuple[str, ...]:
    """Return the codes whose boolean ``flag`` is set, best first.

    ``flag`` is ``pr_or_better`` (the IMWG responders: sCR, CR, VGPR, PR),
    ``vgpr_or_better`` or ``cr_or_better``.
    """
    return tuple(level.code for level in response_levels() if getattr(level, flag))


@cache
def response_synonyms() -> dict[str, str]:
    """Map normalised response text (lower case, punctuation as spaces) to IMWG codes."""
    return {syn: level.code for level in response_levels() for syn in level.synonyms}


def months(days: float) -> float:
    """Return a duration in months from days (``days / DAYS_PER_MONTH``)."""
    return days / DAYS_PER_MONTH
