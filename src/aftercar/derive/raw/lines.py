"""Lines of therapy from classified events (issue 12 item 3; rules in ``lot_rules.toml``).

Events are anti-myeloma drug administrations (``kind = "drug"``, one per
administration x ingredient) and bundles (``car_t``, ``transplant``,
``radiotherapy``; see :mod:`aftercar.derive.raw.bundles`) on or after the index
progression. Lines partition each patient's events by date: a line runs from its
start to the next line's start. The rules, given a line's start ``S``:

1. line 1 starts at the patient's first event; a bundle is a line of its own
   (with any drug given on its first day), and the line after it starts at the
   next event;
2. the regimen of a drug line = every drug given within ``regimen_window_days`` of
   ``S`` (OHDSI MM episodes; REFERENCE 5.5), plus the first IMiD or PI first given
   within ``imid_pi_addition_days`` of ``S`` when the regimen has no drug of that
   class (OHDSI rule (d));
3. the line ends before the first of: a drug not in the regimen given after the
   window (unplanned addition, Rajkumar 2015: the new line starts on its first
   date, and drugs still given continue in it), an administration more than
   ``discontinuation_gap_days`` after the previous one (OHDSI; REFERENCE 5.5), the
   next bundle, or the restart of therapy after a confirmed IMWG progression of this
   line (retreatment after progression: an administration after the progression
   that follows more than ``retreatment_gap_days`` without any, on or after the date the
   progression is confirmed; REFERENCE 5.5). The restart is looked for before the other
   breaks, so therapy after a confirmed progression is a new line even inside the
   regimen window or as an IMiD/PI addition. Dropping drugs never ends a line (Rajkumar 2015);
4. ``end_date`` = the line's last day of anti-myeloma therapy: its last administration,
   or the last day of a continued exposure in it (at most the day before the next line);
5. maintenance (``[maintenance]``): a monotherapy line starting within
   ``after_transplant_days`` of a transplant line belongs to it (OHDSI rule (c);
   REFERENCE 5.5: induction -> ASCT -> maintenance is one line), and a transplant line
   begun within ``[transplant] induction_gap_days`` of the drug line before it belongs to
   that line (its induction; OHDSI rule (a)), unless the line before had a confirmed
   progression first (rule 3: therapy after progression). A maintenance line's own
   progression (rule 3) is looked for from the transplant line's start, as the merged
   line is assessed (:func:`_maintenance_origin`).

A continued exposure (an administration with an end date, ``[lines] exposure_end_dates``;
an oral course dispensed as one row) counts as the drug given every day to its end: it is
seen on its first day, every ``min(regimen_window_days, discontinuation_gap_days)`` days
after and on its last day (the *points* of :func:`_exposure_days`). A gap is counted from
the last day the drug was known to be taken (the latest ``until`` before), so no
discontinuation gap opens inside a course and none is counted twice; the drug continues
into a drug line that starts while it runs (the exposure is a member of every drug line
it runs in, and listed in each in the audit). Points never start a line: neither the
first, nor the one after a CAR-T / transplant / radiotherapy line, nor the restart after a
confirmed progression (the rest of a course dispensed before it is not therapy restarted:
the restart is the next administration or course start; until 2026-12-06 a course's later
day could restart, and a bispecific begun weeks after the course joined its last pill day
in one line, found by hand-made patients); a course is never a pause.

The work is set-based on compact tables computed once: each ingredient's *runs*
(administrations with gaps <= the regimen window, so that "given within the window
of ``S``" and "first given after ``S``" are exact range tests on runs), the
patient's distinct drug dates with the gap before each, the few dates after a
discontinuation gap, and the bundles. One step finds the next line of every patient at
once (a loop over the line number, never over patients or rows), reading the drug dates
only for the lines with a confirmed progression (the restart); each step's SQL is
compiled once. The end of each drug line is found after the last step, in one pass over
the drug dates. Windows are ordered by unique keys.
"""

from __future__ import annotations

import ibis

from aftercar.derive.dates import plus_days
from aftercar.derive.raw.events import EID_INGREDIENTS as _ING
from aftercar.derive.raw.imwg import progressions
from aftercar.derive.raw.rules import Rules
from aftercar.schema import Col

#: Ends of a drug line (the ``end_rule`` of the audit).
END_RULES = {
    "new_drug": "an anti-myeloma drug not in the regimen was added after the regimen window",
    "gap": "no anti-myeloma drug for more than the discontinuation gap",
    "bundle": "a CAR-T, transplant or radiotherapy line started",
    "progression": "confirmed IMWG progression on this line, then therapy restarted",
    "last": "last anti-myeloma administration in the records",
}
_MAX_LINES = 500


def _days(n: int) -> ibis.Value:
    return ibis.interval(days=int(n))


class _Steps:
    """Materialise named steps; each step's expression is built once and its SQL reused
    for every line.

    The expressions of one line number read fixed table names (``_cur``, ``_drug_lines``
    ...), so the SQL is the same for every line; on DuckDB it is built and printed once a
    derivation (``con.compile``, from the process's memo) and run as ``CREATE OR REPLACE``.
    Other engines get Ibis ``create_table`` of an expression built each time (their SQL
    from the same memo).
    """

    def __init__(self, con) -> None:
        self.con = con
        self.sql: dict[str, str] = {}

    def t(self, name: str) -> ibis.Table:
        return self.con.table(name)

    def run(self, name: str, build) -> ibis.Table:
        if self.con.name != "duckdb":
            return self.con.create_table(name, build(), overwrite=True)
        if name not in self.sql:
            self.sql[name] = self.con.compile(build())
        self.con.raw_sql(f'CREATE OR REPLACE TABLE "{name}" AS {self.sql[name]}')
        return self.con.table(name)

    def append(self, target: str, source: str, first: bool) -> None:
        """Append table ``source`` to ``target`` (created on the first call)."""
        if first:
            self.con.create_table(target, self.t(source), overwrite=True)
        elif self.con.name == "duckdb":
            self.con.raw_sql(f'INSERT INTO "{target}" SELECT * FROM "{source}"')
        else:
            self.con.insert(target, self.t(source))


def _compact(con, events: ibis.Table, rules: Rules) -> None:
    """Materialise ``_drug_dates``, ``_gap_dates`` (those after more than the
    discontinuation gap), ``_pause_dates`` (after more than ``retreatment_gap_days``, when
    positive), ``_runs``, ``_bundles`` and the first line ``_cur``.

    The compact tables are keyed by the integer ``pkey`` (cheaper to sort and join than
    the text patient id). Runs are islands: a run starts at a date more than the window
    after the ingredient's previous date and ends at one more than the window before
    its next, so one window pass (lag and lead) finds them, without a running sum.
    """
    win = rules.get("lines", "regimen_window_days")
    drugs = events.filter(events.kind == "drug")
    if drugs.span_end.notnull().any().execute():
        e = _exposure_days(drugs, rules)
        dd = e.group_by(["pkey", "date"]).aggregate(until=e.until.max(), real=e._real.any())
        # gap: days since the drug was last known to be taken (the latest ``until`` before);
        # for doses, the days since the previous one. Dates are unique per patient.
        w = ibis.window(group_by=dd.pkey, order_by=dd.date, rows=(None, -1))
        dd = dd.mutate(gap=dd.date.delta(dd.until.max().over(w), unit="day"))
    else:  # doses only: the same table, without the running maximum over earlier dates
        e = drugs
        # one row per date without a grouping: of a date's events, in the window's order,
        # only the first follows an earlier date (or none); its lag is the previous date
        d = e.select("pkey", "date")
        w = ibis.window(group_by=d.pkey, order_by=d.date)
        d = d.mutate(_prev=d.date.lag().over(w))
        d = d.filter(d._prev.isnull() | (d._prev < d.date))
        dd = d.select("pkey", "date", until=d.date, real=ibis.literal(True),
                      gap=d.date.delta(d._prev, unit="day"))  # fmt: skip
    dd = con.create_table("_drug_dates", dd, overwrite=True)
    gap = rules.get("lines", "discontinuation_gap_days")
    con.create_table("_gap_dates", dd.filter(dd.gap > gap).select("pkey", "date"),
                     overwrite=True)  # fmt: skip
    rgap = rules.get("lines", "retreatment_gap_days")
    if rgap > 0:  # 0: every real drug date is a possible restart (``_drug_dates``)
        con.create_table("_pause_dates", dd.filter(dd.gap > rgap).select("pkey", "date"),
                         overwrite=True)  # fmt: skip
    con.create_table("_runs", _islands(e, win), overwrite=True)
    b = events.filter(events.kind != "drug")
    con.create_table("_bundles", b.select("pkey", "date", "kind", "bundle_id").distinct(),
                     overwrite=True)  # fmt: skip
    con.create_table("_cur", _first_events(events), overwrite=True)


def _exposure_days(e: ibis.Table, rules: Rules) -> ibis.Table:
    """``pkey, eid, ingredient, drug_class, date, until, _real``: each drug event on its
    date (``_real``), and each continued exposure (``span_end``) also every ``step`` days
    after it and on its last day, ``step`` = the smaller of the regimen window and the
    discontinuation gap.

    ``until`` is the last day the drug is known to be taken from that date on: the date
    itself for a dose, the next point (at most ``span_end``) inside an exposure. The points
    keep their exposure's ``eid`` and are read only here (runs, drug dates). They cannot
    break a line by "new drug" or "gap" (a run starts, and a gap of more than the
    discontinuation gap ends, on an exposure's first day) and never start the line after a
    bundle (``real`` dates only); see the module docstring for retreatment.
    """
    step = max(1, min(rules.get("lines", "regimen_window_days"),
                      rules.get("lines", "discontinuation_gap_days")))  # fmt: skip
    cols = ("pkey", "eid", "ingredient", "drug_class")
    one = e.select(*cols, date=e.date, until=ibis.coalesce(e.span_end, e.date),
                   _real=ibis.literal(True))  # fmt: skip
    one = one.mutate(until=ibis.least(one.until, plus_days(one.date, step)))
    s = e.filter(e.span_end.notnull())
    s = s.mutate(_span=s.span_end.delta(s.date, unit="day"))
    s = s.select(*cols, "date", "span_end", "_span",
                 _off=ibis.range(step, s._span + step, step).unnest())  # fmt: skip
    day = plus_days(s.date, ibis.least(s._off, s._span))
    pts = s.select(*cols, date=day, until=ibis.least(plus_days(day, step), s.span_end),
                   _real=ibis.literal(False))  # fmt: skip
    return one.union(pts)


def _islands(e: ibis.Table, win: int) -> ibis.Table:
    """``pkey, ingredient, drug_class, run_start, run_end``: each ingredient's runs of
    administrations with gaps <= ``win`` days (``win`` >= 0).

    The windows run on one integer key per patient and ingredient, ``pkey * 1024`` + the
    ingredient's number (the low bits of a drug event's ``eid``, see
    :func:`aftercar.derive.raw.events.salvage_events`), not on the ingredient's text:
    sorting millions of administrations by text is most of the cost otherwise. The names
    and classes are joined back onto the few runs.

    The events are not made distinct first (that grouping cost as much as the window):
    of several events of one key on one date, in whatever order the window puts them, only
    the first can start a run (the others follow it 0 days later) and only the last can end
    one, so each run still has one start and one end. A run's end is the next edge after
    its start, edges ordered by date and then ends after non-ends: the start comes first
    when the two share a date, and a run's edges all come before the next run's, which
    starts more than ``win`` days after it ends.
    """
    key = e.pkey * _ING + e.eid % _ING
    di = e.select(_k=key, date=e.date)
    w = ibis.window(group_by=di._k, order_by=di.date)
    di = di.mutate(_prev=di.date.lag().over(w), _next=di.date.lead().over(w))
    starts = di._prev.isnull() | (di.date.delta(di._prev, unit="day") > win)
    ends = di._next.isnull() | (di._next.delta(di.date, unit="day") > win)
    di = di.mutate(_st=starts, _en=ends)
    edge = di.filter(di._st | di._en)
    w2 = ibis.window(group_by=edge._k, order_by=[edge.date, edge._en])
    edge = edge.mutate(_nd=edge.date.lead().over(w2))
    r = edge.filter(edge._st)
    r = r.select(pkey=(r._k // _ING).cast("int64"), _i=r._k % _ING, run_start=r.date,
                 run_end=ibis.ifelse(r._en, r.date, r._nd))  # fmt: skip
    # one name and class per ingredient number: grouped by the number, not by the texts
    i = e.select(_i=e.eid % _ING, ingredient=e.ingredient, drug_class=e.drug_class)
    names = i.group_by("_i").aggregate(ingredient=i.ingredient.arbitrary(),
                                       drug_class=i.drug_class.arbitrary())  # fmt: skip
    r = r.join(names, "_i")
    return r.select("pkey", "ingredient", "drug_class", "run_start", "run_end")


def _first_events(events: ibis.Table) -> ibis.Table:
    """The first line of each patient (``_cur``): the first event; on its date a bundle
    goes before drugs (the one with the lowest ``eid``: bundles get negative ids)."""
    m = events.group_by([Col.PATIENT_ID, "pkey"]).aggregate(start_date=events.date.min())
    b = events.filter(events.kind != "drug")
    b = b.group_by(["pkey", "date"]).aggregate(kind=b.kind.argmin(b.eid),
                                               bundle_id=b.bundle_id.argmin(b.eid))  # fmt: skip
    j = m.left_join(b, [m.pkey == b.pkey, m.start_date == b.date])
    return j.select(Col.PATIENT_ID, m.pkey, Col.START_DATE, kind=j.kind.fill_null("drug"),
                    bundle_id=j.bundle_id, line=ibis.literal(1).cast("int64"),
                    prev_kind=ibis.null("string"), prev_start=ibis.null("date"))  # fmt: skip


def _regimen(r: ibis.Table, rules: Rules) -> ibis.Table:
    """``pkey, ingredient`` of each drug line's regimen (runs ``r`` joined to ``S``)."""
    win = rules.get("lines", "regimen_window_days")
    add = rules.get("lines", "imid_pi_addition_days")
    classes = rules.get("lines", "addition_exception_classes")
    inreg = r.filter((r.run_start <= r.S + _days(win)) & (r.run_end >= r.S))
    reg = inreg.select("pkey", "ingredient").distinct()
    cls = inreg.select("pkey", "drug_class").distinct()
    late = r.filter((r.run_start > r.S + _days(win)) & (r.run_start <= r.S + _days(add))
                    & r.drug_class.isin(classes))  # fmt: skip
    late = late.anti_join(cls, ["pkey", "drug_class"])
    w = ibis.window(group_by=[late.pkey, late.drug_class],
                    order_by=[late.run_start, late.ingredient])  # fmt: skip
    exc = late.mutate(_rn=ibis.row_number().over(w)).filter(lambda t: t._rn == 0)
    return reg.union(exc.select("pkey", "ingredient")).distinct()


def _rule_breaks(st: _Steps, rules: Rules) -> ibis.Table:
    """Per drug line: the first date of each rule break after ``S`` (null = none)."""
    win = rules.get("lines", "regimen_window_days")
    cur = st.t("_cur")
    d = cur.filter(cur.kind == "drug")
    c = d.select(Col.PATIENT_ID, "pkey", Col.LINE, S=d.start_date, _PK=d.prev_kind,
                 _PS=d.prev_start)  # fmt: skip
    runs = st.t("_runs")
    r = runs.join(c.select("pkey", "S"), "pkey")
    reg = _regimen(r, rules)
    new = r.filter(r.run_start > r.S + _days(win)).anti_join(reg, ["pkey", "ingredient"])
    b_new = new.group_by("pkey").aggregate(b_new=new.run_start.min())
    g = st.t("_gap_dates").join(c.select("pkey", "S"), "pkey")
    g = g.filter(g.date > g.S)
    b_gap = g.group_by("pkey").aggregate(b_gap=g.date.min())
    bu = st.t("_bundles")
    bj = bu.join(c.select("pkey", "S"), "pkey")
    bj = bj.filter(bj.date > bj.S)
    b_bun = bj.group_by("pkey").aggregate(b_bundle=bj.date.min())
    s = c
    for t in (b_new, b_gap, b_bun, _maintenance_origin(c, reg, rules)):
        s = s.left_join(t, "pkey").drop("pkey_right")
    return s.drop("_PK", "_PS").mutate(b1=ibis.least(s.b_new, s.b_gap, s.b_bundle))


def _maintenance_origin(c: ibis.Table, reg: ibis.Table, rules: Rules) -> ibis.Table:
    """``pkey, origin``: the start of the transplant line before each drug line that
    :func:`_maintenance` will make its maintenance (a one-ingredient regimen begun within
    ``[maintenance] after_transplant_days`` of it), from which the line's progression is
    looked for, as the merged line is assessed: its own baseline, low after the
    transplant, is often not measurable, and continued maintenance after a confirmed
    progression stayed in the transplant line (hand-made OMOP patients, 2026-12-07)."""
    days = rules.get("maintenance", "after_transplant_days")
    one = reg.group_by("pkey").aggregate(_n=reg.ingredient.nunique())
    m = c.join(one.filter(one._n == 1), "pkey")
    m = m.filter((m._PK == "transplant") & (m.S.delta(m._PS, unit="day") <= days)
                 & ibis.literal(days > 0))  # fmt: skip
    return m.select("pkey", origin=m._PS)


def _progression(st: _Steps, vis: ibis.Table, rules: Rules) -> ibis.Table:
    """Add ``t_pd`` (confirmed PD of the line before ``b1``) and ``b_pd`` (the restart).

    The restart is the first administration after the date the progression is confirmed
    (the next assessment of the parameter after the PD, possibly after ``b1``), or on that
    date when a drug begins there (a new regimen on its cycle 1 day 1; a dose of the line's
    drugs given the day the confirming lab is drawn continues the line)
    that follows more than ``retreatment_gap_days`` without any anti-myeloma drug (0: any
    administration). It takes precedence over the regimen window and the IMiD/PI
    exception, and over the other breaks: it is looked for up to ``b1`` (which can only
    come after the window), so a new drug first given after a confirmed progression ends
    the line by progression (``end_rule``), as the same drug given again would.
    The lines assessed here are every drug line of this step with ``retreatment_gap_days``
    0 (nearly all have an administration after their start), else those with an
    administration after such a pause up to ``b1`` (``_pause_dates``, few); the drug dates
    are then read for the lines with a confirmed progression only. Every line is assessed
    once more at the end for its response.
    """
    s = st.t("_rb")
    if not rules.get("lines", "new_line_after_progression"):
        return s.mutate(t_pd=ibis.null("date"), b_pd=ibis.null("date"))
    if rules.get("lines", "retreatment_gap_days") > 0:
        dates = st.t("_pause_dates")
        j = dates.join(s.select("pkey", "S", "b1"), "pkey")
        cand = s.semi_join(j.filter(_restart_window(j)), "pkey")
    else:  # any administration (0: no pause asked for); never a later day of a course
        dd = st.t("_drug_dates")
        dates, cand = dd.filter(dd.real).select("pkey", "date"), s
    cand = cand.select(Col.PATIENT_ID, lkey=cand.pkey,
                       start_date=ibis.coalesce(cand.origin, cand.S), window_end=cand.b1)
    pd = _confirmed_progression(*progressions(cand, vis, rules))
    sk = s.select("pkey", "S", "b1")
    pd = pd.join(sk, pd.lkey == sk.pkey)
    pd = pd.filter(pd.t_pd >= pd.S)  # from a maintenance origin: not the transplant's own
    r = dates.join(pd.select("pkey", "S", "b1", "t_pd", "t_conf"), "pkey")
    r = r.filter(_restart_window(r) & (r.date >= r.t_conf))
    # on the confirmation day itself only a drug begun that day restarts: a dose of the
    # line's drugs given the day the confirming lab is drawn continues the line
    runs = st.t("_runs")
    begun = runs.select("pkey", date=runs.run_start).distinct()
    r = r.filter(r.date > r.t_conf).union(
        r.filter(r.date == r.t_conf).semi_join(begun, ["pkey", "date"]))
    b_pd = r.group_by("pkey").aggregate(b_pd=r.date.min(), t_pd=r.t_pd.min())
    return s.left_join(b_pd, "pkey").drop("pkey_right")


def _restart_window(j: ibis.Table) -> ibis.BooleanValue:
    """A date of ``j`` after the line's start ``S`` and up to its first rule break ``b1``."""
    return (j.date > j.S) & (j.b1.isnull() | (j.date <= j.b1))


def _confirmed_progression(pd: ibis.Table, a: ibis.Table) -> ibis.Table:
    """``lkey, t_pd, t_conf``: each line's confirmed PD (dated at the first of the two
    assessments) and the date of the assessment that confirms it (the next one)."""
    j = a.select("lkey", "date").join(pd, "lkey")
    j = j.filter(j.date > j.t_pd)
    conf = j.group_by("lkey").aggregate(t_conf=j.date.min())
    return pd.join(conf, "lkey")


def _drug_lines(st: _Steps) -> ibis.Table:
    """The drug lines of this step, their end date to be found after the last step
    (:func:`_with_ends`)."""
    s = st.t("_pd")
    s = s.mutate(brk=ibis.least(s.b1, s.b_pd))
    # a new drug begun after more than the discontinuation gap comes after a line the gap
    # had already ended: "gap" (a hand-made probe, session 27: "new drug added" after 102
    # days without therapy, where the same drugs resumed read "gap")
    rule = ibis.cases(
        (s.brk.isnull(), "last"), (s.brk == s.b_pd, "progression"), (s.brk == s.b_bundle, "bundle"),
        (s.brk == s.b_gap, "gap"), (s.brk == s.b_new, "new_drug"), else_="last",
    )  # fmt: skip
    return s.select(Col.PATIENT_ID, "pkey", Col.LINE, start_date=s.S,
                    end_date=ibis.null("date"), kind=ibis.literal("drug"),
                    bundle_id=ibis.null("string"), end_rule=rule, t_pd=s.t_pd,
                    brk=s.brk)  # fmt: skip


def _with_ends(con) -> ibis.Table:
    """``_lines_all`` with each drug line's ``end_date``: its last day of therapy (the
    latest ``until`` of its drug dates, at most the day before its break ``brk``), found for
    every line in one pass over the drug dates once all lines are cut. A drug line starts on
    one of its patient's drug dates (a run's start, a date after a gap, a restart, or the
    first drug date after a bundle line), so every drug line has one."""
    lines = con.table("_lines_all")
    d = lines.filter(lines.kind == "drug")
    j = con.table("_drug_dates").join(d.select("pkey", Col.LINE, Col.START_DATE, "brk"), "pkey")
    j = j.filter((j.date >= j.start_date) & (j.brk.isnull() | (j.date < j.brk)))
    before = plus_days(j.brk, -1)
    last = ibis.ifelse(j.brk.notnull() & (j.until >= j.brk), before, j.until)
    ends = j.group_by(["pkey", Col.LINE]).aggregate(_end=last.max())
    d = d.join(ends, ["pkey", Col.LINE])
    d = d.select(*[d._end.name(c) if c == Col.END_DATE else d[c] for c in lines.columns])
    return d.union(lines.filter(lines.kind != "drug"))


def _bundle_lines(st: _Steps) -> ibis.Table:
    cur = st.t("_cur")
    b = cur.filter(cur.kind != "drug")
    dd = st.t("_drug_dates")
    nxt = dd.filter(dd.real).select("pkey", "date").union(st.t("_bundles").select("pkey", "date"))
    j = nxt.join(b.select("pkey", S=b.start_date), "pkey")
    j = j.filter(j.date > j.S)
    n = j.group_by("pkey").aggregate(brk=j.date.min())
    b = b.left_join(n, "pkey").drop("pkey_right")
    return b.select(Col.PATIENT_ID, "pkey", Col.LINE, start_date=b.start_date,
                    end_date=b.start_date, kind=b.kind, bundle_id=b.bundle_id,
                    end_rule=ibis.ifelse(b.brk.isnull(), "last", "bundle"), t_pd=ibis.null("date"),
                    brk=b.brk)  # fmt: skip


def _next_cur(st: _Steps) -> ibis.Table:
    ln = st.t("_line")
    n = ln.filter(ln.brk.notnull()).select(Col.PATIENT_ID, "pkey", start_date=ln.brk,
                                           line=ln.line + 1, prev_kind=ln.kind,
                                           prev_start=ln.start_date)  # fmt: skip
    bu = st.t("_bundles")
    j = bu.join(n.select("pkey", Col.START_DATE), "pkey")
    j = j.filter(j.date == j.start_date)
    w = ibis.window(group_by=j.pkey, order_by=[j.kind, j.bundle_id])
    j = j.mutate(_rn=ibis.row_number().over(w)).filter(lambda t: t._rn == 0)
    out = n.left_join(j.select("pkey", "kind", "bundle_id"), "pkey")
    return out.select(Col.PATIENT_ID, "pkey", Col.START_DATE, kind=out.kind.fill_null("drug"),
                      bundle_id=out.bundle_id, line=out.line, prev_kind=out.prev_kind,
                      prev_start=out.prev_start)  # fmt: skip


def _step(st: _Steps, vis: ibis.Table, rules: Rules, first: bool) -> None:
    """Find line ``k`` of every patient in ``_cur``; append it to ``_lines_all``."""
    st.run("_rb", lambda: _rule_breaks(st, rules))
    st.run("_pd", lambda: _progression(st, vis, rules))
    st.run("_line", lambda: _drug_lines(st).union(_bundle_lines(st)))
    st.append("_lines_all", "_line", first)
    st.run("_cur", lambda: _next_cur(st))


def segment(
    con, events: ibis.Table, vis: ibis.Table, rules: Rules
) -> tuple[ibis.Table, ibis.Table]:
    """Cut each patient's events into lines of therapy.

    Parameters
    ----------
    con
        The Ibis connection (intermediate tables are materialised on it).
    events
        ``patient_id, pkey, date, eid, row, kind, bundle_id, ingredient, drug_class,
        span_end`` (:func:`aftercar.derive.raw.events.salvage_events`).
    vis
        Visits (for the progression rule).
    rules
        The rule set (``[lines]``, ``[maintenance]`` of ``lot_rules.toml``).

    Returns
    -------
    (lines, members)
        ``lines``: ``patient_id, line, kind, bundle_id, start_date, end_date, end_rule,
        t_pd``; ``members``: ``patient_id, eid, row, line`` (every event in the lines of the
        days it covers: one for a dose or bundle; ``row``: a drug event's administration
        row, null for a bundle).
    """
    st = _Steps(con)
    _compact(con, events, rules)
    for k in range(_MAX_LINES):
        if st.t("_cur").count().execute() == 0:
            break
        _step(st, vis, rules, first=k == 0)
    if k == 0:
        empty = events.select(Col.PATIENT_ID, "eid", "row", line=ibis.literal(0).cast("int64"))
        empty = empty.limit(0)
        return _empty_lines(events), empty
    raw_lines = con.create_table("_lines_raw", _with_ends(con), overwrite=True)
    return _maintenance(con, raw_lines, events, vis, rules)


def _raw_members(lines: ibis.Table, events: ibis.Table) -> ibis.Table:
    """Each event's lines: those of the days it covers, its date to its ``span_end``, within
    [start, next start) (a dose: one line; bundles: their own line).

    Columns ``patient_id, eid, line, ingredient, row`` (the administration row of a drug
    event, null for a bundle) and ``_multi``: whether the event can be in several lines
    (a continued exposure); the others are in one line each, so the lines' members need
    no deduplication but for these (:func:`_maintenance`)."""
    d = events.filter(events.kind == "drug")
    d = d.select(Col.PATIENT_ID, "eid", "date", "ingredient", "row",
                 _multi=d.span_end.notnull(), _last=ibis.coalesce(d.span_end, d.date))  # fmt: skip
    ln = lines.select(Col.PATIENT_ID, Col.LINE, Col.START_DATE, "brk", "kind")
    j = d.join(ln, Col.PATIENT_ID)
    # a course runs on into drug lines only; a bundle line holds the drugs of its first day
    on = ibis.ifelse(j.kind == "drug", j._last, j.date) >= j.start_date
    j = j.filter(on & (j.brk.isnull() | (j.date < j.brk)))
    b = events.filter(events.kind != "drug").select(Col.PATIENT_ID, "eid", "bundle_id")
    bl = lines.filter(lines.kind != "drug").select(Col.PATIENT_ID, Col.LINE, "bundle_id")
    bm = b.join(bl, [Col.PATIENT_ID, "bundle_id"])
    return j.select(Col.PATIENT_ID, "eid", Col.LINE, "ingredient", "row", "_multi").union(
        bm.select(Col.PATIENT_ID, "eid", Col.LINE, ingredient=ibis.null("string"),
                  row=ibis.null("int64"), _multi=ibis.literal(False))
    )  # fmt: skip


def _after_progression(s: ibis.Table, vis: ibis.Table, rules: Rules) -> ibis.Table:
    """``patient_id, line`` of the candidate lines ``s`` (flag ``_cand``) that start after a
    confirmed progression of the transplant line before them (window: the transplant line's
    start to the candidate's start)."""
    c = s.filter(s._cand)
    c = c.select(Col.PATIENT_ID, Col.LINE, lkey=c.pkey * 1000 + c.line, start_date=c._ps,
                 window_end=c.start_date)  # fmt: skip
    pd, _ = progressions(c.drop(Col.LINE), vis, rules)
    return c.semi_join(pd, "lkey").select(Col.PATIENT_ID, Col.LINE, _pd=ibis.literal(True))


def _induction(s: ibis.Table, rules: Rules) -> ibis.BooleanValue:
    """An autologous transplant line begun within ``[transplant] induction_gap_days`` of the
    last day of the drug line before it: that line's planned induction -> transplant (OHDSI
    MM episodes, rule (a); Rajkumar 2015; REFERENCE 5.5; a fifth probe of hand-made
    patients, 2026-12-06: salvage KRd -> ASCT -> lenalidomide was two lines). Unless the
    drug line progressed before the transplant (:func:`_after_progression`): therapy after
    progression is a new line. ``0`` = never."""
    gap = rules.get("transplant", "induction_gap_days")
    near = s.start_date.delta(s._pe, unit="day") <= gap
    auto = ~s.bundle_id.startswith("allo_transplant:")  # events._bundle_events
    return (s.kind == "transplant") & (s._pk == "drug") & near & auto & ibis.literal(gap > 0)


def _maintenance(con, lines: ibis.Table, events: ibis.Table, vis: ibis.Table, rules: Rules):
    """Merge a maintenance monotherapy line into the transplant line before it, and a
    transplant line into the induction line before it (:func:`_induction`), unless the line
    before progressed first (therapy after progression is a new line)."""
    m = con.create_table("_members_raw", _raw_members(lines, events), overwrite=True)
    days = rules.get("maintenance", "after_transplant_days")
    n_ing = m.filter(m.ingredient.notnull()).group_by([Col.PATIENT_ID, Col.LINE]).aggregate(
        n_ing=m.ingredient.nunique()
    )
    s = lines.left_join(n_ing, [Col.PATIENT_ID, Col.LINE]).drop("patient_id_right", "line_right")
    w = ibis.window(group_by=s.patient_id, order_by=s.line)
    s = s.mutate(_pk=s.kind.lag().over(w), _ps=s.start_date.lag().over(w),
                 _pe=s.end_date.lag().over(w))  # fmt: skip
    cand = ((s.kind == "drug") & (s._pk == "transplant") & (s.n_ing == 1)
            & (s.start_date.delta(s._ps, unit="day") <= days))  # fmt: skip
    s = s.mutate(_m=cand.fill_null(False))
    # a transplant after a drug line that is itself maintenance of an earlier transplant is
    # a second transplant, a new line (never two transplants in one line; review of the
    # session's change: KRd -> ASCT -> len -> ASCT 300 days later was one line)
    ind = _induction(s, rules) & ~s._m.lag().over(w).fill_null(False)
    s = s.mutate(_ind=ind.fill_null(False)).drop("_pe")
    s = s.mutate(_cand=s._m | s._ind)
    if rules.get("lines", "new_line_after_progression"):
        s = con.create_table("_maint_cand", s, overwrite=True)
        s = s.left_join(_after_progression(s, vis, rules), [Col.PATIENT_ID, Col.LINE])
        s = s.drop("patient_id_right", "line_right")
        s = s.mutate(_cand=s._cand & s._pd.isnull()).drop("_pd")
    joins = s._cand
    wc = ibis.window(group_by=s.patient_id, order_by=s.line, rows=(None, 0))
    s = s.mutate(new_line=(1 - joins.cast("int64")).sum().over(wc), maint=joins & s._m,
                 induction=joins & s._ind)  # fmt: skip
    s = con.create_table("_lines_maint", s, overwrite=True)
    last = s
    g = last.group_by([Col.PATIENT_ID, "new_line"]).aggregate(
        start_date=last.start_date.min(), end_date=last.end_date.max(),
        kind=_merged_kind(last), bundle_id=last.bundle_id.max(),
        end_rule=last.end_rule.argmax(last.line), t_pd=last.t_pd.max(),
        maintenance=last.maint.any(), induction=last.induction.any(),
    )  # fmt: skip
    out = g.select(Col.PATIENT_ID, Col.START_DATE, Col.END_DATE, "end_rule", "kind", "bundle_id",
                   "t_pd", "maintenance", "induction", line=g.new_line)  # fmt: skip
    keys = s.select(Col.PATIENT_ID, Col.LINE, "new_line")

    def renumbered(t: ibis.Table) -> ibis.Table:
        j = t.join(keys, [Col.PATIENT_ID, Col.LINE])
        return j.select(Col.PATIENT_ID, "eid", "row", line=j.new_line)

    # an event in one line is one member; only an event in several (a continued exposure)
    # can be in two lines merged into one (maintenance): the distinct pass is over those only
    mem = renumbered(m.filter(~m._multi)).union(renumbered(m.filter(m._multi)).distinct())
    return (con.create_table("_lines", out, overwrite=True),
            con.create_table("_members", mem, overwrite=True))  # fmt: skip


def _merged_kind(s: ibis.Table) -> ibis.Value:
    """The kind of a line merged from several: ``transplant`` when one of them is (induction
    -> transplant -> maintenance reads as the transplant's line: its regimen names the
    transplant), else the first one's. A merged group holds at most one bundle line, so its
    ``bundle_id`` is that line's (the others are null)."""
    return ibis.ifelse((s.kind == "transplant").any(), "transplant", s.kind.argmin(s.line))


def _empty_lines(events: ibis.Table) -> ibis.Table:
    e = events.limit(0)
    return e.select(Col.PATIENT_ID, start_date=e.date, end_date=e.date, end_rule=e.kind,
                    kind=e.kind, bundle_id=e.bundle_id, t_pd=ibis.null("date"),
                    maintenance=ibis.literal(False), induction=ibis.literal(False),
                    line=ibis.literal(0).cast("int64"))  # fmt: skip
