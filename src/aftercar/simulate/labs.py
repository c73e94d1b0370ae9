"""Raw-mode laboratory series that realise each line's IMWG truth under the issue 12 rules.

Each patient's course is cut into *segments*: the index CAR T (line 0, from the
infusion) and every salvage line, each with its assessment window (after its start,
up to the next line's start or the end of follow-up). Every segment is measured by
one IMWG parameter, fixed per patient: the serum M-protein (g/dL) or, for
light-chain-only patients, dFLC = involved - uninvolved free light chain (mg/dL).

The labs are built so that the rules of issue 12 item 4 give back the truth:

* **Baseline**: the last lab on or before a line's start has every test and a
  measurable parameter (serum M >= ``serum_baseline_min`` g/dL, or involved FLC
  >= 10 mg/dL with an abnormal ratio); there is a pre-infusion lab for the index
  CAR T, and no lab falls on a line's start date.
* **Response**: each assessment's value lies in a narrow band of its IMWG category
  (``level_bands``, fractions of the baseline value well away from the 25/50/90%
  cut-offs, and no band wider than 20% so that noise inside a band is never a PD);
  categories deepen along the latent trajectory (time constant
  ``response_tau_days``) down to the line's true best response. CR/sCR visits have
  serum M 0 with negative serum and urine immunofixation, a marrow with < 5% plasma
  cells at the first of them, and a normal (sCR) or abnormal (CR) FLC ratio (a
  light-chain-only patient's CR always a normal one: observed as sCR);
  VGPR and worse keep a positive immunofixation.
* **Progression**: a lab on the latent progression date whose value rises from
  the nadir by ``pd_margin`` x the IMWG threshold (>= 25% and >= 0.5 g/dL; 1 g/dL
  from a nadir >= 5 g/dL; dFLC > 10 mg/dL) and is measurable for the next line,
  then a confirming lab before the next line starts. A line whose true best
  response is PD has no lab between its start and the progression.
* **Switch without progression**: the values stay above ``switch_floor`` and the last
  one is measurable again, so that neither a PD nor an unmeasurable baseline arises.
* **Not assessed**: a last line without progression whose latent response is missing
  has no lab in its window.

The truth written beside the labs is then *computed from the labs as built* (the
realised level of every assessment, two-consecutive confirmation, first confirmed
PD), so it is what the records show. Other tests (urine, FLC of serum patients,
immunofixation, marrow) never meet a PD or a better category on their own. Noise
that does not change the truth: assay scatter inside the bands, g/L vs g/dL and
mg/L vs mg/dL per value, missing visits and missing tests (never at the baseline,
the progression, its confirmation or a CR visit).

References
----------
Kumar S et al. Lancet Oncol 2016;17:e328 (IMWG response and progression;
REFERENCE sections 3.1-3.3); issue 12 item 4.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aftercar.schema import DAYS_PER_MONTH, Col
from aftercar.simulate.arrays import day_numbers, dict_array
from aftercar.simulate.params import RESPONSE_CODES, SimulationParams

_PD = RESPONSE_CODES.index("PD")
_SD = RESPONSE_CODES.index("SD")
_MR = RESPONSE_CODES.index("MR")
TESTS = ("SPEP M-spike", "Kappa free light chain, serum", "Lambda free light chain, serum",
         "24 hr urine M-protein", "Immunofixation, serum", "Immunofixation, urine",
         "Bone marrow plasma cells")  # fmt: skip
_SERUM, _KAPPA, _LAMBDA, _URINE, _IFE_S, _IFE_U, _MARROW = range(7)


def _segments(chunk, lf, raw) -> dict[str, np.ndarray]:
    """Index CAR T (line 0) and salvage lines, sorted by patient and line."""
    n = chunk.patients.num_rows
    codes = {c: i for i, c in enumerate(RESPONSE_CODES)}
    given = chunk.patients[Col.CAR_T_BEST_RESPONSE].to_pylist()
    car_t = np.array([codes.get(c, _SD) for c in given])
    death = day_numbers(chunk.patients[Col.DEATH_DATE])
    final = np.where(death >= 0, death, day_numbers(chunk.patients[Col.LAST_FOLLOWUP_DATE]))
    zero = {"pos": np.arange(n), Col.LINE: np.zeros(n, np.int64),
            Col.START: day_numbers(chunk.patients[Col.CAR_T_DATE]),
            "prog": day_numbers(chunk.patients[Col.PROGRESSION_DATE]),
            "true": car_t.astype(np.int64), "missing": np.zeros(n, bool)}  # fmt: skip
    ext = {k: np.concatenate([zero[k], lf[k]]) for k in zero}
    order = np.lexsort((ext[Col.LINE], ext["pos"]))
    s = {k: v[order] for k, v in ext.items()}
    same = np.append(s["pos"][1:] == s["pos"][:-1], False)
    s["final"] = final[s["pos"]]
    s["next"] = np.where(same, np.append(s[Col.START][1:], 0), s["final"] + 1)
    s["has_next"] = same
    s["switch"] = same & (s["prog"] < 0)
    s["unassessed"] = ~same & (s["prog"] < 0) & s["missing"]
    room = np.minimum(s["next"] - 1, s["final"]) - s["prog"]
    s["confirmable"] = (s["prog"] >= 0) & (room >= 1)
    s["prog"] = np.where(s["confirmable"], s["prog"], -1)  # no room to confirm: not observable
    s["r"] = np.asarray([raw["nadir_fraction"][c] for c in RESPONSE_CODES])[s["true"]]
    return s


def _regular_visits(rng, chunk, raw):
    """About 4-weekly visits from the CAR-T infusion to the end of follow-up."""
    car_t = day_numbers(chunk.patients[Col.CAR_T_DATE])
    death = day_numbers(chunk.patients[Col.DEATH_DATE])
    final = np.where(death >= 0, death, day_numbers(chunk.patients[Col.LAST_FOLLOWUP_DATE]))
    step = raw["visit_interval_days"]
    first = np.minimum(car_t + step, final)
    n = np.maximum((final - first) // step + 1, 0)
    pos = np.repeat(np.arange(first.size), n)
    k = np.arange(pos.size) - np.repeat(np.cumsum(n) - n, n)
    jit = rng.integers(-raw["visit_jitter_days"], raw["visit_jitter_days"] + 1, pos.size)
    day = np.clip(first[pos] + k * step + np.where(k == 0, 0, jit), car_t[pos] + 1, final[pos])
    keep = rng.random(pos.size) >= raw["visit_missing_prob"]
    lo, hi = raw["pre_car_t_lab_days"]
    pre = car_t - rng.integers(lo, hi + 1, car_t.size)
    return (np.concatenate([np.arange(car_t.size), pos[keep]]),
            np.concatenate([pre, day[keep]]))  # fmt: skip


def _seg_of(s, pos, day, side: str = "left") -> np.ndarray:
    """Index of the patient's latest segment starting before (``left``) or on (``right``) day."""
    big = np.int64(1 << 32)
    key = s["pos"].astype(np.int64) * big + s[Col.START]
    idx = np.searchsorted(key, pos.astype(np.int64) * big + day, side=side) - 1
    ok = (idx >= 0) & (s["pos"][np.maximum(idx, 0)] == pos)
    return np.where(ok, idx, -1)


def _visits(rng, chunk, s, raw) -> dict[str, np.ndarray]:
    """Regular, progression and confirmation visits, pruned so that they realise the truth."""
    pos, day = _regular_visits(rng, chunk, raw)
    on_start = _seg_of(s, pos, day, "right")
    starts = np.where(on_start >= 0, s[Col.START][np.maximum(on_start, 0)], -1)
    day = np.where((day == starts) & (s[Col.LINE][np.maximum(on_start, 0)] > 0), day - 1, day)
    si = _seg_of(s, pos, day)
    segp = np.where(si >= 0, s["prog"][np.maximum(si, 0)], -1)
    cur = s["true"][np.maximum(si, 0)]
    drop = (si >= 0) & (segp >= 0) & (day >= segp)  # post-progression visits are rebuilt
    drop |= (si >= 0) & (cur == _PD) & (segp >= 0)  # PD lines: first lab is the progression
    drop |= (si >= 0) & s["unassessed"][np.maximum(si, 0)]
    pos, day = pos[~drop], day[~drop]
    pd_rows = np.flatnonzero(s["confirmable"])
    room = np.minimum(s["next"] - 1, s["final"])[pd_rows] - s["prog"][pd_rows]
    conf = (
        s["prog"][pd_rows]
        + 1
        + np.floor(rng.random(pd_rows.size) * np.minimum(room, raw["confirm_max_days"])).astype(
            np.int64
        )
    )
    later = _post_progression(rng, s, pd_rows, conf, raw)
    pos = np.concatenate([pos, s["pos"][pd_rows], s["pos"][pd_rows], later[0]])
    day = np.concatenate([day, s["prog"][pd_rows], conf, later[1]])
    pos, day = _unique_visits(pos, day)
    pos, day = _unique_visits(*_pre_start(rng, s, pos, day, raw))
    return {"pos": pos, "day": day, "seg": _seg_of(s, pos, day)}


def _unique_visits(pos, day):
    key = np.sort(pos.astype(np.int64) * (1 << 32) + day)
    key = key[np.append(True, key[1:] != key[:-1])]  # (np.unique hashes: much slower)
    return key >> 32, key & ((1 << 32) - 1)


def _pre_start(rng, s, pos, day, raw):
    """A lab 1-7 days before a salvage line whose last lab is older than
    ``pre_start_lab_max_days`` (after a switch): labs are drawn before new therapy."""
    rows = np.flatnonzero(s[Col.LINE] > 0)
    key = pos.astype(np.int64) * (1 << 32) + day
    idx = np.searchsorted(key, s["pos"][rows].astype(np.int64) * (1 << 32) + s[Col.START][rows] - 1,
                          side="right") - 1  # fmt: skip
    last = np.where(pos[np.maximum(idx, 0)] == s["pos"][rows], day[np.maximum(idx, 0)], -(10**6))
    old = rows[s[Col.START][rows] - last > raw["pre_start_lab_max_days"]]
    add = s[Col.START][old] - rng.integers(1, 8, old.size)
    return np.concatenate([pos, s["pos"][old]]), np.concatenate([day, add])


def _post_progression(rng, s, rows, conf, raw):
    """About 4-weekly visits after the confirmation, up to the next start or follow-up end."""
    step = raw["visit_interval_days"]
    last = np.minimum(s["next"][rows] - 1, s["final"][rows])
    n = np.maximum((last - conf) // step, 0)
    rep = np.repeat(np.arange(rows.size), n)
    k = np.arange(rep.size) - np.repeat(np.cumsum(n) - n, n) + 1
    day = conf[rep] + k * step + rng.integers(-raw["visit_jitter_days"], 1, rep.size)
    keep = (day <= last[rep]) & (rng.random(rep.size) >= raw["visit_missing_prob"])
    return s["pos"][rows][rep][keep], day[keep]


def _patients(rng, chunk, raw, p: SimulationParams) -> dict[str, np.ndarray]:
    """Per patient: parameter (FLC-only or serum), involved chain, units, pre-CAR-T value."""
    n = chunk.patients.num_rows
    flc = rng.random(n) < raw["light_chain_only_prob"]
    spread = np.exp(raw["baseline_mprotein_sigma"] * rng.normal(size=n))
    b0 = raw["baseline_mprotein_median"] * spread
    b0 = np.maximum(b0, raw["serum_baseline_min"] * rng.uniform(1.0, 1.3, n))
    b0 = np.minimum(b0, raw["serum_growth_max_gdl"])  # a plausible burden (see _pd_values)
    site = pc.index_in(chunk.patients[Col.SITE], value_set=pa.array(p.section("baseline")["sites"]))
    g_l_prob = np.asarray(raw["serum_g_per_l_prob"])[pc.fill_null(site, 0).to_numpy()]
    return {"flc": flc, "kappa": rng.random(n) < 0.65, "g_per_l": rng.random(n) < g_l_prob,
            "b0": np.where(flc, b0 * raw["flc_per_gdl"] / 10.0, b0)}  # fmt: skip


def _bands(raw) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper value / baseline by level (0 sCR .. 5 SD; CR levels are 0)."""
    lo, hi = np.zeros(_PD + 1), np.zeros(_PD + 1)
    for name, (a, b) in raw["level_bands"].items():
        lo[RESPONSE_CODES.index(name)], hi[RESPONSE_CODES.index(name)] = a, b
    return lo, hi


def _intended(s, v, rows, base, flc, raw) -> tuple[np.ndarray, np.ndarray]:
    """Level (0 sCR .. 5 SD) and CR flag of pre-progression visits ``rows`` from the trajectory.

    The burden falls from the baseline towards the line's nadir fraction with time
    constant ``response_tau_days``; the level is the IMWG category of that reduction,
    never better than the line's true best response. A switch line never goes below a
    measurable value (the next line's baseline), so its deepest level is capped there.
    """
    si = v["seg"][rows]
    u = (v["day"][rows] - s[Col.START][si]).astype(float)
    red = (1 - s["r"][si]) * (1 - np.exp(-u / raw["response_tau_days"]))
    lvl = np.select([red >= 0.9, red >= 0.5, red >= 0.25], [2, 3, 4], default=_SD)
    true = s["true"][si]
    cr = (true <= 1) & (red >= raw["cr_reduction"])
    lvl = np.where(cr, true, np.maximum(lvl, np.minimum(true, _SD)))
    lo, _ = _bands(raw)
    meas = np.where(flc, raw["dflc_baseline_min"], raw["serum_baseline_min"])
    # deepest level whose whole band stays measurable (SD: clamped at the measurable value)
    ok = lo[None, 2:_SD] * base[:, None] >= meas[:, None]
    allow = np.where(ok.any(axis=1), 2 + np.argmax(ok, axis=1), _SD)
    capped = s["switch"][si] & (lvl < allow)
    lvl = np.where(capped, allow, lvl)
    return np.where(flc & (lvl == _MR), _SD, lvl), cr & ~capped  # no MR by FLC


def _report(v, rows, value, cr_kind, pt, draw) -> None:
    """Write serum / FLC numbers of visits ``rows`` (canonical, rounded) and the realised value.

    ``value`` is the parameter (serum g/dL or dFLC mg/dL); ``cr_kind`` is 0 (not CR),
    1 (CR: abnormal FLC ratio) or 2 (sCR: normal ratio).
    """
    pos = v["pos"][rows]
    flc, kappa = pt["flc"][pos], pt["kappa"][pos]
    unv = v["unv"][rows]
    serum = np.where(flc | (cr_kind > 0), 0.0, np.round(value, 2))
    inv = np.where(flc, unv + value, unv + 3.0 * serum)
    abnormal = np.where(kappa, draw["ab_k"][rows], draw["ab_l"][rows])
    inv = np.where(cr_kind == 2, unv * draw["norm"][rows], inv)
    inv = np.where(cr_kind == 1, unv * abnormal, inv)
    inv = np.round(inv, 2)
    v["serum"][rows], v["inv"][rows], v["cr"][rows] = serum, inv, cr_kind
    v["pv"][rows] = np.where(flc, inv - unv, serum)


def _draws(rng, n: int) -> dict[str, np.ndarray]:
    """Per-visit random numbers (drawn once, in a fixed order, for reproducibility)."""
    return {"ab_k": rng.uniform(2.2, 3.5, n), "ab_l": rng.uniform(4.5, 6.0, n),
            "norm": rng.uniform(0.9, 1.4, n), "band": rng.random(n),
            "grow": rng.uniform(1.0, 1.1, n), "meas": rng.uniform(1.0, 1.05, n),
            "unv": np.round(np.exp(0.12 * rng.normal(size=n)), 2)}  # fmt: skip


def _last_on_or_before(v, pos, day) -> np.ndarray:
    """Index of the patient's last visit on or before ``day`` (-1 = none)."""
    key = v["pos"].astype(np.int64) * (1 << 32) + v["day"]
    idx = np.searchsorted(key, pos.astype(np.int64) * (1 << 32) + day, side="right") - 1
    ok = (idx >= 0) & (v["pos"][np.maximum(idx, 0)] == pos)
    return np.where(ok, idx, -1)


def _pre_values(s, v, rows, base, pt, draw, raw) -> None:
    """Values of the assessments before the line's progression (bands of their level)."""
    si, flc = v["seg"][rows], pt["flc"][v["pos"][rows]]
    lvl, cr = _intended(s, v, rows, base, flc, raw)
    lo, hi = _bands(raw)
    # the band, narrowed around its centre to under 1 g/dL of serum M-protein: from a
    # nadir >= 5 g/dL a rise of 1 g/dL is a progression on its own (IMWG 2016)
    lo_v, hi_v = base * lo[lvl], base * hi[lvl]
    width = np.where(flc, hi_v - lo_v, np.minimum(hi_v - lo_v, raw["serum_band_max_gdl"]))
    val = (lo_v + hi_v - width) / 2 + width * draw["band"][rows]
    meas = np.where(flc, raw["dflc_baseline_min"], raw["serum_baseline_min"])
    val = np.where(s["switch"][si], np.maximum(val, meas * draw["meas"][rows]), val)
    # an FLC-only CR needs a normal ratio (IMWG 2011), which makes it an sCR by the
    # derivation's rule: such a latent CR shows a normal ratio and is observed as sCR
    kind = np.where(cr, np.where((s["true"][si] == 0) | flc, 2, 1), 0)
    _report(v, rows, val, kind, pt, draw)
    v["level"][rows] = np.where(cr & flc, 0, lvl)


def _pd_values(s, v, rows, nadir, pt, draw, raw) -> None:
    """Values from the progression on: above the IMWG PD threshold over the nadir, and
    measurable (they are the next line's baseline).

    The value then grows with time since the progression, up to ``serum_growth_max_gdl``
    (serum M-protein) or ``dflc_growth_max_mg_dl`` (dFLC); from a nadir >= 5 g/dL the rise
    is the 1 g/dL that is PD on its own (IMWG 2016), not 25%. Before 2026-12-06 both
    compounded line after line: 0.4% of simulated serum values exceeded 20 g/dL (up to
    1,209 g/dL), which no patient has, and involved FLC reached 64,698 mg/L.
    """
    si, flc = v["seg"][rows], pt["flc"][v["pos"][rows]]
    nad = nadir[si]
    high = ~flc & (nad >= 5.0)
    absolute = np.where(flc, raw["dflc_pd_abs"], np.where(high, 1.0, 0.5))
    need = nad + raw["pd_margin"] * np.maximum(np.where(high, 0.0, 0.25 * nad), absolute)
    start = np.maximum(need, np.where(flc, raw["dflc_baseline_min"], raw["serum_baseline_min"]))
    months = (v["day"][rows] - s["prog"][si]) / DAYS_PER_MONTH
    grow = np.minimum(1 + raw["pd_growth_per_month"] * months, 4.0) * draw["grow"][rows]
    ceiling = np.where(flc, raw["dflc_growth_max_mg_dl"], raw["serum_growth_max_gdl"])
    value = np.maximum(start, np.minimum(start * grow, ceiling))
    _report(v, rows, np.ceil(value * 100) / 100, np.zeros(rows.size, int), pt, draw)
    v["level"][rows] = _PD


def _values(s, v, pt, draw, raw) -> np.ndarray:
    """Fill every visit's numbers, one line number at a time; return each segment's baseline.

    ``draw["hidden"]`` marks visits whose parameter test is missing: their values are
    not reported, so they never set a nadir.
    """
    n = v["pos"].size
    v.update(serum=np.zeros(n), inv=np.zeros(n), pv=np.zeros(n), cr=np.zeros(n, np.int64),
             level=np.full(n, -1), unv=draw["unv"])  # fmt: skip
    pre = np.flatnonzero(v["seg"] < 0)
    _report(v, pre, pt["b0"][v["pos"][pre]], np.zeros(pre.size, int), pt, draw)
    base_vis = _last_on_or_before(v, s["pos"], s[Col.START])
    base = np.zeros(s["pos"].size)
    seg_line = np.where(v["seg"] >= 0, s[Col.LINE][np.maximum(v["seg"], 0)], -1)
    for k in range(int(s[Col.LINE].max(initial=0)) + 1):
        rows = np.flatnonzero(s[Col.LINE] == k)
        base[rows] = v["pv"][base_vis[rows]]
        vr = np.flatnonzero(seg_line == k)
        prog = s["prog"][v["seg"][vr]]
        post = (prog >= 0) & (v["day"][vr] >= prog)
        a, b = vr[~post], vr[post]
        _pre_values(s, v, a, base[v["seg"][a]], pt, draw, raw)
        nadir = base.copy()
        seen = a[~draw["hidden"][a] | (v["cr"][a] > 0) | np.isin(a, base_vis)]
        np.minimum.at(nadir, v["seg"][seen], v["pv"][seen])
        _pd_values(s, v, b, nadir, pt, draw, raw)
    v["base_vis"] = base_vis
    return base


def _missing(rng, n: int, raw) -> dict[int, np.ndarray]:
    """Random test gaps (drawn before the values, so that the nadir of every line is taken
    over the values actually reported)."""
    gone = {t: rng.random(n) < raw["test_missing_prob"] for t in (_SERUM, _KAPPA, _URINE, _IFE_S)}
    gone["urine_tested"] = rng.random(n) < raw["urine_tested_prob"]
    return gone


def _present(rng, v, pt, gone, raw) -> dict:
    """Which tests each visit reports: the random gaps, except at a baseline, a progression
    (and after) or a CR visit, whose tests the truth needs."""
    n = v["pos"].size
    force = (v["level"] == _PD) | (v["seg"] < 0) | v["first"]
    force[v["base_vis"]] = True
    cr = v["cr"] > 0
    out = {
        _SERUM: ~gone[_SERUM] | force | cr,
        _KAPPA: ~gone[_KAPPA] | force | cr,
        # VGPR needs urine < 100 mg/24 h: measured at every VGPR visit (a missing or an
        # older, carried-forward urine value must not decide it)
        _URINE: (gone["urine_tested"] & ~gone[_URINE]) | cr | (v["level"] == 2),
        _IFE_S: ~gone[_IFE_S] | force | cr,
    }
    out[_LAMBDA], out[_IFE_U] = out[_KAPPA], out[_URINE]
    first_cr = cr & ~np.append(False, cr[:-1] & (v["seg"][1:] == v["seg"][:-1]))
    base_marrow = np.zeros(n, bool)
    base_marrow[v["base_vis"]] = True
    base_marrow &= (rng.random(n) < raw["marrow_prob"]) & ~cr
    out[_MARROW] = first_cr | base_marrow
    v["marrow"] = np.where(cr, rng.uniform(0.5, 3.5, n), rng.uniform(10.0, 60.0, n))
    out["param"] = np.where(pt["flc"][v["pos"]], out[_KAPPA], out[_SERUM])
    return out


def _truth(s, v, present) -> dict[str, np.ndarray]:
    """Best response and progression of each segment, computed from the labs as built.

    IMWG 2016 / issue 12: a category counts when two consecutive assessments of the
    parameter reach it; SD needs none; PD when the first assessment is a PD confirmed
    by the next; the progression is the first PD confirmed by the next assessment.
    """
    a = np.flatnonzero(present["param"] & (v["seg"] >= 0))
    sg, lvl = v["seg"][a], v["level"][a]
    same = np.append(sg[1:] == sg[:-1], False)
    nxt = np.append(lvl[1:], -1)
    conf = np.where(same, np.maximum(lvl, nxt), 99)
    m = s["pos"].size
    best = np.full(m, 99)
    np.minimum.at(best, sg, np.where(conf <= _MR, conf, 99))
    any_sd = np.zeros(m, bool)
    any_sd[sg[lvl <= _SD]] = True
    first = np.append(True, sg[1:] != sg[:-1])
    pd_first = np.zeros(m, bool)
    pd_first[sg[first & (lvl == _PD) & same & (nxt == _PD)]] = True
    best = np.where(best <= _MR, best, np.where(any_sd, _SD, np.where(pd_first, _PD, -1)))
    pd_conf = (lvl == _PD) & same & (nxt == _PD)
    prog = np.full(m, np.iinfo(np.int64).max)
    np.minimum.at(prog, sg[pd_conf], v["day"][a][pd_conf])
    confirmed = same & np.where(lvl == _PD, nxt == _PD, nxt <= lvl)
    return {"best": best, "prog": np.where(prog == np.iinfo(np.int64).max, -1, prog),
            "rows": a, "confirmed": confirmed}  # fmt: skip


def _grouped_cummin_before(group: np.ndarray, x: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Minimum of ``start`` and the earlier ``x`` of the same (contiguous) group."""
    if x.size == 0:
        return x
    new = np.append(True, group[1:] != group[:-1])
    g = np.cumsum(new).astype(float)
    big = float(max(np.abs(x).max(), np.abs(start).max())) * 4 + 10.0
    cm = np.minimum.accumulate(x - g * big) + g * big
    prev = np.where(new, np.inf, np.append(np.inf, cm[:-1]))
    return np.minimum(prev, start)


def _assessments(chunk, s, v, t, base) -> pa.Table:
    """Truth per assessment: level, confirmation, parameter value, baseline and nadir."""
    a = t["rows"]
    sg = v["seg"][a]
    nadir = _grouped_cummin_before(sg, v["pv"][a], base[sg])
    ids = chunk.patients[Col.PATIENT_ID].combine_chunks()
    return pa.table({
        Col.PATIENT_ID: dict_array(ids, v["pos"][a]),
        "date": pa.array(v["day"][a].astype(np.int32), pa.date32()),
        Col.LINE: pa.array(s[Col.LINE][sg].astype(np.int64)),
        "response": dict_array(RESPONSE_CODES, v["level"][a]),
        "confirmed": pa.array(t["confirmed"]),
        "value": pa.array(np.round(v["pv"][a], 2)),
        "baseline": pa.array(np.round(base[sg], 2)),
        "nadir": pa.array(np.round(nadir, 2)),
    })  # fmt: skip


def _test_values(rng, v, pt, raw) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """(value, unit index) of every test at every visit, in the unit it is reported in."""
    n = v["pos"].size
    pos = v["pos"]
    flc, kappa, gl = pt["flc"][pos], pt["kappa"][pos], pt["g_per_l"][pos]
    cr = v["cr"] > 0
    noise = np.exp(raw["assay_cv"] * rng.normal(size=n))
    urine = np.where(flc, np.minimum(1.2 * v["pv"] * noise, 150.0),
                     np.minimum(35.0 * v["serum"] * noise, 180.0))  # fmt: skip
    urine = np.where(cr, 0.0, np.round(np.maximum(urine, 0.0), 1))
    mgdl = rng.random(n) < raw["flc_mg_per_dl_prob"]
    scale, funit = np.where(mgdl, 1.0, 10.0), np.where(mgdl, 3, 2)
    k_val = np.where(kappa, v["inv"], v["unv"])
    l_val = np.where(kappa, v["unv"], v["inv"])
    ife = np.where(cr, -2.0, -1.0)  # -1 = POSITIVE, -2 = NEGATIVE (text results)
    none = np.full(n, -1)
    return {
        _SERUM: (np.where(gl, v["serum"] * 10, v["serum"]), np.where(gl, 1, 0)),
        _KAPPA: (k_val * scale, funit),
        _LAMBDA: (l_val * scale, funit),
        _URINE: (urine, np.full(n, 4)),
        _IFE_S: (ife, none),
        _IFE_U: (ife, none),
        _MARROW: (np.round(v["marrow"], 1), np.full(n, 5)),
    }


def lab_tables(rng, chunk, lf, p: SimulationParams):
    """Return ``(labs, assessments, truth)`` for one chunk.

    ``truth`` holds, per segment (``pos``, ``line``; line 0 = the index CAR T), the
    best response index (-1 = not assessed) and the progression day (-1 = none)
    that the labs show under the issue 12 rules.
    """
    raw = p.section("raw")
    s = _segments(chunk, lf, raw)
    pt = _patients(rng, chunk, raw, p)
    v = _visits(rng, chunk, s, raw)
    draw = _draws(rng, v["pos"].size)
    gone = _missing(rng, v["pos"].size, raw)
    # the first lab of a window always has the parameter: a line is "not assessed" only
    # when it has no lab at all
    v["first"] = (v["seg"] >= 0) & np.append(True, v["seg"][1:] != v["seg"][:-1])
    hidden = np.where(pt["flc"][v["pos"]], gone[_KAPPA], gone[_SERUM])
    draw["hidden"] = hidden & (v["seg"] >= 0) & ~v["first"]
    base = _values(s, v, pt, draw, raw)
    present = _present(rng, v, pt, gone, raw)
    t = _truth(s, v, present)
    assessments = _assessments(chunk, s, v, t, base)
    vals = _test_values(rng, v, pt, raw)
    blocks = [(np.flatnonzero(present[k]), k, *vals[k]) for k in range(len(TESTS))]
    labs = _stack(chunk, v["pos"], v["day"], blocks)
    truth = {"pos": s["pos"], Col.LINE: s[Col.LINE], "best": t["best"], "prog": t["prog"]}
    return labs, assessments, truth


UNITS = ("g/dL", "g/L", "mg/L", "mg/dL", "mg/24h", "%")


def _stack(chunk, pos, day, blocks) -> pa.Table:
    """Concatenate the test blocks, sort by patient, date and test, format values."""
    rows = np.concatenate([b[0] for b in blocks])
    test = np.concatenate([np.full(b[0].size, b[1]) for b in blocks])
    value = np.concatenate([b[2][b[0]] for b in blocks])
    unit = np.concatenate([b[3][b[0]] for b in blocks])
    order = np.argsort(rows.astype(np.int64) * 8 + test, kind="stable")  # visits are sorted
    value, unit = value[order], unit[order]
    text = pc.if_else(pa.array(value == -1.0), "POSITIVE", "NEGATIVE")
    numbers = pa.array(np.round(value, 2)).cast(pa.string())
    units = pa.DictionaryArray.from_arrays(
        pa.array(np.maximum(unit, 0).astype(np.int32), mask=unit < 0), pa.array(UNITS)
    )
    ids = chunk.patients[Col.PATIENT_ID].combine_chunks()
    return pa.table({
        Col.PATIENT_ID: dict_array(ids, pos[rows][order]),
        "date": pa.array(day[rows][order].astype(np.int32), pa.date32()),
        "test": dict_array(TESTS, test[order]),
        "value": pc.if_else(pa.array(value < 0), text, numbers),
        "unit": units,
    })  # fmt: skip
