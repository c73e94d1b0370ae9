"""Wilcoxon rank-sum and Kruskal-Wallis tests equal R's (``make_rank_cases.R``) to 1e-6."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from rparity import assert_r_close

from aftercar.errors import InputError
from aftercar.stats.ranks import kruskal_test, wilcox_distribution, wilcoxon_test

CASES = json.loads((Path(__file__).parent / "rank_cases.json").read_text())


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_rank_tests_equal_r(case):
    if case["test"] == "wilcoxon":
        res = wilcoxon_test(case["x"], case["y"])
        assert res.method == case["method"]
    else:
        res = kruskal_test(case["x"], case["g"])
        assert res.df == case["df"]
    assert_r_close([res.statistic], [case["statistic"]])
    assert_r_close([res.p_value], [case["p_value"]])


def test_exact_distribution_sums_to_one_and_is_symmetric():
    dist = wilcox_distribution(7, 11)
    assert dist.sum() == pytest.approx(1.0) and np.allclose(dist, dist[::-1])
    assert np.allclose(wilcox_distribution(11, 7), dist)
    assert wilcox_distribution(2, 2).tolist() == pytest.approx([1 / 6, 1 / 6, 2 / 6, 1 / 6, 1 / 6])


def test_missing_values_dropped_and_empty_sample_refused():
    a = wilcoxon_test([1.0, np.nan, 3.0, 4.0], [2.0, 5.0, 6.0])
    assert a.p_value == wilcoxon_test([1.0, 3.0, 4.0], [2.0, 5.0, 6.0]).p_value
    with pytest.raises(InputError):
        wilcoxon_test([np.nan], [1.0])
    with pytest.raises(InputError):
        kruskal_test([1.0, 2.0], ["a", "a"])
