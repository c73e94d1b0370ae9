"""Serial labs -> one IMWG value row per patient and visit, in canonical units.

Each raw lab row is mapped to an IMWG parameter by its ``test`` text (``[tests]`` of
``imwg_rules.toml``) and converted to the canonical unit of its family by its
``unit`` text (``[units]``): serum M-protein in g/dL (g/L x 0.1), urine M-protein in
mg/24 h, serum free light chains in mg/dL (mg/L x 0.1), marrow plasma cells in %.
Units are read per value, so one patient may mix g/L and g/dL; a unit text is matched
as written, else in lower case (``G/DL``, ``MG/L``). Immunofixation is
1 (POSITIVE, or a word of ``present_m_protein``: "detected") or 0 (NEGATIVE, or a word of
``absent_m_protein``: "no monoclonal protein detected"), case-blind; an M-protein written
as "not detected" or "trace" (``[values]``) is 0, a reporting limit ("<0.1") the limit.
Rows of other tests go to the attrition.

References
----------
Kumar S et al., Lancet Oncol 2016;17:e328 (IMWG parameters; REFERENCE 3.1-3.3).
"""

from __future__ import annotations

import re

import ibis
import pyarrow as pa

from aftercar.derive.dates import plus_days
from aftercar.derive.raw.rules import Rules
from aftercar.errors import Problem
from aftercar.schema import Col

#: IMWG parameter -> unit family.
FAMILY = {"serum_m": "serum", "urine_m": "urine", "kappa": "flc", "lambda": "flc",
          "marrow_pc": "marrow", "ife_serum": "ife", "ife_urine": "ife",
          "flc_ratio": "ratio"}  # fmt: skip
PARAMS = tuple(FAMILY)
#: Above any M-protein, light chain or marrow value in any unit read (urine M-protein in
#: mg/24 h and light chains in mg/L stay below 10^6): a larger value, infinity or NaN (which
#: both engines sort above every number) is a data error, not a result.
_IMPLAUSIBLE = 1e7
#: The problem of a value above its test's ``[plausible]`` limit begins so (no word "unit"
#: in it: the messages that name the unit column look for that word).
IMPLAUSIBLE = "a value above what a patient can have"
#: Optional labs column: a result already read as a number (:func:`normalise_labs`).
NUMBER = "_number"
#: Optional labs column: a second unit text given beside ``unit`` (OMOP's
#: ``unit_source_value`` where ``unit`` is the unit concept's). ``unit`` is read; the rows
#: whose two units have different factors for their test are listed by
#: :func:`unit_conflicts`.
SOURCE_UNIT = "_unit_source"


def _lookups(con, rules: Rules) -> tuple[ibis.Table, ibis.Table]:
    tests = rules.test_names()
    t = pa.table({"test_key": list(tests), "param": list(tests.values()),
                  "family": [FAMILY[p] for p in tests.values()]})  # fmt: skip
    u = case_folded(rules.unit_factors())
    units = pa.table({"family": [k[0] for k in u], "unit": [k[1] for k in u],
                      "factor": list(u.values())})  # fmt: skip
    return (con.create_table("_test_lookup", t, overwrite=True),
            con.create_table("_unit_lookup", units, overwrite=True))  # fmt: skip


def _with_factor(k: ibis.Table, units: ibis.Table, unit: str, name: str) -> ibis.Table:
    """``k`` + column ``name``: the factor of the unit text in column ``unit`` for the
    row's test family, matched as written, else in lower case (a ratio has no unit: any
    text is 1); null when the unit is not known for the family."""
    key = k[unit].strip()
    ex = units.select(_ef=units.family, _eu=units.unit, _efactor=units.factor)
    k = k.left_join(ex, [k.family == ex._ef, key == ex._eu])
    low = units.select(_lf=units.family, _lu=units.unit, _lfactor=units.factor)
    k = k.left_join(low, [k.family == low._lf, k[unit].strip().lower() == low._lu])
    ratio = ibis.ifelse(k.family == "ratio", 1.0, ibis.null("float64"))
    k = k.mutate(**{name: ibis.coalesce(k._efactor, k._lfactor, ratio)})
    return k.drop("_ef", "_eu", "_efactor", "_lf", "_lu", "_lfactor")


def case_folded(units: dict[tuple[str, str], float]) -> dict[tuple[str, str], float]:
    """``units`` plus each unit's lower-case text (``G/DL`` is read as ``g/dL``), unless two
    units that differ only in case have different factors (those match exactly only)."""
    folded: dict[tuple[str, str], set[float]] = {}
    for (family, unit), factor in units.items():
        folded.setdefault((family, unit.lower()), set()).add(factor)
    out = dict(units)
    for key, factors in folded.items():
        if len(factors) == 1:
            out.setdefault(key, next(iter(factors)))
    return out


def normalise_labs(con, labs: ibis.Table, rules: Rules) -> ibis.Table:
    """Return ``patient_id, date, row, test, unit, param, text, value`` and ``problem``.

    ``value`` is in canonical units; ``param`` is null for a test the IMWG criteria
    do not use; ``problem`` says why a row of a used test cannot be read.

    ``labs`` may carry a float :data:`NUMBER` column beside the ``value`` text (the
    OMOP mapping's ``value_as_number``; no column of the raw format has that name): a
    row with a number is read from it, and its text is made only where it is shown
    (rows with a problem). The value of each row is parsed once (a first projection),
    then scaled and checked from the parsed columns.
    """
    tests, units = _lookups(con, rules)
    # the text work (case, spaces, unit) is done once per distinct (test, unit) pair
    k = labs.select("test", _unit=labs.unit.fill_null("")).distinct()
    k = k.mutate(test_key=k.test.lower().strip())
    k = k.left_join(tests, "test_key").drop("test_key_right")
    k = _with_factor(k, units, "_unit", "factor")
    k = con.create_table("_lab_keys", k.select("test", "_unit", "param", "family", "factor"),
                         overwrite=True)  # fmt: skip
    lab = labs.mutate(_unit=labs.unit.fill_null(""))
    j = lab.left_join(k, ["test", "_unit"])
    given = j[NUMBER].cast("float64") if NUMBER in j.columns else ibis.null("float64")
    text = j.value.strip()
    is_ife = j.family == "ife"
    ife = _ife_value(text, rules)
    none_found, limit = _text_number(text, j.param, rules)
    p = j.select(
        Col.PATIENT_ID, "date", "row", "test", "unit", "param", "factor", "value", _given=given,
        _ife=is_ife.fill_null(False),
        _num=ibis.ifelse(is_ife, ibis.null("float64"),
                         ibis.coalesce(given, _plain_number(text), none_found, limit)),
        _pos=ibis.ifelse(is_ife & given.isnull(), ife, ibis.null("float64")),
        _none=(given.isnull() & none_found.notnull()).fill_null(False),  # 0: any unit
    )  # fmt: skip
    problem = ibis.cases(
        (p.param.isnull(), ibis.null("string")),
        (p._ife, ibis.ifelse(p._pos.isnull(), "immunofixation result must be POSITIVE or "
                             "NEGATIVE (or a word of [values] in the IMWG rules)",
                             ibis.null("string"))),
        (p._num.isnull(), "not a number"),
        (p._num.isnan(), "not a number (NaN)"),  # fuzz round 9: read as implausibly large
        ((p._num < 0) | (p._num > _IMPLAUSIBLE), "a negative, infinite or implausibly large "
                                                 "value"),
        (p.factor.isnull() & ~p._none, "unknown unit for this test"),
        *_implausible(p.param, p._num * p.factor, rules),
        else_=ibis.null("string"),
    )  # fmt: skip
    shown = ibis.ifelse(problem.notnull() & p.value.isnull(), p._given.cast("string"), p.value)
    value = ibis.ifelse(p._ife, p._pos, ibis.ifelse(p._none, 0.0, p._num * p.factor))
    return p.select(p.patient_id, p.date, p.row, p.test, p.unit, p.param, text=shown,
                    value=value.cast("float64"), problem=problem)  # fmt: skip


def unit_conflicts(con, labs: ibis.Table, rules: Rules) -> ibis.Table:
    """The lab rows whose :data:`SOURCE_UNIT` is a unit the rules know for the row's test
    with another factor than its ``unit`` (OMOP: ``unit_source_value`` "mg/dL" beside
    ``unit_concept_id`` 8713 g/dL): ``patient_id, date, row, test, unit, unit_source``.

    :func:`normalise_labs` reads ``unit`` (the CDM's standard field); one of the two is
    wrong, or the ETL converted the value and kept the unit it was reported in, so the
    rows are listed for a person to check, not guessed at. The same unit written otherwise
    ("G/DL"), or a text the rules do not know, is no conflict. Only the rows whose two
    texts differ are looked up (a filter, then the distinct pairs).
    """
    tests, units = _lookups(con, rules)
    src = labs[SOURCE_UNIT].strip()
    d = labs.filter(src.notnull() & labs.unit.notnull()
                    & (src.lower() != labs.unit.strip().lower()))  # fmt: skip
    k = d.select("test", "unit", _usrc=d[SOURCE_UNIT]).distinct()
    k = k.mutate(test_key=k.test.lower().strip())
    k = k.left_join(tests, "test_key").drop("test_key_right")
    k = _with_factor(_with_factor(k, units, "unit", "_f"), units, "_usrc", "_sf")
    k = k.filter(k._f.notnull() & k._sf.notnull() & (k._f != k._sf))
    j = d.join(k.select("test", "unit", "_usrc"),
               [d.test == k.test, d.unit == k.unit, d[SOURCE_UNIT] == k._usrc])
    return j.select(Col.PATIENT_ID, "date", "row", d.test, d.unit, unit_source=d[SOURCE_UNIT])


def _implausible(param: ibis.StringValue, value: ibis.FloatingValue,
                 rules: Rules) -> list[tuple[ibis.BooleanValue, str]]:  # fmt: skip
    """``(condition, problem)`` cases: ``value`` (canonical unit) above the ``[plausible]``
    limit of ``param``, one case per limited parameter (the problem names the limit)."""
    units = rules.imwg["units"]
    canonical = {family: next((u for u, f in units.get(family, {}).items() if f == 1.0), "")
                 for family in set(FAMILY.values())}  # the unit of factor 1, e.g. g/dL
    return [((param == name) & (value > limit),
             f"{IMPLAUSIBLE} for this test (above {limit:,g} {canonical[FAMILY[name]]}; "
             "[plausible] in the IMWG rules)")
            for name, limit in rules.imwg.get("plausible", {}).items()]  # fmt: skip


#: A result written as "<x" (below a reporting limit) is read this much below x, so that it
#: meets a criterion "< x" (marrow "<5" %: CR; urine "<100" mg/24 h: VGPR) and is otherwise x.
_BELOW = 1e-6


#: A number as a laboratory writes it: sign, digits, one decimal point, an exponent.
_NUMBER = r"(?i)^[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e[+-]?[0-9]+)?|inf(?:inity)?|nan)$"


def _plain_number(text: ibis.StringValue) -> ibis.FloatingValue:
    """``text`` as a number when it is written as one, else null: DuckDB's cast also takes
    "0_68" (digit grouping) as 68 and Spark's other forms (fuzzing round 6, I01: a value
    of 0.68 g/dL typed "0_68" moved the index progression a year). "inf" and "nan" are let
    through to the check that names them (negative, infinite or too large values)."""
    return ibis.ifelse(text.re_search(_NUMBER), text.try_cast("float64"), ibis.null("float64"))


def _ife_value(text: ibis.StringValue, rules: Rules) -> ibis.FloatingValue:
    """An immunofixation text as 1 (positive) or 0 (negative), null if it says neither."""
    absent = [a.lower() for a in rules.get("values", "absent_m_protein")]
    present = [a.lower() for a in rules.get("values", "present_m_protein")]
    neg = rules.get("values", "ife_negative_pattern")
    pos = rules.get("values", "ife_positive_pattern")
    return ibis.cases((text.lower().isin(present), 1.0), (text.lower().isin(absent), 0.0),
                      (text.re_search(neg), 0.0), (text.re_search(pos), 1.0),
                      else_=ibis.null("float64"))  # POSITIVE / NEGATIVE among the words


def _text_number(text: ibis.StringValue, param: ibis.StringValue,
                 rules: Rules) -> tuple[ibis.FloatingValue, ibis.FloatingValue]:  # fmt: skip
    """``(none_found, limit)`` of a result written as text: 0 for an M-protein none was
    found or too small to measure ("not detected", "trace"); the limit of a reporting limit
    ("<0.1": just below 0.1, ``_BELOW``; "<=0.1", ">3": the limit)."""
    words = rules.get("values", "absent_m_protein") + rules.get("values", "trace_m_protein")
    none_found = ibis.ifelse(param.isin(["serum_m", "urine_m"])
                             & text.lower().isin([w.lower() for w in words]),
                             0.0, ibis.null("float64"))  # fmt: skip
    limit = text.re_extract(rules.get("values", "limit_pattern"), 1)
    limit = ibis.ifelse(limit == "", ibis.null("string"), limit).try_cast("float64")
    below = text.re_search(rules.get("values", "below_limit_pattern"))
    return none_found, ibis.ifelse(below, limit * (1 - _BELOW), limit)


_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")


def unread_tests(labs: pa.Table, rules: Rules, top: int = 5) -> list[tuple[str, int]]:
    """The ``top`` commonest lab ``test`` texts that no name of ``[tests]`` reads (their
    rows go to the attrition), with their row counts: told after a run, so that a
    laboratory's own name for an IMWG test ("M-Spike, S") is not lost in silence."""
    import pyarrow.compute as pc

    if labs.num_rows == 0 or "test" not in labs.column_names:
        return []
    # counted first, then read per distinct name: the column of a Parquet file stays
    # dictionary-encoded, which the string kernels do not take (a hand-made probe, session
    # 27: every raw Parquet folder stopped here with a traceback)
    counts = pc.value_counts(labs["test"]).flatten()
    names = pc.fill_null(counts[0].cast(pa.string()), "")
    key = pc.utf8_lower(pc.utf8_trim_whitespace(names))
    known = pa.array(list(rules.test_names()), pa.string())
    unread = pc.invert(pc.is_in(key, value_set=known))
    found = [(n, c) for n, c, u in zip(names.to_pylist(), counts[1].to_pylist(),
                                       unread.to_pylist(), strict=True) if u and n]  # fmt: skip
    found.sort(key=lambda nc: (-nc[1], nc[0]))
    return found[:top]


#: The problem of a numeric lab result given without any unit (raw records and OMOP alike).
EMPTY_UNIT = "the unit is empty (a numeric result needs its unit)"


#: Unreadable lab rows named one by one; the rest are counted (:func:`lab_problems`).
_LAB_LISTED = 50


def lab_problems(norm: ibis.Table, file: str = "labs") -> list[Problem]:
    """File/row/column/value/fix problems for used lab rows that cannot be read: the first
    :data:`_LAB_LISTED` by row, then one problem counting the others (until 2026-12-07 they
    were left out without a word: "50 unreadable lab rows" of 347; fuzzing)."""
    unread = norm.filter(norm.problem.notnull())
    bad = unread.order_by("row").limit(_LAB_LISTED).to_pyarrow().to_pylist()
    out = []
    for r in bad:
        col = "unit" if "unit" in r["problem"] else "value"
        hint = (
            "add the unit to [units] in the rules TOML, or convert the value"
            if col == "unit"
            else "write a plain number (or POSITIVE / NEGATIVE)"
        )
        if r["problem"].startswith(IMPLAUSIBLE):
            given = f"given: {r['unit']!r}" if r["unit"] else "given with no unit"
            hint = (f"check the value and its unit ({given}; e.g. mg/dL written as g/dL) and "
                    "correct the row")  # fmt: skip
        value = r["unit"] if col == "unit" else r["text"]
        if col == "value" and value is not None and _DECIMAL_COMMA.fullmatch(str(value).strip()):
            hint = "write the number with a decimal point (13.8, not 13,8)"
        message = f"{r['test']}: {r['problem']}"
        if col == "unit" and value is None:
            message = f"{r['test']}: {EMPTY_UNIT}"
            hint = "give the unit of the value (e.g. g/dL; see [units] in the rules TOML)"
        out.append(Problem(file, r["row"], col, None if value is None else str(value), message,
                           hint))  # fmt: skip
    return out + (_more_lab_rows(unread, file) if len(bad) == _LAB_LISTED else [])


def _more_lab_rows(unread: ibis.Table, file: str) -> list[Problem]:
    """The count of the unreadable lab rows after the first :data:`_LAB_LISTED`."""
    more = int(unread.count().to_pyarrow().as_py()) - _LAB_LISTED
    if more <= 0:
        return []
    return [Problem(file, None, None, None, f"{more} more unreadable lab row(s) after these",
                    "correct the rows above, then derive again to see the rest")]


def _col(param: str) -> str:
    return "lambda_" if param == "lambda" else param


def visits(norm: ibis.Table) -> ibis.Table:
    """Pivot the readable IMWG rows to one row per patient and date.

    Columns: ``patient_id, date, vid`` (unique visit id, the tie-breaker of every
    window), ``serum_m, urine_m, kappa, lambda, marrow_pc, ife_serum, ife_urine, flc_ratio``
    (``lambda_``; null = not measured that day; two same-day values of a test: the higher;
    a day of the ratio alone is no visit),
    and the values carried forward (:func:`carried`).
    """
    ok = norm.filter(norm.param.notnull() & norm.problem.isnull() & norm.value.notnull())
    agg = {_col(p): ok.value.max(where=ok.param == p) for p in PARAMS}
    v = ok.group_by([Col.PATIENT_ID, "date"]).aggregate(**agg)
    # a ratio reported alone makes no visit: it only completes a visit of other tests (a
    # visit of the ratio alone would be a line's pre-treatment lab with nothing to grade)
    v = v.filter(ibis.or_(*[v[_col(p)].notnull() for p in PARAMS if p != "flc_ratio"]))
    w = ibis.window(order_by=[v.patient_id, v.date])
    return carried(v.mutate(vid=ibis.row_number().over(w)))


#: Tests whose last value is carried forward within a line (urine, marrow, urine IFE).
CARRIED = ("urine_m", "marrow_pc", "ife_urine")
#: The tests of a 24-h urine collection, read with the visit of the day before when their
#: day has no other IMWG test (:func:`urine_visits`).
URINE = ("urine_m", "ife_urine")


def urine_visits(labs: ibis.Table) -> ibis.Table:
    """``labs`` (``patient_id, date, param, value, problem``, ...) with the ``date`` of a
    24-h urine (:data:`URINE`) moved to the visit it was collected from: the day before,
    when that day has other readable IMWG tests and no urine, and the urine's own day has
    no other test (a 24-h collection begun at a serum draw is dated the day it ends, as
    collections usually are).

    Until 2026-12-07 such a urine was read at the next assessment, a visit interval later:
    a urine progression dated the index a month late (a hand-made raw probe: 27 days),
    and its rows were listed as not assessed. A urine two or more days from any other test
    is still carried to the next assessment (docs/derivation.md).
    """
    ok = labs.filter(labs.param.notnull() & labs.problem.isnull() & labs.value.notnull()
                     & (labs.param != "flc_ratio"))  # fmt: skip
    # the few urine days are matched against the other tests' days (no grouping of them all)
    other = ok.filter(~ok.param.isin(URINE)).select(Col.PATIENT_ID, "date")
    urine = ok.filter(ok.param.isin(URINE)).select(Col.PATIENT_ID, "date").distinct()
    urine = urine.mutate(_vdate=plus_days(urine.date, -1))
    alone = urine.anti_join(other, [Col.PATIENT_ID, "date"])
    before, own = other.view(), urine.view()
    moved = alone.semi_join(before, [alone.patient_id == before.patient_id,
                                     alone._vdate == before.date])  # fmt: skip
    # not onto a visit with its own urine (two urines would be one, the higher)
    moved = moved.anti_join(own, [moved.patient_id == own.patient_id, moved._vdate == own.date])
    moved = moved.select(Col.PATIENT_ID, _d=moved.date, _vdate=moved._vdate)
    j = labs.left_join(moved, [labs.patient_id == moved.patient_id, labs.date == moved._d])
    date = ibis.ifelse(j._vdate.notnull() & j.param.isin(URINE), j._vdate, j.date)
    return j.mutate(date=date).select(labs.columns)


def carried(v: ibis.Table) -> ibis.Table:
    """Add, per visit, each :data:`CARRIED` test's last value so far for the patient.

    ``carry_vid_<test>`` is the ``vid`` of the patient's last visit up to this one with
    a value of the test, ``carry_<test>`` that value (``carry_marrow_date``: its date).
    Visit ids increase with the date within a patient, so the last value of a line's
    window at a visit is ``carry_<test>`` when ``carry_vid_<test>`` is not before the
    window's first visit (:func:`aftercar.derive.raw.imwg.assessments`); computed once
    per derivation instead of once per line. Spark-safe: ``max`` over a ROWS frame
    ordered by the unique ``vid``, then joins on ``vid``.
    """
    w = ibis.window(group_by=v.patient_id, order_by=v.vid, rows=(None, 0))
    v = v.mutate(**{f"carry_vid_{c}": ibis.ifelse(v[c].notnull(), v.vid, ibis.null("int64"))
                    .max().over(w) for c in CARRIED})  # fmt: skip
    out = v
    for c in CARRIED:
        s = v.view()
        s = s.filter(s[c].notnull())
        extra = {"carry_marrow_date": s.date} if c == "marrow_pc" else {}
        s = s.select(_sv=s.vid, **{f"carry_{c}": s[c]}, **extra)
        out = out.left_join(s, out[f"carry_vid_{c}"] == s._sv).drop("_sv")
    return out
