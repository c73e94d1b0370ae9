"""Assemble classified rows into the events that lines are cut from, and the index date.

See :mod:`aftercar.derive.raw.bundles` for the bundle rules and
:mod:`aftercar.derive.raw.lines` for the line rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis

from aftercar.derive.raw import bundles
from aftercar.derive.raw.classify import non_bcma_products
from aftercar.derive.raw.imwg import assessments, summarise
from aftercar.derive.raw.rules import Rules
from aftercar.schema import Col, codes_where

#: A drug event's ``eid`` is its administration ``row`` x this + its ingredient's number
#: (so ``eid % EID_INGREDIENTS`` numbers the ingredient; fewer ingredients than this).
EID_INGREDIENTS = 1024
#: The largest administration ``row`` whose ``eid`` fits a 64-bit integer (rows are >= 0:
#: a raw file's row numbers; an OMOP ``drug_exposure_id``, checked by
#: :func:`aftercar.derive.omop.checks.check_rows`).
MAX_ROW = (2**63 - 1) // EID_INGREDIENTS - 1


@dataclass
class Classified:
    """Materialised intermediate tables of one derivation (all Ibis tables)."""

    pats: ibis.Table
    adm: ibis.Table
    proc: ibis.Table
    vis: ibis.Table
    inf: ibis.Table
    adm_members: ibis.Table
    proc_members: ibis.Table
    transplant_proc: ibis.Table
    conditioning: ibis.Table
    rt: ibis.Table
    anchors: ibis.Table
    bundle_events: ibis.Table


def build(con, pats, adm, proc, vis, rules: Rules) -> Classified:
    """Find bundles, anchors (anti-myeloma drug events outside bundles) and bundle events."""
    inf = con.create_table("_inf", bundles.infusions(adm, proc, pats, rules), overwrite=True)
    a_mem, p_mem = bundles.car_t_members(adm, proc, inf, rules)
    a_mem = con.create_table("_adm_members", a_mem, overwrite=True)
    p_mem = con.create_table("_proc_members", p_mem, overwrite=True)
    t_proc, cond = bundles.transplants(adm, proc, rules)
    t_proc = con.create_table("_transplants", t_proc, overwrite=True)
    cond = con.create_table("_conditioning", cond, overwrite=True)
    anchors = adm.filter(adm.role == "anchor").anti_join(a_mem, ["row", "ingredient"])
    anchors = con.create_table("_anchors", anchors.anti_join(cond, ["row", "ingredient"]),
                               overwrite=True)  # fmt: skip
    rt = _rt(con, proc, anchors, pats, inf, rules)
    ev = _bundle_events(adm, inf, t_proc, cond, rt)
    ev = con.create_table("_bundle_events", ev, overwrite=True)
    return Classified(pats, adm, proc, vis, inf, a_mem, p_mem, t_proc, cond, rt, anchors, ev)


def _rt(con, proc, anchors, pats, inf, rules: Rules) -> ibis.Table:
    r = bundles.rt_courses(proc, rules)
    a = with_span_end(anchors, pats, rules)  # a course running through it: not alone
    last = ibis.coalesce(a.span_end, a.date)
    j = r.join(a, [r.patient_id == a.patient_id, last >= r.course_start,
                   a.date <= r.course_end])  # fmt: skip
    bridge = _bridging_rt(r, inf)
    busy = j.select(j.patient_id, j.course_start).union(_run_across(r, a, rules))
    busy = busy.union(bridge.select(Col.PATIENT_ID, "course_start")).distinct()
    alone = r.anti_join(busy, [Col.PATIENT_ID, "course_start"]).select("row").mutate(alone=True)
    out = r.left_join(alone, "row").drop("row_right")
    out = out.left_join(bridge, [Col.PATIENT_ID, "course_start"])
    out = out.drop(*[c for c in out.columns if c.endswith("_right")])
    return con.create_table("_rt", out.mutate(alone=out.alone.fill_null(False)), overwrite=True)


def _bridging_rt(r: ibis.Table, inf: ibis.Table) -> ibis.Table:
    """``patient_id, course_start, bridge_date, bridge_index`` of the radiotherapy courses
    begun between a CAR T's apheresis and its infusion (``bridge_date``, whether it is the
    index CAR T): bridging therapy, part of the CAR-T line as bridging drugs are (REFERENCE
    5.5; Rajkumar 2015: a planned sequence is one line; a fifth probe of hand-made patients,
    2026-12-06: such a course was a line of its own, graded SD). The audit lists its
    fractions with that line from these columns of ``_rt``."""
    b = inf.filter(inf.apheresis_date.notnull())
    c = r.select(Col.PATIENT_ID, "course_start").distinct()
    j = c.join(b, [c.patient_id == b.patient_id, c.course_start >= b.apheresis_date,
                   c.course_start < b.infusion_date])  # fmt: skip
    g = j.group_by([j.patient_id, j.course_start])
    return g.aggregate(bridge_date=j.infusion_date.min(),
                       bridge_index=j.is_index.argmin(j.infusion_date))  # fmt: skip


def _run_across(r: ibis.Table, a: ibis.Table, rules: Rules) -> ibis.Table:
    """``patient_id, course_start`` of the radiotherapy courses a drug line runs across: the
    therapy given after the course (its first day and the regimen window after it) is drugs
    given before it, within ``discontinuation_gap_days`` of its first day after (a
    palliative course between two doses of a weekly or fortnightly bispecific is given
    during that line, not a line of its own; hand-made patients written independently of
    the code, 2026-12-06, Rajkumar 2015). A course between two regimens stays a line, also
    when they share a drug (Pd, then Dara-Pd: daratumumab is new)."""
    gap = rules.get("lines", "discontinuation_gap_days")
    win = rules.get("lines", "regimen_window_days")
    c = r.select(Col.PATIENT_ID, "course_start", "course_end").distinct()
    d = a.select(_pid=a.patient_id, _ing=a.ingredient, _first=a.date,
                 _last=ibis.coalesce(a.span_end, a.date))  # fmt: skip
    keys = [Col.PATIENT_ID, "course_start"]
    n = c.join(d, [c.patient_id == d._pid, d._first > c.course_end])
    first = n.group_by(keys).aggregate(_next=n._first.min())
    after = n.join(first, keys)
    after = after.filter(after._first <= after._next + ibis.interval(days=win))
    after = after.select(*keys, "_ing", "_next").distinct()
    b = c.join(d, [c.patient_id == d._pid, d._last < c.course_start])
    before = b.group_by([*keys, "_ing"]).aggregate(_prev=b._last.max())
    j = after.left_join(before, [*keys, "_ing"])
    given = j._prev.notnull() & (j._next.delta(j._prev, unit="day") <= gap)
    per = j.group_by(keys).aggregate(_all=given.fill_null(False).all())
    return per.filter(per._all).select(*keys)


def _bundle_events(adm, inf, t_proc, cond, rt) -> ibis.Table:
    c = inf.filter(~inf.is_index)
    car_t = c.select(Col.PATIENT_ID, date=c.infusion_date, kind=ibis.literal("car_t"),
                     _key=c.infusion_date)  # fmt: skip
    cd = cond.join(adm.select("row", Col.PATIENT_ID, "date").semi_join(cond, "row").distinct(),
                   "row")  # fmt: skip
    cmin = cd.group_by([Col.PATIENT_ID, "bundle_date"]).aggregate(c_date=cd.date.min())
    tb = t_proc.group_by([Col.PATIENT_ID, "bundle_date"]).aggregate(
        _allo=(t_proc.kind == "allo_transplant").any())
    tb = tb.left_join(cmin, [Col.PATIENT_ID, "bundle_date"])
    tr = tb.select(tb.patient_id, date=ibis.coalesce(ibis.least(tb.bundle_date, tb.c_date),
                                                     tb.bundle_date).cast("date"),
                   kind=ibis.literal("transplant"), _key=tb.bundle_date,
                   _prefix=ibis.ifelse(tb._allo, "allo_transplant", "transplant"))  # fmt: skip
    ra = rt.filter(rt.alone).select(Col.PATIENT_ID, date=rt.course_start).distinct()
    ra = ra.mutate(kind=ibis.literal("radiotherapy"), _key=ra.date)
    car_t = car_t.mutate(_prefix=car_t.kind)
    ra = ra.mutate(_prefix=ra.kind)
    u = car_t.union(tr).union(ra)
    # an allogeneic transplant's bundle id says so (kind stays "transplant"; the line rules
    # merge only an autologous one into its induction line, lines._induction)
    return u.mutate(bundle_id=u._prefix + ":" + u._key.cast("string")).drop("_key", "_prefix")


def index_progression(con, c: Classified, rules: Rules) -> tuple[ibis.Table, ibis.Table]:
    """The index date of each patient: first confirmed IMWG PD after the CAR-T infusion.

    The index CAR T's assessment window runs from the infusion to the first later
    anti-myeloma therapy (a drug or a bundle), or through its maintenance
    (:func:`_maintenance`); see :mod:`aftercar.derive.raw.imwg` for the look-ahead rule
    when that therapy starts before a lab shows the PD.

    Returns ``(per patient: patient_id, pkey, car_t_date, index_date, ...summary)``
    and the index assessments.
    """
    p = c.pats
    first, maint = _car_t_window(con, c, rules)
    lines = p.left_join(first, Col.PATIENT_ID).select(
        p.patient_id, lkey=p.pkey, start_date=p.car_t_date, window_end=first.window_end)
    a = con.create_table("_index_assessments", assessments(lines, c.vis, rules), overwrite=True)
    summ, a = _maintenance(con, lines, a, maint, c.vis, rules)
    by_therapy = rules.get("index", "new_therapy_without_lab_progression")
    lab = summ.progression_date
    date = ibis.coalesce(lab, summ.window_end) if by_therapy else lab
    how = ibis.cases(
        (lab.isnull() & date.notnull(), "first anti-myeloma therapy after CAR T (no lab evidence)"),
        (lab.notnull(), "confirmed IMWG PD from the CAR-T nadir"),
        else_=ibis.null("string"),
    )
    s = summ.select(patient_id=summ.patient_id, pkey=summ.lkey, car_t_date=summ.start_date,
                    index_date=date, index_rule=how, index_window_end=summ.window_end,
                    car_t_param=summ.param, car_t_best_response=summ.best_response,
                    car_t_maintenance=summ.car_t_maintenance,
                    maintenance_start=summ.maintenance_start)  # fmt: skip
    return con.create_table("_index", _followed(_bcma_only(con, s, p), p), overwrite=True), a


def _maintenance(con, lines: ibis.Table, a: ibis.Table, maint: ibis.Table, vis: ibis.Table,
                 rules: Rules) -> tuple[ibis.Table, ibis.Table]:  # fmt: skip
    """``(summary, assessments)`` of the index CAR Ts, each assessed through its maintenance
    (``maint``, :func:`_car_t_window`) when the CAR T had responded (PR or better) and not
    progressed before it began: lenalidomide given in response is maintenance, given
    without one (no lab, or in SD) it may be the treatment of a relapse the labs do not
    show, the first therapy after the CAR T. The summary gains ``car_t_maintenance`` and
    ``maintenance_start`` (null without maintenance). The candidates are few: the
    summaries and assessments of the others are not read again."""
    maint = con.create_table("_index_maintenance", maint, overwrite=True)
    summ = summarise(lines, a, rules)
    if maint.count().execute() == 0:
        return summ.mutate(car_t_maintenance=ibis.null("string"),
                           maintenance_start=ibis.null("date")), a  # fmt: skip
    key = Col.PATIENT_ID
    cand = summarise(lines.semi_join(maint, key), a.semi_join(maint, key), rules)
    ok = cand.join(maint, key)
    ok = ok.filter(ok.best_response.isin(codes_where("pr_or_better"))
                   & ok.progression_date.isnull())  # fmt: skip
    longer = ok.select(*(c for c in lines.columns if c != "window_end"),
                       window_end=ok.window_end_right)  # fmt: skip
    a2 = assessments(longer, vis, rules)
    a = con.create_table("_index_assessments_m", a.anti_join(ok, key).union(
        a2.select(*a.columns)), overwrite=True)  # fmt: skip
    summ = summ.anti_join(ok, key).union(summarise(longer, a2, rules).select(*summ.columns))
    m = ok.select(_mpid=ok[key], car_t_maintenance=ok.maintenance,
                  maintenance_start=ok.maintenance_start)  # fmt: skip
    return summ.left_join(m, summ[key] == m._mpid).drop("_mpid"), a


def _car_t_window(con, c: Classified, rules: Rules) -> tuple[ibis.Table, ibis.Table]:
    """``(patient_id, window_end)``: the end of the index CAR T's assessment window, its
    first later anti-myeloma therapy (a drug or a bundle); and the maintenance candidates
    ``(patient_id, maintenance, maintenance_start, window_end)``: a first therapy of one
    ingredient of ``[maintenance] after_car_t_ingredients`` (steroids aside: they are no
    anchors) begun within ``after_car_t_days`` of the infusion and before any bundle, with
    the window running to the first therapy after the CAR T that is not that ingredient.
    A planned sequence is one line (Rajkumar 2015; OHDSI maintenance rule): lenalidomide
    maintenance begun 84 days after cilta-cel in VGPR was the index "relapse" 11 months
    before the M-protein confirmed one (hand-made raw patient P21, 2026-12-07).

    One pass over the administrations after the CAR T gives each patient's first therapy
    and first maintenance-agent date; the regimen and the window's new end are read for
    the few patients whose first therapy is that agent's (+1.6 s of a 50,000-person batch
    when every patient's first regimen was read)."""
    days = rules.get("maintenance", "after_car_t_days")
    agents = list(rules.get("maintenance", "after_car_t_ingredients")) or [""]
    key = Col.PATIENT_ID
    car_t = c.pats.select(key, Col.CAR_T_DATE)
    a = c.anchors.select(key, "date", "ingredient").join(car_t, key)
    a = a.filter(a.date > a.car_t_date)
    b = c.bundle_events.select(key, "date").join(car_t, key)
    b = b.filter(b.date > b.car_t_date)
    b = b.group_by(key).aggregate(_b=b.date.min())
    d = a.group_by(key).aggregate(_d=a.date.min(), _fm=a.date.min(where=a.ingredient.isin(agents)))
    j = car_t.left_join(d, key).drop(key + "_right").left_join(b, key).drop(key + "_right")
    end = ibis.coalesce(ibis.least(j._d, j._b), j._d, j._b)
    first = con.create_table("_index_first", j.select(
        key, window_end=end, _fm=j._fm, _gap=j._fm.delta(j.car_t_date, unit="day"),
        _b=j._b), overwrite=True)  # fmt: skip
    cand = first.filter((first._fm == first.window_end) & (first._gap <= days)
                        & (first._b.isnull() | (first._b > first._fm))
                        & ibis.literal(days > 0))  # fmt: skip
    f = a.join(cand.select(key, "_fm"), key)
    f = f.filter(f.date.delta(f._fm, unit="day") <= rules.get("lines", "regimen_window_days"))
    g = f.group_by(key).aggregate(_n=f.ingredient.nunique(), maintenance=f.ingredient.max(),
                                  maintenance_start=f._fm.max())  # fmt: skip
    m = g.filter(g._n == 1).drop("_n")
    o = a.join(m, key)
    o = o.filter(o.ingredient != o.maintenance).select(key, "date")
    o = o.union(b.semi_join(m, key).select(key, date=b._b)).union(_restarts(c, m, rules))
    ends = o.group_by(key).aggregate(window_end=o.date.min())
    m = m.left_join(ends, key).drop(key + "_right")
    return first.select(key, "window_end"), m


def _restarts(c: Classified, m: ibis.Table, rules: Rules) -> ibis.Table:
    """``patient_id, date``: the first dose of each maintenance (``m``) given after more
    than ``[lines] discontinuation_gap_days`` without it (counted from the last day of a
    continued exposure): the drug stopped and begun again is new therapy, which ends the
    maintenance (review of session 33: a restart months later left the patient without
    an index)."""
    key = Col.PATIENT_ID
    d = c.anchors.join(m, key)
    d = with_span_end(d.filter((d.ingredient == d.maintenance)
                               & (d.date >= d.maintenance_start)), c.pats, rules)  # fmt: skip
    last = ibis.coalesce(d.span_end, d.date).max().over(  # null on the first dose
        ibis.window(group_by=d[key], order_by=[d.date, d.row], rows=(None, -1)))
    gap = rules.get("lines", "discontinuation_gap_days")
    d = d.mutate(_last=last)
    r = d.filter((d.date.delta(d._last, unit="day") > gap).fill_null(False))
    return r.select(key, "date")


#: Why a patient whose index CAR T is not BCMA-directed has no index date.
NOT_BCMA = ("index CAR T is not BCMA-directed (car_t_product names a CAR T of other targets: "
            "the cohort is relapse after BCMA-directed CAR T)")


def _bcma_only(con, s: ibis.Table, pats: ibis.Table) -> ibis.Table:
    """``s`` with ``excluded`` (:data:`NOT_BCMA` or null) and no index date for a patient
    whose ``car_t_product`` names CAR-T products none of which is BCMA-directed (tisa-cel,
    a GPRC5D CAR T; an unnamed "CAR-T" is kept): the raw records' counterpart of the OMOP
    cohort's BCMA-directed exposure (hand-made patients, 2026-12-06)."""
    if Col.CAR_T_PRODUCT not in pats.columns:
        return s.mutate(excluded=ibis.null("string"))
    texts = pats.select(Col.CAR_T_PRODUCT).distinct().to_pyarrow()[Col.CAR_T_PRODUCT]
    other = con.create_table("_non_bcma", non_bcma_products(texts.to_pylist()), overwrite=True)
    f = pats.join(other, pats[Col.CAR_T_PRODUCT] == other.product)
    flag = f.select(_pid=f[Col.PATIENT_ID], _other=ibis.literal(True))
    j = s.left_join(flag, s[Col.PATIENT_ID] == flag._pid)
    out = ibis.ifelse(j._other.fill_null(False), NOT_BCMA, ibis.null("string"))
    return j.mutate(index_date=ibis.ifelse(out.isnull(), j.index_date, ibis.null("date")),
                    excluded=out).drop("_pid", "_other")


#: Why a patient whose follow-up ends before the CAR-T infusion has no index date.
FOLLOW_UP_BEFORE = ("death_date or last_followup_date before car_t_date (check the dates)")


def _followed(s: ibis.Table, pats: ibis.Table) -> ibis.Table:
    """``s`` with ``excluded`` = :data:`FOLLOW_UP_BEFORE` (where not already excluded) and
    no index date for a patient whose death or last follow-up comes before the CAR-T
    infusion: the raw records' counterpart of the OMOP cohort's follow-up step. Such a
    patient was left out as one without a confirmed progression (fuzzing, 2026-12-07)."""
    cols = [Col.DEATH_DATE, Col.LAST_FOLLOWUP_DATE]
    if not set(cols) <= set(pats.columns):
        return s
    fu = pats.select(_fpid=pats[Col.PATIENT_ID],
                     _fu=ibis.coalesce(pats[Col.DEATH_DATE], pats[Col.LAST_FOLLOWUP_DATE]))
    j = s.left_join(fu, s[Col.PATIENT_ID] == fu._fpid)
    before = (j._fu < j[Col.CAR_T_DATE]).fill_null(False) & j.excluded.isnull()
    out = ibis.ifelse(before, FOLLOW_UP_BEFORE, j.excluded)
    return j.mutate(index_date=ibis.ifelse(before, ibis.null("date"), j.index_date),
                    excluded=out).drop("_fpid", "_fu")


def continued_maintenance(a: ibis.Table) -> ibis.Value:
    """Whether each administration of ``a`` (joined to the index table) is a dose of the
    index CAR T's maintenance (:func:`_car_t_window`): its drug, from its start to the
    first other therapy (``index_window_end``; null: to the end). Doses given after the
    index progression until the switch are no salvage line, as the rest of a course begun
    before the index is not (the review of session 33: lenalidomide given until the
    progression was confirmed became a line of its own before the bispecific)."""
    end = a.index_window_end
    return ((a.ingredient == a.car_t_maintenance) & (a.date >= a.maintenance_start)
            & (end.isnull() | (a.date < end)))  # fmt: skip


def salvage_events(con, c: Classified, index: ibis.Table, rules: Rules) -> ibis.Table:
    """Anchors and bundle events on or after each patient's index date, with a unique ``eid``.

    ``span_end`` is the last day of a continued exposure (``end_date`` after ``date``,
    clipped at death / last follow-up; null otherwise or when ``[lines]
    exposure_end_dates`` is off); see :mod:`aftercar.derive.raw.lines`. An exposure that
    began before the index date is not a salvage event, however long it runs.
    """
    ix = index.filter(index.index_date.notnull()).select(
        Col.PATIENT_ID, "pkey", "index_date", "car_t_maintenance", "maintenance_start",
        "index_window_end")  # fmt: skip
    a = c.anchors.join(ix, Col.PATIENT_ID).filter(lambda t: t.date >= t.index_date)
    a = a.filter(~continued_maintenance(a).fill_null(False))
    a = with_span_end(a, c.pats, rules)
    a = a.select(Col.PATIENT_ID, "pkey", "date", "row", "ingredient", "drug_class",
                 kind=ibis.literal("drug"), bundle_id=ibis.null("string"),
                 span_end=a.span_end)  # fmt: skip
    ix = ix.select(Col.PATIENT_ID, "pkey", "index_date")
    b = c.bundle_events.join(ix, Col.PATIENT_ID).filter(lambda t: t.date >= t.index_date)
    b = b.select(Col.PATIENT_ID, "pkey", "date", row=ibis.literal(-1).cast("int64"),
                 ingredient=ibis.null("string"), drug_class=ibis.null("string"), kind=b.kind,
                 bundle_id=b.bundle_id, span_end=ibis.null("date"))  # fmt: skip
    # eid: unique without sorting the events: row x 1024 + the ingredient's number for a
    # drug (an administration row names each ingredient once), minus a row number for a
    # bundle (a few per patient)
    ing = a.select("ingredient").distinct()
    ing = ing.mutate(_ing=ibis.row_number().over(ibis.window(order_by=ing.ingredient)))
    a = a.join(ing, "ingredient")
    a = a.mutate(eid=a.row * EID_INGREDIENTS + a._ing).drop("_ing")
    wb = ibis.window(order_by=[b.patient_id, b.date, b.bundle_id])
    b = b.mutate(eid=-1 - ibis.row_number().over(wb))
    return con.create_table("_events", a.union(b.select(*a.columns)), overwrite=True)


def with_span_end(a: ibis.Table, pats: ibis.Table, rules: Rules) -> ibis.Table:
    """``a`` (administrations with ``end_date``) with ``span_end``: the last day of each
    continued exposure, clipped at death / last follow-up; null for a dose on its date only
    (no end date, one not after the date, or ``[lines] exposure_end_dates`` off)."""
    if not rules.get("lines", "exposure_end_dates"):
        return a.mutate(span_end=ibis.null("date"))
    fu = pats.select(Col.PATIENT_ID, _fu=ibis.coalesce(pats.death_date, pats.last_followup_date))
    j = a.join(fu, Col.PATIENT_ID)
    end = ibis.ifelse(j._fu < j.end_date, j._fu, j.end_date)  # LEAST would skip a null end
    return j.mutate(span_end=ibis.ifelse(end > j.date, end, ibis.null("date"))).drop("_fu")
