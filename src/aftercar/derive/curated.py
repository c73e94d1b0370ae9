"""Endpoints from a curated cohort (patients + lines), written once as Ibis expressions.

Each function takes Ibis tables and returns an Ibis expression; it runs where the
tables live (in-process DuckDB by default, Spark for large cohorts: only
:mod:`aftercar.backends` knows which). :mod:`aftercar.derive.execute` executes them
and conforms the result to the declared columns of ``data/derived_tables.csv``.
Times are months from the index date (the documented progression after CAR T) or
from the line start, months = days / :data:`aftercar.schema.DAYS_PER_MONTH`.

Rules (each configurable through :class:`~aftercar.derive.rules.EndpointRules`;
sources in ``docs/methods.md``):

* **OS** from the post-CAR-T progression (index) to death from any cause; alive
  patients are censored at last follow-up (Rajkumar 2011; Van Oekelen 2023).
* **Best response** of a line: the curated IMWG code (Kumar 2016). Response =
  ``rules.responders`` (sCR, CR, VGPR or PR); NE or missing is *not evaluable* and,
  by default, left out of the denominator (counted separately).
* **PFS of a line** from its start to documented progression on that line or
  death. Without progression: if a next line starts, censor at its start
  (``pfs_next_line = "censor"``) or ignore it (``"ignore"``: follow to death or
  last follow-up); a last line without progression ends at death (event) or last
  follow-up (censored).
* **TTNT** from the line start to the next line's start or death (event),
  censored at last follow-up.
* **TCE exposure** without immortal-time bias: counting-process ``(start, stop]``
  rows split at the first T-cell-engaging line, and landmark cohorts.

Windows are ordered by line number and then by the input row (a unique
tie-breaker: Ibis windows use RANGE frames, which would sum ties together).

References
----------
Kumar S, et al. Lancet Oncol 2016;17:e328-e346 (IMWG response).
Rajkumar SV, et al. Blood 2011;117:4691-4695 (uniform reporting).
Van Oekelen O, et al. Blood 2023;141:756-765 (index study).
Suissa S. Am J Epidemiol 2008;167:492-499 (immortal time bias).
Anderson JR, Cain KC, Gelber RD. J Clin Oncol 1983;1:710-719 (landmark method).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ibis

from aftercar.derive.rules import EndpointRules
from aftercar.schema import DAYS_PER_MONTH, Col, codes_where, not_evaluable_code

#: Columns of the regimen classification the line endpoints take (``aftercar.vocab``).
CLASS_COLUMNS = (Col.DRUGS, Col.CATEGORY, Col.TCE, Col.BCMA_DIRECTED)

#: Category of a line whose regimen text has no classification.
UNCLASSIFIED_CATEGORY = "other"

_INDEX = "_index_date"
_NEXT = "_next_start"


def months_between(later: Any, earlier: Any) -> Any:
    """Return ``later - earlier`` in months (Ibis date columns; null where either is null)."""
    return later.cast("date").delta(earlier.cast("date"), unit="day").cast("float64") / (
        DAYS_PER_MONTH
    )


def _follow_up_end(t: ibis.Table) -> Any:
    return ibis.coalesce(t[Col.DEATH_DATE], t[Col.LAST_FOLLOWUP_DATE])


def _with_next_start(patients: ibis.Table, lines: ibis.Table) -> ibis.Table:
    p = patients.select(
        Col.PATIENT_ID,
        Col.DEATH_DATE,
        Col.LAST_FOLLOWUP_DATE,
        **{_INDEX: patients[Col.PROGRESSION_DATE]},
    )
    j = lines.left_join(p, Col.PATIENT_ID).drop(f"{Col.PATIENT_ID}_right")
    window = ibis.window(group_by=j[Col.PATIENT_ID], order_by=[j[Col.LINE], j[Col.SOURCE_ROW]])
    return j.mutate(**{_NEXT: j[Col.START_DATE].lead().over(window)})


def _response_flags(code: Any, rules: EndpointRules) -> dict[str, Any]:
    assessed = code.notnull() & (code != not_evaluable_code())
    evaluable = assessed if rules.exclude_not_evaluable else ibis.literal(True)
    null = ibis.null("boolean")
    flags = {Col.EVALUABLE: evaluable.fill_null(False)}
    for name, codes in (
        (Col.RESPONDED, rules.responders),
        (Col.VGPR_OR_BETTER, codes_where(Col.VGPR_OR_BETTER)),
        (Col.CR_OR_BETTER, codes_where(Col.CR_OR_BETTER)),
    ):
        hit = code.isin(list(codes)).fill_null(False)
        flags[name] = ibis.ifelse(evaluable, hit, null)
    return flags


def _pfs_ttnt(j: ibis.Table, rules: EndpointRules) -> dict[str, Any]:
    fu_end = _follow_up_end(j)
    has_prog = j[Col.PROGRESSION_DATE].notnull()
    has_next = j[_NEXT].notnull()
    has_death = j[Col.DEATH_DATE].notnull()
    censor_next = (has_next & ~has_prog) if rules.pfs_next_line == "censor" else False
    censor_next = ibis.literal(censor_next) if isinstance(censor_next, bool) else censor_next
    pfs_end = ibis.cases((has_prog, j[Col.PROGRESSION_DATE]), (censor_next, j[_NEXT]), else_=fu_end)
    start = j[Col.START_DATE]
    return {
        Col.PFS_MONTHS: months_between(pfs_end, start),
        Col.PFS_EVENT: has_prog | (~censor_next & has_death),
        Col.TTNT_MONTHS: months_between(ibis.coalesce(j[_NEXT], fu_end), start),
        Col.TTNT_EVENT: has_next | has_death,
    }


def line_endpoints(
    patients: ibis.Table,
    lines: ibis.Table,
    classes: ibis.Table,
    *,
    rules: EndpointRules | None = None,
    non_therapy: Sequence[str] = (),
) -> ibis.Table:
    """Return one row per salvage line with its classification, response, PFS and TTNT.

    Parameters
    ----------
    patients, lines
        Ibis tables in the curated contract (``data/dictionary.csv``), each with
        ``source_row``.
    classes
        One row per distinct regimen text: ``text`` and :data:`CLASS_COLUMNS`
        (``aftercar.vocab.classify_regimens``).
    rules
        Endpoint rules (default :class:`EndpointRules`).
    non_therapy
        Categories that are not a line of therapy (the taxonomy's ``therapy =
        false``: hospice, observation, no treatment...): their rows are left out
        (:func:`non_therapy_rows` lists them) and the later lines of the patient
        are numbered on as if they were not there.

    Returns
    -------
    ibis.Table
        The columns of table ``line_endpoints`` in ``data/derived_tables.csv``,
        ordered by patient, line and input row.
    """
    rules = rules or EndpointRules()
    if non_therapy:
        lines = _therapy_lines(lines, classes, non_therapy)
    j = _with_next_start(patients, lines)
    index = j[_INDEX]
    out = j.select(
        Col.PATIENT_ID,
        Col.LINE,
        Col.REGIMEN,
        **{
            Col.START_MONTHS: months_between(j[Col.START_DATE], index),
            Col.END_MONTHS: months_between(j[Col.END_DATE], index),
            Col.PROGRESSION_MONTHS: months_between(j[Col.PROGRESSION_DATE], index),
            Col.BEST_RESPONSE: j[Col.BEST_RESPONSE],
            **_pfs_ttnt(j, rules),
            Col.SOURCE_ROW: j[Col.SOURCE_ROW],
            **_response_flags(j[Col.BEST_RESPONSE], rules),
        },
    )
    out = _attach_classes(out, classes)
    return out.order_by([Col.PATIENT_ID, Col.LINE, Col.SOURCE_ROW])


def _category_of(lines: ibis.Table, classes: ibis.Table) -> ibis.Table:
    text = classes.columns[0]
    cls = classes.select(text, _category=classes[Col.CATEGORY])
    return lines.left_join(cls, lines[Col.REGIMEN] == cls[text]).drop(text)


def _therapy_lines(lines: ibis.Table, classes: ibis.Table, non_therapy: Sequence[str]):
    """The lines that are lines of therapy, renumbered past the rows that are not."""
    j = _category_of(lines, classes)
    skip = j["_category"].isin(list(non_therapy)).fill_null(False)
    window = ibis.window(
        group_by=j[Col.PATIENT_ID],
        order_by=[j[Col.LINE], j[Col.SOURCE_ROW]],  # unique: rows frame sums no ties
        preceding=None,
        following=0,
    )
    j = j.mutate(_skip=skip, _skipped=skip.cast("int64").sum().over(window))
    kept = j.filter(~j["_skip"])
    kept = kept.mutate(**{Col.LINE: kept[Col.LINE] - kept["_skipped"]})
    return kept.drop("_category", "_skip", "_skipped")


def non_therapy_rows(
    lines: ibis.Table, classes: ibis.Table, non_therapy: Sequence[str]
) -> ibis.Table:
    """Input line rows whose category is not a line of therapy: ``patient_id, source_row,
    regimen, category`` (for attrition)."""
    j = _category_of(lines, classes)
    out = j.filter(j["_category"].isin(list(non_therapy)))
    return out.select(
        Col.PATIENT_ID, Col.SOURCE_ROW, Col.REGIMEN, **{Col.CATEGORY: out["_category"]}
    ).order_by(Col.SOURCE_ROW)


def _attach_classes(lines: ibis.Table, classes: ibis.Table) -> ibis.Table:
    text = classes.columns[0]
    cls = classes.select(text, *CLASS_COLUMNS)
    j = lines.left_join(cls, lines[Col.REGIMEN] == cls[text])
    return j.mutate(
        **{
            Col.CATEGORY: j[Col.CATEGORY].fill_null(UNCLASSIFIED_CATEGORY),
            Col.TCE: j[Col.TCE].fill_null(False),
            Col.BCMA_DIRECTED: j[Col.BCMA_DIRECTED].fill_null(False),
        }
    ).drop(text)


def patient_endpoints(
    patients: ibis.Table, line_table: ibis.Table, *, rules: EndpointRules | None = None
) -> ibis.Table:
    """Return one row per patient: OS from relapse, relapse timing, lines, first TCE.

    Parameters
    ----------
    patients
        Patients table in the curated contract, with ``source_row``.
    line_table
        The result of :func:`line_endpoints`.
    rules
        Endpoint rules (the early-relapse cut-off).

    Returns
    -------
    ibis.Table
        ``patient_id, source_row`` and the derived columns of table
        ``patient_endpoints`` (``os_months, os_event, os_valid, relapse_months,
        early_relapse, n_lines, first_tce_months``), in input order.
    """
    rules = rules or EndpointRules()
    per = line_table.group_by(Col.PATIENT_ID).aggregate(
        **{
            Col.N_LINES: line_table.count(),
            Col.FIRST_TCE_MONTHS: line_table[Col.START_MONTHS].min(where=line_table[Col.TCE]),
        }
    )
    p = patients.left_join(per, Col.PATIENT_ID)
    os_months = months_between(_follow_up_end(p), p[Col.PROGRESSION_DATE])
    relapse = months_between(p[Col.PROGRESSION_DATE], p[Col.CAR_T_DATE])
    out = p.select(
        Col.PATIENT_ID,
        Col.SOURCE_ROW,
        **{
            Col.OS_MONTHS: os_months,
            Col.OS_EVENT: p[Col.DEATH_DATE].notnull(),
            Col.OS_VALID: (os_months >= 0).fill_null(False),
            Col.RELAPSE_MONTHS: relapse,
            Col.EARLY_RELAPSE: relapse < rules.early_relapse_months,
            Col.N_LINES: p[Col.N_LINES].fill_null(0),
            Col.FIRST_TCE_MONTHS: p[Col.FIRST_TCE_MONTHS],
        },
    )
    return out.order_by(Col.SOURCE_ROW)


def tce_exposure(patients: ibis.Table) -> ibis.Table:
    """Split each patient's OS follow-up at the start of the first TCE line.

    Parameters
    ----------
    patients
        The result of :func:`patient_endpoints` (``os_valid, os_months, os_event,
        first_tce_months``).

    Returns
    -------
    ibis.Table
        Table ``tce_exposure``: ``patient_id, start, stop, event, tce`` in months
        from the index date; one row per patient, two for patients whose first TCE
        starts strictly inside ``(0, os_months)``: ``(0, t_tce]`` unexposed without
        event and ``(t_tce, os_months]`` exposed carrying the death indicator. A TCE
        starting on the index date exposes the whole follow-up; one starting on
        the last day adds no exposed time. Patients with ``os_months == 0`` have no
        interval (as R's ``tmerge`` would refuse an empty one).
    """
    p = patients.filter(patients[Col.OS_VALID] & (patients[Col.OS_MONTHS] > 0))
    t_tce, os_t = p[Col.FIRST_TCE_MONTHS], p[Col.OS_MONTHS]
    split = (t_tce > 0) & (t_tce < os_t)
    split = split.fill_null(False)
    first = p.select(
        Col.PATIENT_ID,
        Col.SOURCE_ROW,
        **{
            Col.START: ibis.literal(0.0),
            Col.STOP: ibis.ifelse(split, t_tce, os_t),
            Col.EVENT: ibis.ifelse(split, False, p[Col.OS_EVENT]),
            Col.TCE: (t_tce <= 0).fill_null(False),
            "_part": ibis.literal(0),
        },
    )
    second = p.filter(split).select(
        Col.PATIENT_ID,
        Col.SOURCE_ROW,
        **{
            Col.START: t_tce,
            Col.STOP: os_t,
            Col.EVENT: p[Col.OS_EVENT],
            Col.TCE: ibis.literal(True),
            "_part": ibis.literal(1),
        },
    )
    rows = first.union(second)
    rows = rows.order_by([Col.PATIENT_ID, Col.SOURCE_ROW, "_part"])
    return rows.select(Col.PATIENT_ID, Col.START, Col.STOP, Col.EVENT, Col.TCE)


def landmark(patients: ibis.Table, landmark_months: float) -> ibis.Table:
    """Return the landmark cohort at ``landmark_months`` with OS from the landmark.

    Parameters
    ----------
    patients
        The result of :func:`patient_endpoints`.
    landmark_months
        Landmark time L (months from the index date).

    Returns
    -------
    ibis.Table
        Table ``landmark``: patients alive and followed beyond L (``os_months >
        L``) with ``patient_id, time`` (``os_months - L``), ``event`` and
        ``tce_by_landmark`` (first TCE line started at or before L), in input order.
    """
    at = float(landmark_months)
    p = patients.filter(patients[Col.OS_VALID] & (patients[Col.OS_MONTHS] > at))
    out = p.select(
        Col.PATIENT_ID,
        Col.SOURCE_ROW,
        **{
            Col.TIME: p[Col.OS_MONTHS] - at,
            Col.EVENT: p[Col.OS_EVENT],
            Col.TCE_BY_LANDMARK: (p[Col.FIRST_TCE_MONTHS] <= at).fill_null(False),
        },
    )
    return out.order_by(Col.SOURCE_ROW).drop(Col.SOURCE_ROW)
