"""Raw mode: EHR-like records generated from a simulated cohort, with their truth.

For each chunk of a :class:`~aftercar.simulate.cohort.SimulatedCohort` this
module writes what an EHR extract holds (``raw``: patients without progression
date or lines, drug ``administrations``, ``procedures``, ``labs``) and the truth
the records came from (``truth``: the IMWG response at every assessment). All
generation is vectorised: schedules are expanded with ``np.repeat`` per drug
(a loop over the ~30 drugs, never over patients or rows).

References
----------
Kumar S et al. IMWG consensus criteria for response and MRD assessment. Lancet
Oncol 2016;17:e328 (response categories 3.2 and progression 3.3 in REFERENCE).
Label schedules: TECVAYLI, ELREXFIO, TALVEY, DARZALEX FASPRO, KYPROLIS USPI.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aftercar.schema import Col, response_codes
from aftercar.simulate.arrays import day_numbers as _days
from aftercar.simulate.arrays import dict_array
from aftercar.simulate.baseline import rowwise_categorical
from aftercar.simulate.checks import check_raw_params, source_name
from aftercar.simulate.cohort import SimulatedCohort
from aftercar.simulate.params import RESPONSE_CODES, SimulationParams, load_params

_CODES = response_codes()


@dataclass(frozen=True)
class Drug:
    """One drug's schedule (offsets in days from the line start)."""

    name: str
    forms: tuple[str, ...]
    dose: float
    unit: str
    route: str
    cycle: int
    offsets: np.ndarray
    stepup_offsets: np.ndarray
    stepup_doses: np.ndarray
    premed: bool


def load_drugs() -> dict[str, Drug]:
    """Read ``data/simulation_drugs.csv``."""
    text = resources.files("aftercar.data").joinpath("simulation_drugs.csv").read_text("utf-8")
    out = {}
    for r in csv.DictReader(io.StringIO(text)):
        full = int(r["full_start"])
        out[r["drug"]] = Drug(
            name=r["drug"],
            forms=tuple(r["forms"].split("|")),
            dose=float(r["dose"]),
            unit=r["unit"],
            route=r["route"],
            cycle=int(r["cycle_days"]),
            offsets=full + np.array([int(d) - 1 for d in r["days"].split()], dtype=np.int64),
            stepup_offsets=np.array([int(d) for d in r["stepup_offsets"].split()], dtype=np.int64),
            stepup_doses=np.array([float(d) for d in r["stepup_doses"].split()]),
            premed=r["premed"] == "true",
        )
    return out


class _Orders:
    """Interns order texts (``drug``, ``unit``, ``route``) into small dictionaries."""

    def __init__(self) -> None:
        self.index: dict[tuple[str, str, str], int] = {}

    def code(self, text: str, unit: str, route: str) -> int:
        return self.index.setdefault((text, unit, route), len(self.index))

    def columns(self, codes: np.ndarray) -> dict[str, pa.Array]:
        keys = list(self.index)
        out = {}
        for j, name in enumerate(("drug", "unit", "route")):
            values, inverse = np.unique(np.array([k[j] for k in keys], dtype=object),
                                        return_inverse=True)  # fmt: skip
            out[name] = dict_array(values.tolist(), inverse[codes])
        return out


@dataclass
class _Parts:
    """Row blocks of one raw table, concatenated at the end."""

    blocks: list[dict[str, np.ndarray]]

    def add(self, **cols: np.ndarray) -> None:
        self.blocks.append(cols)

    def cat(self, key: str) -> np.ndarray:
        return np.concatenate([b[key] for b in self.blocks]) if self.blocks else np.zeros(0)


def _line_frame(chunk: SimulatedCohort) -> dict[str, np.ndarray]:
    """Per-line integer arrays needed by raw generation."""
    p, ln = chunk.patients, chunk.lines
    pos = pc.index_in(ln[Col.PATIENT_ID], value_set=p[Col.PATIENT_ID]).to_numpy()
    death, last = _days(p[Col.DEATH_DATE]), _days(p[Col.LAST_FOLLOWUP_DATE])
    final = np.where(death >= 0, death, last)
    end = _days(ln[Col.END_DATE])
    start = _days(ln[Col.START_DATE])
    codes = {c: i for i, c in enumerate(_CODES)}
    true = np.array([codes[c] for c in chunk.truth["true_response"].to_pylist()], dtype=np.int64)
    prog = _days(ln[Col.PROGRESSION_DATE])
    same = np.append(pos[1:] == pos[:-1], False)
    nxt = np.where(same, np.append(start[1:], 0), final[pos] + 1)
    return {
        "pos": pos,
        Col.LINE: ln[Col.LINE].to_numpy(),
        Col.START: start,
        Col.STOP: np.where(end >= 0, end, final[pos]),
        "prog": prog,
        # administrations of a line stop before its progression lab and the next line
        "limit": np.where(prog >= 0, np.minimum(prog, nxt), nxt),
        "switch": same & (prog < 0),
        "missing": pc.is_null(ln[Col.BEST_RESPONSE]).to_numpy(zero_copy_only=False),
        Col.REGIMEN: np.asarray(ln[Col.REGIMEN].to_numpy(zero_copy_only=False)),
        Col.TCE: chunk.truth[Col.TCE].to_numpy(zero_copy_only=False),
        Col.CATEGORY: np.asarray(chunk.truth[Col.CATEGORY].to_numpy(zero_copy_only=False)),
        "true": true,
        "last": start.copy(),
    }


_BUNDLES = ("car_t", "transplant", "radiotherapy")
_STEROIDS = ("dexamethasone", "prednisone")
_EXCEPTION_CLASSES = ("imid", "proteasome_inhibitor")


def _switch_ok(p: SimulationParams, late: bool) -> np.ndarray:
    """``ok[a, b]``: regimen text ``b`` after a switch from text ``a`` is a new line.

    Issue 12 item 3 (Rajkumar 2015; OHDSI MM episodes): a new line needs an added drug;
    an IMiD or PI added <= 90 days after the start of a regimen with no drug of that
    class is not one (``late``: the new regimen starts more than 90 days later).
    Steroids never count; bundles (CAR T, transplant, radiotherapy) always start a line,
    but a transplant after a drug regimen is that regimen's induction -> transplant (one
    line, ``[transplant] induction_gap_days``): not drawn after a switch.
    """
    from aftercar.vocab import default_vocabulary

    vocab = default_vocabulary()

    def cls(name: str) -> str | None:
        info = vocab.drugs.get(name)
        return info.drug_class if info is not None else None

    sets = [{d for d in ds if cls(d) != "corticosteroid"} for ds in p.regimens.drugs]
    bundle = np.array([c in _BUNDLES for c in p.regimens.category])
    # a transplant after a drug regimen without progression is its induction's (one line,
    # [transplant] induction_gap_days): never drawn after a switch
    induction = np.array([c == "transplant" for c in p.regimens.category])
    ok = np.zeros((len(sets), len(sets)), bool)
    for a, da in enumerate(sets):
        classes = {cls(d) for d in da}
        for b, db in enumerate(sets):
            new = db - da
            ok[a, b] = not (induction[b] and not bundle[a]) and (
                bundle[a]
                or bundle[b]
                or any(late or cls(d) not in _EXCEPTION_CLASSES or cls(d) in classes for d in new)
            )
    return ok


def _fix_switches(rng, lf, p: SimulationParams) -> None:
    """Redraw the regimen text of a line after a switch when it adds no drug (else the
    records would show one line): a text of the same arm that does, else of any arm."""
    reg = p.regimens
    index = {t: i for i, t in enumerate(reg.text)}
    text = np.array([index[t] for t in lf[Col.REGIMEN]], dtype=np.int64)
    prev = np.flatnonzero(lf["switch"])
    rows = prev + 1
    late = lf[Col.START][rows] - lf[Col.START][prev] > 90
    ok = np.where(late[:, None], _switch_ok(p, True)[text[prev]], _switch_ok(p, False)[text[prev]])
    bad = np.flatnonzero(~ok[np.arange(rows.size), text[rows]])
    same_arm = ok[bad] & (reg.arm[None, :] == reg.arm[text[rows[bad]]][:, None])
    allowed = np.where(same_arm.any(axis=1)[:, None], same_arm, ok[bad])
    text[rows[bad]] = rowwise_categorical(rng, reg.weight[None, :] * allowed)
    lf[Col.REGIMEN] = np.asarray(reg.text, dtype=object)[text]
    lf[Col.CATEGORY] = np.asarray(reg.category, dtype=object)[text]
    lf[Col.TCE] = reg.tce[text]


def _pairs(lf, p: SimulationParams, drugs: dict[str, Drug]):
    """(line, drug name) pairs from each regimen text's drug list."""
    by_text = dict(zip(p.regimens.text, p.regimens.drugs, strict=True))
    lines_out, names_out = [], []
    for text in np.unique(lf[Col.REGIMEN]):
        rows = np.flatnonzero(lf[Col.REGIMEN] == text)
        for name in by_text.get(str(text), ()):
            if name in drugs:
                lines_out.append(rows)
                names_out.append(np.full(rows.size, name, dtype=object))
    if not lines_out:
        return np.zeros(0, np.int64), np.zeros(0, object)
    return np.concatenate(lines_out), np.concatenate(names_out)


def _expand(drug: Drug, start: np.ndarray, stop: np.ndarray):
    """Every scheduled dosing day of ``drug`` for lines starting ``start``."""
    dur = np.maximum(stop - start, 0)
    n_cyc = dur // drug.cycle + 1
    k = drug.offsets.size
    rep = np.repeat(np.arange(start.size), n_cyc * k)
    first = np.repeat(np.cumsum(n_cyc * k) - n_cyc * k, n_cyc * k)
    j = np.arange(rep.size) - first
    offset = (j // k) * drug.cycle + drug.offsets[j % k]
    keep = offset <= dur[rep]
    return rep[keep], offset[keep]


def _administer(rng, lf, p, drugs, orders: _Orders, out: _Parts) -> None:
    raw = p.section("raw")
    pair_line, pair_drug = _pairs(lf, p, drugs)
    for name in sorted(drugs):
        sel = pair_line[pair_drug == name]
        if sel.size == 0:
            continue
        d = drugs[name]
        form = rng.integers(0, len(d.forms), sel.size)
        rep, off = _expand(d, lf[Col.START][sel], lf[Col.STOP][sel])
        codes = np.array([orders.code(f"{f} {d.dose:g} {d.unit} {d.route}", d.unit, d.route)
                          for f in d.forms])  # fmt: skip
        doses = np.full(rep.size, d.dose)
        day = lf[Col.START][sel][rep] + off
        code = codes[form[rep]]
        if d.stepup_offsets.size:
            su = np.repeat(np.arange(sel.size), d.stepup_offsets.size)
            kk = np.tile(np.arange(d.stepup_offsets.size), sel.size)
            su_codes = np.array(
                [[orders.code(f"{f} {x:g} {d.unit} {d.route} step-up", d.unit, d.route)
                  for x in d.stepup_doses] for f in d.forms]
            )  # fmt: skip
            day = np.concatenate([lf[Col.START][sel][su] + d.stepup_offsets[kk], day])
            code = np.concatenate([su_codes[form[su], kk], code])
            doses = np.concatenate([d.stepup_doses[kk], doses])
            rep = np.concatenate([su, rep])
        day, keep = _noisy_days(rng, (rep, day), d, raw)
        keep &= day < lf["limit"][sel][rep]
        if name not in _STEROIDS:
            np.maximum.at(lf["last"], sel[rep][keep], day[keep])
        out.add(pos=lf["pos"][sel][rep][keep], day=day[keep], code=code[keep], dose=doses[keep])
        if d.premed:
            _premeds(lf, sel, (rep[keep], day[keep]), d, raw, (orders, out))


def _noisy_days(rng, doses, d: Drug, raw) -> tuple[np.ndarray, np.ndarray]:
    """Missed and delayed doses, except a drug's first dose in the line (the line starts on
    it) and a dose right after a missed one (two misses in a row never open a gap)."""
    rep, day = doses
    order = np.argsort((rep.astype(np.int64) << 32) + day, kind="stable")
    first = np.ones(day.size, bool)
    first[order[1:]] = rep[order[1:]] != rep[order[:-1]]
    miss = (rng.random(day.size) < raw["missed_dose_prob"]) & ~first
    prev_miss = np.zeros(day.size, bool)
    prev_miss[order[1:]] = miss[order[:-1]] & ~first[order[1:]]
    miss &= ~prev_miss
    delay = (rng.random(day.size) < raw["delayed_dose_prob"]) * rng.integers(
        1, raw["delay_max_days"] + 1, day.size
    )
    if d.cycle >= 1000:  # single-dose products (CAR T, high-dose melphalan): as scheduled
        return day, np.ones(day.size, bool)
    return day + np.where(first, 0, delay), ~miss


_PREMEDS = (
    ("acetaminophen 650 mg PO", 650, "mg", "PO"),
    ("diphenhydrAMINE 25 mg IV", 25, "mg", "IV"),
    ("dexamethasone 16 mg IV (premed)", 16, "mg", "IV"),
)


def _premeds(lf, sel, doses, d: Drug, raw, sinks: tuple[_Orders, _Parts]) -> None:
    """Premedication on each first-cycle dose day of ``doses = (line index, day)``."""
    rep, day = doses
    orders, out = sinks
    first_cycles = day - lf[Col.START][sel][rep] < raw["premed_cycles"] * min(d.cycle, 28)
    for text, dose, unit, route in _PREMEDS:
        code = orders.code(text, unit, route)
        n = int(first_cycles.sum())
        out.add(pos=lf["pos"][sel][rep][first_cycles], day=day[first_cycles],
                code=np.full(n, code), dose=np.full(n, float(dose)))  # fmt: skip


def _supportive(rng, lf, p, orders: _Orders, out: _Parts) -> None:
    """Acyclovir, zoledronic acid and IVIG orders every ~4 weeks on each line."""
    raw = p.section("raw")
    step = raw["supportive_interval_days"]
    zol_patient = rng.random(int(lf["pos"].max()) + 1 if lf["pos"].size else 0)
    items = (
        ("acyclovir 400 mg PO BID", 400.0, "mg", "PO", np.ones(lf["pos"].size, bool)),
        ("zoledronic acid (ZOMETA) 4 mg IV", 4.0, "mg", "IV",
         zol_patient[lf["pos"]] < raw["zoledronic_prob"]),
        ("IVIG (PRIVIGEN) 0.4 g/kg IV", 0.4, "g/kg", "IV",
         lf[Col.TCE] & (rng.random(lf["pos"].size) < raw["ivig_on_tce_prob"])),
    )  # fmt: skip
    for text, dose, unit, route, who in items:
        rows = np.flatnonzero(who)
        n = (np.maximum(lf[Col.STOP][rows] - lf[Col.START][rows], 0) // step + 1).astype(np.int64)
        rep = np.repeat(rows, n)
        k = np.arange(rep.size) - np.repeat(np.cumsum(n) - n, n)
        out.add(pos=lf["pos"][rep], day=lf[Col.START][rep] + k * step,
                code=np.full(rep.size, orders.code(text, unit, route)),
                dose=np.full(rep.size, dose))  # fmt: skip


def _car_t_events(rng, days, raw, orders: _Orders, adm: _Parts, proc: _Parts) -> None:
    """Apheresis, Flu/Cy lymphodepletion and infusion around each CAR-T infusion day.

    ``days = (pos, infusion, earliest)``: the apheresis is never before ``earliest``
    (the day after the previous line's start), so that the previous line's drugs are
    never "first started between apheresis and infusion" (bridging, issue 12 item 3).
    """
    pos, infusion, earliest = days
    lo, hi = raw["apheresis_days_before"]
    aph = np.maximum(infusion - rng.integers(lo, hi + 1, pos.size), earliest)
    ld = np.asarray(raw["lymphodepletion_days"], dtype=np.int64)
    proc.add(pos=pos, day=aph, code=np.full(pos.size, 0))
    proc.add(pos=pos, day=infusion + ld[0], code=np.full(pos.size, 1))
    proc.add(pos=pos, day=infusion, code=np.full(pos.size, 2))
    for text, dose in (("fludarabine 30 mg/m2 IV", 30.0), ("cyclophosphamide 300 mg/m2 IV", 300.0)):
        code = orders.code(text, "mg/m2", "IV")
        for off in ld:
            adm.add(pos=pos, day=infusion + off, code=np.full(pos.size, code),
                    dose=np.full(pos.size, dose))  # fmt: skip


_PROCEDURES = ("apheresis (leukapheresis)", "lymphodepletion (Flu/Cy)", "CAR-T cell infusion",
               "autologous stem cell transplant", "radiotherapy fraction")  # fmt: skip


def _procedures(rng, chunk, lf, raw, orders, adm: _Parts, proc: _Parts) -> None:
    car_t = _days(chunk.patients[Col.CAR_T_DATE])
    _car_t_events(rng, (np.arange(car_t.size), car_t, car_t - 10**6), raw, orders, adm, proc)
    cat = lf[Col.CATEGORY]
    rows = np.flatnonzero(cat == "car_t")
    first = lf[Col.LINE][rows] <= 1
    prev = np.where(first, car_t[lf["pos"][rows]], lf[Col.START][np.maximum(rows - 1, 0)])
    days = (lf["pos"][rows], lf[Col.START][rows], prev + 1)
    _car_t_events(rng, days, raw, orders, adm, proc)
    rows = np.flatnonzero(cat == "transplant")
    proc.add(pos=lf["pos"][rows], day=lf[Col.START][rows], code=np.full(rows.size, 3))
    rows = np.flatnonzero(cat == "radiotherapy")
    n = np.maximum(lf[Col.STOP][rows] - lf[Col.START][rows], 0) + 1
    rep = np.repeat(rows, n)
    day = lf[Col.START][rep] + np.arange(rep.size) - np.repeat(np.cumsum(n) - n, n)
    weekday = ((day + 3) % 7 < 5) | (day == lf[Col.START][rep])  # 1970-01-01: a Thursday
    proc.add(pos=lf["pos"][rep][weekday], day=day[weekday], code=np.full(int(weekday.sum()), 4))
    np.maximum.at(lf["last"], rep[weekday], day[weekday])


def _sorted(ids: pa.Array, parts: _Parts, extra: dict[str, pa.Array]) -> dict[str, Any]:
    pos, day = parts.cat("pos").astype(np.int64), parts.cat("day").astype(np.int64)
    order = np.argsort((pos << 32) + day, kind="stable")  # = lexsort((day, pos)), faster
    return {"order": order, Col.PATIENT_ID: dict_array(ids.combine_chunks(), pos[order]),
            "date": pa.array(day[order].astype(np.int32), pa.date32()), **extra}  # fmt: skip


def decode(table: pa.Table) -> pa.Table:
    """Cast dictionary-encoded string columns to plain strings."""
    cols = [c.cast(pa.string()) if pa.types.is_dictionary(c.type) else c for c in table.columns]
    return pa.table(cols, names=table.column_names)


def _records(rng, chunk, lf, p: SimulationParams) -> dict[str, pa.Table]:
    """Administrations and procedures of one chunk (``lf["last"]`` gets each line's last
    anti-myeloma administration or radiotherapy fraction)."""
    ids = chunk.patients[Col.PATIENT_ID]
    orders, adm, proc = _Orders(), _Parts([]), _Parts([])
    _administer(rng, lf, p, load_drugs(), orders, adm)
    _supportive(rng, lf, p, orders, adm)
    _procedures(rng, chunk, lf, p.section("raw"), orders, adm, proc)
    a = _sorted(ids, adm, {})
    cols = orders.columns(adm.cat("code").astype(np.int64)[a["order"]])
    administrations = pa.table({Col.PATIENT_ID: a[Col.PATIENT_ID], "date": a["date"],
                                "drug": cols["drug"], "dose": pa.array(adm.cat("dose")[a["order"]]),
                                "unit": cols["unit"], "route": cols["route"]})  # fmt: skip
    pr = _sorted(ids, proc, {})
    names = dict_array(_PROCEDURES, proc.cat("code").astype(np.int64)[pr["order"]])
    procedures = pa.table(
        {Col.PATIENT_ID: pr[Col.PATIENT_ID], "date": pr["date"], "procedure": names}
    )
    return {"administrations": administrations, "procedures": procedures}


def _codes(index: np.ndarray) -> pa.Array:
    """Response codes by level index (-1 = null: not assessed)."""
    return pa.array(np.asarray(RESPONSE_CODES, dtype=object)[np.maximum(index, 0)],
                    pa.string(), mask=index < 0)  # fmt: skip


def _date(days: np.ndarray) -> pa.Array:
    return pa.array(days.astype(np.int32), pa.date32(), mask=days < 0)


def _replace(table: pa.Table, cols: dict[str, pa.Array]) -> pa.Table:
    for name, arr in cols.items():
        if name in table.column_names:
            table = table.set_column(table.column_names.index(name), name, arr)
        else:
            table = table.append_column(name, arr)
    return table


def _truth_tables(chunk, lf, seg) -> dict[str, pa.Table]:
    """The observable truth: what the records show under the issue 12 rules.

    Lines keep their start (the first record of the line); ``end_date`` is the last
    anti-myeloma administration (or fraction) of a closed line; ``best_response`` and
    ``progression_date`` are those the labs show (empty = not assessed / none). The
    latent values the records were generated from are kept as ``latent_*`` columns.
    """
    index, salvage = seg[Col.LINE] == 0, seg[Col.LINE] > 0
    p, ln = chunk.patients, chunk.lines
    closed = pc.is_valid(ln[Col.END_DATE]).to_numpy(zero_copy_only=False)
    lines = _replace(ln, {
        Col.REGIMEN: pa.array(lf[Col.REGIMEN].tolist(), pa.string()),
        Col.END_DATE: _date(np.where(closed, lf["last"], -1)),
        Col.BEST_RESPONSE: _codes(seg["best"][salvage]),
        Col.PROGRESSION_DATE: _date(seg["prog"][salvage]),
        "latent_best_response": chunk.truth["true_response"],
        "latent_progression_date": ln[Col.PROGRESSION_DATE],
    })  # fmt: skip
    patients = _replace(p, {
        Col.CAR_T_BEST_RESPONSE: _codes(seg["best"][index]),
        Col.PROGRESSION_DATE: _date(seg["prog"][index]),
        "latent_car_t_best_response": p[Col.CAR_T_BEST_RESPONSE],
        "latent_progression_date": p[Col.PROGRESSION_DATE],
    })  # fmt: skip
    return {"patients": patients, "lines": lines}


def raw_tables(
    chunk: SimulatedCohort,
    *,
    params: Mapping[str, Any] | SimulationParams | None = None,
    encoded: bool = False,
) -> tuple[dict[str, pa.Table], dict[str, pa.Table]]:
    """Generate the raw records of one simulated chunk and the truth they show.

    Parameters
    ----------
    chunk
        One chunk from :func:`~aftercar.simulate.iter_chunks` (its ``seed`` and
        ``chunk_index`` seed the raw random stream).
    params
        Simulator parameters (section ``[raw]``).
    encoded
        Keep low-cardinality string columns (patient_id, drug, unit, route, test,
        procedure, response) dictionary-encoded, as the chunked writer does (the
        files still hold plain strings); default: plain strings.

    Returns
    -------
    (truth, raw)
        ``truth = {"patients", "lines", "assessments"}``: the curated cohort as the
        records show it under the issue 12 rules (see :func:`_truth_tables`) and every
        lab assessment; ``raw = {"patients", "administrations", "procedures", "labs"}``
        as Arrow tables (schemas in ``docs/simulation.md``).
    """
    from aftercar.simulate.labs import lab_tables

    p = load_params(params)
    check_raw_params(p.raw, source_name(params))
    rng = np.random.default_rng(
        np.random.SeedSequence(chunk.seed, spawn_key=(chunk.chunk_index, 1))
    )
    lf = _line_frame(chunk)
    _fix_switches(rng, lf, p)
    records = _records(rng, chunk, lf, p)
    labs, assessments, seg = lab_tables(rng, chunk, lf, p)
    hidden = (Col.PROGRESSION_DATE, Col.CAR_T_BEST_RESPONSE)  # derived from records, not in an EHR
    keep = [c for c in chunk.patients.column_names if c not in hidden]
    truth = {**_truth_tables(chunk, lf, seg), "assessments": assessments}
    records = {"patients": chunk.patients.select(keep), **records, "labs": labs}
    if not encoded:
        truth = {k: decode(v) for k, v in truth.items()}
        records = {k: decode(v) for k, v in records.items()}
    return truth, records
