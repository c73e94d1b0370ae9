"""Patient baseline: site, demographics, CAR T and the post-CAR-T progression.

All draws are vectorised over patients. Dates are integer days since
1970-01-01 (Arrow ``date32``).

References
----------
Van Oekelen O et al. Interventions and outcomes of patients with multiple myeloma
receiving salvage therapy after BCMA-directed CAR T therapy. Blood 2023;141:756.
Parameter sources are listed in ``aftercar/data/simulation.toml``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aftercar.schema import DAYS_PER_MONTH, Col
from aftercar.simulate.params import SimulationParams, to_day


def _categorical(rng: np.random.Generator, probs: np.ndarray, n: int) -> np.ndarray:
    """Draw ``n`` indices from one probability vector."""
    cum = np.cumsum(np.asarray(probs, dtype=float))
    return np.minimum(np.searchsorted(cum / cum[-1], rng.random(n), side="right"), len(cum) - 1)


def rowwise_categorical(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """Draw one column index per row of a non-negative weight matrix."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(weights.shape[0]) * cum[:, -1]
    return np.minimum((cum <= u[:, None]).sum(axis=1), weights.shape[1] - 1)


def _products(rng: np.random.Generator, p: SimulationParams, car_t: np.ndarray) -> np.ndarray:
    sec = p.section("products")
    starts = np.array([to_day(s) for s in sec["era_starts"]])
    era = np.searchsorted(starts, car_t, side="right") - 1
    probs = np.asarray(sec["era_probs"], dtype=float)[np.maximum(era, 0)]
    return rowwise_categorical(rng, probs)


def _progression(rng: np.random.Generator, p: SimulationParams, car_t: np.ndarray) -> np.ndarray:
    """Days from CAR T to the post-CAR-T progression (the index date)."""
    rel = p.section("relapse")
    n = car_t.size
    early = rng.random(n) < rel["early_prob"]
    early_m = rng.uniform(rel["early_min_months"], 6.0, n)
    late_m = 6.0 + rel["late_median_excess_months"] * np.exp(rel["late_sigma"] * rng.normal(size=n))
    ttp = np.round(np.where(early, early_m, late_m) * DAYS_PER_MONTH).astype(np.int64)
    latest = to_day(p.section("cohort")["cutoff_date"]) - rel["min_days_before_cutoff"]
    room = np.maximum(latest - car_t, 1)
    # Progression past the cut-off margin: redraw uniformly inside the window.
    too_late = ttp > room
    ttp[too_late] = 1 + (rng.random(int(too_late.sum())) * room[too_late]).astype(np.int64)
    return np.maximum(ttp, 1)


def simulate_baseline(rng: np.random.Generator, n: int, p: SimulationParams) -> dict[str, Any]:
    """Draw the baseline of ``n`` patients.

    Returns
    -------
    dict
        numpy arrays: ``site`` (index), ``male``, ``age``, ``car_t`` (day),
        ``product`` (index), ``car_t_response`` (index), ``progression`` (day),
        ``early`` (progression < 6 months after CAR T), ``high_risk``, ``emd``,
        ``prior_lines``, ``tcr``, ``penta``, ``iss``, ``ecog``.
    """
    b = p.section("baseline")
    car_t = rng.integers(to_day(b["car_t_start"]), to_day(b["car_t_end"]) + 1, n)
    ttp = _progression(rng, p, car_t)
    age = np.clip(rng.normal(b["age_mean"], b["age_sd"], n), b["age_min"], b["age_max"])
    prior = b["prior_lines_min"] + rng.poisson(b["prior_lines_poisson_mean"], n)
    penta = rng.random(n) < b["penta_refractory_prob"]
    return {
        Col.SITE: _categorical(rng, b["site_probs"], n),
        "male": rng.random(n) < b["male_prob"],
        "age": np.round(age, 1),
        "car_t": car_t,
        "product": _products(rng, p, car_t),
        "car_t_response": _categorical(rng, b["car_t_response_probs"], n),
        "progression": car_t + ttp,
        "early": ttp < 6.0 * DAYS_PER_MONTH,
        "high_risk": rng.random(n) < b["high_risk_prob"],
        "emd": rng.random(n) < b["emd_prob"],
        Col.PRIOR_LINES: np.minimum(prior, b["prior_lines_max"]),
        # penta-refractory patients are triple-class refractory by definition
        "tcr": penta | (rng.random(n) < b["triple_class_refractory_prob"]),
        "penta": penta,
        "iss": 1 + _categorical(rng, b["iss_probs"], n),
        Col.ECOG: _categorical(rng, b["ecog_probs"], n),
    }
