"""aftercar.simulate: a calibrated simulator of post-CAR-T relapse courses.

:func:`simulate_cohort` draws patients relapsing after BCMA-directed CAR T and
their salvage lines (curated format, with a ``truth`` table); the parameters,
with their sources, live in ``aftercar/data/simulation.toml`` and are calibrated
to Van Oekelen et al., Blood 2023;141:756 (see ``docs/simulation.md``).
:func:`write_simulated` writes any number of patients in chunks, optionally with
raw EHR-like records; :func:`demo_cohort_path` is the shipped 79-patient
synthetic demo cohort.
"""

from aftercar.simulate.cohort import (
    SimulatedCohort,
    is_simulated_ids,
    iter_chunks,
    simulate_cohort,
)
from aftercar.simulate.demo import DEMO_PATIENTS, DEMO_SEED, demo_cohort_path
from aftercar.simulate.metrics import calibration_metrics
from aftercar.simulate.params import SimulationParams, load_params
from aftercar.simulate.writer import write_simulated

__all__ = [
    "DEMO_PATIENTS",
    "DEMO_SEED",
    "SimulatedCohort",
    "SimulationParams",
    "calibration_metrics",
    "demo_cohort_path",
    "is_simulated_ids",
    "iter_chunks",
    "load_params",
    "simulate_cohort",
    "write_simulated",
]
