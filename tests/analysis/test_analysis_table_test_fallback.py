"""table_test: exact Fisher where feasible, chi-square (with a note) where not."""

import numpy as np

from aftercar.analysis.summaries import table_test


def test_small_table_uses_fisher_exact():
    notes: list[str] = []
    out = table_test(np.array([[3, 1], [1, 3]]), notes, "t")
    assert "Fisher" in out["method"]
    # R: fisher.test(matrix(c(3,1,1,3), 2))$p.value
    assert abs(out["p_value"] - 0.4857142857142857) < 1e-9
    assert notes == []


def test_large_sparse_table_whose_exact_test_is_infeasible_falls_back_to_chisq():
    # 2 x 11 with ~600 observations: R's FEXACT fails here too (workspace error).
    table = np.vstack([np.full(11, 30), np.arange(20, 31)])
    notes: list[str] = []
    out = table_test(table, notes, "first salvage response by category")
    assert "Chi" in out["method"] or "chi" in out["method"]
    assert out["df"] == 10
    assert any("exact test infeasible" in n for n in notes)
