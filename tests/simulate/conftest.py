"""Shared simulated cohorts for the simulator tests (generated once per session)."""

from __future__ import annotations

import pytest

from aftercar.simulate import simulate_cohort


@pytest.fixture(scope="session")
def cohort_5k():
    """5,000 simulated patients (seed 11)."""
    return simulate_cohort(5_000, seed=11)
