"""Fixtures of the raw-derivation tests: the Ibis backend is a parameter.

Every test that derives takes ``backend`` (an Ibis connection factory); DuckDB runs
now (aftercar's connection, which takes SQL compiled before from the process's memo),
and another engine (``ibis.pyspark``) is added here by extending ``BACKENDS``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from aftercar.backends import connect

sys.path.insert(0, str(Path(__file__).parent))

BACKENDS = {"duckdb": lambda: connect("duckdb")}


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
