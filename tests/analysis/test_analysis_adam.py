"""ADaM datasets: the documented columns, and the OS analysis re-run from ADTTE alone."""

from __future__ import annotations

import pandas as pd
import pytest

from aftercar.analysis.adam import COLUMNS
from aftercar.cli import main
from aftercar.schema import DAYS_PER_MONTH
from aftercar.stats import kaplan_meier


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("adam") / "report"
    assert main(["report", "--demo", "-o", str(out), "--adam"]) == 0
    return out


@pytest.mark.parametrize("name", ["adsl", "adtte", "adrs"])
def test_datasets_have_the_documented_columns_in_csv_and_parquet(written, name):
    csv = pd.read_csv(written / "adam" / f"{name}.csv")
    parquet = pd.read_parquet(written / "adam" / f"{name}.parquet")
    assert tuple(csv.columns) == COLUMNS[name] == tuple(parquet.columns)
    assert len(csv) == len(parquet) > 0


def test_adsl_has_one_row_per_patient_and_adrs_one_per_line(written):
    adsl = pd.read_csv(written / "adam" / "adsl.csv")
    adrs = pd.read_csv(written / "adam" / "adrs.csv")
    assert len(adsl) == 79 and adsl["USUBJID"].is_unique
    assert len(adrs) == 233 and set(adrs["AVALC"].dropna()) <= {
        "sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE"
    }  # fmt: skip


def test_os_km_from_adtte_reproduces_the_reported_median(written):
    import json

    adtte = pd.read_csv(written / "adam" / "adtte.csv", parse_dates=["STARTDT", "ADT"])
    os_rows = adtte[adtte["PARAMCD"] == "OS"]
    assert ((os_rows["ADT"] - os_rows["STARTDT"]).dt.days == os_rows["AVAL"]).all()
    km = kaplan_meier(os_rows["AVAL"] / DAYS_PER_MONTH, 1 - os_rows["CNSR"])
    results = json.loads((written / "results.json").read_text())
    block = results["os_from_progression"]
    assert km.median()[0] == pytest.approx(block["median_months"], rel=1e-12)
    assert list(km.median()[1:]) == pytest.approx(block["ci95"], rel=1e-12)
    pfs1 = adtte[(adtte["PARAMCD"] == "PFS") & (adtte["LINE"] == 1)]
    fit = kaplan_meier(pfs1["AVAL"] / DAYS_PER_MONTH, 1 - pfs1["CNSR"])
    assert fit.median()[0] == pytest.approx(results["first_salvage"]["pfs"]["median_months"])


def test_adam_with_suppression_is_refused(tmp_path, capsys):
    args = ["report", "--demo", "-o", str(tmp_path / "o"), "--adam", "--suppress-below", "5"]
    assert main(args) == 2
    assert "--adam writes one row per patient" in capsys.readouterr().err
