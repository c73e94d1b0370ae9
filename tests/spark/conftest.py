"""The Spark connection of the Spark tests: local mode, one session for the whole run.

Skipped with the reason and its fix (pyspark or Java missing), never passed silently.
"""

from __future__ import annotations

from typing import Any

import pytest

from aftercar.backends import connect, unavailable
from aftercar.backends.spark import SMALL_DATA_CONFIG


@pytest.fixture(scope="session")
def spark() -> Any:
    """An Ibis connection to the process's local Spark session."""
    reason = unavailable("spark")
    if reason:
        pytest.skip(reason)
    return connect("spark", config=SMALL_DATA_CONFIG)


@pytest.fixture(scope="session")
def duckdb() -> Any:
    return connect("duckdb")
