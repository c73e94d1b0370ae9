"""Measure what --suppress-below costs the pooled estimates (the table of docs/federated.md).

Run: ``PYTHONPATH=src:tests/federated python tests/federated/measure_suppression.py``
(one JSON line per consortium size and K).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import fedkit
import pytest

import conftest
from aftercar.config import load_config


def _row(n: int, k: int | None, sums: list[dict], results: dict) -> dict:
    os_block, first = results["os_from_progression"], results["first_salvage"]
    model = results["all_lines"]["pfs_cox_tce"]["model"]
    products = [g for s in sums for g in s["survival"]["os_by_product"].values()]
    return {
        "n": n,
        "k": k,
        "os_median": os_block["median_months"],
        "os_ci": os_block["ci95"],
        "os12": os_block["rates"][1]["surv"],
        "os24": os_block["rates"][2]["surv"],
        "fs_pfs_median": first["pfs"]["median_months"],
        "hr_tce": model["terms"][0]["hazard_ratio"],
        "orr": first["orr"]["estimate"],
        "bins": sum(len(s["survival"]["os"]["all"].get("time", [])) for s in sums),
        "withheld": sum(len(s["disclosure"].get("withheld", [])) for s in sums),
        "suppressed_groups": sum(1 for g in products if g.get("suppressed")),
    }


def main() -> None:
    config = load_config()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("aftercar.analysis.summaries.FISHER_MAX_N", 0)
        for n in (300, 1000):
            mp.setattr(conftest, "PATIENTS", n)
            sites = conftest.make_sites(Path(tempfile.mkdtemp()), config)
            for k in (None, 5, 10):
                sums = [conftest.summarise(s, config, k) for s in sites]
                results = fedkit.pooled(sums, config).results
                print(json.dumps(_row(n, k, sums, results)), flush=True)


if __name__ == "__main__":
    main()
