"""The study covariates of the OMOP cohort: ECOG, ISS stage, extramedullary disease and
high-risk cytogenetics, as Ibis expressions.

The concepts are data (``data/omop/covariates.csv``, extended by a site's
``[covariates]`` local concepts); each says which covariate it carries and how its
value is read (``reads``):

* ``constant``: the concept is the value (an ECOG grade finding, an ISS stage);
* ``number``: ``value_as_number`` (the ECOG score; for ISS, serum beta-2
  microglobulin ``b2m`` and ``albumin``, with their units); an ECOG score whose
  ``value_as_concept_id`` is a ``constant`` concept of the same covariate (a grade
  finding, or a LOINC answer mapped locally) reads that grade;
* ``finding``: the concept is the abnormality itself: present when
  ``value_as_concept_id`` is empty or a positive result, absent when it is a negative
  result (``values.csv``), unreadable for any other value;
* ``result``: a test whose ``value_as_concept_id`` is a positive or negative result
  (no result: not read).

Rows come from ``measurement``, ``observation`` (when present) and
``condition_occurrence``, for the cohort's persons. Only records dated on or before
the index CAR-T infusion count:

* ``ecog``: the latest readable grade (0-5);
* ``iss_stage``: the latest recorded stage; without one, the stage from the latest
  beta-2 microglobulin (mg/L) and albumin (g/dL), Greipp et al., J Clin Oncol
  2005;23:3412 (``data/omop/iss.toml``): III when B2M >= 5.5; II when
  3.5 <= B2M < 5.5; I when B2M < 3.5 and albumin >= 3.5; II when B2M < 3.5 and
  albumin < 3.5;
* ``extramedullary_disease``: true when any record is positive; false when only
  negative results are recorded;
* ``high_risk_cytogenetics``: true when any abnormality is positive; false only when a
  negative result is recorded for **every** abnormality the concepts list (del(17p),
  t(4;14), t(14;16) shipped) and none is positive.

OMOP has no record of absence: without evidence a covariate stays empty (unknown),
never false. Ties on a date are broken by table and row id (a unique order on every
engine). Each read row is either used (:func:`split_rows`: the audit's events) or
listed in the attrition with its reason.
"""

from __future__ import annotations

import tomllib
from importlib import resources

import ibis
import pyarrow as pa
import pyarrow.compute as pc

from aftercar.derive.omop.concepts import COVARIATES, Concepts
from aftercar.derive.omop.mapping import lookup
from aftercar.derive.raw.labs import case_folded
from aftercar.schema import Col

#: OMOP table -> (row id, concept, date column; whether it has value columns).
_SOURCES = {
    "measurement": ("measurement_id", "measurement_concept_id", "measurement_date", True),
    "observation": ("observation_id", "observation_concept_id", "observation_date", True),
    "condition_occurrence": ("condition_occurrence_id", "condition_concept_id",
                             "condition_start_date", False),
}  # fmt: skip
#: The ISS rules (``data/omop/iss.toml``, Greipp et al. 2005): thresholds and lab units.
_ISS_RULES = tomllib.loads(
    resources.files("aftercar.data").joinpath("omop/iss.toml").read_text("utf-8"))
#: ISS lab -> unit text -> factor to mg/L (B2M) or g/dL (albumin).
LAB_UNITS: dict[str, dict[str, float]] = _ISS_RULES["units"]
#: Greipp 2005 thresholds: B2M (mg/L) for stage III and for stage I; albumin (g/dL).
B2M_III, B2M_I, ALBUMIN_I = (float(_ISS_RULES["thresholds"][k]) for k in
                             ("b2m_stage_iii", "b2m_stage_i", "albumin_stage_i"))  # fmt: skip
_ECOG, _ISS = Col.ECOG, Col.ISS_STAGE
_EMD, _CYTO = Col.EXTRAMEDULLARY_DISEASE, Col.HIGH_RISK_CYTOGENETICS
COLUMNS = (_ECOG, _ISS, _EMD, _CYTO)
_LATER = "a later record on or before the index CAR T gives the value"


def _rows(t: ibis.Table, name: str) -> ibis.Table:
    """One OMOP table's rows as ``person_id, table, row, concept_id, date, number, ...``."""
    rid, cid, date, values = _SOURCES[name]
    null_f, null_i, null_s = ibis.null("float64"), ibis.null("int64"), ibis.null("string")
    has = t.columns.__contains__
    return t.select(
        person_id=t.person_id.cast("int64"), table=ibis.literal(name),
        row=t[rid].cast("int64") if has(rid) else null_i, concept_id=t[cid].cast("int64"),
        date=t[date].cast("date"),
        number=t.value_as_number.cast("float64") if values else null_f,
        # 0 ("No matching concept"), which many ETLs write for "no value", is no value
        vcid=t.value_as_concept_id.cast("int64").nullif(0) if values else null_i,
        ucid=t.unit_concept_id.cast("int64") if has("unit_concept_id") else null_i,
        usrc=t.unit_source_value.cast("string") if has("unit_source_value") else null_s)


def _lab_units(con) -> ibis.Table:
    """``_lab, _lab_unit, _factor``: each ISS lab's units, and their lower-case texts as the
    M-protein and light-chain units are read (:func:`aftercar.derive.raw.labs.case_folded`:
    ``MG/L`` as ``mg/L``)."""
    folded = case_folded({(lab, u): f for lab, units in LAB_UNITS.items()
                          for u, f in units.items()})  # fmt: skip
    t = pa.table({"_lab": [k[0] for k in folded], "_lab_unit": [k[1] for k in folded],
                  "_factor": pa.array(list(folded.values()), pa.float64())})  # fmt: skip
    return lookup(con, "cov_lab_units", t)


def _evidence(con, tables, persons: ibis.Table, concepts: Concepts) -> ibis.Table:
    """The covariate rows of ``persons`` with their concept's covariate, value and reads."""
    t = concepts.table(COVARIATES)
    const = [float(v) if r == "constant" else None  # the grade or stage (checked on load)
             for v, r in zip(t["value"].to_pylist(), t["reads"].to_pylist(), strict=True)]
    t = t.append_column("const", pa.array(const, pa.float64()))
    cmap = lookup(con, "cov_concepts", t)
    parts = []
    for name in _SOURCES:
        if name in tables:
            r = _rows(tables[name], name)
            parts.append(r.join(cmap, r.concept_id == cmap.concept_id))
    ev = parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]
    ev = ev.join(persons, "person_id")
    answers = cmap.filter(cmap.reads == "constant").select(
        _aid=cmap.concept_id, _acov=cmap.covariate, _aconst=cmap.const)  # a grade as the value
    ev = ev.left_join(answers, ev.vcid == answers._aid)
    vals = lookup(con, "values", concepts.table("values")).rename(_vid="concept_id", _res="text")
    ev = ev.left_join(vals, ev.vcid == vals._vid)
    units = lookup(con, "units", concepts.table("units")).rename(_uid="concept_id",
                                                                 _utext="text")
    ev = ev.left_join(units, ev.ucid == units._uid)
    ev = ev.mutate(_unit=ibis.coalesce(ev._utext, ev.usrc.strip()))
    lab = _lab_units(con)  # the unit as written, else in lower case (as normalise_labs)
    ev = ev.left_join(lab, (ev.value == lab._lab) & (ev._unit == lab._lab_unit))
    low = lab.select(_llab=lab._lab, _lunit=lab._lab_unit, _lfactor=lab._factor)
    ev = ev.left_join(low, (ev.value == low._llab) & (ev._unit.lower() == low._lunit)
                      & ev._factor.isnull())  # fmt: skip
    ev = ev.mutate(_factor=ibis.coalesce(ev._factor, ev._lfactor))
    return ev.drop("_aid", "_vid", "_uid", "_utext", "_lab", "_lab_unit", "_llab", "_lunit",
                   "_lfactor")


def _readings(ev: ibis.Table) -> ibis.Table:
    """``ev`` with ``_num`` (grade, stage or lab value), ``_flag`` (yes/no) and ``_ok``."""
    ecog_n = ev.number.isin([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    num = ibis.cases(
        (ev.reads == "constant", ev.const),
        ((ev.covariate == _ECOG) & ecog_n, ev.number),
        # an ECOG score row may carry its grade as a value concept (never a lab row)
        ((ev.covariate == _ECOG) & (ev.reads == "number") & (ev._acov == ev.covariate),
         ev._aconst),
        ((ev.covariate == _ISS) & (ev.number >= 0), ev.number * ev._factor),
        else_=ibis.null("float64"))  # fmt: skip
    pos, neg = ev._res == "POSITIVE", ev._res == "NEGATIVE"
    plain = ev.vcid.isnull() | pos.fill_null(False)  # no value, or a positive one
    flag = ibis.cases(((ev.reads == "finding") & neg.fill_null(False), False),
                      ((ev.reads == "finding") & plain, True), ((ev.reads == "result") & pos, True),
                      ((ev.reads == "result") & neg, False),
                      else_=ibis.null("boolean"))  # fmt: skip
    grp = ibis.ifelse((ev.covariate == _ISS) & (ev.reads == "number"), ev.value, ev.covariate)
    r = ev.mutate(_num=num, _flag=flag, _grp=grp)
    ok = ibis.ifelse(r.covariate.isin([_ECOG, _ISS]), r._num.notnull(), r._flag.notnull())
    r = r.mutate(_ok=ok, _before=r.date <= r[Col.CAR_T_DATE])
    return r.mutate(_use=r._ok & r._before.fill_null(False))


def _ranked(r: ibis.Table) -> ibis.Table:
    """Rank each person's usable rows of a group, latest first (unique tie-breaker)."""
    w = ibis.window(group_by=[r.person_id, r._grp, r._use],
                    order_by=[r.date.desc(), r.table.desc(), r.row.desc()])  # fmt: skip
    return r.mutate(_rank=ibis.row_number().over(w))


def _latest(r: ibis.Table, grp: str) -> ibis.Value:
    return ibis.ifelse((r._grp == grp) & r._use & (r._rank == 0), r._num,
                       ibis.null("float64")).max()  # fmt: skip


def _lab_stage(b2m: ibis.Value, alb: ibis.Value) -> ibis.Value:
    """ISS stage (1-3) from B2M (mg/L) and albumin (g/dL), Greipp 2005; null if unknown."""
    return ibis.cases((b2m >= B2M_III, 3), (b2m >= B2M_I, 2),
                      ((b2m < B2M_I) & (alb >= ALBUMIN_I), 1),
                      ((b2m < B2M_I) & (alb < ALBUMIN_I), 2),
                      else_=ibis.null("int64"))  # fmt: skip


def _per_person(r: ibis.Table, n_abnormalities: int) -> ibis.Table:
    """One row per person: the four covariates (and the ISS inputs)."""
    yes, no = r._flag.fill_null(False), ~r._flag.fill_null(True)

    def flags(grp: str, flag: ibis.Value) -> ibis.Value:
        return ((r._grp == grp) & r._use & flag).any()

    neg_abn = ibis.ifelse((r._grp == _CYTO) & r._use & no, r.value,
                          ibis.null("string")).nunique()  # fmt: skip
    a = r.group_by("person_id").aggregate(
        _ecog=_latest(r, _ECOG), _iss_rec=_latest(r, _ISS), _b2m=_latest(r, "b2m"),
        _alb=_latest(r, "albumin"), _emd_t=flags(_EMD, yes), _emd_f=flags(_EMD, no),
        _cyto_t=flags(_CYTO, yes), _cyto_negs=neg_abn)  # fmt: skip
    lab = _lab_stage(a._b2m, a._alb)
    return a.mutate(**{
        _ECOG: a._ecog.cast("int64"),
        _ISS: ibis.coalesce(a._iss_rec.cast("int64"), lab), "_lab_stage": lab,
        _EMD: ibis.cases((a._emd_t, True), (a._emd_f, False), else_=ibis.null("boolean")),
        _CYTO: ibis.cases((a._cyto_t, True), (a._cyto_negs >= n_abnormalities, False),
                          else_=ibis.null("boolean"))})  # fmt: skip


def _used(j: ibis.Table) -> ibis.Value:
    """Whether a ranked row gives (or supports) its person's value."""
    top = j._use & (j._rank == 0)
    by_labs = j._iss_rec.isnull() & j._lab_stage.notnull()
    return ibis.cases(
        (j._grp.isin([_ECOG, _ISS]), top),
        (j._grp == "b2m", top & by_labs),
        (j._grp == "albumin", top & by_labs & (j._b2m < B2M_I)),
        (j._grp == _EMD, j._use & (j._flag == j[_EMD])),
        (j._grp == _CYTO, j._use & (j._flag == j[_CYTO])),
        else_=False).fill_null(False)  # fmt: skip


def _reason(j: ibis.Table) -> ibis.Value:
    """Why a read row is not used."""
    labs = j._grp.isin(["b2m", "albumin"])
    text = ibis.cases(
        (j._before.isnull(), "no date"),
        (~j._before, "recorded after the index CAR T"),
        (~j._ok, "no readable value (value_as_number, value_as_concept_id or unit)"),
        (labs & j._iss_rec.notnull(), "the ISS stage is recorded (a stage concept)"),
        (~j._grp.isin([_EMD, _CYTO]) & (j._rank > 0), _LATER),
        ((j._grp == "albumin") & (j._b2m >= B2M_I),
         f"not needed: beta-2 microglobulin >= {B2M_I:g} mg/L decides the ISS stage"),
        (j._grp == "b2m", "no albumin on or before the index CAR T (needed when beta-2 "
                          f"microglobulin < {B2M_I:g} mg/L)"),
        (labs, "no beta-2 microglobulin on or before the index CAR T to stage with"),
        (~j._flag.fill_null(True) & ibis.ifelse(j._grp == _EMD, j[_EMD], j[_CYTO]).fill_null(
            False), "a positive record on or before the index CAR T gives the value"),
        ((j._grp == _CYTO) & j[_CYTO].isnull(),
         "negative results do not cover every high-risk abnormality"),
        else_="not needed")  # fmt: skip
    return "covariate " + j.covariate + ": " + text


def derive_covariates(con, tables, persons: ibis.Table,
                      concepts: Concepts) -> tuple[ibis.Table, ibis.Table]:  # fmt: skip
    """The covariates of ``persons`` and the rows read for them.

    Parameters
    ----------
    con
        The Ibis connection of ``tables``.
    tables
        The opened OMOP tables (:func:`aftercar.derive.omop.source.open_source`).
    persons
        ``person_id, patient_id, car_t_date`` (the index CAR-T date).
    concepts
        The concept mappings (``covariates`` and ``values``, ``units``).

    Returns
    -------
    values : ibis.Table
        ``person_id, ecog, iss_stage, extramedullary_disease, high_risk_cytogenetics``
        for the persons with at least one covariate row (the others: all empty).
    rows : ibis.Table
        ``patient_id, table, row, covariate, used, reason``: every row read, whether it
        gives its person's value, and why not (null when used).
    """
    cmap = concepts.table(COVARIATES)
    cyto = {v for c, v in zip(cmap["covariate"].to_pylist(), cmap["value"].to_pylist(),
                              strict=True) if c == _CYTO}  # fmt: skip
    r = _ranked(_readings(_evidence(con, tables, persons, concepts)))
    r = con.create_table("_omop_cov_rows", r, overwrite=True)
    per = con.create_table("_omop_cov_persons", _per_person(r, max(len(cyto), 1)),
                           overwrite=True)  # fmt: skip
    j = r.join(per, "person_id")
    used = _used(j)
    rows = j.select(**{Col.PATIENT_ID: j[Col.PATIENT_ID].cast("string")}, table=j.table, row=j.row,
                    covariate=j.covariate, used=used,
                    reason=ibis.ifelse(used, ibis.null("string"), _reason(j)))  # fmt: skip
    return per.select("person_id", *COLUMNS), rows


def split_rows(rows: pa.Table, cohort_ids: pa.Array,
               events: pa.Schema, attrition: pa.Schema) -> tuple[pa.Table, pa.Table]:  # fmt: skip
    """The covariate rows as audit events (used) and attrition rows (the others).

    Parameters
    ----------
    rows
        :func:`derive_covariates` ``rows``.
    cohort_ids
        ``patient_id`` of the derived cohort (persons left out have their rows listed).
    events, attrition
        Schemas of the audit's ``events`` (``patient_id, line, row, table, role``; the
        line is empty: a covariate belongs to no line) and of the attrition.
    """
    member = pc.is_in(rows[Col.PATIENT_ID], value_set=cohort_ids)
    used = pc.and_(member, rows["used"])
    ev = rows.filter(used)
    ev_cols = {Col.PATIENT_ID: ev[Col.PATIENT_ID], "row": ev["row"], "table": ev["table"],
               "role": pc.binary_join_element_wise("covariate ", ev["covariate"], "")}
    ev_t = pa.table({f.name: ev_cols.get(f.name, pa.nulls(ev.num_rows, f.type))
                     .cast(f.type) for f in events})  # fmt: skip
    out = rows.filter(pc.invert(used))
    gone = pc.binary_join_element_wise("covariate ", out["covariate"],
                                       ": the person is not in the derived cohort", "")
    reason = pc.if_else(pc.is_in(out[Col.PATIENT_ID], value_set=cohort_ids), out["reason"], gone)
    at_cols = {"table": out["table"], "row": out["row"], Col.PATIENT_ID: out[Col.PATIENT_ID],
               "reason": reason}
    at_t = pa.table({f.name: at_cols[f.name].cast(f.type) for f in attrition})
    return ev_t, at_t


__all__ = ["B2M_I", "B2M_III", "COLUMNS", "LAB_UNITS", "derive_covariates", "split_rows"]
