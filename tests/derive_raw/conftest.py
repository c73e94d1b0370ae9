"""Fixtures of the raw-derivation tests: the Ibis backend is a parameter.

Every test that derives takes ``backend`` (an Ibis connection factory); DuckDB runs
now, and another engine (``ibis.pyspark``) is added here by extending ``BACKENDS``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import ibis
import pytest

sys.path.insert(0, str(Path(__file__).parent))

BACKENDS = {"duckdb": lambda: ibis.duckdb.connect()}


@pytest.fixture(scope="module", params=sorted(BACKENDS))
def backend(request):
    """A factory of fresh Ibis connections of one backend."""
    return BACKENDS[request.param]


@pytest.fixture(scope="module")
def cases(backend):
    """The micro-cases of raw_cases.py derived once per backend."""
    from raw_cases import build_cases

    from aftercar.derive.raw.derive import derive_raw

    return derive_raw(build_cases().tables(), con=backend())
