"""The derivation's outputs: curated tables, the audit (why) and the attrition (unused rows)."""

from __future__ import annotations

import ibis
import pyarrow as pa
import pyarrow.compute as pc

from aftercar.derive.raw.events import continued_maintenance, with_span_end
from aftercar.derive.raw.imwg import CODES
from aftercar.derive.raw.lines import END_RULES
from aftercar.derive.raw.result import RawDerivation
from aftercar.derive.raw.rules import Rules
from aftercar.schema import Col

_START_RULES = {
    "car_t": "CAR-T infusion: apheresis, bridging, lymphodepletion and infusion are one line",
    "transplant": "autologous transplant with its high-dose melphalan conditioning (tandem within "
    "the tandem window included)",
    "allo_transplant": "allogeneic transplant with its conditioning",
    "radiotherapy": "radiotherapy course given alone (fractions with short gaps)",
}
_MAINTENANCE = "; the monotherapy after it is maintenance of this line"
_INDUCTION = ("drug line (induction) with the autologous transplant begun within the "
              "induction gap after it: induction -> transplant is one line")
_END_REASON = {"progression": "progression", "new_drug": "new drug added", "gap": "treatment gap",
               "bundle": "next line started", "last": ""}  # fmt: skip


def text_ids(t: ibis.Table) -> ibis.Table:
    """``t`` with ``patient_id`` as text, the type of every output, whatever the derivation
    keyed its patients by (an OMOP ``person_id`` stays an integer until here: joins on it
    are cheaper than on its text)."""
    col = t[Col.PATIENT_ID]
    return t if col.type().is_string() else t.mutate(**{Col.PATIENT_ID: col.cast("string")})


def ordered(t: ibis.Table, keys: list[str]) -> ibis.Table:
    """``t`` ordered by ``keys``, then with ``patient_id`` as text (:func:`text_ids`).

    The order is that of the key the derivation ran on: text ids (raw records) as text,
    an OMOP ``person_id`` as a number. So the outputs of a batched OMOP run, whose batches
    are ascending ``person_id`` ranges each written in this order, are in the order of a
    one-batch run as they are appended: they need no sort at the end.
    """
    return text_ids(t.order_by(keys))


def _key_date(bundle_id: ibis.Value) -> ibis.Value:
    return bundle_id.right(10).cast("date")


def _line_rows(c, final: ibis.Table, members, rules: Rules) -> ibis.Table:
    """Every administration / procedure row that belongs to a salvage line (or line 0 = index)."""
    f = final
    m = members.filter(members.row.notnull())  # drug events (a bundle's row is null)
    drug = m.select(Col.PATIENT_ID, Col.LINE, "row", table=ibis.literal("administrations"),
                    role=ibis.literal("anti-myeloma drug"))  # fmt: skip
    win = rules.get("lines", "regimen_window_days")
    st = c.adm.filter(c.adm.role == "steroid")
    dl = f.filter((f.kind == "drug") | f.maintenance | f.induction)
    steroid = _with_drug_lines(st, dl, win).select(
        Col.PATIENT_ID, Col.LINE, "row", table=ibis.literal("administrations"),
        role=ibis.literal("steroid with the line"))  # fmt: skip
    return drug.union(steroid).union(_bundle_rows(c, f, _bridging_steroids(c, st, dl, win)))


def _with_drug_lines(st: ibis.Table, dl: ibis.Table, win: int) -> ibis.Table:
    """Steroid rows ``st`` joined to the drug lines ``dl`` they are given with: from the line's
    start to ``win`` days after its end, before the next line."""
    sj = st.join(dl, [st.patient_id == dl.patient_id, st.date >= dl.start_date,
                      st.date <= dl.end_date + ibis.interval(days=win)])  # fmt: skip
    return sj.filter(sj.next_start.isnull() | (sj.date < sj.next_start))


def _bridging_steroids(c, st: ibis.Table, dl: ibis.Table, win: int) -> ibis.Table:
    """Steroids given with a CAR T's bridging therapy (from its first bridging drug to the
    regimen window after its last, before the infusion), not already with a drug line: part
    of the CAR-T bundle as the bridging drugs are, where they were listed as "steroid given
    alone" (found by hand-made OMOP cases written independently of the code, 2026-12-04).
    Computed from the few bridging rows and their patients' steroids, never over every
    administration."""
    bm = c.adm_members.filter(c.adm_members.role == "bridging").select("row", "bundle_date",
                                                                        "is_index")  # fmt: skip
    bd = c.adm.select("row", Col.PATIENT_ID, "date").semi_join(bm, "row").distinct()
    bd = bd.join(bm, "row")
    span = bd.group_by([Col.PATIENT_ID, "bundle_date", "is_index"]).aggregate(
        _first=bd.date.min(), _last=bd.date.max())  # fmt: skip
    s = st.select("row", Col.PATIENT_ID, "date").semi_join(span, Col.PATIENT_ID).distinct()
    j = s.join(span, [s.patient_id == span.patient_id, s.date >= span._first,
                      s.date <= span._last + ibis.interval(days=win),
                      s.date < span.bundle_date])  # fmt: skip
    j = j.select(s.patient_id, "row", "date", "bundle_date", "is_index")
    j = j.anti_join(_with_drug_lines(j, dl, win).select("row"), "row")
    return j.select(Col.PATIENT_ID, "row", "bundle_date", "is_index",
                    table=ibis.literal("administrations"),
                    role=ibis.literal("steroid with the bridging therapy")).distinct()  # fmt: skip


def _bundle_rows(c, f: ibis.Table, bridging: ibis.Table) -> ibis.Table:
    # the patient of each bundle row: the few bundle rows first, then distinct (not all rows)
    rows = c.adm_members.select("row").union(c.conditioning.select("row"))
    adm_pid = c.adm.select("row", Col.PATIENT_ID).semi_join(rows, "row").distinct()
    am = c.adm_members.join(adm_pid, "row").mutate(table=ibis.literal("administrations"))
    pm = c.proc_members.join(c.proc.select("row", Col.PATIENT_ID), "row").mutate(
        table=ibis.literal("procedures")
    )
    cm = c.conditioning.join(adm_pid, "row").mutate(table=ibis.literal("administrations"),
                                                    is_index=False)  # fmt: skip
    tp = c.transplant_proc.mutate(table=ibis.literal("procedures"), is_index=False,
                                  role=ibis.literal("transplant"))  # fmt: skip
    rta = c.rt.filter(c.rt.alone)
    rt = rta.select(Col.PATIENT_ID, "row", bundle_date=rta.course_start,
                    table=ibis.literal("procedures"), is_index=False,
                    role=ibis.literal("radiotherapy fraction"))  # fmt: skip
    cols = [Col.PATIENT_ID, "row", "bundle_date", "table", "is_index", "role"]
    u = am.select(cols).union(pm.select(cols)).union(cm.select(cols)).union(tp.select(cols))
    u = u.union(rt.select(cols)).union(bridging.select(cols))
    u = u.union(_bridging_rt_rows(c).select(cols))
    b = f.filter(f.kind != "drug").select(
        Col.PATIENT_ID, Col.LINE, bundle_date=_key_date(f.bundle_id)
    )
    sal = u.filter(~u.is_index).join(b, [Col.PATIENT_ID, "bundle_date"])
    idx = u.filter(u.is_index).mutate(line=ibis.literal(0).cast("int64"))
    cols2 = [Col.PATIENT_ID, Col.LINE, "row", "table", "role"]
    out = sal.select(cols2).union(idx.select(cols2))
    return out.union(_rt_with_drugs(c, f).select(cols2))


def _bridging_rt_rows(c) -> ibis.Table:
    """Radiotherapy fractions of a course begun between a CAR T's apheresis and infusion:
    that CAR-T line's bridging (``bridge_date`` of ``_rt``, events._bridging_rt)."""
    r = c.rt.filter(c.rt.bridge_date.notnull())
    return r.select(Col.PATIENT_ID, "row", bundle_date=r.bridge_date,
                    table=ibis.literal("procedures"), is_index=r.bridge_index,
                    role=ibis.literal("bridging radiotherapy"))  # fmt: skip


def _rt_with_drugs(c, f: ibis.Table) -> ibis.Table:
    r = c.rt.filter(~c.rt.alone & c.rt.bridge_date.isnull())
    dl = f.filter((f.kind == "drug") | f.induction | f.maintenance)
    j = r.join(dl, [r.patient_id == dl.patient_id, r.date >= dl.start_date])
    j = j.filter(j.next_start.isnull() | (j.date < j.next_start))
    return j.select(Col.PATIENT_ID, Col.LINE, "row", table=ibis.literal("procedures"),
                    role=ibis.literal("radiotherapy with systemic therapy"))  # fmt: skip


#: The vocabulary's name of a CAR T named without its product ("CAR-T cell infusion").
_BARE_CAR_T = "unspecified car t"


def _drugs(c, rows: ibis.Table) -> ibis.Table:
    """``patient_id, line, drugs`` (';'-joined, sorted) from the line rows' ingredients."""
    adm = c.adm.filter(c.adm.ingredient.notnull())
    roles = ["anti-myeloma drug", "steroid with the line", "car_t", "conditioning",
             "mobilisation"]
    r = rows.filter((rows.table == "administrations") & rows.role.isin(roles) & (rows.line > 0))
    j = r.join(adm.select("row", "ingredient", kind=adm.role), "row")
    # an allogeneic transplant's conditioning agents whatever their role elsewhere
    j = j.filter(j.kind.isin(["anchor", "steroid", "car_t"])
                 | j.role.isin(["conditioning", "mobilisation"]))
    # a salvage CAR-T infused as a procedure: the product its text names
    pr = rows.filter((rows.table == "procedures") & (rows.role == "car_t_infusion")
                     & (rows.line > 0))  # fmt: skip
    pj = pr.join(c.proc.filter(c.proc.product.notnull()).select("row", "product"), "row")
    pj = pj.select(Col.PATIENT_ID, Col.LINE, ingredient=pj.product, car=ibis.literal(True))
    d = j.select(Col.PATIENT_ID, Col.LINE, "ingredient", car=j.kind == "car_t").union(pj)
    # a bare "CAR-T" beside a named product of the line is that product
    named = d.filter(d.car & (d.ingredient != _BARE_CAR_T)).select(Col.PATIENT_ID, Col.LINE)
    bare = d.filter(d.ingredient == _BARE_CAR_T).anti_join(named, [Col.PATIENT_ID, Col.LINE])
    d = d.filter(d.ingredient != _BARE_CAR_T).union(bare)
    d = d.select(Col.PATIENT_ID, Col.LINE, "ingredient").distinct()
    return d.group_by([Col.PATIENT_ID, Col.LINE]).aggregate(
        drugs=_joined(d.ingredient, ";")
    )


def _joined(values: ibis.Column, sep: str, where: ibis.BooleanValue | None = None):
    """The group's values, sorted (numbers as numbers), joined by ``sep``; null when none.

    ``group_concat(order_by=...)`` does not compile on PySpark, so the values are
    collected, sorted and then joined, which every engine runs alike.
    """
    arr = values.collect(where=where).sort()
    if not values.type().is_string():
        arr = arr.cast("array<string>")
    return ibis.ifelse(arr.length() > 0, arr.join(sep), ibis.null("string"))


def _regimen(drugs: str, kind: str) -> str:
    names = [d.removeprefix("unspecified ").upper() if d.startswith("unspecified ") else d
             for d in drugs.split(";") if d]  # fmt: skip
    if kind == "transplant":
        names.append("autologous stem cell transplant")
    if kind == "allo_transplant":
        names.append("allogeneic stem cell transplant")
    if kind == "radiotherapy":
        names.append("radiotherapy")
    return " + ".join(names) if names else "anti-myeloma therapy (unrecognised)"


def regimen_texts(drugs: list[str | None], kinds: list[str]) -> list[str]:
    """Readable regimen texts that :func:`aftercar.vocab.parse_regimen` reads back as ``drugs``."""
    return _regimen_column(pa.array(drugs, pa.string()), pa.array(kinds, pa.string())).to_pylist()


def _regimen_column(drugs: pa.Array | pa.ChunkedArray, kinds: pa.Array | pa.ChunkedArray):
    """:func:`regimen_texts` over Arrow columns (each distinct drugs-kind pair once)."""
    sep = "\x1f"  # drugs are ';'-joined names; the unit separator never occurs in them
    key = pc.binary_join_element_wise(pc.fill_null(drugs, ""), pc.fill_null(kinds, ""), sep)
    return per_distinct(key, lambda k: _regimen(*k.split(sep)))


def per_distinct(keys: pa.Array | pa.ChunkedArray, fn) -> pa.Array:
    """``fn`` applied to each distinct key (a few hundred regimens, a few table names),
    spread to every row (a null key is read as ``""``)."""
    keys = pc.fill_null(keys, "")
    distinct = pc.unique(keys)
    values = pa.array([fn(k) for k in distinct.to_pylist()], pa.string())
    return pc.take(values, pc.index_in(keys, value_set=distinct))


def _audit_lines(final: ibis.Table, rows: ibis.Table) -> ibis.Table:
    rows = rows.filter(rows.line > 0)
    n = rows.group_by([Col.PATIENT_ID, Col.LINE]).aggregate(
        n_rows=rows.count(),
        administration_rows=_joined(rows.row, " ", rows.table == "administrations"),
        procedure_rows=_joined(rows.row, " ", rows.table == "procedures"),
    )  # fmt: skip
    f = final.left_join(n, [Col.PATIENT_ID, Col.LINE])
    prev = f.prev_end_rule.cases(*[(k, "after the previous line: " + v)
                                   for k, v in END_RULES.items()])  # fmt: skip
    start = ibis.cases(
        (f.induction, ibis.ifelse(f.maintenance, _INDUCTION + _MAINTENANCE, _INDUCTION)),
        (f.maintenance, f.kind.cases(*_START_RULES.items()) + _MAINTENANCE),
        (f.kind != "drug", f.kind.cases(*_START_RULES.items())),
        (f.line == 1, "first anti-myeloma therapy on or after the index progression"),
        else_=prev,
    )
    drug_end = f.end_rule.cases(*END_RULES.items())
    # a line with its maintenance ends as the maintenance drug does (progression, gap...)
    end = ibis.cases((f.kind == "drug", drug_end),
                     (f.maintenance, drug_end),
                     (f.induction, "its last therapy is the autologous transplant"),
                     else_="single-event line (" + f.kind + ")")  # fmt: skip
    keys = (Col.PATIENT_ID, Col.LINE, "kind", Col.START_DATE, Col.END_DATE)
    return f.select(*keys, start_rule=start,
                    end_rule=end, progression_before_restart=f.t_pd,
                    response_parameter=f.param,
                    # a response graded from a detectable, not measurable, baseline (IMWG
                    # would call it not evaluable; [measurable] fallback_to_detectable):
                    # said per line since 2026-12-07 (hand-labelled raw patient P26's MR)
                    measurable_baseline=ibis.ifelse(f.param.isnull(), ibis.null("boolean"),
                                                    f.measurable),
                    n_assessments=f.n_assessments,
                    best_response=f.best_response, progression_date=f.progression_date,
                    administration_rows=f.administration_rows,
                    procedure_rows=f.procedure_rows)  # fmt: skip


def _assessed(index_a, line_a, index: ibis.Table) -> ibis.Table:
    """The assessments of the index (line 0) and of every salvage line, one table.

    Those of a patient the cohort leaves out before the index (``excluded``: a CAR T that
    is not BCMA-directed, dates out of order...) are not: that patient's lab rows are listed
    in the attrition with that reason. A patient without an index progression keeps the
    index CAR T's assessments (they show why there is none), and the lab rows they read
    are not listed in the attrition: until 2026-12-07 both were, a row used and left out
    at once (note34).
    """
    out = index.filter(index.excluded.notnull()).select(Col.PATIENT_ID)
    index_a = index_a.anti_join(out, Col.PATIENT_ID)
    ia = index_a.mutate(line=ibis.literal(0).cast("int64"))
    la = line_a.mutate(line=(line_a.lkey % 1000).cast("int64"))
    # the same integer width on both sides: Spark types row numbers as INT
    ia, la = (t.mutate(lkey=t.lkey.cast("int64"), level=t.level.cast("int64")) for t in (ia, la))
    return ia.union(la)


def _visit_rows(con, u: ibis.Table, norm: ibis.Table) -> ibis.Table:
    """``patient_id, date, rows``: the raw rows (IMWG tests only) of every assessment or
    baseline visit, materialised once for the assessments and the lab attrition."""
    d = u.select(Col.PATIENT_ID, "date").union(u.select(Col.PATIENT_ID, date=u.b_date)).union(
        u.filter(u.b_param_date.notnull()).select(Col.PATIENT_ID, date=u.b_param_date))
    ok = norm.filter(norm.param.notnull()).semi_join(d.distinct(), [Col.PATIENT_ID, "date"])
    rows = ok.group_by([Col.PATIENT_ID, "date"]).aggregate(rows=_joined(ok.row, " "))
    return con.create_table("_visit_rows", rows, overwrite=True)


def _audit_assessments(u: ibis.Table, vr: ibis.Table) -> ibis.Table:
    u = u.left_join(vr.rename(lab_rows="rows"), [Col.PATIENT_ID, "date"])
    # the baseline: the visit of the parameter's baseline value and the baseline visit (the
    # urine, immunofixation and marrow of the latter are the line's too)
    vb = vr.select(_pb=vr[Col.PATIENT_ID], _db=vr.date, _b_rows=vr.rows)
    u = u.left_join(vb, (u[Col.PATIENT_ID] == vb._pb) & (u.b_date == vb._db))
    vp = vr.select(_pp=vr[Col.PATIENT_ID], _dp=vr.date, _p_rows=vr.rows)
    u = u.left_join(vp, (u[Col.PATIENT_ID] == vp._pp) & (u.b_param_date == vp._dp))
    own = u.b_param_date.notnull() & (u.b_param_date != u.b_date)
    both = u._p_rows.concat(" ", u._b_rows.fill_null("")).strip()
    u = u.mutate(baseline_rows=ibis.ifelse(own.fill_null(False), both, u._b_rows),
                 b_date=ibis.coalesce(u.b_param_date, u.b_date))
    code = u.level.cases(*[(i, c) for i, c in enumerate(CODES)])
    conf = u.confirmed_level.cases(*[(i, c) for i, c in enumerate(CODES)])
    return u.select(Col.PATIENT_ID, Col.LINE, "date", parameter=u.param, baseline_date=u.b_date,
                    baseline=u.baseline, value=u.value, nadir=u.nadir, response=code,
                    confirmed_response=conf, look_ahead=u.lookahead,
                    progression_confirmed=u.pd_confirmed, lab_rows=u.lab_rows,
                    baseline_rows=u.baseline_rows)  # fmt: skip


_AFTER_FU = "dated after the patient's death or last follow-up date"
_NO_INDEX = "patient has no confirmed IMWG progression after the index CAR T (no index date)"


def _adm_attrition(c, index: ibis.Table, used: ibis.Table) -> ibis.Table:
    a = c.adm.anti_join(used.filter(used.table == "administrations"), "row")
    a = a.join(index.select(Col.PATIENT_ID, Col.CAR_T_DATE, "index_date", "excluded",
                            "car_t_maintenance", "maintenance_start", "index_window_end"),
               Col.PATIENT_ID)  # fmt: skip
    maint = continued_maintenance(a)
    g = a.group_by(["row", Col.PATIENT_ID]).aggregate(
        date=a.date.min(), car_t_date=a.car_t_date.min(), index_date=a.index_date.min(),
        excluded=a.excluded.max(), maintenance=maint.fill_null(False).any(),
        **{r: (a.role == r).any() for r in ("anchor", "steroid", "premedication", "supportive",
                                             "unrecognised", "car_t", "after_followup",
                                             "not_given", "context", "mobilisation")},
    )  # fmt: skip
    reason = ibis.cases(
        (g.index_date.isnull(), g.excluded.fill_null(_NO_INDEX)),
        (g.after_followup, _AFTER_FU),
        (g.anchor & (g.date < g.car_t_date), "anti-myeloma therapy before the index CAR T"),
        (g.anchor & g.maintenance & (g.date < g.index_date),
         "maintenance of the index CAR T ([maintenance] after_car_t_days), before the index "
         "progression"),
        (g.anchor & g.maintenance, "maintenance of the index CAR T continued after the index "
                                   "progression, until the next therapy (not salvage therapy)"),
        (g.anchor & (g.date < g.index_date), "after the index CAR T, before the index progression"),
        # an earlier CAR T (a non-BCMA one, MCARH109): before the index, not a lost product
        (g.car_t & (g.date < g.car_t_date), "CAR-T therapy before the index CAR T"),
        (g.car_t, "CAR-T product without a matching infusion"),
        (g.steroid, "steroid given alone (not anti-myeloma)"),
        (g.premedication, "premedication (not anti-myeloma)"),
        (g.supportive, "not anti-myeloma (a supportive drug, or a lymphodepletion agent "
                       "not within days -7..0 of the index or a salvage CAR-T infusion)"),
        (g.unrecognised, "drug text not recognised by the vocabulary"),
        (g.not_given, "recorded as not given (held, omitted, cancelled or refused)"),
        (g.mobilisation, "stem-cell mobilisation without a transplant in the following "
                         "mobilisation_days"),
        (g.context, "anti-myeloma drug named only as the context of another order "
                    "('... while on teclistamab', 'CRS after cilta-cel'): not a dose"),
        else_="anti-myeloma administration not assigned to a line",
    )  # fmt: skip
    return g.select("row", Col.PATIENT_ID, table=ibis.literal("administrations"), reason=reason)


def _proc_attrition(c, index: ibis.Table, used: ibis.Table) -> ibis.Table:
    p = c.proc.join(index.select(Col.PATIENT_ID, "index_date", "excluded"), Col.PATIENT_ID)
    p = p.anti_join(used.filter(used.table == "procedures"), "row")
    reason = ibis.cases(
        (p.index_date.isnull(), p.excluded.fill_null(_NO_INDEX)),
        (p.kind == "after_followup", _AFTER_FU),
        (p.kind == "unrecognised", "procedure text not recognised"),
        (p.date < p.index_date, "before the index progression (not part of the index CAR T)"),
        (p.kind == "apheresis", "apheresis without a CAR-T infusion in the following days"),
        (p.kind == "lymphodepletion", "lymphodepletion without a CAR-T infusion within 7 days"),
        (p.kind == "car_t_handling", "CAR-T product transport or preparation: not an infusion"),
        (p.kind == "supportive", "supportive or planning procedure (not anti-myeloma therapy)"),
        else_="procedure not assigned to a line",
    )
    return p.select("row", Col.PATIENT_ID, table=ibis.literal("procedures"), reason=reason)


_NOT_ASSESSED = ("visit that is neither an assessment nor a baseline of any line (no value "
                 "of the line's response parameter, or outside every line's window); a urine, "
                 "urine immunofixation or marrow result on it is carried to the line's next "
                 "assessment")  # fmt: skip


def _lab_attrition(norm: ibis.Table, index: ibis.Table, vr: ibis.Table, rules: Rules):
    back = rules.get("measurable", "baseline_lookback_days")
    n = norm.join(index.select(Col.PATIENT_ID, Col.CAR_T_DATE, "index_date", "excluded"),
                  Col.PATIENT_ID)  # fmt: skip
    # a test row on a visit of ``vr`` (an assessment or a baseline) is in its rows
    n = n.left_join(vr.select(Col.PATIENT_ID, "date", seen=ibis.literal(True)),
                    [Col.PATIENT_ID, "date"])  # fmt: skip
    early = n.date < n.car_t_date - ibis.interval(days=back)
    reason = ibis.cases(
        (n.param.isnull(), "test not used by the IMWG response criteria"),
        # an assessed row of a patient without an index progression is in the assessments
        (n.index_date.isnull() & (n.excluded.notnull() | n.seen.isnull()),
         n.excluded.fill_null(_NO_INDEX)),
        (n.fu == "after_followup", _AFTER_FU),
        (early, "before the index CAR-T baseline window"),
        (n.seen.isnull(), _NOT_ASSESSED),
        else_=ibis.null("string"),
    )
    n = n.mutate(reason=reason)
    n = n.filter(n.reason.notnull())
    return n.select("row", Col.PATIENT_ID, table=ibis.literal("labs"), reason=n.reason)


def _attrition(c, index, used, norm, vr: ibis.Table, rules: Rules, sort: bool = True,
               names: dict[str, str] | None = None) -> ibis.Table:  # fmt: skip
    p = c.pats.join(index.select(Col.PATIENT_ID, "index_date", "excluded"), Col.PATIENT_ID)
    p = p.filter(p.index_date.isnull())
    pa_ = p.select("row", Col.PATIENT_ID, table=ibis.literal("patients"),
                   reason=p.excluded.fill_null(_NO_INDEX))  # fmt: skip
    cols = ["table", "row", Col.PATIENT_ID, "reason"]
    u_ = pa_.select(cols).union(_adm_attrition(c, index, used).select(cols))
    u_ = u_.union(_proc_attrition(c, index, used).select(cols))
    u_ = u_.union(_lab_attrition(norm, index, vr, rules).select(cols))
    u_ = _named(text_ids(u_), names)
    return u_.order_by(["table", "row"]) if sort else u_


def _bundle_ends(c, rows: ibis.Table, final: ibis.Table, rules: Rules) -> ibis.Table:
    """Last dated row of each CAR-T, transplant or radiotherapy line (its end; an
    administration's date is the last day of its exposure, see ``events.with_span_end``)."""
    b = final.filter(final.kind != "drug").select(Col.PATIENT_ID, Col.LINE)
    r = rows.join(b, [Col.PATIENT_ID, Col.LINE])
    adm = with_span_end(c.adm.semi_join(r, "row"), c.pats, rules)
    adm = adm.select("row", date=ibis.coalesce(adm.span_end, adm.date)).distinct()
    dates = adm.mutate(table=ibis.literal("administrations")).union(
        c.proc.select("row", "date", table=ibis.literal("procedures")))  # fmt: skip
    j = r.join(dates, ["table", "row"])
    return j.group_by([Col.PATIENT_ID, Col.LINE]).aggregate(last_row_date=j.date.max())


def _ended(final: ibis.Table, ends: ibis.Table) -> ibis.Table:
    """``final`` with each line's ``end_date`` as the cohort and the audit give it: a drug
    line's last day of therapy; a CAR-T, transplant or radiotherapy line's last record
    (``_bundle_ends``), at least its start and at most the day before the next line."""
    f = final.left_join(ends, [Col.PATIENT_ID, Col.LINE])
    last = ibis.greatest(f.start_date, f.last_row_date.fill_null(f.start_date))
    before_next = f.next_start - ibis.interval(days=1)
    last = ibis.ifelse(f.next_start.notnull() & (last > before_next), before_next, last)
    end = ibis.ifelse(f.kind == "drug", f.end_date, last).cast("date")
    return f.select(*[f[c] for c in final.columns if c != Col.END_DATE], end_date=end)


def _allo_kind(c, final: ibis.Table) -> ibis.Table:
    """``final`` with the kind ``allo_transplant`` for a transplant line whose transplant
    procedures include an allogeneic one (its regimen, start rule and audit say so; until
    2026-12-06 every transplant line read "autologous", found by hand-made patients)."""
    t = c.transplant_proc
    allo = t.filter(t.kind == "allo_transplant").select(Col.PATIENT_ID, _bd=t.bundle_date)
    allo = allo.distinct().mutate(_allo=ibis.literal(True))
    f = final.mutate(_bd=ibis.ifelse(final.kind == "transplant", _key_date(final.bundle_id),
                                     ibis.null("date")))  # fmt: skip
    f = f.left_join(allo, [Col.PATIENT_ID, "_bd"])
    kind = ibis.ifelse(f._allo.fill_null(False), "allo_transplant", f.kind)
    return f.select(*[kind.name("kind") if n == "kind" else f[n] for n in final.columns])


def _curated(c, index: ibis.Table, final: ibis.Table, drugs: ibis.Table):
    ix = index.filter(index.index_date.notnull()).select(Col.PATIENT_ID, "index_date",
                                                           Col.CAR_T_BEST_RESPONSE)  # fmt: skip
    pats = c.pats.drop(*[x for x in (Col.CAR_T_BEST_RESPONSE,) if x in c.pats.columns])
    pats = pats.join(ix, Col.PATIENT_ID)
    pats = pats.mutate(progression_date=pats.index_date).drop("index_date", "row", "pkey")
    pats = pats.relocate(Col.CAR_T_BEST_RESPONSE, after=Col.PROGRESSION_DATE)
    lines = final.left_join(drugs, [Col.PATIENT_ID, Col.LINE])
    lines = lines.select(
        Col.PATIENT_ID, Col.LINE, Col.START_DATE, Col.BEST_RESPONSE, Col.PROGRESSION_DATE, "kind",
        "end_rule", Col.END_DATE, drugs=lines.drugs.fill_null(""),
    )  # fmt: skip
    return (ordered(pats, [Col.PATIENT_ID]).to_pyarrow(),
            ordered(lines, [Col.PATIENT_ID, Col.LINE]).to_pyarrow())  # fmt: skip


def _end_reasons(end_rule: pa.ChunkedArray, kinds: pa.ChunkedArray,
                 progressed: pa.ChunkedArray) -> pa.Array:  # fmt: skip
    """Each line's ``end_reason`` from its ``end_rule`` (:data:`_END_REASON`): a CAR-T,
    transplant or radiotherapy line followed by another is "completed"; a drug line that
    progressed (``progressed``: its ``progression_date``, a PD seen up to the next line's
    start) before a CAR-T, transplant or radiotherapy line began ended by "progression",
    as one followed by a new drug does (it read "next line started" until 2026-12-07: a
    hand-labelled raw patient, P22, progressed on its salvage line before a transplant)."""
    reason = per_distinct(end_rule, lambda r: _END_REASON.get(r, "") or None)
    drug = pc.equal(kinds, "drug")
    single = pc.and_(pc.invert(drug), pc.equal(reason, "next line started"))
    reason = pc.if_else(pc.fill_null(single, False), "completed", reason)
    pd = pc.and_(pc.and_(drug, pc.equal(end_rule, "bundle")), pc.is_valid(progressed))
    return pc.if_else(pc.fill_null(pd, False), "progression", reason)


def _finish_lines(lines: pa.Table) -> pa.Table:
    regimen = _regimen_column(lines[Col.DRUGS], lines["kind"])
    reason = _end_reasons(lines["end_rule"], lines["kind"], lines[Col.PROGRESSION_DATE])
    n = lines.num_rows
    return pa.table({
        Col.PATIENT_ID: lines[Col.PATIENT_ID], Col.LINE: lines[Col.LINE].cast(pa.int64()),
        Col.REGIMEN: regimen, Col.START_DATE: lines[Col.START_DATE],
        Col.END_DATE: lines[Col.END_DATE], Col.BEST_RESPONSE: lines[Col.BEST_RESPONSE],
        Col.PROGRESSION_DATE: lines[Col.PROGRESSION_DATE],
        Col.CLINICAL_TRIAL: pa.nulls(n, pa.bool_()), Col.END_REASON: reason,
        Col.DRUGS: lines[Col.DRUGS],
    })  # fmt: skip


def _named(t: ibis.Table, names: dict[str, str] | None) -> ibis.Table:
    """``t`` with its ``table`` names renamed by ``names`` (others and NULL kept)."""
    if not names or "table" not in t.columns:
        return t
    return t.mutate(table=t.table.substitute(names))


def assemble(con, c, index, index_a, final, members, line_a, norm, rules: Rules,
             sort_attrition: bool = True, table_names: dict[str, str] | None = None):  # fmt: skip
    """Build the :class:`~aftercar.derive.raw.result.RawDerivation` of one run
    (``sort_attrition``: the attrition by table and row; else in no set order;
    ``table_names``: the names the outputs give the input tables, e.g. OMOP's)."""

    rows = con.create_table("_line_rows", _line_rows(c, final, members, rules), overwrite=True)
    for done in ("_members", "_events"):  # no step reads them now: free the engine's memory
        con.drop_table(done, force=True)
    drugs = _drugs(c, rows)
    # materialised: the cohort's lines and the line audit both read it (the bundle ends
    # were computed twice, each a pass over the administrations)
    final = con.create_table("_final_ended",
                             _allo_kind(c, _ended(final, _bundle_ends(c, rows, final, rules))),
                             overwrite=True)  # fmt: skip
    pats, lines = _curated(c, index, final, drugs)
    u = _assessed(index_a, line_a, index)
    vr = _visit_rows(con, u, norm)
    audit = {
        "lines": ordered(_audit_lines(final, rows), [Col.PATIENT_ID, Col.LINE]).to_pyarrow(),
        "events": _named(text_ids(rows), table_names).to_pyarrow(),
        "assessments": ordered(_audit_assessments(u, vr), [Col.PATIENT_ID, Col.LINE, "date"])
        .to_pyarrow(),
    }
    attrition = _attrition(c, index, rows, norm, vr, rules, sort_attrition,
                           table_names).to_pyarrow()  # fmt: skip
    return RawDerivation(pats, _finish_lines(lines), audit, attrition)
