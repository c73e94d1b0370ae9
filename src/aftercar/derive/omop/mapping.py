"""OMOP CDM tables -> the four raw tables of ``data/raw_format.csv``, as Ibis expressions.

* ``drug_exposure`` -> ``administrations``: one row per drug exposure (``row`` =
  ``drug_exposure_id``); its text is the aftercar names of the RxNorm ingredients
  it maps to (the concept itself or, with ``concept_ancestor``, its ingredient
  ancestors), else its concept name, else ``drug_source_value``, read by the
  regimen vocabulary. A ``drug_source_value`` or ``sig`` matching the rules'
  premedication pattern marks the exposure as premedication. ``end_date`` =
  ``drug_exposure_end_date`` (else, when given, start + ``days_supply`` - 1): a
  continued exposure when after the start (see :mod:`aftercar.derive.raw.lines`); one
  before the start stops the run (:func:`aftercar.derive.omop.checks.check_rows`).
* ``measurement`` -> ``labs`` (``row`` = ``measurement_id``): the LOINC concepts of
  ``measurements.csv`` by id, else by their LOINC code or name in the ``concept`` table
  (or a ``measurement_source_value`` that is a test name of ``[tests]``, a LOINC code or
  long common name of ``measurements.csv``); value = ``value_as_number``, else the result concept
  (``values.csv``), else ``value_source_value``; unit from ``unit_concept_id``
  (``units.csv``), else ``unit_source_value``.
* ``procedure_occurrence`` -> ``procedures`` (``row`` = ``procedure_occurrence_id``):
  the concept's text (``procedures.csv``), else ``procedure_source_value``, else the
  concept name.
* ``person`` + ``condition_occurrence`` + ``death`` + ``observation_period`` ->
  ``patients`` (``row`` = ``person_id``): persons with a multiple-myeloma condition
  (437233 or a descendant) and a BCMA-directed CAR-T exposure (the first is the
  index CAR T), with a death date or an observation period; their covariates from
  ``measurement``, ``observation`` and ``condition_occurrence``
  (:mod:`aftercar.derive.omop.covariates`).

No row-wise Python: the only Python steps read the distinct drug texts (a few
hundred) through the vocabulary, as :mod:`aftercar.derive.raw.classify` does.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, replace
from importlib import resources

import ibis
import pyarrow as pa

from aftercar.derive.dates import plus_days
from aftercar.derive.omop.concepts import Concepts, loinc_tests
from aftercar.derive.raw.classify import car_t_reading, given_car_t
from aftercar.derive.raw.labs import NUMBER, SOURCE_UNIT
from aftercar.derive.raw.rules import Rules
from aftercar.schema import Col
from aftercar.vocab import default_vocabulary

_SEX_ROWS = list(csv.DictReader(io.StringIO(
    resources.files("aftercar.data").joinpath("omop/sex.csv").read_text("utf-8"))))


def _sex_rows(kind: str) -> tuple[tuple, ...]:
    rows = [r for r in _SEX_ROWS if r["kind"] == kind]
    return tuple((int(r["key"]) if kind == "concept" else r["key"], r[Col.SEX]) for r in rows)


#: OMOP gender concepts -> the curated ``sex`` text (``data/omop/sex.csv``, OMOP Gender
#: vocabulary).
SEX_CONCEPTS = _sex_rows("concept")
#: ``gender_source_value`` (trimmed, lower case) read when ``gender_concept_id`` is not one
#: of :data:`SEX_CONCEPTS`: the spellings of male and female as the same codes, so that
#: one sex is one level of Table 1 and the Cox models; other values are kept as written
#: (``data/omop/sex.csv``).
SEX_SOURCE_VALUES = _sex_rows("source_value")
_PREMED = " (premedication)"
#: Appended to the text of a row whose source text says it mobilises stem cells.
_MOBILISATION = " (stem cell mobilisation)"
#: Appended to the text of a row whose source text says the dose was not given.
_NOT_GIVEN = " - not given"
#: Appended to the text of a row whose source text names a phase before a CAR-T infusion
#: (``car_t_phase_pattern``: lymphodepletion, bridging, apheresis): a CAR-T product it
#: maps to is mentioned, not infused (:func:`aftercar.derive.raw.classify.given_car_t`).
_CAR_T_PHASE = " (lymphodepletion or bridging)"


@dataclass
class OmopRaw:
    """The raw tables of an OMOP instance (Ibis tables on the source's connection).

    Attributes
    ----------
    raw
        ``{"patients", "administrations", "procedures", "labs"}`` in the raw format,
        each with ``row`` = the OMOP row id (person, drug exposure, procedure,
        measurement), but ``patient_id`` = the integer ``person_id`` (the raw
        derivation's outputs give it as text).
    steps
        ``(step, persons)`` attrition counts of the cohort definition.
    excluded
        Persons with a myeloma diagnosis left out: ``table, row, patient_id, reason``.
    diagnosis
        ``patient_id, diagnosis_date, condition_concept_id`` (first myeloma condition).
    covariates
        The covariate rows read (:func:`aftercar.derive.omop.covariates.derive_covariates`:
        ``patient_id, table, row, covariate, used, reason``), or ``None``.
    unit_labs
        :func:`labs` of the measurements whose two unit fields may disagree
        (:func:`unit_candidate_labs`), or ``None`` (then ``raw["labs"]`` is read).
    """

    raw: dict[str, ibis.Table]
    steps: list[tuple[str, int]]
    excluded: ibis.Table
    diagnosis: ibis.Table
    covariates: ibis.Table | None = None
    unit_labs: ibis.Table | None = None


def lookup(con, name: str, table: pa.Table) -> ibis.Table:
    """A concept map (or another small lookup table) on ``con``, as table ``_omop_{name}``."""
    return con.create_table(f"_omop_{name}", table, overwrite=True)


def _ids_with_descendants(con, tables, ids: ibis.Table) -> ibis.Table:
    """``concept_id`` of ``ids`` and, with ``concept_ancestor``, of their descendants."""
    if "concept_ancestor" not in tables:
        return ids.select("concept_id", "text")
    ca = tables["concept_ancestor"]
    j = ca.join(ids, ca.ancestor_concept_id == ids.concept_id)
    d = j.select(concept_id=j.descendant_concept_id.cast("int64"), text=j.text)
    return ids.select("concept_id", "text").union(d, distinct=True)


#: Keys of :attr:`Concepts.tables` holding what :func:`resolve_concepts` read from the
#: instance's vocabulary once per run: the myeloma condition ids with their descendants,
#: and each drug concept's ingredient names.
_MM_IDS, _INGREDIENT_NAMES = "mm_resolved", "ingredient_names_resolved"


def _mm_table(con, tables, concepts: Concepts) -> ibis.Table:
    """``concept_id``: the multiple-myeloma condition concepts and their descendants."""
    if _MM_IDS in concepts.tables:
        return lookup(con, "mm_ids", concepts.tables[_MM_IDS])
    ids = _ids_with_descendants(con, tables, lookup(con, "mm", concepts.table("conditions")))
    return ids.select("concept_id").distinct()


#: ICD codes of multiple myeloma read in ``condition_source_value`` (``data/omop/
#: condition_codes.csv``): the whole value, with or without the dot, one more digit
#: allowed (C90.00, 203.01), after an optional vocabulary prefix ("ICD10CM:C90.00");
#: never a longer code that starts alike (SNOMED 203082005).
SOURCE_CODES = tuple(r["code"].upper() for r in csv.DictReader(io.StringIO(
    resources.files("aftercar.data").joinpath("omop/condition_codes.csv").read_text("utf-8"))))
_SOURCE_CODE = ("^(?:ICD-?(?:9|10)(?:-?CM)?\\s*:?\\s*)?(?:"
                + "|".join(re.escape(c).replace("\\.", "\\.?") for c in SOURCE_CODES)
                + ")[0-9]?$")
#: The condition concept a myeloma diagnosis read from its source code is given.
_MULTIPLE_MYELOMA = 437233


def diagnoses(con, tables, concepts: Concepts) -> ibis.Table:
    """First multiple-myeloma condition of each person: ``person_id, diagnosis_date, ...``.

    A condition is myeloma by its concept (437233 and its descendants, local concepts)
    or, whatever its concept (0 when the ETL did not map it), by an ICD-10 C90.0x or
    ICD-9 203.0x code in ``condition_source_value`` (given concept 437233 here)."""
    ids = _mm_table(con, tables, concepts).mutate(_mm=ibis.literal(True))
    co = tables["condition_occurrence"]
    co = co.mutate(_cid=co.condition_concept_id.cast("int64"))
    d = co.left_join(ids, co._cid == ids.concept_id)
    by_concept = d._mm.fill_null(False)
    if "condition_source_value" in co.columns:
        key = d.condition_source_value.cast("string").strip().upper()
        coded = key.re_search(_SOURCE_CODE).fill_null(False)
        d = d.filter(by_concept | coded)
        d = d.mutate(_cid=ibis.ifelse(d._mm.fill_null(False), d._cid, _MULTIPLE_MYELOMA))
    else:
        d = d.filter(by_concept)
    d = d.mutate(dx=d.condition_start_date.cast("date"))
    return d.group_by("person_id").aggregate(diagnosis_date=d.dx.min(),
                                              condition_concept_id=d._cid.min())


def _ingredient_table(con, tables, concepts: Concepts) -> pa.Table:
    """``drug_concept_id, mapped``: the aftercar names of each concept's mapped ingredients.

    Computed over the (small) set of concepts that map, in Python, so that the joined
    names are sorted the same way on every engine.
    """
    if _INGREDIENT_NAMES in concepts.tables:
        return concepts.tables[_INGREDIENT_NAMES]
    ing = lookup(con, "ingredients", concepts.table("ingredients"))
    m = _ids_with_descendants(con, tables, ing).to_pyarrow().to_pylist()
    names: dict[int, set[str]] = {}
    for r in m:
        names.setdefault(r["concept_id"], set()).add(r["text"])
    ids = sorted(names)
    vocab = default_vocabulary()
    cars = {n for n, d in vocab.drugs.items() if d.drug_class == "car_t"}
    return pa.table({"drug_concept_id": pa.array(ids, pa.int64()),
                     "mapped": [" + ".join(sorted(names[i])) for i in ids],
                     "car_t": [bool(names[i] & cars) for i in ids]})  # fmt: skip


def _ingredient_names(con, tables, concepts: Concepts) -> ibis.Table:
    """:func:`_ingredient_table` on the engine."""
    return lookup(con, "ingredient_names", _ingredient_table(con, tables, concepts))


def _concept_name(tables, t: ibis.Table, col: str) -> ibis.Table:
    """``t`` with ``_cname``: the concept name of ``t[col]`` (null without a concept table)."""
    if "concept" not in tables:
        return t.mutate(_cname=ibis.null("string"))
    c = tables["concept"].select(_cid=ibis._.concept_id.cast("int64"), _cname=ibis._.concept_name)
    j = t.left_join(c, t[col].cast("int64") == c._cid)
    return j.drop("_cid")


def administrations(con, tables, persons: ibis.Table, concepts, rules: Rules) -> ibis.Table:
    """``patient_id, date, drug, row, product`` from ``drug_exposure`` (module docstring).

    ``product`` (the source text, else the mapped text) names a CAR-T product.
    """
    de = tables["drug_exposure"].join(persons, "person_id")
    names = _ingredient_names(con, tables, concepts)
    de = de.mutate(_dcid=de.drug_concept_id.cast("int64"))
    de = de.left_join(names, de._dcid == names.drug_concept_id)
    de = _concept_name(tables, de, "_dcid")
    known = ibis.ifelse(de._dcid == 0, ibis.null("string"), de._cname)
    text = ibis.coalesce(de.mapped, known, de.drug_source_value.strip().nullif(""),
                         "unmapped drug_concept_id " + de._dcid.cast("string"))  # fmt: skip
    # case-insensitive as the vocabulary reads the pattern (classify._text_rows), without a
    # lower-case copy of two texts of every row (millions); Java's regex folds the case of
    # ASCII letters only unless asked (u), which RE2 (DuckDB) does anyway and rejects
    flags = "(?iu)" if con.name == "pyspark" else "(?i)"
    pattern = flags + rules.get("steroids", "premedication_pattern")
    source = de.drug_source_value.fill_null("")
    sig = de["sig"].cast("string").fill_null("") if "sig" in de.columns else ibis.literal("")
    marks = source + " " + sig
    premed = marks.re_search(pattern) & ~text.re_search(pattern)
    # a status of the source text or the sig that the dose was not given ("teclistamab -
    # HELD"), which a mapped concept does not carry: marked on the text the vocabulary reads;
    # each read alone, as the status ends (or begins) its own text
    ng = flags + rules.get("administrations", "not_given_pattern")
    held = (source.re_search(ng) | sig.re_search(ng)) & ~marks.re_search(
        flags + rules.get("administrations", "not_given_unless_pattern")) & ~text.re_search(ng)
    mob = flags + rules.get("transplant", "mobilisation_pattern")
    drug = ibis.ifelse(premed, text + _PREMED, text)
    drug = ibis.ifelse(marks.re_search(mob) & ~text.re_search(mob), drug + _MOBILISATION, drug)
    phase = flags + rules.get("administrations", "car_t_phase_pattern")
    # read only on the rows mapped to a CAR-T product (a CASE: the pattern is not run on the
    # millions of others; 3.6 s of a 50,000-person batch when it was)
    infusion = flags + rules.get("administrations", "car_t_infusion_pattern")
    drug = ibis.cases((~de.car_t.fill_null(False), drug),
                      (source.re_search(phase) & ~source.re_search(infusion)
                       & ~text.re_search(phase), drug + _CAR_T_PHASE),
                      else_=drug)  # fmt: skip
    start = de.drug_exposure_start_date.cast("date")
    return de.select(**{Col.PATIENT_ID: de.patient_id}, date=start, end_date=_end_date(de),
                     drug=ibis.ifelse(held, drug + _NOT_GIVEN, drug),
                     row=de.drug_exposure_id.cast("int64"),
                     product=ibis.coalesce(de.drug_source_value.strip().nullif(""),
                                           text))  # fmt: skip


def _end_date(de: ibis.Table) -> ibis.Value:
    """The exposure's last day: ``drug_exposure_end_date``, else start + ``days_supply`` - 1
    (OMOP CDM 5.4 conventions); null when neither is given."""
    end = (de.drug_exposure_end_date.cast("date") if "drug_exposure_end_date" in de.columns
           else ibis.null("date"))  # fmt: skip
    if "days_supply" in de.columns:
        days = de.days_supply.cast("int64")
        supply = plus_days(de.drug_exposure_start_date.cast("date"), days - 1)
        end = ibis.coalesce(end, ibis.ifelse(days > 0, supply, ibis.null("date")))
    return end


def _lab_keys(rules: Rules) -> pa.Table:
    """``_src, _srctest``: the lower-case texts a measurement's source value or concept
    name may be, and the test each is read as (null: the text itself, a test name of
    ``[tests]``; else the test of a LOINC code or long common name, :func:`loinc_tests`)."""
    keys = {k: None for k in rules.test_names()}
    keys.update({k: v for k, v in loinc_tests().items() if k not in keys})
    return pa.table({"_src": pa.array(list(keys), pa.string()),
                     "_srctest": pa.array(list(keys.values()), pa.string())})  # fmt: skip


#: Marks a :class:`Concepts` resolved against the instance's vocabulary once
#: (:func:`resolve_concepts`): no batch reads its ``concept`` tables again.
RESOLVED = "measurements_resolved"


def _test_table(con, tables, concepts: Concepts, keys: ibis.Table) -> pa.Table:
    """``concept_id, text``: the measurement concepts read as a test: the shipped and local
    ids of ``measurements.csv``, then (with a ``concept`` table) the concepts whose LOINC
    code (vocabulary LOINC) or whose name (any vocabulary) is a text of ``keys``
    (:func:`_lab_keys`): a few rows, whatever the size of the vocabulary."""
    ids = concepts.table("measurements")
    if "concept" not in tables or RESOLVED in concepts.tables:
        return ids
    c = tables["concept"]
    code = c.concept_code.cast("string").strip().lower() if "concept_code" in c.columns \
        else ibis.null("string")  # fmt: skip
    if "vocabulary_id" in c.columns:
        code = ibis.ifelse(c.vocabulary_id.cast("string").strip().upper() == "LOINC", code,
                           ibis.null("string"))  # fmt: skip
    c = c.select(concept_id=c.concept_id.cast("int64"), _code=code,
                 _name=c.concept_name.cast("string").strip().lower())  # fmt: skip
    by_code = c.join(keys, c._code == keys._src).select("concept_id", "_src", "_srctest")
    by_name = c.join(keys, c._name == keys._src).select("concept_id", "_src", "_srctest")
    found = by_code.union(by_name).to_pyarrow().to_pylist()
    mapped = dict(zip(ids["concept_id"].to_pylist(), ids["text"].to_pylist(), strict=True))
    for r in sorted(found, key=lambda r: (r["concept_id"], r["_srctest"] is None, r["_src"])):
        mapped.setdefault(r["concept_id"], r["_srctest"] or r["_src"])
    return pa.table({"concept_id": pa.array(sorted(mapped), pa.int64()),
                     "text": pa.array([mapped[i] for i in sorted(mapped)], pa.string())})


def resolve_concepts(con, tables, concepts: Concepts, rules: Rules) -> Concepts:
    """``concepts`` with what the instance's vocabulary says resolved once, for a run of
    many batches: the LOINC lab concepts of its ``concept`` table (:func:`_test_table`),
    the myeloma conditions and the drug concepts' ingredients through its
    ``concept_ancestor`` (a full vocabulary holds millions of concepts and tens of millions
    of ancestor rows: read once per run, not once per batch)."""
    if RESOLVED in concepts.tables:
        return concepts
    keys = lookup(con, "test_names", _lab_keys(rules))
    mm = _mm_table(con, tables, concepts).to_pyarrow()
    marker = pa.table({"concept_id": pa.array([], pa.int64()), "text": pa.array([], pa.string())})
    return replace(concepts, tables={
        **concepts.tables, "measurements": _test_table(con, tables, concepts, keys),
        _MM_IDS: mm, _INGREDIENT_NAMES: _ingredient_table(con, tables, concepts),
        RESOLVED: marker})  # fmt: skip


def labs(con, tables, persons: ibis.Table, concepts, rules: Rules) -> ibis.Table:
    """``patient_id, date, test, value, unit, row, _number`` from ``measurement``.

    The unit: the unit concept's (``units.csv``, local ``[units]``), else
    ``unit_source_value``; where both are given, ``unit_source_value`` is kept as
    :data:`aftercar.derive.raw.labs.SOURCE_UNIT`: a row whose two units disagree for its
    test (g/dL against mg/dL) is read in the concept's unit and listed in
    ``audit/unit_conflicts`` (:func:`aftercar.derive.raw.labs.unit_conflicts`); until
    2026-12-07 the concept was read alone, in silence.

    The test: the concept's (:func:`_test_table`), else the ``measurement_source_value``
    when it is a test name of ``[tests]`` (kept as written) or a LOINC code or long common
    name of ``measurements.csv`` (read as its test). ``_number``
    (:data:`aftercar.derive.raw.labs.NUMBER`) is ``value_as_number``; ``value`` is the text
    of a row without one (the result concept's text, else ``value_source_value``), read by
    :func:`aftercar.derive.raw.labs.normalise_labs`.
    """
    me = tables["measurement"].join(persons, "person_id")
    src = lookup(con, "test_names", _lab_keys(rules))
    tests = lookup(con, "tests", _test_table(con, tables, concepts, src))
    me = me.mutate(_mcid=me.measurement_concept_id.cast("int64"),
                   _src=me.measurement_source_value.strip().lower())  # fmt: skip
    me = me.left_join(tests, me._mcid == tests.concept_id).rename(_test="text")
    me = me.left_join(src.mutate(_srcok=src._src), me._src == src._src)
    by_source = ibis.ifelse(me._srcok.notnull(),
                            ibis.coalesce(me._srctest, me.measurement_source_value),
                            ibis.null("string"))  # fmt: skip
    me = me.mutate(_t=ibis.coalesce(me._test, by_source)).filter(lambda t: t._t.notnull())
    vals = lookup(con, "values", concepts.table("values")).rename(_vid="concept_id", _v="text")
    units = lookup(con, "units", concepts.table("units")).rename(_uid="concept_id", _u="text")
    me = me.left_join(vals, me.value_as_concept_id.cast("int64") == vals._vid)
    me = me.left_join(units, me.unit_concept_id.cast("int64") == units._uid)
    source_value = me.value_source_value if "value_source_value" in me.columns else None
    number = me.value_as_number.cast("float64")
    # the text only where there is no number: value_as_number is read as it is (no text)
    text = me._v if source_value is None else ibis.coalesce(me._v, source_value.cast("string"))
    usrc = me.unit_source_value.cast("string")
    # the unit text beside a unit concept: read only to find a disagreement (SOURCE_UNIT)
    other = ibis.ifelse(me._u.notnull(), usrc, ibis.null("string"))
    return me.select(**{Col.PATIENT_ID: me.patient_id}, date=me.measurement_date.cast("date"),
                     test=me._t, value=ibis.ifelse(number.isnull(), text, ibis.null("string")),
                     unit=ibis.coalesce(me._u, usrc), row=me.measurement_id.cast("int64"),
                     **{NUMBER: number, SOURCE_UNIT: other})  # fmt: skip


def unit_candidate_labs(con, tables, persons: ibis.Table, concepts,
                        rules: Rules) -> ibis.Table:  # fmt: skip
    """:func:`labs` of the measurement rows whose unit concept has a unit text and whose
    ``unit_source_value`` is another text: the few rows
    :func:`aftercar.derive.raw.labs.unit_conflicts` reads. One narrow scan of
    ``measurement`` picks them, so that the listing does not map every measurement a
    second time (3.0 s of a 50,000-person batch when it read the whole mapped labs)."""
    me = tables["measurement"]
    units = lookup(con, "units", concepts.table("units"))
    j = me.join(units, me.unit_concept_id.cast("int64") == units.concept_id)
    src = j.unit_source_value.cast("string").strip()
    j = j.filter(src.notnull() & (src.lower() != j.text.strip().lower()))
    return labs(con, {**tables, "measurement": j.select(*me.columns)}, persons, concepts,
                rules)  # fmt: skip


#: A source value that is a bare code: letters and digits (a dot), no spaces.
_BARE_CODE = r"^[A-Za-z0-9.]{3,12}$"


def procedures(con, tables, persons: ibis.Table, concepts) -> ibis.Table:
    """``patient_id, date, procedure, row`` from ``procedure_occurrence``."""
    po = tables["procedure_occurrence"].join(persons, "person_id")
    look = lookup(con, "procedures", concepts.table("procedures"))
    po = po.mutate(_pcid=po.procedure_concept_id.cast("int64"))
    po = po.left_join(look, po._pcid == look.concept_id)
    po = _concept_name(tables, po, "_pcid")
    known = ibis.ifelse(po._pcid == 0, ibis.null("string"), po._cname)
    given = po.procedure_source_value.strip().nullif("")
    # a bare code (CPT 38241, HCPCS Q2056, ICD-10-PCS 30233C0) says less than the concept's
    # name: the name is read (hand-made OMOP patients, seventh probe, 2026-12-06: CPT and
    # ICD-10-PCS coded transplants and infusions were never read, where the raw twin was)
    code = given.re_search(_BARE_CODE) & given.re_search("[0-9]")
    given = ibis.ifelse(code.fill_null(False) & known.notnull(), known, given)
    text = ibis.coalesce(po.text, given, known,
                         "unmapped procedure_concept_id " + po._pcid.cast("string"))  # fmt: skip
    return po.select(**{Col.PATIENT_ID: po.patient_id}, date=po.procedure_date.cast("date"),
                     procedure=text, row=po.procedure_occurrence_id.cast("int64"))  # fmt: skip


def bcma_car_t_texts(texts: list[str], rules: Rules) -> pa.Table:
    """``drug``: the texts naming a BCMA-directed CAR-T product (vocabulary,
    :func:`aftercar.derive.raw.classify.car_t_reading`) given: not a dose recorded as not
    given, nor a product named as the context of another order
    (:func:`aftercar.derive.raw.classify.given_car_t`; until 2026-12-07 a cancelled
    infusion was the index CAR T, found by hand-made OMOP patients)."""
    keep = [t for t in texts if car_t_reading(t) == "bcma" and given_car_t(t, rules)]
    return pa.table({"drug": pa.array(keep, pa.string())})


__all__ = ["RESOLVED", "SEX_CONCEPTS", "SEX_SOURCE_VALUES", "OmopRaw", "administrations",
           "bcma_car_t_texts", "diagnoses", "labs", "lookup", "procedures",
           "resolve_concepts", "unit_candidate_labs"]  # fmt: skip
