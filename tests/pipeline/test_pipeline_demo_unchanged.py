"""The demo cohort's results.json and tables equal those of aftercar 0.1.0 (before/after).

``golden/demo_before/`` holds ``results.json`` and ``tables/*.csv`` written by
``aftercar report --demo`` at commit 3106a72, before the analysis stage and the
Ibis-only derivations replaced the pandas ones. Every number, text and list there
must still be produced (new keys may be added); floats agree to 1e-9 relative.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from aftercar.pipeline import run
from aftercar.report import write_report
from aftercar.simulate import demo_cohort_path

GOLDEN = Path(__file__).parent / "golden" / "demo_before"


def _differences(old: Any, new: Any, path: str = "") -> list[str]:
    if isinstance(old, dict):
        if not isinstance(new, dict):
            return [f"{path}: not an object"]
        out = []
        for key, value in old.items():
            if key not in new:
                out.append(f"{path}.{key}: missing")
            else:
                out += _differences(value, new[key], f"{path}.{key}")
        return out
    if isinstance(old, list):
        if not isinstance(new, list) or len(new) != len(old):
            return [f"{path}: list differs in length"]
        return [d for i, (a, b) in enumerate(zip(old, new, strict=True))
                for d in _differences(a, b, f"{path}[{i}]")]  # fmt: skip
    if isinstance(old, float) and isinstance(new, int | float) and not isinstance(new, bool):
        ok = math.isclose(old, new, rel_tol=1e-9, abs_tol=1e-12)
        return [] if ok else [f"{path}: {old!r} -> {new!r}"]
    return [] if old == new else [f"{path}: {old!r} -> {new!r}"]


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    write_report(run(demo_cohort_path()).report_input, out)
    return out


def test_results_json_keeps_every_number_of_the_previous_release(written):
    old = json.loads((GOLDEN / "results.json").read_text("utf-8"))
    new = json.loads((written / "results.json").read_text("utf-8"))
    for key in ("aftercar_version", "config_hash"):  # provenance, not results
        old["meta"].pop(key), new["meta"].pop(key)
    for doc in (old, new):  # where the checkout lives is provenance too
        doc["input"]["source"] = Path(doc["input"]["source"]).name
    assert _differences(old, new) == []


@pytest.mark.parametrize("table", sorted(p.name for p in (GOLDEN / "tables").glob("*.csv")))
def test_tables_are_unchanged(written, table):
    old = pd.read_csv(GOLDEN / "tables" / table)
    new = pd.read_csv(written / "tables" / table)
    pd.testing.assert_frame_equal(new, old, check_exact=False, rtol=1e-9)
