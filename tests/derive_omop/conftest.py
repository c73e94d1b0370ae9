"""Shared helpers of the OMOP tests (the hand-made instance lives in ``handmade.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def handmade_result(tmp_path_factory):
    """The derivation of the unchanged hand-made instance (with its local concepts), made
    once per test process: the tests that compare a changed copy with it need not derive
    it again (~4 s each). Arrow tables: shared read-only."""
    from handmade import LOCAL_TOML, write

    from aftercar.derive.omop import derive_omop

    folder = tmp_path_factory.mktemp("handmade_ref")
    (folder / "local.toml").write_text(LOCAL_TOML, encoding="utf-8")
    return derive_omop(write(folder / "omop"), concepts=folder / "local.toml").result
