"""The OMOP cohort: myeloma, a BCMA-directed CAR-T infusion, follow-up; with attrition.

Steps (each counted in persons; ``audit/omop_cohort.csv``):

1. persons in ``person``;
2. with a multiple-myeloma condition (concept 437233, its descendants through
   ``concept_ancestor``, or a local ``[conditions]`` concept);
3. with a BCMA-directed CAR-T product in ``drug_exposure`` (ingredient concept or a
   text the vocabulary reads as one; the first is the index CAR T);
4. with a death date or an observation period (last follow-up), not before the index
   CAR T;
5. with a confirmed progression after the index CAR T (the raw derivation's index
   date; persons without one are listed in the attrition).

Persons with a myeloma diagnosis who leave at steps 3-4 are listed (``person``,
``person_id``, reason); persons without myeloma are only counted. The study covariates
(ECOG, ISS stage, extramedullary disease, high-risk cytogenetics) of the persons kept
are read on or before the index CAR T (:mod:`aftercar.derive.omop.covariates`).
"""

from __future__ import annotations

import datetime as dt

import ibis
import pyarrow as pa

from aftercar.derive.omop import covariates, mapping
from aftercar.derive.omop.checks import PRIMARY_IDS, Scope, repeated_persons
from aftercar.derive.omop.concepts import Concepts
from aftercar.derive.omop.mapping import OmopRaw
from aftercar.derive.raw.classify import car_t_products
from aftercar.derive.raw.rules import Rules
from aftercar.errors import CohortError, Problem
from aftercar.schema import Col

STEP_PERSONS = "persons in the OMOP instance"
STEP_MM = ("with a multiple-myeloma condition (437233 or a descendant, a local condition, or an "
           "ICD-10 C90.0x / ICD-9 203.0x source value)")
STEP_CAR_T = "with a BCMA-directed CAR-T infusion (drug_exposure)"
STEP_FU = "with a death date or an observation period, not before the CAR-T infusion"
STEP_INDEX = "with a confirmed progression after the index CAR T"
_NO_CAR_T = "no BCMA-directed CAR-T product in drug_exposure"
_NO_FU = "neither a death date nor an observation period"
_FU_BEFORE = ("death, or the end of the last observation period, before the CAR-T infusion "
              "(check the dates)")
_DEATH_BEFORE_BIRTH = ("death date before the person's birth (check death_date and the birth "
                       "fields of person)")
NO_PERSON_ID = "no person_id"
UNKNOWN_PERSON = "person_id not in the person table"


def _index_car_t(con, adm: ibis.Table, rules: Rules) -> ibis.Table:
    """``patient_id, car_t_date, car_t_product``: the first BCMA CAR-T exposure.

    The product is the row's source text, unless that names another CAR-T product than
    the row's concept (the concept is the CDM's coded value: "ABECMA" under ciltacabtagene
    autoleucel's concept is cilta-cel). Two products on the index day stop the run
    (fuzzing round 5, H09: both were settled silently)."""
    texts = adm.select("drug").distinct().to_pyarrow()["drug"].to_pylist()
    cart = con.create_table("_omop_bcma_car_t", mapping.bcma_car_t_texts(texts, rules),
                            overwrite=True)  # fmt: skip
    c = adm.join(cart, "drug")
    first = c.group_by(Col.PATIENT_ID).aggregate(_first=c.date.min())
    c = c.join(first, Col.PATIENT_ID).filter(lambda t: t.date == t._first)
    pairs = c.select("drug", "product").distinct().to_pyarrow().to_pylist()
    names = con.create_table("_omop_car_t_names", _product_names(pairs), overwrite=True)
    c = c.join(names, ["drug", "product"])
    _one_product(c)
    return c.group_by(Col.PATIENT_ID).aggregate(**{Col.CAR_T_DATE: c.date.min(),
                                                   Col.CAR_T_PRODUCT: c._product.min()})


def _car_t_names(text: str | None) -> frozenset[str]:
    """The named CAR-T products of ``text`` (a bare "CAR-T" names none)."""
    return frozenset(d.name for d in car_t_products(text) if not d.unspecified)


def _product_names(pairs: list[dict]) -> pa.Table:
    """``drug, product, _product, _name`` of each (mapped text, source-or-mapped text) pair
    of the index rows: the product text kept and the product it names."""
    rows = []
    for r in pairs:
        coded, said = _car_t_names(r["drug"]), _car_t_names(r["product"])
        keep = r["drug"] if coded and said and not coded & said else r["product"]
        name = ";".join(sorted(coded or said)) or (keep or "")
        rows.append({"drug": r["drug"], "product": r["product"], "_product": keep, "_name": name})
    schema = pa.schema([("drug", pa.string()), ("product", pa.string()),
                        ("_product", pa.string()), ("_name", pa.string())])  # fmt: skip
    return pa.Table.from_pylist(rows, schema=schema)


def _one_product(c: ibis.Table) -> None:
    """Stop when a person's index day holds two different CAR-T products."""
    n = c.group_by(Col.PATIENT_ID).aggregate(_n=c._name.nunique(), _rows=c.row.collect())
    bad = n.filter(n._n > 1).order_by(Col.PATIENT_ID).limit(5).to_pyarrow().to_pylist()
    if not bad:
        return
    shown = "; ".join(f"person_id {r[Col.PATIENT_ID]}: drug_exposure_id "
                      + ", ".join(map(str, sorted(r["_rows"]))) for r in bad)  # fmt: skip
    raise CohortError([Problem(
        "drug_exposure", None, "drug_concept_id", shown,
        "two different BCMA CAR-T products are recorded on the day of the index infusion",
        "keep the product that was infused (one drug_exposure row), or correct the other "
        "row's drug_concept_id / drug_source_value")], "OMOP: two CAR-T products at index")


def _days_in_month(year: ibis.Value, month: ibis.Value) -> ibis.Value:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    return ibis.cases((month.isin([4, 6, 9, 11]), 30), (month == 2, ibis.ifelse(leap, 29, 28)),
                      else_=31)  # fmt: skip


def _birth_fields(pe: ibis.Table) -> tuple[ibis.Value, ibis.Value]:
    """``(month, day)`` of birth, each null when missing or no month / day of its month
    (0/0, as some ETLs write "unknown"; 31 February)."""
    month = pe.month_of_birth if "month_of_birth" in pe.columns else ibis.null("int64")
    day = pe.day_of_birth if "day_of_birth" in pe.columns else ibis.null("int64")
    month = ibis.ifelse(month.between(1, 12), month, ibis.null("int64"))
    last = _days_in_month(pe.year_of_birth.cast("int64"), month)
    return month, ibis.ifelse(day.between(1, last), day, ibis.null("int64"))


def _birth_date(pe: ibis.Table, earliest: bool = False) -> ibis.Value:
    """Birth date: ``birth_datetime``, else year/month/day (missing month = 1 July, missing
    day = the 15th). A month outside 1-12 or a day outside its month (0/0, as some ETLs
    write "unknown"; 31 February) is read as missing: only the age is derived from it.
    ``earliest``: the first day the fields allow instead (missing month = 1 January,
    missing day = the 1st): a death before it is before the birth whatever the day."""
    month, day = _birth_fields(pe)
    fill_month, fill_day = (1, 1) if earliest else (7, 15)
    d = ibis.ifelse(month.isnull(), 1, ibis.coalesce(day, fill_day))
    # a year of 0 (or less) is "unknown", as a month or day of 0: no birth date (it was a
    # date of year 0, a traceback when read: fuzzing, 2026-12-07)
    year = pe.year_of_birth.cast("int32")
    made = ibis.date(ibis.ifelse(year > 0, year, ibis.null("int32")),
                     ibis.coalesce(month, fill_month).cast("int32"), d.cast("int32"))
    if "birth_datetime" in pe.columns:
        return ibis.coalesce(pe.birth_datetime.cast("date"), made)
    return made


def _check_births(pe: ibis.Table) -> None:
    """Stop on a person (with myeloma) whose birth fields contradict each other: a
    ``birth_datetime`` in another year than ``year_of_birth``, or a ``month_of_birth`` /
    ``day_of_birth`` that is no month or day at all (0, "unknown" in some ETLs, is read as
    missing). Fuzzing round 5 (H04): a 20-year disagreement gave an age of 41 instead of
    61 without a word, and month 13 was written out as 1 July."""
    bad = ibis.literal(False)
    if "birth_datetime" in pe.columns:
        # a day either side of a new year is a time zone, not a contradiction (1 January at
        # local midnight stored in UTC is 31 December; review, 2026-12-06)
        d = pe.birth_datetime.cast("date")
        yob = pe.year_of_birth.cast("int64")
        edge = ((d.year() == yob - 1) & (d.month() == 12) & (d.day() == 31)) | (
            (d.year() == yob + 1) & (d.month() == 1) & (d.day() == 1))  # fmt: skip
        bad = bad | ((d.year() != yob) & ~edge)
    for col, top in (("month_of_birth", 12), ("day_of_birth", 31)):
        if col in pe.columns:
            bad = bad | ~pe[col].cast("int64").between(0, top)
    # a year of birth after this one (2090: a person dropped as "death before birth", or
    # stopped as "age -68.9"; fuzzing, 2026-12-07)
    bad = bad | (pe.year_of_birth.cast("int64") > dt.date.today().year)
    cols = [c for c in ("person_id", "year_of_birth", "month_of_birth", "day_of_birth",
                        "birth_datetime") if c in pe.columns]  # fmt: skip
    rows = pe.filter(bad.fill_null(False)).select(*cols).order_by("person_id").limit(5)
    found = rows.to_pyarrow().to_pylist()
    if not found:
        return
    shown = "; ".join(", ".join(f"{k} {v}" for k, v in r.items() if v is not None)
                      for r in found)  # fmt: skip
    raise CohortError([Problem(
        "person", None, "year_of_birth", shown,
        "the birth fields of the person contradict each other (birth_datetime in another "
        "year than year_of_birth), hold no month or day (month 1-12, day 1-31), or give a "
        "year of birth after this one",
        "correct year_of_birth, month_of_birth, day_of_birth or birth_datetime so that they "
        "agree; leave a month or day that is not known empty", rule="age_implausible")],
        "OMOP person: contradictory birth fields")  # fmt: skip


def _site(tables, pe: ibis.Table) -> ibis.Table:
    """``person_id, site``: the care site's name; without a ``care_site`` table its id; an
    id the ``care_site`` table does not name as "care_site_id ID"; null without one."""
    if "care_site_id" not in pe.columns:
        return pe.select("person_id", **{Col.SITE: ibis.null("string")})
    if "care_site" in tables:
        cs = tables["care_site"].select(_csid=ibis._.care_site_id, _csname=ibis._.care_site_name)
        # one name per id: a care_site listed twice had copied every person of the site
        # (fuzzing round 3, 2026-12-06); of two names for one id, the first in sort order
        cs = cs.group_by("_csid").aggregate(_csname=cs._csname.min())
        j = pe.left_join(cs, pe.care_site_id == cs._csid)
        # an id care_site does not name reads as such, not as a bare number that looks like
        # a site's name (fuzz round 8, session 27: site "999", nothing said)
        unnamed = "care_site_id " + j.care_site_id.cast("string")
        return j.select("person_id", **{Col.SITE: ibis.coalesce(j._csname, unnamed)})
    return pe.select("person_id", **{Col.SITE: pe.care_site_id.cast("string")})


def _persons(tables, dx: ibis.Table) -> ibis.Table:
    pe = tables["person"].join(dx.select("person_id"), "person_id")
    sex = pe.gender_concept_id.cast("int64").cases(*mapping.SEX_CONCEPTS,
                                                    else_=ibis.null("string"))
    if "gender_source_value" in pe.columns:
        given = pe.gender_source_value.cast("string")
        sex = ibis.coalesce(sex, given.strip().lower().cases(*mapping.SEX_SOURCE_VALUES,
                                                              else_=given))  # fmt: skip
    # the derivation keys patients by the integer person_id (joins on it are faster than on
    # its text); the outputs give it as text (aftercar.derive.raw.audit.text_ids)
    p = pe.select("person_id", **{Col.PATIENT_ID: pe.person_id.cast("int64"), Col.SEX: sex,
                                  Col.BIRTH_DATE: _birth_date(pe),
                                  "_born": _birth_date(pe, earliest=True)})  # fmt: skip
    return p.join(_site(tables, pe), "person_id")


def _follow_up(tables) -> tuple[ibis.Table, ibis.Table]:
    de = tables["death"]
    death = de.group_by("person_id").aggregate(_death=de.death_date.cast("date").min())
    op = tables["observation_period"]
    last = op.group_by("person_id").aggregate(_op_end=op.observation_period_end_date
                                              .cast("date").max())  # fmt: skip
    return death, last


def _unique_persons(persons: ibis.Table) -> None:
    """Stop on a ``person_id`` given by more than one ``person`` row (of a person with
    myeloma). The source checks (:func:`~.checks.check_rows`) stop first, naming the file;
    this guard (a grouping of the batch's persons) covers tables opened without them
    (``checked=True``, or Ibis tables handed to :func:`build`)."""
    problems = repeated_persons(persons, "person")
    if problems:
        raise CohortError(problems, "person_id is not unique in the OMOP person table")


def build(con, tables, concepts: Concepts, rules: Rules) -> OmopRaw:
    """Map an OMOP instance to raw tables of the cohort's persons (module docstring)."""
    dx = con.create_table("_omop_dx", myeloma_persons(con, tables, concepts), overwrite=True)
    _unique_persons(tables["person"].semi_join(dx, "person_id"))
    _check_births(tables["person"].semi_join(dx, "person_id"))
    persons = con.create_table("_omop_persons", _persons(tables, dx), overwrite=True)
    ids = persons.select("person_id", Col.PATIENT_ID)
    adm = con.create_table("_omop_adm", mapping.administrations(con, tables, ids, concepts, rules),
                           overwrite=True)  # fmt: skip
    idx = _index_car_t(con, adm, rules)
    death, last = _follow_up(tables)
    p = persons.left_join(idx, Col.PATIENT_ID).drop(f"{Col.PATIENT_ID}_right")
    p = p.left_join(death, "person_id").drop("person_id_right")
    p = p.left_join(last, "person_id").drop("person_id_right")
    p = p.mutate(**{Col.DEATH_DATE: p._death,
                    Col.LAST_FOLLOWUP_DATE: ibis.ifelse(p._death.isnull(), p._op_end,
                                                        ibis.null("date"))})  # fmt: skip
    reason = ibis.cases((p[Col.CAR_T_DATE].isnull(), _NO_CAR_T),
                        (p._death.isnull() & p._op_end.isnull(), _NO_FU),
                        (p._death < p._born, _DEATH_BEFORE_BIRTH),
                        (ibis.coalesce(p._death, p._op_end) < p[Col.CAR_T_DATE], _FU_BEFORE),
                        else_=ibis.null("string"))  # fmt: skip
    p = con.create_table("_omop_patients_all", p.mutate(_why=reason), overwrite=True)
    cols = [Col.PATIENT_ID, Col.SITE, Col.SEX, Col.BIRTH_DATE, Col.CAR_T_PRODUCT, Col.CAR_T_DATE,
            Col.DEATH_DATE, Col.LAST_FOLLOWUP_DATE]  # fmt: skip
    kept = p.filter(p._why.isnull())
    cov, cov_rows = covariates.derive_covariates(
        con, tables, kept.select("person_id", Col.PATIENT_ID, Col.CAR_T_DATE), concepts)
    kept = kept.left_join(cov, "person_id").drop("person_id_right")
    pats = kept.select(*cols, *covariates.COLUMNS, row=kept.person_id.cast("int64"))
    excluded = p.filter(p._why.notnull()).select(
        table=ibis.literal("person"), row=p.person_id.cast("int64"),
        **{Col.PATIENT_ID: p[Col.PATIENT_ID].cast("string")}, reason=p._why)  # fmt: skip
    keep = pats.select(pats.row.name("person_id"), pats[Col.PATIENT_ID])
    raw = {"patients": pats,
           "administrations": adm.join(keep.select(Col.PATIENT_ID), Col.PATIENT_ID)
           .select(Col.PATIENT_ID, "date", Col.END_DATE, "drug", "row"),
           "procedures": mapping.procedures(con, tables, keep, concepts),
           "labs": mapping.labs(con, tables, keep, concepts, rules)}  # fmt: skip
    units = mapping.unit_candidate_labs(con, tables, keep, concepts, rules)
    return OmopRaw(raw, _steps(tables, dx, p), excluded, dx, cov_rows, units)


def myeloma_persons(con, tables, concepts: Concepts) -> ibis.Table:
    """Step 2: the first myeloma condition (:func:`mapping.diagnoses`) of each person in
    ``person`` (``person_id, diagnosis_date, condition_concept_id``)."""
    return mapping.diagnoses(con, tables, concepts).semi_join(tables["person"], "person_id")


def myeloma_scope(con, concepts: Concepts) -> Scope:
    """The ``scope`` of :func:`aftercar.derive.omop.source.open_source` for the derivation:
    the persons with a myeloma condition (step 2), the only ones whose rows are read."""

    def scope(tables: dict[str, ibis.Table]) -> ibis.Table:
        dx = con.create_table("_omop_scope", myeloma_persons(con, tables, concepts),
                              overwrite=True)  # fmt: skip
        _dated(dx)
        return dx.select("person_id")

    return scope


def _dated(dx: ibis.Table) -> None:
    """Stop on a person whose myeloma conditions all lack ``condition_start_date`` (NOT NULL
    in the CDM): the disease EPISODE would have no start. Only the myeloma conditions are
    checked: other conditions are not read, and an empty date in one of them does not stop
    a study (covariate conditions without a date are not evidence "on or before" the index
    CAR T)."""
    bad = dx.filter(dx.diagnosis_date.isnull()).order_by("person_id").limit(5)
    ids = [str(r["person_id"]) for r in bad.to_pyarrow().to_pylist()]
    if ids:
        raise CohortError([Problem("condition_occurrence", None, "condition_start_date", None,
                                   f"person_id {', '.join(ids)}: no myeloma condition has "
                                   "a condition_start_date (the CDM requires it)",
                                   "give the date (from condition_start_datetime when that "
                                   "is filled), or remove the row")],
                          "a myeloma condition without its start date")  # fmt: skip


def orphan_rows(tables) -> ibis.Table:
    """``table, row, patient_id, reason``: the ``drug_exposure``, ``procedure_occurrence``
    and ``measurement`` rows of no person (``person_id`` empty or not in ``person``), to
    be listed in the attrition (the cohort reads the records of its persons only)."""
    person = tables["person"].select("person_id")
    parts = []
    for name, col in PRIMARY_IDS.items():
        t = tables[name]
        o = t.anti_join(person, "person_id")
        parts.append(o.select(table=ibis.literal(name), row=o[col].cast("int64"),
                              **{Col.PATIENT_ID: o.person_id.cast("string")},
                              reason=ibis.ifelse(o.person_id.isnull(), NO_PERSON_ID,
                                                 UNKNOWN_PERSON)))  # fmt: skip
    return ibis.union(*parts)


def _steps(tables, dx: ibis.Table, p: ibis.Table) -> list[tuple[str, int]]:
    counts = p.aggregate(
        car_t=p[Col.CAR_T_DATE].notnull().sum(), fu=p._why.isnull().sum()
    ).to_pyarrow().to_pylist()[0]
    return [(STEP_PERSONS, int(tables["person"].count().to_pyarrow().as_py())),
            (STEP_MM, int(dx.count().to_pyarrow().as_py())),
            (STEP_CAR_T, int(counts["car_t"] or 0)), (STEP_FU, int(counts["fu"] or 0))]  # fmt: skip


__all__ = ["NO_PERSON_ID", "STEP_CAR_T", "STEP_FU", "STEP_INDEX", "STEP_MM", "STEP_PERSONS",
           "UNKNOWN_PERSON", "build", "myeloma_persons", "myeloma_scope",
           "orphan_rows"]  # fmt: skip
