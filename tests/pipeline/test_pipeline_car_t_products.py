"""CAR-T products written several ways are one product in Table 1 and OS by product."""

from __future__ import annotations

import shutil

import pandas as pd

from aftercar.pipeline import run
from aftercar.simulate import demo_cohort_path


def test_spellings_of_one_product_are_merged_in_table1_and_os_by_product(tmp_path):
    folder = tmp_path / "cohort"
    shutil.copytree(demo_cohort_path(), folder)
    path = folder / "synthetic_demo_patients.csv"
    pts = pd.read_csv(path, dtype=str, keep_default_na=False)
    ide = pts.index[pts["car_t_product"] == "ide-cel"]
    pts.loc[ide[:3], "car_t_product"] = "Abecma"
    pts.loc[ide[3:5], "car_t_product"] = "Ide-cel"
    pts.to_csv(path, index=False)
    result = run(folder)
    groups = result.report_input.results["os_from_progression"]["by_product"]["groups"]
    assert "Abecma" not in groups and "Ide-cel" not in groups
    assert groups["ide-cel"]["n"] == len(ide)
    table1 = result.report_input.tables["table1"]
    products = table1[table1["characteristic"] == "CAR-T product"]["level"].tolist()
    assert "Abecma" not in products and "ide-cel" in products
