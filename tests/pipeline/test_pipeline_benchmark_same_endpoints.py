"""``benchmark compare --config`` derives exactly the endpoints ``report --config`` analyses.

Both commands go through the pipeline's read -> classify -> derive steps with the
study TOML; a non-default TOML (PFS not censored at the next line, MR counted as a
response, a relapse cut-off of 3 months) must change both the same way.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from aftercar.cli import main
from aftercar.config import load_config
from aftercar.pipeline import cohort_endpoints, run
from aftercar.schema import Col
from aftercar.simulate import demo_cohort_path

STUDY = """
[endpoints]
pfs_next_line = "ignore"
responders = ["sCR", "CR", "VGPR", "PR", "MR"]
early_relapse_months = 3.0
"""


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    path = tmp_path_factory.mktemp("study") / "study.toml"
    path.write_text(STUDY, encoding="utf-8")
    return path


def test_cohort_endpoints_equal_the_reports_derived_tables(study):
    config = load_config(study)
    result = run(demo_cohort_path(), config=config)
    eps = cohort_endpoints(demo_cohort_path(), config=config)
    pts = result.patients.loc[result.patients[Col.OS_VALID]]
    assert np.array_equal(eps["os"]["time"].to_numpy(), pts[Col.OS_MONTHS].to_numpy())
    assert np.array_equal(eps["os"]["event"].to_numpy(), pts[Col.OS_EVENT].to_numpy(int))
    first = result.lines.loc[result.lines[Col.LINE] == 1]
    assert np.array_equal(eps["pfs1"]["time"].to_numpy(), first[Col.PFS_MONTHS].to_numpy())
    orr = result.report_input.results["first_salvage"]["orr"]
    assert eps["orr1"] == (orr["responders"], orr["n"])
    default = cohort_endpoints(demo_cohort_path())  # the TOML really changes something
    assert default["orr1"] != eps["orr1"]
    assert not np.array_equal(default["pfs1"]["time"].to_numpy(), eps["pfs1"]["time"].to_numpy())


def test_cli_benchmark_compare_and_report_agree_under_the_same_toml(study, tmp_path):
    demo = str(demo_cohort_path())
    assert main(["report", demo, "-o", str(tmp_path / "r"), "--config", str(study)]) == 0
    args = ["benchmark", "compare", demo, "-o", str(tmp_path / "b"), "--config", str(study)]
    assert main(args) == 0
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    comparison = json.loads((tmp_path / "b" / "comparison.json").read_text())
    by_endpoint = {r["endpoint"]: r for r in comparison["comparisons"]}
    orr = results["first_salvage"]["orr"]
    assert (by_endpoint["orr1"]["responders"], by_endpoint["orr1"]["n"]) == (
        orr["responders"],
        orr["n"],
    )
    os_block = results["os_from_progression"]
    assert (by_endpoint["os"]["n"], by_endpoint["os"]["events"]) == (
        os_block["n"],
        os_block["events"],
    )
    assert by_endpoint["os"]["median"] == pytest.approx(os_block["median_months"], rel=1e-12)
    pfs = results["first_salvage"]["pfs"]
    assert (by_endpoint["pfs1"]["n"], by_endpoint["pfs1"]["events"]) == (pfs["n"], pfs["events"])
