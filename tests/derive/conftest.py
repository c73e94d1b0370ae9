"""Fixtures for the derive tests: the micro-cohort, and the backend every test runs on.

Every derivation test takes the ``backend`` fixture and runs once per engine in
:data:`BACKENDS`: DuckDB and Spark (local mode, one session for the whole test run).
An engine that cannot run here (Spark without pyspark or Java) is skipped with the
reason and its fix, never passed silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest
from micro_cohort import micro_classified, micro_lines, micro_patients

from aftercar import derive
from aftercar.backends import connect, unavailable
from aftercar.backends.spark import SMALL_DATA_CONFIG

#: Engines every derivation test runs on.
BACKENDS = ["duckdb", "spark"]


@dataclass
class Backend:
    """The derive functions bound to one engine's connection."""

    name: str
    con: Any

    def examples(self, n: int) -> int:
        """Hypothesis examples for a property: ``n`` on DuckDB, a tenth (>= 2) on Spark,
        whose every query costs a fraction of a second however small the cohort
        (``tests/spark`` compares whole simulated cohorts with DuckDB instead)."""
        return n if self.name == "duckdb" else max(2, n // 10)

    def lines(self, *args: Any, **kwargs: Any) -> pd.DataFrame:
        return derive.derive_lines(*args, con=self.con, **kwargs)

    def patients(self, *args: Any, **kwargs: Any) -> pd.DataFrame:
        return derive.derive_patients(*args, con=self.con, **kwargs)

    def cohort(self, *args: Any, **kwargs: Any) -> derive.DerivedCohort:
        return derive.derive_cohort(*args, con=self.con, **kwargs)

    def counting_process(self, patients: pd.DataFrame) -> pd.DataFrame:
        return derive.tce_counting_process(patients, con=self.con)

    def landmark(self, patients: pd.DataFrame, at: float) -> pd.DataFrame:
        return derive.landmark_cohort(patients, at, con=self.con)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> Backend:
    reason = unavailable(request.param)
    if reason:
        pytest.skip(reason)
    options = {"config": SMALL_DATA_CONFIG} if request.param == "spark" else {}
    return Backend(request.param, connect(request.param, **options))


@pytest.fixture
def micro() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return micro_patients(), micro_lines(), micro_classified()
