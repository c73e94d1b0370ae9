"""Comparisons of cohorts and summaries with benchmarks, and their written outputs."""

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from aftercar.benchmark import compare_rate, compare_survival, get_benchmark
from aftercar.benchmark.compare import compare_cohort
from aftercar.benchmark.output import write_comparison
from aftercar.errors import InputError
from aftercar.pipeline import cohort_endpoints
from aftercar.stats import kaplan_meier

DEMO = Path(str(resources.files("aftercar.data").joinpath("demo")))


def test_rate_comparison_matches_exact_binomial_by_hand():
    res = compare_rate(20, 30, 0.434)
    # two-sided exact p: sum of P(X = k) over k with P(X = k) <= P(X = 20)
    pmf = sps.binom.pmf(np.arange(31), 30, 0.434)
    expected_p = pmf[pmf <= pmf[20] * (1 + 1e-7)].sum()
    assert res.p_value == pytest.approx(expected_p, rel=1e-9)
    # Clopper-Pearson limits from beta quantiles
    assert res.lower == pytest.approx(sps.beta.ppf(0.025, 20, 11))
    assert res.upper == pytest.approx(sps.beta.ppf(0.975, 21, 10))


@pytest.mark.parametrize(("x", "n"), [(5, 0), (-1, 10), (11, 10)])
def test_bad_summary_counts_are_input_errors(x, n):
    with pytest.raises(InputError):
        compare_rate(x, n, 0.434)


def test_survival_comparison_uses_the_fitted_benchmark_curve():
    bm = get_benchmark("van_oekelen_2023")
    time = np.array([2.0, 5.0, 9.0, 14.0, 20.0, 30.0])
    event = np.array([1, 1, 0, 1, 1, 0])
    res = compare_survival(time, event, bm, "os")
    rate = np.log(2) / 17.9
    assert res.one_sample.expected == pytest.approx(rate * time.sum())
    assert res.one_sample.observed == 4
    assert res.two_sample is None  # no published KM coordinates for the index study
    assert res.median == kaplan_meier(time, event).median().estimate


def _write_user_benchmark(tmp_path: Path) -> Path:
    """A user benchmark with digitised KM data (simulated, for the two-sample path)."""
    rng = np.random.default_rng(7)
    t_event = rng.exponential(18.0, 150)
    t_cens = rng.uniform(6.0, 48.0, 150)
    t, e = np.minimum(t_event, t_cens), (t_event <= t_cens).astype(int)
    tab = kaplan_meier(t, e).table
    steps = tab[tab["n_event"] > 0]
    pd.DataFrame({"time": np.r_[steps["time"], t.max()],
                  "survival": np.r_[steps["surv"], steps["surv"].iloc[-1]]}).to_csv(
        tmp_path / "os_curve.csv", index=False)  # fmt: skip
    grid = np.arange(0.0, t.max(), 6.0)
    pd.DataFrame({"time": grid, "n_risk": [(t >= g).sum() for g in grid]}).to_csv(
        tmp_path / "os_at_risk.csv", index=False
    )
    path = tmp_path / "sim.toml"
    path.write_text(
        'name = "sim"\ntitle = "simulated"\ncitation = "simulation"\n'
        'source_url = "https://example.org"\npopulation = "simulated"\nn = 150\n'
        'time_zero = "relapse"\nkm_coordinates = "simulated digitised curve"\n'
        '[endpoints.os]\nlabel = "OS"\nmedian = 12.5\n'
        '[km.os]\ncurve = "os_curve.csv"\nat_risk = "os_at_risk.csv"\n'
        f"total_events = {int(e.sum())}\n"
    )
    return path


def test_two_sample_tests_against_reconstructed_ipd(tmp_path):
    bm = get_benchmark(str(_write_user_benchmark(tmp_path)))
    rng = np.random.default_rng(8)
    time = rng.exponential(18.0, 60)
    event = np.ones(60, int)
    res = compare_survival(time, event, bm, "os")
    assert res.curve["kind"] == "nelson_aalen"
    ts = res.two_sample
    assert ts["benchmark_n"] == 150
    assert 0 < ts["logrank_p"] <= 1 and ts["hr_lower"] < ts["hazard_ratio"] < ts["hr_upper"]


def test_demo_cohort_comparison_writes_json_html_and_figures(tmp_path):
    eps = cohort_endpoints(DEMO)
    assert len(eps["os"]) == 79
    comp = compare_cohort(eps, get_benchmark("van_oekelen_2023"))
    paths = write_comparison(comp, tmp_path)
    for name in ("comparison.json", "comparison.html", "km_overlay_os.svg", "km_overlay_os.png",
                 "km_overlay_pfs1.svg", "km_overlay_pfs1.png"):  # fmt: skip
        assert paths[name].exists() and paths[name].stat().st_size > 0
    data = json.loads((tmp_path / "comparison.json").read_text())
    kinds = {c["endpoint"]: c["type"] for c in data["comparisons"]}
    assert kinds == {"os": "survival", "pfs1": "survival", "orr1": "rate"}
    orr = next(c for c in data["comparisons"] if c["endpoint"] == "orr1")
    assert orr["benchmark_rate"] == 0.434 and 0 < orr["n"] <= 79
    page = (tmp_path / "comparison.html").read_text()
    assert page.count("<svg") == 2  # both figures inline
    for external in ("<script", "<link", "<img", "src=", "url(http", 'href="http', "@import"):
        assert external not in page  # self-contained: nothing fetched when opened
    assert "10.1182/blood.2022017848" in page


def test_endpoint_missing_from_benchmark_is_noted_not_silent():
    eps = {"orr1": (10, 20), "notes": [], "source": "summary"}
    comp = compare_cohort(eps, get_benchmark("mouhieddine_2023"), which=("orr1",))
    assert comp.results == ()
    assert any("orr1: not reported by mouhieddine_2023" in n for n in comp.notes)


def test_maic_adjusted_comparison_matches_published_baseline():
    from aftercar.benchmark.adjust import maic_compare

    eps = cohort_endpoints(DEMO)
    res = maic_compare(eps["patients"], get_benchmark("mouhieddine_2023"), n_boot=200, seed=3)
    # proportions published by Mouhieddine 2023 are matched exactly
    assert res.targets == {"high_risk_cytogenetics": 0.78, "triple_class_refractory": 0.89,
                           "penta_refractory": 0.44}  # fmt: skip
    for row in res.balance:
        assert row["weighted"] == pytest.approx(row["target"], abs=1e-8)
    # medians are not means: skipped, and said so
    assert set(res.skipped) == {"age", "prior_lines"} and res.proxies == ()
    assert 1 < res.ess < res.n == 79
    assert set(res.outcomes) == {"orr1", "median_os", "median_pfs1"}
    orr = res.outcomes["orr1"]
    assert orr["lower"] <= orr["estimate"] <= orr["upper"] and orr["n_evaluable"] <= 79
    proxied = maic_compare(eps["patients"], get_benchmark("mouhieddine_2023"), n_boot=100,
                           allow_median=True)  # fmt: skip
    assert proxied.targets["age_at_cart"] == 67.0 and "age_at_cart" in proxied.proxies


def test_maic_without_published_baseline_is_an_input_error():
    from aftercar.benchmark.adjust import maic_compare

    eps = cohort_endpoints(DEMO)
    with pytest.raises(InputError, match="no baseline figures"):
        maic_compare(eps["patients"], get_benchmark("van_oekelen_2023"))


def test_a_cohort_without_salvage_lines_compares_os_and_skips_pfs1_and_orr1_with_a_reason():
    """fuzz2 #9: a valid cohort with no salvage line (empty PFS1 table, no evaluable
    first line) stopped with an internal numpy message; now OS is compared and PFS1
    and ORR1 are skipped, each with a plain note."""
    rng = np.random.default_rng(9)
    eps = {
        "os": pd.DataFrame({"time": rng.uniform(1, 40, 20), "event": rng.integers(0, 2, 20)}),
        "pfs1": pd.DataFrame({"time": np.array([], float), "event": np.array([], int)}),
        "orr1": (0, 0),
        "notes": ["ORR1/PFS1: 20 patient(s) with no salvage line"],
        "source": "no-lines",
    }
    comp = compare_cohort(eps, get_benchmark("van_oekelen_2023"))
    assert [r.endpoint for r in comp.results] == ["os"]
    assert "pfs1: no patient with a first salvage line (no PFS time); not compared" in comp.notes
    assert "orr1: no evaluable patients; not compared" in comp.notes


def test_an_os_table_without_rows_is_skipped_with_a_reason():
    eps = {"os": pd.DataFrame({"time": [], "event": []}), "notes": [], "source": "x"}
    comp = compare_cohort(eps, get_benchmark("van_oekelen_2023"), which=("os",))
    assert comp.results == ()
    assert comp.notes == ("os: no patient with a valid OS time; not compared",)
