"""Fixtures for the derive tests: the micro-cohort, and the backend every test runs on.

Every derivation test takes the ``backend`` fixture and runs once per engine in
:data:`BACKENDS`: DuckDB always; another engine (e.g. Spark) is added here by
name once :mod:`aftercar.backends` registers it, and is then run by every test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest
from micro_cohort import micro_classified, micro_lines, micro_patients

from aftercar import derive
from aftercar.backends import ENGINES, connect

#: Engines every derivation test runs on (those aftercar.backends knows).
BACKENDS = [name for name in ("duckdb", "pyspark") if name in ENGINES]


@dataclass
class Backend:
    """The derive functions bound to one engine's connection."""

    name: str
    con: Any

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
    return Backend(request.param, connect(request.param))


@pytest.fixture
def micro() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return micro_patients(), micro_lines(), micro_classified()
