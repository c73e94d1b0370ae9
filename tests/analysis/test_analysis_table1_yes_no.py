"""Table 1 labels a yes/no characteristic Yes/No also when some values are missing.

Arrow bool columns with nulls become pandas object columns, and Table 1 then showed
the levels "False"/"True" instead of "No"/"Yes" (only in cohorts with missing values).
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from aftercar.analysis.descriptive import table1


def test_yes_no_levels_with_missing_values():
    pts = pa.table(
        {"high_risk_cytogenetics": pa.array([True, None, False, True], pa.bool_())}
    ).to_pandas()
    pts["early_relapse"] = pd.array([True, None, False, False], dtype="boolean")
    t = table1(pts, cutoff=6.0)
    rows = t.loc[t["characteristic"] == "High-risk cytogenetics"]
    assert rows["level"].tolist() == ["No", "Yes", "Missing"]
    assert rows["n"].tolist() == [1, 2, 1]
    assert rows["percent"].tolist()[:2] == [100 / 3, 200 / 3]
