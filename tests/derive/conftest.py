"""Fixtures for the derive tests: the hand-worked micro-cohort of micro_cohort.py."""

from __future__ import annotations

import pandas as pd
import pytest
from micro_cohort import micro_classified, micro_lines, micro_patients


@pytest.fixture
def micro() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return micro_patients(), micro_lines(), micro_classified()
