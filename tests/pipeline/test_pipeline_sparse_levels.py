"""Categories with few PFS events are flagged in the line-level Cox model (unstable HRs)."""

from __future__ import annotations

from aftercar.pipeline import run


def test_sparse_categories_are_listed_and_warned_about(micro_dir):
    result = run(micro_dir)
    block = result.report_input.results["all_lines"]["pfs_cox_by_category"]
    listed = {s["level"]: s for s in block["sparse_levels"]}
    assert listed and all(s["events"] < 5 for s in listed.values())
    assert block["reference"] not in listed
    assert any(
        "sparse levels give unstable hazard ratios" in w for w in result.report_input.warnings
    )
