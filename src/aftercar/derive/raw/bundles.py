"""Procedure bundles that form one line each: CAR T, autologous transplant, radiotherapy.

* **CAR T** (OHDSI MM episodes, line rule (b); REFERENCE 5.5): apheresis (the last
  one up to ``apheresis_max_days_before`` the infusion and after any earlier
  infusion), lymphodepletion (fludarabine / cyclophosphamide on days -7..0 of the
  infusion; issue 12 item 2), bridging therapy (an anti-myeloma drug first given
  between apheresis and infusion, i.e. not also given in the
  ``continuing_before_apheresis_days`` before apheresis) and the infusion are one
  line whose start is the infusion date. The infusion on the patients table's
  ``car_t_date`` is the index CAR T, never a salvage line.
* **Transplant** (OHDSI MM episodes (a); Rajkumar 2015): high-dose melphalan on days
  -7..0 of an autologous transplant is its conditioning; a transplant within
  ``tandem_days`` of the previous one is a tandem of the same line.
* **Radiotherapy**: fractions with gaps of at most ``max_gap_days`` are one course;
  a course with no anti-myeloma drug given during it is a line of its own
  ("given alone"); otherwise its fractions belong to the systemic line.

All steps are joins and window functions; every cumulative window is ordered by a
unique key (``row``).
"""

from __future__ import annotations

import ibis

from aftercar.derive.raw.rules import Rules
from aftercar.schema import Col


def _days(n: int) -> ibis.Value:
    return ibis.interval(days=int(n))


def infusions(adm: ibis.Table, proc: ibis.Table, pats: ibis.Table, rules: Rules) -> ibis.Table:
    """One row per CAR-T infusion: ``patient_id, infusion_date, is_index, apheresis_date``."""
    tol = rules.get("index", "car_t_tolerance_days")
    a = adm.filter(adm.role == "car_t").select(Col.PATIENT_ID, "date")
    p = proc.filter(proc.kind == "car_t_infusion").select(Col.PATIENT_ID, "date")
    i = pats.select(Col.PATIENT_ID, date=pats.car_t_date)
    u = a.union(p).union(i).join(pats.select(Col.PATIENT_ID, Col.CAR_T_DATE), Col.PATIENT_ID)
    near = u.date.delta(u.car_t_date, unit="day").abs() <= tol
    u = u.select(Col.PATIENT_ID, infusion_date=ibis.ifelse(near, u.car_t_date, u.date),
                 is_index=near).distinct()  # fmt: skip
    w = ibis.window(group_by=u.patient_id, order_by=u.infusion_date)
    u = u.mutate(prev_infusion=u.infusion_date.lag().over(w))
    aph = proc.filter(proc.kind == "apheresis")
    lo = rules.get("car_t", "apheresis_max_days_before")
    j = u.join(aph, [u.patient_id == aph.patient_id, aph.date <= u.infusion_date,
                     aph.date >= u.infusion_date - _days(lo)])  # fmt: skip
    j = j.filter(j.prev_infusion.isnull() | (j.date > j.prev_infusion))
    last = j.group_by([Col.PATIENT_ID, "infusion_date"]).aggregate(apheresis_date=j.date.max())
    return u.left_join(last, [Col.PATIENT_ID, "infusion_date"]).select(
        u.patient_id, u.infusion_date, u.is_index, last.apheresis_date
    )


def _nearest(rows: ibis.Table, inf: ibis.Table, lo: int, hi: int) -> ibis.Table:
    """Rows dated within [infusion + lo, infusion + hi], each with its nearest later infusion."""
    j = rows.join(inf, [rows.patient_id == inf.patient_id,
                        rows.date >= inf.infusion_date + _days(lo),
                        rows.date <= inf.infusion_date + _days(hi)])  # fmt: skip
    return j.group_by(["row"]).aggregate(bundle_date=j.infusion_date.min(),
                                          is_index=j.is_index.max())  # fmt: skip


def car_t_members(adm, proc, inf: ibis.Table, rules: Rules) -> tuple[ibis.Table, ibis.Table]:
    """Administration and procedure rows that belong to a CAR-T bundle.

    Returns ``(adm_members, proc_members)``: ``row, ingredient, bundle_date, is_index, role``
    (administrations; role lymphodepletion / car_t / bridging) and ``row, bundle_date,
    is_index, role`` (procedures).
    """
    lo, hi = rules.get("car_t", "lymphodepletion_days")
    ld_names = rules.get("car_t", "lymphodepletion_ingredients")
    ld = adm.filter(adm.ingredient.isin(ld_names) & adm.role.isin(["anchor", "supportive"]))
    ld_m = _nearest(ld, inf, lo, hi).mutate(role=ibis.literal("lymphodepletion"))
    tol = rules.get("index", "car_t_tolerance_days")
    prod = adm.filter(adm.role == "car_t")
    prod_m = _nearest(prod, inf, -tol, tol).mutate(role=ibis.literal("car_t"))
    bridge_m = _bridging(adm, inf, rules).anti_join(ld_m, "row")
    keys = adm.select("row", "ingredient")
    a_members = ld_m.union(prod_m).union(bridge_m).join(keys.distinct(), "row")
    pr = proc.filter(proc.kind.isin(["lymphodepletion", "car_t_infusion"]))
    p_m = _nearest(pr, inf, min(lo, -tol), tol).join(pr.select("row", role=pr.kind), "row")
    aph = proc.filter(proc.kind == "apheresis")
    aph_j = aph.join(inf, [aph.patient_id == inf.patient_id, aph.date == inf.apheresis_date])
    aph_m = aph_j.group_by("row").aggregate(bundle_date=aph_j.infusion_date.min(),
                                            is_index=aph_j.is_index.max())  # fmt: skip
    aph_m = aph_m.mutate(role=ibis.literal("apheresis"))
    return a_members, p_m.union(aph_m)


def _bridging(adm: ibis.Table, inf: ibis.Table, rules: Rules) -> ibis.Table:
    cont = rules.get("car_t", "continuing_before_apheresis_days")
    anchors = adm.filter(adm.role == "anchor")
    b = inf.filter(inf.apheresis_date.notnull())
    cand = anchors.join(b, [anchors.patient_id == b.patient_id, anchors.date >= b.apheresis_date,
                            anchors.date < b.infusion_date])  # fmt: skip
    before = anchors.join(b, [anchors.patient_id == b.patient_id,
                              anchors.date >= b.apheresis_date - _days(cont),
                              anchors.date < b.apheresis_date])  # fmt: skip
    cont_keys = before.select(before.patient_id, before.ingredient, before.infusion_date).distinct()
    cand = cand.select(
        cand.row, cand.patient_id, cand.ingredient, cand.infusion_date, cand.is_index
    )
    new = cand.anti_join(cont_keys, [Col.PATIENT_ID, "ingredient", "infusion_date"])
    return new.group_by("row").aggregate(bundle_date=new.infusion_date.min(),
                                         is_index=new.is_index.max()).mutate(
        role=ibis.literal("bridging"))  # fmt: skip


def transplants(adm: ibis.Table, proc: ibis.Table, rules: Rules) -> tuple[ibis.Table, ibis.Table]:
    """Transplant bundles and their conditioning administrations.

    Returns ``(procedure rows with bundle_date = first transplant of the tandem chain and
    kind (transplant / allo_transplant), conditioning rows: row, ingredient, bundle_date,
    role)``. An allogeneic transplant's conditioning agents are
    ``allo_conditioning_ingredients``, whatever their role elsewhere.
    """
    tandem = rules.get("transplant", "tandem_days")
    t = proc.filter(proc.kind.isin(["transplant", "allo_transplant"]))
    w = ibis.window(group_by=t.patient_id, order_by=[t.date, t.row])
    t = t.mutate(prev=t.date.lag().over(w))
    new = (t.prev.isnull() | (t.date.delta(t.prev, unit="day") > tandem)).cast("int64")
    t = t.mutate(chain=new.sum().over(ibis.window(group_by=t.patient_id, order_by=[t.date, t.row],
                                                  rows=(None, 0))))  # fmt: skip
    t = t.mutate(bundle_date=t.date.min().over(ibis.window(group_by=[t.patient_id, t.chain])))
    lo, hi = rules.get("transplant", "conditioning_days")
    auto = rules.get("transplant", "conditioning_ingredients")
    allo = rules.get("transplant", "allo_conditioning_ingredients")
    # an allogeneic transplant's agents whatever their role elsewhere (fludarabine)
    c = adm.filter((adm.ingredient.isin(auto) & (adm.role == "anchor")) | (
        adm.ingredient.isin(allo) & adm.role.isin(["anchor", "supportive"])))
    j = c.join(t, [c.patient_id == t.patient_id, c.date >= t.date + _days(lo),
                   c.date <= t.date + _days(hi)])  # fmt: skip
    is_allo = j.kind == "allo_transplant"
    j = j.filter(ibis.ifelse(is_allo, j.ingredient.isin(allo),
                             j.ingredient.isin(auto) & (j.role == "anchor")))  # fmt: skip
    cond = j.group_by(["row", "ingredient"]).aggregate(bundle_date=j.bundle_date.min())
    cond = cond.mutate(role=ibis.literal("conditioning"))
    return t.select(Col.PATIENT_ID, "row", "date", "bundle_date", "kind"), cond.union(
        _mobilisation(adm, t, rules))


def _mobilisation(adm: ibis.Table, t: ibis.Table, rules: Rules) -> ibis.Table:
    """``row, ingredient, bundle_date, role``: the mobilisation administrations (role
    ``mobilisation``) given up to ``mobilisation_days`` before a transplant and before its
    conditioning window, each with the first transplant after it."""
    days = rules.get("transplant", "mobilisation_days")
    lo = rules.get("transplant", "conditioning_days")[0]
    m = adm.filter(adm.role == "mobilisation")
    j = m.join(t, [m.patient_id == t.patient_id, m.date >= t.date - _days(days),
                   m.date < t.date + _days(lo)])  # fmt: skip
    g = j.group_by(["row", "ingredient"]).aggregate(bundle_date=j.bundle_date.min())
    return g.mutate(role=ibis.literal("mobilisation"))


def rt_courses(proc: ibis.Table, rules: Rules) -> ibis.Table:
    """Radiotherapy fractions and their course (``course_start``, ``course_end``)."""
    gap = rules.get("radiotherapy", "max_gap_days")
    r = proc.filter(proc.kind == "radiotherapy")
    w = ibis.window(group_by=r.patient_id, order_by=[r.date, r.row])
    r = r.mutate(prev=r.date.lag().over(w))
    new = (r.prev.isnull() | (r.date.delta(r.prev, unit="day") > gap)).cast("int64")
    r = r.mutate(course=new.sum().over(ibis.window(group_by=r.patient_id, order_by=[r.date, r.row],
                                                   rows=(None, 0))))  # fmt: skip
    cw = ibis.window(group_by=[r.patient_id, r.course])
    return r.select(Col.PATIENT_ID, "row", "date", course_start=r.date.min().over(cw),
                    course_end=r.date.max().over(cw))  # fmt: skip
