"""Raw-mode laboratory series that follow each line's IMWG response and progression.

Disease burden ``M`` (serum M-protein, g/dL, or its light-chain equivalent) falls
from the line's baseline ``B`` towards the nadir ``B x nadir_fraction[best
response]`` with time constant ``response_tau_days``; at the line's progression
date it rises by ``pd_jump x max(0.25 x nadir, 0.5 g/dL)`` and keeps growing, so
that the IMWG PD rule (>= 25% and >= 0.5 g/dL above the nadir; for FLC-only
disease > 10 mg/dL) is met at the first assessment on or after it. The next
line starts from the burden reached. Labs are drawn about every 4 weeks with
multiplicative assay noise, missing visits and tests, g/dL vs g/L and mg/L vs
mg/dL unit variants, and a share of patients measurable only by serum FLC.

References
----------
Kumar S et al. Lancet Oncol 2016;17:e328 (IMWG response and progression;
REFERENCE sections 3.1-3.3).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aftercar.schema import DAYS_PER_MONTH, Col
from aftercar.simulate.arrays import day_numbers, dict_array
from aftercar.simulate.params import RESPONSE_CODES, SimulationParams

_PD = RESPONSE_CODES.index("PD")
TESTS = ("SPEP M-spike", "Kappa free light chain, serum", "Lambda free light chain, serum",
         "24 hr urine M-protein", "Immunofixation, serum", "Immunofixation, urine",
         "Bone marrow plasma cells")  # fmt: skip


def _trajectory(B, r, tpu, u, raw) -> np.ndarray:
    """Noise-free burden at ``u`` days after the line start."""
    tau = raw["response_tau_days"]
    u = np.maximum(u, 0)
    base = B * (r + (1 - r) * np.exp(-u / tau))
    tp = np.where(tpu < 0, np.inf, tpu)
    nadir = B * (r + (1 - r) * np.exp(-np.minimum(tp, 1e6) / tau))
    jump = raw["pd_jump"] * np.maximum(0.25 * nadir, 0.5)
    grown = nadir + jump * (1 + raw["pd_growth_per_month"] * (u - tp) / DAYS_PER_MONTH)
    return np.where(u >= tp, grown, base)


def _line_burden(rng, lf, n_pat: int, p: SimulationParams):
    """Per-patient baseline burden, nadir fractions and per-line starting burden.

    Loops over the line number (each line starts where the previous left off).
    """
    raw = p.section("raw")
    b0 = raw["baseline_mprotein_median"] * np.exp(
        raw["baseline_mprotein_sigma"] * rng.normal(size=n_pat)
    )
    nadir = np.array([raw["nadir_fraction"][c] for c in RESPONSE_CODES])
    r = nadir[np.minimum(lf["true"], _PD)]
    B = np.empty(lf["pos"].size)
    first = lf[Col.LINE] == 0
    B[first] = b0[lf["pos"][first]]
    for k in range(1, int(lf[Col.LINE].max(initial=0)) + 1):
        rows = np.flatnonzero(lf[Col.LINE] == k)
        prev = rows - 1  # lines are sorted by patient then line
        tpu = np.where(lf["prog"][prev] >= 0, lf["prog"][prev] - lf[Col.START][prev], -1)
        u = lf[Col.START][rows] - lf[Col.START][prev]
        B[rows] = np.maximum(_trajectory(B[prev], r[prev], tpu, u, raw), 0.05)
    return b0, r, B


def _visits(rng, chunk, raw):

    first = day_numbers(chunk.patients[Col.CAR_T_DATE]) + raw["visit_interval_days"]
    death, last = (
        day_numbers(chunk.patients[Col.DEATH_DATE]),
        day_numbers(chunk.patients[Col.LAST_FOLLOWUP_DATE]),
    )
    final = np.where(death >= 0, death, last)
    prog = np.minimum(first, final)
    step = raw["visit_interval_days"]
    n = (final - prog) // step + 1
    pos = np.repeat(np.arange(prog.size), n)
    k = np.arange(pos.size) - np.repeat(np.cumsum(n) - n, n)
    jit = rng.integers(-raw["visit_jitter_days"], raw["visit_jitter_days"] + 1, pos.size)
    day = np.clip(prog[pos] + k * step + np.where(k == 0, 0, jit), prog[pos], final[pos])
    keep = rng.random(pos.size) >= raw["visit_missing_prob"]
    return pos[keep], day[keep]


def _assign(lf, pos, day) -> np.ndarray:
    """Index of the latest line started on or before each visit (-1 = none)."""
    big = np.int64(1 << 32)
    key_l = lf["pos"].astype(np.int64) * big + lf[Col.START]
    idx = np.searchsorted(key_l, pos.astype(np.int64) * big + day, side="right") - 1
    ok = (idx >= 0) & (lf["pos"][np.maximum(idx, 0)] == pos)
    return np.where(ok, idx, -1)


def _responses(lf, li, day, m_true, B_line) -> np.ndarray:
    """IMWG response index at each assessment (noise-free truth), capped at the best."""
    red = 1 - m_true / B_line
    idx = np.select([red >= 0.9, red >= 0.5, red >= 0.25], [2, 3, 4], default=5)
    true = np.minimum(lf["true"][li], _PD)
    cr = (true <= 1) & (m_true < 0.01 * B_line)
    idx = np.where(cr, true, np.maximum(idx, np.where(true <= 1, 2, true)))
    idx = np.where(true == _PD, _PD, idx)
    progressed = (lf["prog"][li] >= 0) & (day >= lf["prog"][li])
    return np.where(progressed, _PD, idx)


def _confirmed(pos, li, resp) -> np.ndarray:
    """Two consecutive assessments: the next one (same line) is at least as good, or PD again."""
    same = np.append((pos[1:] == pos[:-1]) & (li[1:] == li[:-1]), False)
    nxt = np.append(resp[1:], -1)
    next_patient = np.append(pos[1:] == pos[:-1], False)
    return np.where(resp == _PD, next_patient & ((nxt == _PD) | ~same), same & (nxt <= resp))


def _with_car_t(chunk, lf) -> dict[str, np.ndarray]:
    """Prepend the index CAR T as line 0: response to it, then the index progression."""

    n = chunk.patients.num_rows
    codes = {c: i for i, c in enumerate(RESPONSE_CODES)}
    resp = np.array([codes.get(c, 5) for c in chunk.patients[Col.CAR_T_BEST_RESPONSE].to_pylist()])
    zero = {
        "pos": np.arange(n),
        Col.LINE: np.zeros(n, dtype=np.int64),
        Col.START: day_numbers(chunk.patients[Col.CAR_T_DATE]),
        "prog": day_numbers(chunk.patients[Col.PROGRESSION_DATE]),
        "true": resp.astype(np.int64),
    }
    ext = {k: np.concatenate([zero[k], lf[k]]) for k in zero}
    order = np.lexsort((ext[Col.LINE], ext["pos"]))
    return {k: v[order] for k, v in ext.items()}


def _observable_progression(li, m, progressed) -> np.ndarray:
    """Make progression visible against the *observed* nadir of the line.

    IMWG PD is a rise from the lowest value measured (>= 25% and >= 0.5 g/dL;
    >= 1 g/dL when that value is >= 5 g/dL). The smooth trajectory guarantees it
    against the true nadir, but visits are 4 weeks apart, so after progression
    the burden is raised, where needed, to 1.1 x that threshold over the lowest
    value seen at this line's earlier visits (visits are sorted by patient and
    date, so each line's visits are contiguous).
    """
    if m.size == 0:
        return m
    new_group = np.append(True, li[1:] != li[:-1])
    g = np.cumsum(new_group).astype(float)
    big = float(m.max()) * 4 + 10.0
    v = np.where(progressed, big * 0.99, m) - g * big  # pre-progression values only
    cummin = np.minimum.accumulate(v) + g * big
    prior = np.where(new_group, np.inf, np.append(np.inf, cummin[:-1]))
    prior = np.where(prior >= big * 0.98, np.inf, prior)  # no earlier pre-PD visit
    rise = np.maximum(0.25 * prior, np.where(prior >= 5.0, 1.0, 0.5))
    need = progressed & np.isfinite(prior) & (li >= 0)
    return np.where(need, np.maximum(m, 1.1 * (prior + rise)), m)


def lab_tables(rng, chunk, lf, p: SimulationParams) -> tuple[pa.Table, pa.Table]:
    """Return ``(labs, assessments)`` for one chunk (assessment line 0 = the index CAR T)."""

    raw = p.section("raw")
    lf = _with_car_t(chunk, lf)
    n_pat = chunk.patients.num_rows
    b0, r, B = _line_burden(rng, lf, n_pat, p)
    pos, day = _visits(rng, chunk, raw)
    li = _assign(lf, pos, day)
    has = li >= 0
    lic = np.maximum(li, 0)
    tpu = np.where(lf["prog"][lic] >= 0, lf["prog"][lic] - lf[Col.START][lic], -1)
    m = np.where(has, _trajectory(B[lic], r[lic], tpu, day - lf[Col.START][lic], raw), b0[pos])
    progressed = has & (lf["prog"][lic] >= 0) & (day >= lf["prog"][lic])
    m = _observable_progression(li, m, progressed)
    resp = _responses(lf, lic, day, m, B[lic])
    a_pos, a_li, a_resp, a_day = pos[has], li[has], resp[has], day[has]
    ids = chunk.patients[Col.PATIENT_ID]
    assessments = pa.table({
        Col.PATIENT_ID: dict_array(ids.combine_chunks(), a_pos),
        "date": pa.array(a_day.astype(np.int32), pa.date32()),
        Col.LINE: pa.array(lf[Col.LINE][a_li].astype(np.int64)),
        "response": dict_array(RESPONSE_CODES, a_resp),
        "confirmed": pa.array(_confirmed(a_pos, a_li, a_resp)),
    })  # fmt: skip
    first_visit = has & np.append(True, (li[1:] != li[:-1]))
    site = pc.index_in(chunk.patients[Col.SITE], value_set=pa.array(p.section("baseline")["sites"]))
    g_l_prob = np.asarray(raw["serum_g_per_l_prob"])[pc.fill_null(site, 0).to_numpy()]
    labs = _labs(rng, chunk, (pos, day, m, first_visit), g_l_prob, raw)
    return labs, assessments


def _labs(rng, chunk, visits, g_l_prob, raw) -> pa.Table:
    """One row per reported test (numbers as text, as an EHR reports them)."""
    pos, day, m, first_visit = visits
    n_pat = chunk.patients.num_rows
    lc_only = rng.random(n_pat) < raw["light_chain_only_prob"]
    kappa = rng.random(n_pat) < 0.65
    g_per_l = rng.random(n_pat) < g_l_prob

    def noise() -> np.ndarray:
        return np.exp(raw["assay_cv"] * rng.normal(size=pos.size))

    lc = lc_only[pos]
    serum = np.where(lc, 0.0, m * noise())
    flc_inv = 15 + m * np.where(lc, raw["flc_per_gdl"], 60.0) * noise()
    flc_uninv = 10.0 * noise()
    ife_pos = m >= 0.02
    blocks = []
    every = np.ones(pos.size, bool)

    def add(mask, test, value, unit):
        mask = mask & (rng.random(pos.size) >= raw["test_missing_prob"])
        rows = np.flatnonzero(mask)
        blocks.append((rows, test, np.asarray(value, float)[rows], np.asarray(unit)[rows]))

    gl = g_per_l[pos]
    add(every, 0, np.where(gl, serum * 10, serum), np.where(gl, 1, 0))
    mgdl = rng.random(pos.size) < raw["flc_mg_per_dl_prob"]
    scale, unit = np.where(mgdl, 0.1, 1.0), np.where(mgdl, 3, 2)
    add(every, 1, np.where(kappa[pos], flc_inv, flc_uninv) * scale, unit)
    add(every, 2, np.where(kappa[pos], flc_uninv, flc_inv) * scale, unit)
    urine = rng.random(pos.size) < raw["urine_tested_prob"]
    add(urine, 3, np.where(lc, 0.0, m * 90 * noise()), np.full(pos.size, 4))
    # immunofixation: value -1 = POSITIVE, -2 = NEGATIVE (text results), no unit
    add(every, 4, np.where(ife_pos, -1.0, -2.0), np.full(pos.size, -1))
    add(urine, 5, np.where(ife_pos & ~lc, -1.0, -2.0), np.full(pos.size, -1))
    marrow = first_visit & (rng.random(pos.size) < raw["marrow_prob"])
    pct = np.where(ife_pos, np.clip(8 + 25 * m, 5, 90), rng.uniform(0.5, 3.0, pos.size))
    add(marrow, 6, pct, np.full(pos.size, 5))
    return _stack(chunk, pos, day, blocks)


UNITS = ("g/dL", "g/L", "mg/L", "mg/dL", "mg/24h", "%")


def _stack(chunk, pos, day, blocks) -> pa.Table:
    """Concatenate the test blocks, sort by patient, date and test, format values."""

    rows = np.concatenate([b[0] for b in blocks])
    test = np.concatenate([np.full(b[0].size, b[1]) for b in blocks])
    value = np.concatenate([b[2] for b in blocks])
    unit = np.concatenate([b[3] for b in blocks])
    order = np.lexsort((test, day[rows], pos[rows]))
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
