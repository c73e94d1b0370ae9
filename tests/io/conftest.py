"""Fixtures of the io tests (helpers live in ``iokit``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from iokit import make_cohort


@pytest.fixture
def valid_cohort(tmp_path: Path) -> Path:
    return make_cohort(tmp_path / "cohort")
