"""Simulated cohorts in the curated format (``patients`` and ``lines`` tables).

Random streams: the cohort is generated in chunks of ``cohort.chunk_size``
patients (a parameter, default 50,000); chunk ``i`` draws from
``numpy.random.SeedSequence(seed).spawn(i + 1)[i]``. The output for a given
``(n_patients, seed, params)`` therefore does not depend on how the chunks are
written or on available memory, and patient ``j`` of a cohort of ``n`` is the same
patient in any larger cohort with the same seed when ``j`` lies in a full chunk.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aftercar.errors import InputError
from aftercar.io.dictionary import columns
from aftercar.schema import Col, response_codes
from aftercar.simulate.baseline import simulate_baseline
from aftercar.simulate.course import EVENTS, RESP_NULL, simulate_course
from aftercar.simulate.params import SimulationParams, load_params, to_day

#: Curated ``patients`` and ``lines`` columns written by the simulator, in the
#: order of the data dictionary (``data/dictionary.csv``).
PATIENT_COLUMNS = tuple(c.name for c in columns("patients"))
LINE_COLUMNS = tuple(c.name for c in columns("lines"))
_RESPONSES = response_codes()


@dataclass(frozen=True)
class SimulatedCohort:
    """A simulated cohort in the curated format, with its ground truth.

    Attributes
    ----------
    patients, lines
        Arrow tables with the curated contract columns (issue 2), ready for
        :func:`aftercar.io.write_cohort`.
    truth
        One row per line: ``patient_id, line, arm, category, tce, bcma,
        true_response`` (the arm and truth category of the regimen text, and the
        response before assessment noise).
    seed
        The seed the cohort was generated from.
    chunk_index
        Index of the chunk (raw mode draws from ``SeedSequence(seed,
        spawn_key=(chunk_index, 1))``); 0 for a cohort of several chunks.
    """

    patients: pa.Table
    lines: pa.Table
    truth: pa.Table
    seed: int
    chunk_index: int = 0

    def __repr__(self) -> str:
        return (
            f"SimulatedCohort(seed={self.seed}, patients={self.patients.num_rows}, "
            f"lines={self.lines.num_rows}, SYNTHETIC)"
        )

    def to_frames(self) -> tuple[Any, Any]:
        """Return ``(patients, lines)`` as pandas DataFrames."""
        return self.patients.to_pandas(), self.lines.to_pandas()


def _date(days: np.ndarray) -> pa.Array:
    """Day numbers to date32 with -1 as null."""
    return pa.array(days.astype(np.int32), type=pa.date32(), mask=days < 0)


#: Digits of the running number in a simulated patient id (``SYN-0000001``).
ID_DIGITS = 7


def _ids(prefix: str, numbers: np.ndarray) -> pa.Array:
    text = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width=ID_DIGITS, padding="0")
    return pc.binary_join_element_wise(prefix, text, "")


def is_simulated_ids(ids: pa.Array | pa.ChunkedArray, *, params=None) -> bool:
    """True when every id has the simulator's form: ``[cohort] id_prefix`` + 7 digits.

    Parameters
    ----------
    ids
        Patient identifiers (strings).
    params
        Simulation parameters (as :func:`load_params` accepts); the shipped
        defaults when ``None``.
    """
    prefix = load_params(params).section("cohort").get("id_prefix")
    if not prefix or len(ids) == 0:
        return False
    pattern = "^" + re.escape(prefix) + f"[0-9]{{{ID_DIGITS}}}$"
    return bool(pc.all(pc.match_substring_regex(ids, pattern)).as_py())


def _take(values: tuple[str, ...], index: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """Strings by index, as a plain string array (optionally with nulls)."""
    dictionary = pa.array(values, type=pa.string())
    arr = dictionary.take(pa.array(index.astype(np.int64), mask=null))
    return arr


def _patients_table(pts, out, ids: pa.Array, p: SimulationParams) -> pa.Table:
    b = p.section("baseline")
    n = pts["car_t"].size
    cols = {
        Col.PATIENT_ID: ids,
        Col.SITE: _take(tuple(b["sites"]), pts[Col.SITE]),
        Col.SEX: _take(("F", "M"), pts["male"].astype(np.int64)),
        Col.BIRTH_DATE: pa.nulls(n, pa.date32()),
        Col.AGE_AT_CART: pa.array(pts["age"], pa.float64()),
        Col.CAR_T_PRODUCT: _take(tuple(p.section("products")["names"]), pts["product"]),
        Col.CAR_T_DATE: _date(pts["car_t"]),
        Col.CAR_T_BEST_RESPONSE: _take(tuple(b["car_t_response_codes"]), pts["car_t_response"]),
        Col.PROGRESSION_DATE: _date(pts["progression"]),
        Col.DEATH_DATE: _date(out["death"]),
        Col.LAST_FOLLOWUP_DATE: _date(out["last_fu"]),
        Col.HIGH_RISK_CYTOGENETICS: pa.array(pts["high_risk"]),
        Col.EXTRAMEDULLARY_DISEASE: pa.array(pts["emd"]),
        Col.PRIOR_LINES: pa.array(pts[Col.PRIOR_LINES].astype(np.int64)),
        Col.TRIPLE_CLASS_REFRACTORY: pa.array(pts["tcr"]),
        Col.PENTA_REFRACTORY: pa.array(pts["penta"]),
        Col.ISS_STAGE: pa.array(pts["iss"].astype(np.int64)),
        Col.ECOG: pa.array(pts[Col.ECOG].astype(np.int64)),
    }
    return pa.table(cols)


def _end_reasons(p: SimulationParams, lines) -> pa.Array:
    names = (*EVENTS[:2], "switch", "lost to follow-up", "ongoing", "completed")
    names += tuple(p.section("course")["switch_reasons"])
    code = lines["reason"].astype(np.int64)
    code = np.where(code == 2, len(EVENTS) + 1 + lines["switch_reason"], code)
    return _take(names, code)


def _lines_tables(lines, ids: pa.Array, p: SimulationParams) -> tuple[pa.Table, pa.Table]:
    reg, arms = p.regimens, p.arms
    pid = ids.take(pa.array(lines["patient"]))
    resp = lines["response"]
    lines_t = pa.table(
        {
            Col.PATIENT_ID: pid,
            Col.LINE: pa.array(lines[Col.LINE]),
            Col.REGIMEN: _take(reg.text, lines["text"]),
            Col.START_DATE: _date(lines[Col.START]),
            Col.END_DATE: _date(lines["end"]),
            Col.BEST_RESPONSE: _take(_RESPONSES, np.maximum(resp, 0), null=resp == RESP_NULL),
            Col.PROGRESSION_DATE: _date(lines["progression"]),
            Col.CLINICAL_TRIAL: pa.array(lines["trial"]),
            Col.END_REASON: _end_reasons(p, lines),
        }
    )
    truth = pa.table(
        {
            Col.PATIENT_ID: pid,
            Col.LINE: pa.array(lines[Col.LINE]),
            "arm": _take(arms.names, lines["arm"]),
            Col.CATEGORY: _take(reg.category, lines["text"]),
            Col.TCE: pa.array(reg.tce[lines["text"]]),
            "bcma": pa.array(reg.bcma[lines["text"]]),
            "true_response": _take(_RESPONSES, lines["true_response"]),
        }
    )
    return lines_t, truth


def _empty_lines(p: SimulationParams) -> dict[str, np.ndarray]:
    keys = ("patient", Col.LINE, "arm", "text", Col.START, "end", "response", "true_response",
            "progression", "trial", "reason", "switch_reason")  # fmt: skip
    out = {k: np.zeros(0, dtype=np.int64) for k in keys}
    out["trial"] = np.zeros(0, dtype=bool)
    return out


def _last_contact(rng, pts, lines, last_fu: np.ndarray, p: SimulationParams) -> np.ndarray:
    """Move administrative censoring from the cut-off to the last visit before it.

    Patients alive at the cut-off were last seen 0-``last_contact_max_days`` days
    before it, but never before their latest recorded date. Drawn from a separate
    stream (``spawn_key=(chunk, 2)``) so the course itself is unaffected.
    """
    cutoff = to_day(p.section("cohort")["cutoff_date"])
    latest = pts["progression"].copy()
    for key in (Col.START, "end", "progression"):
        np.maximum.at(latest, lines["patient"], lines[key])
    lag = rng.integers(0, p.section("cohort")["last_contact_max_days"] + 1, last_fu.size)
    at_cutoff = last_fu == cutoff
    return np.where(at_cutoff, np.maximum(latest, cutoff - lag), last_fu)


def simulate_chunk(
    n: int, seed_seq: np.random.SeedSequence, first_number: int, p: SimulationParams, *,
    seed: int = 0, chunk_index: int = 0,
) -> SimulatedCohort:  # fmt: skip
    """Simulate ``n`` patients numbered from ``first_number`` with one random stream."""
    rng = np.random.default_rng(seed_seq)
    pts = simulate_baseline(rng, n, p)
    lines, out = simulate_course(rng, pts, p)
    if not lines:
        lines = _empty_lines(p)
    last_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(chunk_index, 2)))
    out["last_fu"] = _last_contact(last_rng, pts, lines, out["last_fu"], p)
    ids = _ids(p.section("cohort")["id_prefix"], np.arange(first_number, first_number + n))
    lines_t, truth = _lines_tables(lines, ids, p)
    patients = _patients_table(pts, out, ids, p)
    return SimulatedCohort(patients, lines_t, truth, seed, chunk_index)


def iter_chunks(
    n_patients: int, *, seed: int, params: Mapping[str, Any] | SimulationParams | None = None
) -> Iterator[SimulatedCohort]:
    """Yield the cohort chunk by chunk (memory bounded by ``cohort.chunk_size``).

    Raises
    ------
    InputError
        ``seed`` is not a whole number of 0 or more (``numpy.random.SeedSequence``).
    """
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or seed < 0:
        raise InputError(f"seed must be a whole number of 0 or more, got {seed!r}. "
                         "Fix: pass e.g. seed=1.")  # fmt: skip
    p = load_params(params)
    size = int(p.section("cohort")["chunk_size"])
    n_chunks = -(-n_patients // size)
    children = np.random.SeedSequence(seed).spawn(n_chunks)
    for i, child in enumerate(children):
        n = min(size, n_patients - i * size)
        yield simulate_chunk(n, child, 1 + i * size, p, seed=seed, chunk_index=i)


def simulate_cohort(
    n_patients: int, *, seed: int, params: Mapping[str, Any] | SimulationParams | None = None
) -> SimulatedCohort:
    """Simulate a cohort of patients relapsing after BCMA-directed CAR T.

    Parameters
    ----------
    n_patients
        Number of patients (>= 1).
    seed
        Seed of ``numpy.random.SeedSequence``; the same seed and parameters give
        the same cohort.
    params
        ``None`` for the calibrated defaults (``aftercar/data/simulation.toml``),
        a nested mapping of parameters to override, or a :class:`SimulationParams`.

    Returns
    -------
    SimulatedCohort
        ``patients`` and ``lines`` in the curated contract format and ``truth``.

    Notes
    -----
    Dates are whole days; durations in months use 30.4375 days per month. Every
    patient has at least one salvage line unless ``cohort.no_salvage_prob`` > 0
    (as in the index study, where all 79 patients had 1-10 lines).

    References
    ----------
    Van Oekelen O et al. Blood 2023;141:756 (calibration targets). Reyes KR et al.
    Blood Adv 2024;8:2207 (secondary targets). Kumar S et al. Lancet Oncol
    2016;17:e328 (IMWG response codes).
    """
    if int(n_patients) < 1:
        raise InputError(f"n_patients must be >= 1, got {n_patients}. Fix: pass a positive count.")
    chunks = list(iter_chunks(int(n_patients), seed=seed, params=params))
    if len(chunks) == 1:
        return chunks[0]
    return SimulatedCohort(
        pa.concat_tables([c.patients for c in chunks]),
        pa.concat_tables([c.lines for c in chunks]),
        pa.concat_tables([c.truth for c in chunks]),
        seed,
    )
