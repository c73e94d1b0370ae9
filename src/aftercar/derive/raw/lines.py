"""Lines of therapy from classified events: one set-based step per line number.

Events are anti-myeloma drug administrations (``kind = "drug"``, one per
administration x ingredient) and bundles (``car_t``, ``transplant``,
``radiotherapy``; see :mod:`aftercar.derive.raw.bundles`) on or after the index
progression. Line ``k`` of every patient is found at once (a loop over the line
number, never over patients or rows):

1. the line starts at the patient's first remaining event; a bundle is a line of
   its own (with any drug given on its first day);
2. the regimen = every drug first given within ``regimen_window_days`` of the start
   (OHDSI MM episodes; REFERENCE 5.5), plus an IMiD or PI added within
   ``imid_pi_addition_days`` when the regimen had no drug of that class (OHDSI (d));
3. the line ends before the first of: a drug not in the regimen given after the
   window (unplanned addition: Rajkumar 2015; drugs still given continue in the new
   line), an administration more than ``discontinuation_gap_days`` after the
   previous one (OHDSI; REFERENCE 5.5), the next bundle, or the first administration
   after a confirmed IMWG progression of this line (retreatment after progression,
   REFERENCE 5.5). Dropping drugs never ends a line (Rajkumar 2015);
4. ``end_date`` = the line's last anti-myeloma administration.

Windows are ordered by ``(date, kind rank, eid)``; ``eid`` is unique.
"""

from __future__ import annotations

import ibis

from aftercar.derive.raw.imwg import assess
from aftercar.derive.raw.rules import Rules
from aftercar.schema import Col

#: Ends of a drug line (the ``end_rule`` of the audit).
END_RULES = {
    "new_drug": "an anti-myeloma drug not in the regimen was added after the regimen window",
    "gap": "no anti-myeloma drug for more than the discontinuation gap",
    "bundle": "a CAR-T, transplant or radiotherapy line started",
    "progression": "confirmed IMWG progression on this line, then more therapy",
    "last": "last anti-myeloma administration in the records",
}
_MAX_LINES = 200


def _days(n: int) -> ibis.Value:
    return ibis.interval(days=int(n))


def _first(r: ibis.Table) -> ibis.Table:
    rank = ibis.ifelse(r.kind == "drug", 1, 0)
    w = ibis.window(group_by=r.patient_id, order_by=[r.date, rank, r.eid])
    f = r.mutate(_rn=ibis.row_number().over(w)).filter(lambda t: t._rn == 0)
    return f.select(Col.PATIENT_ID, "pkey", start_date=f.date, kind=f.kind, bundle_id=f.bundle_id,
                    first_eid=f.eid)  # fmt: skip


def _regimen(j: ibis.Table, rules: Rules) -> ibis.Table:
    """(patient_id, ingredient) of each drug line's regimen, with the IMiD/PI exception."""
    win = rules.get("lines", "regimen_window_days")
    add = rules.get("lines", "imid_pi_addition_days")
    classes = rules.get("lines", "addition_exception_classes")
    drugs = j.filter(j.kind == "drug")
    r0 = drugs.filter(drugs.date <= drugs.start_date + _days(win))
    r0k = r0.select(Col.PATIENT_ID, "ingredient").distinct()
    cls0 = r0.select(Col.PATIENT_ID, "drug_class").distinct()
    late = drugs.filter((drugs.date > drugs.start_date + _days(win))
                        & (drugs.date <= drugs.start_date + _days(add))
                        & drugs.drug_class.isin(classes))  # fmt: skip
    late = late.anti_join(cls0, [Col.PATIENT_ID, "drug_class"]).anti_join(
        r0k, [Col.PATIENT_ID, "ingredient"]
    )
    w = ibis.window(group_by=[late.patient_id, late.drug_class], order_by=[late.date, late.eid])
    exc = late.mutate(_rn=ibis.row_number().over(w)).filter(lambda t: t._rn == 0)
    reg = r0k.union(exc.select(Col.PATIENT_ID, "ingredient")).distinct()
    # drugs first given late in the window (after late_addition_days) may also be the
    # start of a new line when the progression turns out to precede them
    late_days = rules.get("lines", "late_addition_days")
    firsts = r0.group_by([Col.PATIENT_ID, "ingredient"]).aggregate(
        first=r0.date.min(), start_date=r0.start_date.min()
    )
    in_win = firsts.filter(firsts.first > firsts.start_date + _days(late_days))
    cand = exc.select(Col.PATIENT_ID, d=exc.date).union(
        in_win.select(Col.PATIENT_ID, d=in_win.first)
    )
    return reg, cand.group_by(Col.PATIENT_ID).aggregate(b_exc=cand.d.min())


def _breaks(j: ibis.Table, rules: Rules) -> ibis.Table:
    """Per drug-line patient: the dates of each kind of break after the start (null = none)."""
    win = rules.get("lines", "regimen_window_days")
    gap = rules.get("lines", "discontinuation_gap_days")
    reg, b_exc = _regimen(j, rules)
    drugs = j.filter((j.kind == "drug") & (j.date > j.start_date + _days(win)))
    new = drugs.anti_join(reg, [Col.PATIENT_ID, "ingredient"])
    b_new = new.group_by(Col.PATIENT_ID).aggregate(b_new=new.date.min())
    gaps = j.filter((j.kind == "drug") & (j.date > j.start_date) & (j.gap > gap))
    b_gap = gaps.group_by(Col.PATIENT_ID).aggregate(b_gap=gaps.date.min())
    bun = j.filter((j.kind != "drug") & (j.date > j.start_date))
    b_bun = bun.group_by(Col.PATIENT_ID).aggregate(b_bundle=bun.date.min())
    s = j.select(Col.PATIENT_ID, "pkey", Col.START_DATE).distinct()
    for t in (b_new, b_gap, b_bun, b_exc):
        s = s.left_join(t, Col.PATIENT_ID).drop("patient_id_right")
    b1 = ibis.least(s.b_new, s.b_gap, s.b_bundle)
    return s.mutate(b1=b1)


def _pd_dates(s: ibis.Table, window_end: ibis.Value, vis, rules: Rules) -> ibis.Table:
    """``patient_id, t_pd``: the line's confirmed PD with the window ending at ``window_end``."""
    cand = s.select(Col.PATIENT_ID, lkey=s.pkey, start_date=s.start_date, window_end=window_end)
    summ, _ = assess(cand, vis, rules)
    return summ.select(patient_id=summ.patient_id, t_pd=summ.progression_date,
                       we=summ.window_end).filter(lambda t: t.t_pd.notnull())  # fmt: skip


def _progression_break(j, s: ibis.Table, vis: ibis.Table, rules: Rules) -> ibis.Table:
    """Add ``t_pd`` (confirmed PD inside the line's window) and ``b_pd`` (where it breaks).

    Two windows are assessed: to the next rule break (``b1``): a PD inside it breaks the
    line at the first event after the PD; and to the first late addition (``b_exc``: an
    IMiD/PI under the exception, or a drug first given more than ``late_addition_days``
    after the start): a PD first seen after that drug started (look-ahead, dated at its
    start) makes the addition a new line at its first date.
    """
    if not rules.get("lines", "new_line_after_progression"):
        return s.mutate(t_pd=ibis.null("date"), b_pd=ibis.null("date"))
    inside = _pd_dates(s, s.b1, vis, rules)
    inside = inside.filter(inside.we.isnull() | (inside.t_pd < inside.we)).drop("we")
    after = j.join(inside, Col.PATIENT_ID).filter(lambda x: x.date > x.t_pd)
    b_in = after.group_by(Col.PATIENT_ID).aggregate(b_in=after.date.min())
    early = s.b_exc.notnull() & (s.b1.isnull() | (s.b_exc < s.b1))
    la = _pd_dates(s, ibis.ifelse(early, s.b_exc, ibis.null("date")), vis, rules)
    la = la.filter(la.t_pd == la.we).select(Col.PATIENT_ID, t_la=la.t_pd)
    out = s.left_join(inside, Col.PATIENT_ID).drop("patient_id_right")
    out = out.left_join(b_in, Col.PATIENT_ID).drop("patient_id_right")
    out = out.left_join(la, Col.PATIENT_ID).drop("patient_id_right")
    return out.mutate(t_pd=ibis.least(out.t_pd, out.t_la), b_pd=ibis.least(out.b_in, out.t_la))


def _end_rule(s: ibis.Table) -> ibis.Value:
    return ibis.cases(
        (s.brk.isnull(), "last"), (s.brk == s.b_pd, "progression"), (s.brk == s.b_bundle, "bundle"),
        (s.brk == s.b_new, "new_drug"), (s.brk == s.b_gap, "gap"), else_="last",
    )  # fmt: skip


class _Steps:
    """Materialise named steps; each step's SQL is compiled once and reused for every line.

    The expressions of one line number read fixed table names (``_remaining``,
    ``_first``...), so compiling them again for the next line would give the same SQL;
    Ibis compilation, not execution, dominated small cohorts before this cache.
    """

    def __init__(self, con) -> None:
        self.con = con
        self.sql: dict[str, str] = {}

    def t(self, name: str) -> ibis.Table:
        return self.con.table(name)

    def run(self, name: str, build) -> ibis.Table:
        if self.con.name != "duckdb":  # other engines: plain Ibis, compiled every time
            return self.con.create_table(name, build(), overwrite=True)
        if name not in self.sql:
            self.sql[name] = str(ibis.to_sql(build()))
        self.con.raw_sql(f'CREATE OR REPLACE TABLE "{name}" AS {self.sql[name]}')
        return self.con.table(name)

    def replace(self, target: str, source: str) -> None:
        """Make table ``source`` the new ``target``."""
        if self.con.name != "duckdb":
            self.con.create_table(target, self.t(source).to_pyarrow(), overwrite=True)
            return
        self.con.drop_table(target)
        self.con.raw_sql(f'ALTER TABLE "{source}" RENAME TO "{target}"')


def _members(j: ibis.Table, s: ibis.Table) -> ibis.Table:
    m = j.join(s.select(Col.PATIENT_ID, "brk"), Col.PATIENT_ID)
    return m.filter((m.kind == "drug") & (m.brk.isnull() | (m.date < m.brk)))


def _with_break(s: ibis.Table) -> ibis.Table:
    s = s.mutate(brk=ibis.least(s.b1, s.b_pd))
    return s.mutate(end_rule=_end_rule(s))


def _drug_step(st: _Steps, vis, rules: Rules) -> None:
    """Line of the patients whose first remaining event is a drug (``_pd_breaks``, ``_m``)."""
    st.run("_j", lambda: st.t("_remaining").join(
        st.t("_first").filter(lambda f: f.kind == "drug").select(Col.PATIENT_ID, Col.START_DATE),
        Col.PATIENT_ID))  # fmt: skip
    st.run("_breaks", lambda: _breaks(st.t("_j"), rules))
    st.run("_pd_breaks", lambda: _with_break(_progression_break(st.t("_j"), st.t("_breaks"),
                                                                vis, rules)))  # fmt: skip
    st.run("_m", lambda: _members(st.t("_j"), st.t("_pd_breaks")))


def _line_tables(st: _Steps, k: int) -> tuple[ibis.Table, ibis.Table]:
    first, s, m = st.t("_first"), st.t("_pd_breaks"), st.t("_m")
    kk = ibis.literal(k, "int64")
    b = first.filter(first.kind != "drug")
    b_lines = b.select(Col.PATIENT_ID, Col.START_DATE, end_date=b.start_date,
                       end_rule=ibis.literal("bundle"), line=kk, kind=b.kind,
                       bundle_id=b.bundle_id, t_pd=ibis.null("date"))  # fmt: skip
    ends = m.group_by(Col.PATIENT_ID).aggregate(end_date=m.date.max())
    d_lines = s.join(ends, Col.PATIENT_ID).select(
        Col.PATIENT_ID, Col.START_DATE, Col.END_DATE, "end_rule", line=kk,
        kind=ibis.literal("drug"), bundle_id=ibis.null("string"), t_pd=s.t_pd,
    )  # fmt: skip
    r = st.t("_remaining")
    same_day = r.join(b.select(Col.PATIENT_ID, b_start=b.start_date), Col.PATIENT_ID)
    same_day = same_day.filter((same_day.kind == "drug") & (same_day.date == same_day.b_start))
    members = (
        b.select(Col.PATIENT_ID, eid=b.first_eid, line=kk)
        .union(m.select(Col.PATIENT_ID, "eid", line=kk))
        .union(same_day.select(Col.PATIENT_ID, "eid", line=kk))
    )
    return b_lines.union(d_lines), members


def segment(
    con, events: ibis.Table, vis: ibis.Table, rules: Rules
) -> tuple[ibis.Table, ibis.Table]:
    """Cut each patient's events into lines of therapy.

    Parameters
    ----------
    con
        The Ibis connection (remaining events are materialised after each line).
    events
        ``patient_id, pkey, date, eid, kind, bundle_id, ingredient, drug_class, gap``.
    vis
        Visits (for the progression rule).

    Returns
    -------
    (lines, members)
        ``lines``: ``patient_id, line, kind, bundle_id, start_date, end_date, end_rule,
        t_pd``; ``members``: ``patient_id, eid, line`` (every event in exactly one line).
    """
    st = _Steps(con)
    con.create_table("_remaining", events, overwrite=True)
    all_lines, all_members = [], []
    for k in range(1, _MAX_LINES + 1):
        if st.t("_remaining").count().execute() == 0:
            break
        st.run("_first", lambda: _first(st.t("_remaining")))
        _drug_step(st, vis, rules)
        lines_k, members_k = _line_tables(st, k)
        all_lines.append(con.create_table(f"_lines_{k}", lines_k, overwrite=True))
        all_members.append(con.create_table(f"_members_{k}", members_k, overwrite=True))
        con.create_table("_members_cur", all_members[-1], overwrite=True)
        st.run("_remaining_next", lambda: st.t("_remaining").anti_join(st.t("_members_cur"), "eid"))
        st.replace("_remaining", "_remaining_next")
    if not all_lines:
        empty = events.select(Col.PATIENT_ID, "eid", line=ibis.literal(0, "int64")).limit(0)
        return _empty_lines(events), empty
    return _concat(all_lines), _concat(all_members)


def _empty_lines(events: ibis.Table) -> ibis.Table:
    e = events.limit(0)
    return e.select(Col.PATIENT_ID, start_date=e.date, end_date=e.date, end_rule=e.kind,
                    line=ibis.literal(0, "int64"), kind=e.kind, bundle_id=e.bundle_id,
                    t_pd=ibis.null("date"))  # fmt: skip


def _concat(tables: list[ibis.Table]) -> ibis.Table:
    out = tables[0]
    for t in tables[1:]:
        out = out.union(t)
    return out
