"""IMWG 2016 response and progression of each line from serial labs (set-based, Ibis).

For every line (``patient_id, lkey, start_date, window_end``) and the visits of
:func:`aftercar.derive.raw.labs.visits`:

1. **Baseline** (IMWG 2016: response is measured against the value before the
   line): the last lab on or before the start date (within
   ``baseline_lookback_days``); a lab on the start date is that line's baseline.
   Without any such lab (e.g. no labs before a CAR-T infusion) the first visit
   after the start is the baseline (used only to follow progression).
2. **Measurable disease** (IMWG 2016; REFERENCE 3.1), fixed at the baseline:
   serum M-protein >= 1.0 g/dL, else 24-h urine M-protein >= 200 mg, else
   involved FLC >= 10 mg/dL with an abnormal kappa/lambda ratio (0.26-1.65), when
   the parameter is dFLC = involved - uninvolved. ``fallback_to_detectable``
   (aftercar extension, documented) follows a detectable serum M-protein, else
   dFLC with an abnormal ratio, when nothing is measurable.
3. **Categories** at each assessment after the start up to ``window_end``, that day
   included (the next line's start: a lab drawn that day, before its first dose, is also
   this line's; none = end of follow-up), IMWG 2016 table (REFERENCE 3.2):
   CR = negative serum and urine immunofixation and marrow plasma cells < 5%, and a
   normal FLC ratio on a dFLC line (a missing test downgrades to VGPR, never
   upgrades); sCR = CR with a normal FLC ratio; VGPR = >= 90% reduction (urine
   < 100 mg/24 h) or M-protein 0 with a positive immunofixation (urine < 100 mg/24 h);
   PR = >= 50% (urine >= 90% lower or < 200 mg/24 h); MR = 25-49% (serum only; urine
   >= 50% lower or < 200 mg/24 h); SD otherwise. Urine,
   immunofixation and marrow are carried forward from their last value in the line
   (marrow for ``marrow_window_days``).
4. **Progression** (IMWG 2016; REFERENCE 3.3): a rise from the nadir (lowest value
   from the baseline to the previous assessment) of >= 25% and >= 0.5 g/dL serum
   (from a nadir >= 5 g/dL a rise of >= 1 g/dL is sufficient), >= 25% and
   >= 200 mg/24 h urine, or >= 25% and > 10 mg/dL dFLC; reappearance after CR needs
   the same absolute rise (the nadir is 0).
5. **Confirmation** (IMWG 2016; admiralonco IMWG vignette): a category counts when
   two consecutive assessments of the parameter reach it (SD needs none); PD is
   confirmed by the next assessment of the parameter, also when that one comes after
   the window end (the *look-ahead* row, within ``lookahead_days``: it confirms but
   never starts a PD), a urine PD by the next urine measured (a urine of a day without
   the parameter is read at the next assessment), and dated at the first of the two.
   Best response = the best confirmed category; SD when any assessment is not PD; PD
   when every assessment is PD and the progression is confirmed; empty when the line has
   no assessment.

Every threshold is met by a value on it as written: lab values are decimals held as binary
floats (0.7 - 0.2 g/dL is 0.49999999999999994; 38 g/L is 3.8000000000000003 g/dL), so each
comparison of a value with a threshold allows a relative error of :data:`TOLERANCE`, far
below any laboratory's precision (a rise of exactly 0.5 g/dL is PD, a fall from 1.4 to
1.05 g/dL exactly 25%).

Every window is ordered by ``(date, vid)``: ``vid`` is unique, so cumulative
frames never sum ties together (Ibis #10698).

References
----------
Kumar S et al., Lancet Oncol 2016;17:e328-e346 (IMWG 2016). Rajkumar SV et al.,
Blood 2011;117:4691 (dFLC response when only FLC is measurable). aftercar
implements the published criteria (cf. patent application WO2023174890A1).
"""

from __future__ import annotations

import ibis

from aftercar.derive.raw.labs import CARRIED, carried
from aftercar.derive.raw.rules import Rules
from aftercar.schema import Col, not_evaluable_code, response_codes

#: Response codes by level (0 = best; the last is PD): the IMWG scale without "not evaluable".
CODES = tuple(c for c in response_codes() if c != not_evaluable_code())
_FAR = 10**6  # days: "no end of window"
#: Relative error allowed in each threshold comparison (module docstring): 10^-9, where
#: a float's rounding is about 10^-16 and laboratory values have 2-4 significant digits.
TOLERANCE = 1e-9


def _slack(b) -> ibis.Value | float:
    return TOLERANCE * (1 + (abs(b) if isinstance(b, int | float) else b.abs()))


def _ge(a: ibis.Value, b) -> ibis.BooleanValue:
    """``a >= b`` for decimal values held as floats (:data:`TOLERANCE`)."""
    return a >= b - _slack(b)


def _gt(a: ibis.Value, b) -> ibis.BooleanValue:
    """``a > b`` for decimal values held as floats (:data:`TOLERANCE`)."""
    return a > b + _slack(b)


def _le(a: ibis.Value, b) -> ibis.BooleanValue:
    """``a <= b`` for decimal values held as floats (:data:`TOLERANCE`)."""
    return a <= b + _slack(b)


def _lt(a: ibis.Value, b) -> ibis.BooleanValue:
    """``a < b`` for decimal values held as floats (:data:`TOLERANCE`)."""
    return a < b - _slack(b)


def _window_join(lines: ibis.Table, vis: ibis.Table, rules: Rules) -> ibis.Table:
    """Visits from ``baseline_lookback_days`` before the start to the window end, plus
    those up to ``lookahead_days`` after it (the *look-ahead*: only its first assessment
    is kept, and only to confirm a progression seen in the window)."""
    back = rules.get("measurable", "baseline_lookback_days")
    ahead = rules.get("progression", "lookahead_days")
    # the window takes in its end day: a lab drawn on the day the next line starts (cycle 1
    # day 1) is still this line's assessment as well as the next line's baseline
    lines = lines.mutate(
        _end=ibis.coalesce(lines.window_end + ibis.interval(days=1),
                           lines.start_date + ibis.interval(days=_FAR))
    )
    j = lines.join(vis, [lines.patient_id == vis.patient_id,
                         vis.date >= lines.start_date - ibis.interval(days=back),
                         vis.date < lines._end + ibis.interval(days=ahead)])  # fmt: skip
    j = j.drop("patient_id_right")
    return j.mutate(lookahead=(j.date >= j._end).fill_null(False)).drop("_end")


def baselines(j: ibis.Table, rules: Rules, dates: bool = True) -> ibis.Table:
    """One row per line: baseline date and values, the measurable parameter and its value.

    Each parameter's baseline is its last value on or before the start; a line with
    no lab on or before its start takes each parameter's first value after it.
    ``b_vid`` is the visit id of the baseline date; ``b_param_date`` the date of the
    response parameter's baseline value (the audit's baseline rows; ``dates=False``: null,
    for the line cutting, which reads no audit: eight aggregates less to compile and run).
    """
    pre = j.date <= j.start_date
    j = j.filter(~j.lookahead | pre)
    params = ("serum_m", "urine_m", "kappa", "lambda_")
    has_pre = j.date.max(where=pre).notnull()
    b = j.group_by("lkey").aggregate(
        b_date=ibis.coalesce(j.date.max(where=pre), j.date.min(where=~pre)),
        b_vid=ibis.coalesce(j.vid.max(where=pre), j.vid.min(where=~pre)),
        **{f"_pre_{p}": j[p].argmax(j.date, where=pre & j[p].notnull()) for p in params},
        **{f"_post_{p}": j[p].argmin(j.date, where=~pre & j[p].notnull()) for p in params},
        **({f"_pred_{p}": j.date.max(where=pre & j[p].notnull()) for p in params}
           if dates else {}),
        **({f"_postd_{p}": j.date.min(where=~pre & j[p].notnull()) for p in params}
           if dates else {}),
        _has_pre=has_pre,
    )  # fmt: skip
    b = b.mutate(**{f"b_{p}": ibis.ifelse(b._has_pre, b[f"_pre_{p}"], b[f"_post_{p}"])
                    for p in params})  # fmt: skip
    b = _measurable(b, rules)
    if not dates:
        return b.mutate(b_param_date=ibis.null("date")).drop(
            *[c for c in b.columns if c.startswith("_")])
    b = b.mutate(**{f"_bd_{p}": ibis.ifelse(b._has_pre, b[f"_pred_{p}"], b[f"_postd_{p}"])
                    for p in params})  # fmt: skip
    # the date of the parameter's own baseline value, for the audit: it may be an earlier
    # visit than b_date ("serum the day before a 24-h urine": the serum row is the
    # baseline's, listed as unused until session 28, a hand-made OMOP probe)
    flc = ibis.greatest(b._bd_kappa, b._bd_lambda_)
    b = b.mutate(b_param_date=b.param.cases(("serum", b._bd_serum_m), ("urine", b._bd_urine_m),
                                            ("flc", flc), else_=ibis.null("date")))  # fmt: skip
    return b.drop(*[c for c in b.columns if c.startswith("_")])


def _measurable(b: ibis.Table, rules: Rules) -> ibis.Table:
    m = rules.imwg["measurable"]
    ratio = b.b_kappa / b.b_lambda_.nullif(0)
    abnormal = _lt(ratio, m["flc_ratio_low"]) | _gt(ratio, m["flc_ratio_high"])
    inv = ibis.ifelse(ratio >= 1, "kappa", "lambda")
    involved = ibis.greatest(b.b_kappa, b.b_lambda_)
    flc_ok = involved.notnull() & b.b_lambda_.notnull() & b.b_kappa.notnull()
    strict = ibis.cases(
        (_ge(b.b_serum_m, m["serum_g_dl"]), "serum"),
        (_ge(b.b_urine_m, m["urine_mg_24h"]), "urine"),
        (flc_ok & _ge(involved, m["flc_involved_mg_dl"]) & abnormal, "flc"),
        else_=ibis.null("string"),
    )
    # a dFLC is followed only when the ratio shows a monoclonal light chain: with a normal
    # ratio a rise of both chains is polyclonal (renal function, infection), not disease
    fallback = ibis.cases((b.b_serum_m > 0, "serum"), (flc_ok & abnormal, "flc"),
                          else_=ibis.null("string"))  # fmt: skip
    param = ibis.coalesce(strict, fallback) if m["fallback_to_detectable"] else strict
    b = b.mutate(param=param, involved=inv, measurable=strict.notnull())
    dflc = ibis.ifelse(b.involved == "kappa", b.b_kappa - b.b_lambda_, b.b_lambda_ - b.b_kappa)
    base = b.param.cases(("serum", b.b_serum_m), ("urine", b.b_urine_m), ("flc", dflc))
    return b.mutate(baseline=base.cast("float64"))


def _carry(t: ibis.Table) -> ibis.Table:
    """Carry each :data:`~aftercar.derive.raw.labs.CARRIED` test forward in the line:
    ``last_<test>`` = its last value from the line's first visit (``b_vid``, the baseline
    visit) to this one, read off the patient's carried values of
    :func:`aftercar.derive.raw.labs.carried` (a line's rows are consecutive visits of
    its patient, so the patient's last value is the line's when it is not before
    ``b_vid``)."""
    last = {f"last_{c}": ibis.ifelse(t[f"carry_vid_{c}"] >= t.b_vid, t[f"carry_{c}"],
                                     ibis.null(t[f"carry_{c}"].type()))
            for c in CARRIED}  # fmt: skip
    last["last_marrow_date"] = ibis.ifelse(t.carry_vid_marrow_pc >= t.b_vid, t.carry_marrow_date,
                                           ibis.null("date"))  # fmt: skip
    return t.mutate(**last)


def _fresh_urine(t: ibis.Table) -> ibis.Table:
    """``urine_new``: the last 24-h urine M-protein drawn since the line's previous
    assessment (``_prev_vid``; this one's own, or one of a day without the response
    parameter), null when none was: the urine value a progression reads at each assessment.

    A urine collected on a day without a serum draw (the day after it, as 24-h urines
    often are) is carried to the next assessment, which its rise makes PD (IMWG 2016: a
    urine rise counts "whatever the response parameter"; docs/derivation.md). Until
    session 27 only a urine of an assessment's own day was read, so such a rise never
    dated a progression (a hand-made probe: an index date 50 days late). A value already
    read is not read again, so it never confirms itself.
    """
    fresh = (t.carry_vid_urine_m > t._prev_vid).fill_null(False)
    return t.mutate(urine_new=ibis.ifelse(fresh, t.last_urine_m, ibis.null("float64")))


def _value(t: ibis.Table) -> ibis.Value:
    dflc = ibis.ifelse(t.involved == "kappa", t.kappa - t.lambda_, t.lambda_ - t.kappa)
    return t.param.cases(("serum", t.serum_m), ("urine", t.urine_m), ("flc", dflc)).cast("float64")


def _categories(t: ibis.Table, rules: Rules) -> ibis.Value:
    """IMWG level (0 sCR .. 5 SD) of each assessment, PD left to :func:`_progression`."""
    r, m = rules.imwg["response"], rules.imwg["measurable"]
    red = 1 - t.value / t.baseline.nullif(0)
    # the urine limits apply when a urine was measured in the line, after its baseline
    # visit: a baseline urine alone carried forward read as unchanged and held a serum PR
    # at SD (hand-made OMOP patients, session 28), where no urine at all gave the PR
    urine = ibis.ifelse(t.carry_vid_urine_m > t.b_vid, t.last_urine_m, ibis.null("float64"))
    marrow_ok = _lt(t.last_marrow_pc, r["cr_marrow_pct"]) & (
        t.date.delta(t.last_marrow_date, unit="day") <= r["marrow_window_days"]
    )
    # the ratio from kappa and lambda, else as the laboratory reported it alone
    alone = t.flc_ratio if "flc_ratio" in t.columns else ibis.null("float64")
    ratio = ibis.coalesce(t.kappa / t.lambda_.nullif(0), alone)
    normal = (_ge(ratio, m["flc_ratio_low"]) & _le(ratio, m["flc_ratio_high"])).fill_null(False)
    flc = t.param == "flc"
    # FLC as the only parameter: CR also needs a normal ratio (Rajkumar 2011, Table 2
    # footnote), so such a CR is an sCR by aftercar's sCR (CR with a normal ratio)
    cr = ((t.ife_serum == 0) & (t.last_ife_urine == 0) & marrow_ok.fill_null(False)
          & (~flc | normal))  # fmt: skip
    scr = cr & normal
    u_vgpr = urine.isnull() | _lt(urine, r["vgpr_urine_mg_24h"])
    u_red = 1 - urine / t.b_urine_m.nullif(0)
    u_pr = urine.isnull() | _lt(urine, r["pr_urine_mg_24h"]) | _ge(u_red, r["pr_urine_reduction"])
    u_mr = urine.isnull() | _lt(urine, r["pr_urine_mg_24h"]) | _ge(u_red, r["mr_urine_reduction"])
    serum = t.param == "serum"
    zero_ife = (t.value == 0) & (t.ife_serum == 1) & u_vgpr  # M-protein seen by IFE only
    vgpr = ibis.cases(
        (serum, (_ge(red, r["vgpr_reduction"]) & u_vgpr) | zero_ife),
        (t.param == "urine", _lt(t.value, r["vgpr_urine_mg_24h"])),
        else_=_gt(red, r["vgpr_reduction"]),
    )
    u_low = _ge(red, r["pr_urine_reduction"]) | _lt(t.value, r["pr_urine_mg_24h"])
    pr = ibis.cases(
        (serum, _ge(red, r["pr_reduction"]) & u_pr),
        (t.param == "urine", u_low),
        else_=_ge(red, r["pr_reduction"]),
    )
    mr = serum & _ge(red, r["mr_reduction"]) & u_mr
    return ibis.cases(
        (scr.fill_null(False), 0), (cr.fill_null(False), 1), (vgpr.fill_null(False), 2),
        (pr.fill_null(False), 3), (mr.fill_null(False), 4), else_=5,
    )  # fmt: skip


def _least(a: ibis.Value, b: ibis.Value) -> ibis.Value:
    return ibis.ifelse(b.isnull() | (a <= b), ibis.coalesce(a, b), b)


def _rise(value, nadir, absolute, p, strict: bool = False) -> ibis.Value:
    rise = value - nadir
    enough = _gt(rise, absolute) if strict else _ge(rise, absolute)
    return (_ge(rise, p["relative_rise"] * nadir) & enough).fill_null(False)


def _serum_rise(value, nadir, p) -> ibis.Value:
    """Serum PD: +25% and >= 0.5 g/dL from the nadir; from a nadir >= 5 g/dL a rise of
    >= 1 g/dL is sufficient (IMWG 2016; REFERENCE 3.3)."""
    high = (_ge(nadir, p["serum_high_nadir_g_dl"])
            & _ge(value - nadir, p["serum_abs_high_nadir_g_dl"]))  # fmt: skip
    return _rise(value, nadir, p["serum_abs_g_dl"], p) | high.fill_null(False)


def _progression(t: ibis.Table, rules: Rules) -> ibis.Value:
    """True where a value rose from its nadir enough for IMWG PD (REFERENCE 3.3).

    Serum and urine M-protein count whatever the response parameter (IMWG 2016: "one
    or more of"); dFLC counts only when it is the parameter (neither serum nor urine
    measurable).
    """
    p = rules.imwg["progression"]
    own = t.param.cases(
        ("serum", _serum_rise(t.value, t.nadir, p)),
        ("urine", _rise(t.value, t.nadir, p["urine_abs_mg_24h"], p)),
        ("flc", _rise(t.value, t.nadir, p["dflc_abs_mg_dl"], p, strict=True)),
    )
    serum = _serum_rise(t.serum_m, t.serum_nadir, p)
    urine = _rise(t.urine_new, t.urine_nadir, p["urine_abs_mg_24h"], p)
    return own.fill_null(False) | serum | urine


def _rebaseline(t: ibis.Table, rules: Rules) -> ibis.Table:
    """Raise a stale baseline to the first on-treatment value when that is higher.

    A baseline drawn days or weeks before the start misses the growth of a
    progressing disease until therapy acts; the first value within
    ``rebaseline_days`` after the start, when higher, is then the baseline (aftercar
    convention for real-world lab schedules; 0 turns it off). Applied to the
    response parameter and to the serum and urine baselines used for progression.
    """
    days = rules.get("measurable", "rebaseline_days")
    w = ibis.window(group_by=t.lkey, order_by=[t.date, t.vid])
    early = (t.date.delta(t.start_date, unit="day") <= days) & ~t.lookahead
    new = {}
    for base, col in (("baseline", "value"), ("b_serum_m", "serum_m"), ("b_urine_m", "urine_m")):
        first = ibis.ifelse(early, t[col], ibis.null("float64")).first().over(w)
        higher = (early.first().over(w) & _gt(first, t[base])).fill_null(False)
        new[base] = ibis.ifelse(higher, first, t[base])
    return t.mutate(**new)


def assessments(lines: ibis.Table, vis: ibis.Table, rules: Rules,
                levels: bool = True) -> ibis.Table:  # fmt: skip
    """Every assessment of every line with its value, nadir, level and confirmation.

    Parameters
    ----------
    lines
        ``patient_id, lkey, start_date, window_end`` (``lkey`` unique; ``window_end``
        null = to the end of follow-up).
    vis
        Visits from :func:`aftercar.derive.raw.labs.visits`.
    levels
        ``False``: every level below PD is given as SD (5), for a caller that reads only
        the progressions (:func:`progressions`): ``pd_confirmed`` and ``pd_date`` are
        those of the full assessment, the response categories are not computed.

    Returns
    -------
    ibis.Table
        ``lkey, patient_id, date, vid, param, baseline, value, nadir, level`` (0 sCR ..
        6 PD), ``confirmed_level`` (the worse of this and the next assessment; SD when
        there is no next one), ``pd_confirmed``.
    """
    if not {f"carry_vid_{c}" for c in CARRIED} <= set(vis.columns):  # built without them
        vis = carried(vis)
    j = _window_join(lines, vis, rules)
    b = baselines(j, rules, dates=levels)
    t = j.join(b, "lkey").filter(lambda t: t.date >= t.b_date)
    t = _carry(t)
    t = t.filter((t.date > t.start_date) & (t.date > t.b_date))
    t = t.mutate(value=_value(t))
    # a line without a response parameter keeps its visits (no value, no level): it was
    # assessed, and its best response is NE, not "not assessed" (``summarise``)
    t = t.filter(t.value.notnull() | t.param.isnull())
    # a window inside a filter does not compile on Spark: compute it as a column first
    t = t.mutate(_first_la=t.vid.min(where=t.lookahead).over(ibis.window(group_by=t.lkey)))
    t = t.filter(~t.lookahead | (t.vid == t._first_la)).drop("_first_la")
    if rules.get("measurable", "rebaseline_days") > 0:
        t = _rebaseline(t, rules)
    w_prev = ibis.window(group_by=t.lkey, order_by=[t.date, t.vid], rows=(None, -1))
    # the urines read since the baseline visit: their lowest before this assessment is the
    # urine nadir (a value carried over several assessments counts once, :func:`_fresh_urine`)
    since = ibis.ifelse(t.carry_vid_urine_m > t.b_vid, t.last_urine_m, ibis.null("float64"))
    t = t.mutate(
        nadir=_least(t.baseline, t.value.min().over(w_prev)),
        serum_nadir=_least(t.b_serum_m, t.serum_m.min().over(w_prev)),
        urine_nadir=_least(t.b_urine_m, since.min().over(w_prev)),
        _prev_vid=ibis.coalesce(t.vid.max().over(w_prev), t.b_vid),
    )
    t = _fresh_urine(t)
    level = ibis.ifelse(_progression(t, rules), 6, _categories(t, rules) if levels else 5)
    t = t.mutate(level=ibis.ifelse(t.param.isnull(), ibis.null("int64"), level).cast("int64"))
    return _confirm(t, rules)


def _next_urine(t: ibis.Table, rules: Rules) -> tuple[ibis.BooleanValue, ibis.Value]:
    """``(this assessment's urine shows PD, the next assessment with a urine drawn since its
    previous one as 2 * vid + its urine PD)``: the smallest such key after this row, its
    PD bit the parity (no join); a window of :func:`_confirm`'s own ordering.

    A urine PD is confirmed by the next urine measured, not by a serum-only assessment in
    between, which cannot show it (a review of session 27: urines of 500 then 700 mg/24 h,
    a serum-only visit between them, gave no progression)."""
    p = rules.imwg["progression"]
    upd = _rise(t.urine_new, t.urine_nadir, p["urine_abs_mg_24h"], p)
    key = ibis.ifelse(t.urine_new.notnull(), t.vid * 2 + upd.cast("int64"), ibis.null("int64"))
    after = ibis.window(group_by=t.lkey, order_by=[t.date, t.vid], rows=(1, None))
    return upd, key.min().over(after)


def _confirm(t: ibis.Table, rules: Rules) -> ibis.Table:
    """Confirm each assessment by the next one of the parameter (IMWG 2016).

    A category counts when the next assessment in the window reaches it too (the
    confirmed level is the worse of the two; SD needs none). PD is confirmed by the
    next assessment of the parameter, also when that comes after the window end (the
    *look-ahead* row, which confirms but never starts a PD), and is dated at the first
    of the two. ``new_therapy_confirms`` (off by default) also accepts the start of new
    therapy when no later assessment exists.
    """
    w = ibis.window(group_by=t.lkey, order_by=[t.date, t.vid])
    upd, nxt_urine = _next_urine(t, rules)
    t = t.mutate(next_level=t.level.lead().over(w), next_la=t.lookahead.lead().over(w),
                 _urine_pd=upd, _next_urine=nxt_urine)  # fmt: skip
    by_therapy = t.window_end.notnull() & rules.get("progression", "new_therapy_confirms")
    no_next = t.next_level.isnull() | t.next_la.fill_null(False)
    by_urine = t._urine_pd & (t._next_urine % 2 == 1).fill_null(False)  # _next_urine
    pd_ok = (t.level == 6) & ~t.lookahead & (
        (t.next_level == 6) | by_urine | (t.next_level.isnull() & by_therapy)
    )
    nxt = ibis.ifelse(no_next | (t.next_level == 6), 5, t.next_level)
    best = ibis.greatest(t.level, nxt)
    conf = ibis.ifelse(t.level.isnull() | (t.level == 6) | t.lookahead, ibis.null("int64"), best)
    return t.select(
        "lkey", Col.PATIENT_ID, "date", "vid", "param", "measurable", "baseline", "b_date",
        "b_param_date", "value", "nadir",
        "level", "lookahead", "window_end", Col.START_DATE, confirmed_level=conf.cast("int64"),
        pd_confirmed=pd_ok.fill_null(False), pd_date=t.date,
    )  # fmt: skip


def summarise(lines: ibis.Table, a: ibis.Table, rules: Rules) -> ibis.Table:
    """Per line: ``best_response`` (IMWG code; empty = not assessed), ``progression_date``.

    Best response = the best confirmed category (IMWG 2016); SD needs no confirmation,
    so any assessment that is not PD gives at least SD; PD when every assessment in the
    window is PD and the progression is confirmed; NE when the only assessments are an
    unconfirmed PD or the line has no response parameter. ``sd_min_days`` (0 = IMWG,
    the default) can ask SD for a minimum time after the start, as RECIST 1.1. A line
    whose baseline comes after its start (no lab on or before it) is NE unless its
    progression is confirmed, then PD (``response_needs_pretreatment_baseline``, IMWG
    2016: responses are measured from the pre-treatment baseline). Also ``n_assessments``,
    ``param``, ``measurable`` (the parameter was measurable at the baseline; false when
    ``fallback_to_detectable`` follows a detectable one) and ``first_date`` for the audit.
    """
    inside = ~a.lookahead
    sd_min = rules.get("response", "sd_min_days")
    late = a.date.delta(a.start_date, unit="day") >= sd_min
    s = a.group_by("lkey").aggregate(
        n_assessments=a.count(where=inside),
        param=a.param.max(),
        measurable=a.measurable.any(),
        best_level=a.confirmed_level.min(),
        progression_date=a.pd_date.min(where=a.pd_confirmed),
        first_date=a.date.min(where=inside),
        first_non_pd=a.date.min(where=inside & (a.level != 6) & late),
        late_baseline=(a.b_date > a.start_date).any(),
    )
    first_pd = s.progression_date.notnull() & (
        s.first_non_pd.isnull() | (s.first_non_pd > s.progression_date)
    )
    level = ibis.cases((s.best_level <= 4, s.best_level), (first_pd, 6),
                       (s.first_non_pd.notnull(), 5), else_=ibis.null("int64"))  # fmt: skip
    code = level.cases(*[(i, c) for i, c in enumerate(CODES)], else_=not_evaluable_code())
    if rules.get("measurable", "response_needs_pretreatment_baseline"):
        # no response to grade without a pre-treatment baseline: NE, unless the line's
        # progression is confirmed, then PD (docs/derivation.md; until session 27 only
        # when every assessment was PD, so a confirmed progression after a first
        # on-treatment value that was not PD read NE: a hand-made probe)
        late = s.late_baseline.fill_null(False)
        code = ibis.ifelse(late, ibis.ifelse(s.progression_date.notnull(), CODES[-1],
                                             not_evaluable_code()), code)  # fmt: skip
    code = ibis.ifelse(s.param.isnull(), not_evaluable_code(), code)
    s = s.mutate(best_response=ibis.ifelse(s.n_assessments == 0, ibis.null("string"), code))
    s = s.drop("late_baseline")
    out = lines.left_join(s, "lkey").drop("lkey_right")
    return out


def progressions(lines: ibis.Table, vis: ibis.Table,
                 rules: Rules) -> tuple[ibis.Table, ibis.Table]:  # fmt: skip
    """Return ``(pd, assessments)``: ``pd`` = ``lkey, t_pd`` of each line of ``lines`` with a
    confirmed progression, ``t_pd`` its date (the ``progression_date`` of
    :func:`summarise`); ``assessments`` as :func:`assessments` gives them without the
    levels below PD (the line cutting needs the progressions only)."""
    a = assessments(lines, vis, rules, levels=False)
    p = a.filter(a.pd_confirmed)
    return p.group_by("lkey").aggregate(t_pd=p.pd_date.min()), a


def assess(lines: ibis.Table, vis: ibis.Table, rules: Rules) -> tuple[ibis.Table, ibis.Table]:
    """Return ``(per-line summary, assessments)`` (see :func:`summarise`, :func:`assessments`)."""
    a = assessments(lines, vis, rules)
    return summarise(lines, a, rules), a
