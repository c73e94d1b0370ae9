"""Reference curves fitted to published summaries, and the benchmark registry."""

from pathlib import Path

import numpy as np
import pytest

from aftercar.benchmark import (
    ExponentialCurve,
    StepCurve,
    fit_reference_curve,
    get_benchmark,
    list_benchmarks,
)
from aftercar.errors import ConfigError, InputError


def test_exponential_from_median_hits_the_median():
    c = ExponentialCurve.from_median(17.9)
    assert c.survival(17.9) == pytest.approx(0.5)
    assert c.median() == pytest.approx(17.9)


def test_weibull_through_median_and_landmark_is_exact():
    c = fit_reference_curve([6.0, 17.9], [0.8, 0.5], kind="weibull")
    np.testing.assert_allclose(c.survival([6.0, 17.9]), [0.8, 0.5], atol=1e-12)
    assert c.median() == pytest.approx(17.9)


def test_piecewise_exponential_passes_through_every_point():
    times, surv = [3.0, 12.0, 24.0], [0.9, 0.6, 0.45]
    c = fit_reference_curve(times, surv, kind="piecewise_exponential")
    np.testing.assert_allclose(c.survival(times), surv, atol=1e-12)
    assert c.survival(0.0) == pytest.approx(1.0)
    assert 12.0 < c.median() < 24.0
    assert c.survival(c.median()) == pytest.approx(0.5)


def test_increasing_published_points_are_refused():
    with pytest.raises(InputError, match="do not decrease"):
        fit_reference_curve([6.0, 12.0], [0.5, 0.6])


def test_nelson_aalen_step_curve_hand_worked():
    # times 1,2,3 all events, 4 censored: H = 1/4, 1/4+1/3, ... at 1, 2, 3
    c = StepCurve.from_ipd(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1, 1, 1, 0]))
    np.testing.assert_allclose(c.cumhaz([0.5, 1.0, 2.5, 3.0, 10.0]),
                               [0, 1 / 4, 1 / 4 + 1 / 3, 1 / 4 + 1 / 3 + 1 / 2,
                                1 / 4 + 1 / 3 + 1 / 2])  # fmt: skip


def test_registry_holds_the_index_study_first_with_confirmed_figures():
    names = [b.name for b in list_benchmarks()]
    assert names[0] == "van_oekelen_2023"
    assert {"reyes_2024", "mouhieddine_2023"} <= set(names)
    vo = get_benchmark("van_oekelen_2023")
    assert vo.n == 79 and vo.doi == "10.1182/blood.2022017848"
    assert vo.endpoint("os").median == 17.9 and vo.endpoint("os").median_ci == (14.0, None)
    assert vo.endpoint("orr1").rate == 0.434 and vo.endpoint("orr1").n is None
    assert vo.endpoint("pfs1").median_ci == (2.5, 4.6)
    assert vo.endpoint("tce_orr").responders == 32 and vo.endpoint("tce_orr").n == 35
    reyes = get_benchmark("reyes_2024")
    assert reyes.endpoint("orr1").rate_ci == (0.28, 0.55)
    assert reyes.endpoint("os").median == 18.0


def test_every_benchmark_file_has_citation_source_and_km_statement():
    for b in list_benchmarks():
        assert b.citation and b.source_url.startswith("http") and b.population
        assert b.km_coordinates  # says whether digitised coordinates exist
        for ep in b.endpoints.values():
            assert ep.rate is not None or ep.median is not None or ep.landmarks


def test_curve_from_a_median_only_benchmark_is_exponential():
    c = get_benchmark("van_oekelen_2023").curve("os")
    assert c.to_dict()["kind"] == "exponential"
    assert c.median() == pytest.approx(17.9)


def test_unknown_benchmark_lists_the_registered_names():
    with pytest.raises(InputError, match="van_oekelen_2023"):
        get_benchmark("no_such_study")


def test_user_benchmark_file_is_validated(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('name = "mine"\ntitle = "t"\n[endpoints.os]\nmedian = 10\nbogus = 1\n')
    with pytest.raises(ConfigError) as err:
        get_benchmark(str(path))
    text = " ".join(str(p) for p in err.value.problems)
    assert "citation" in text and "bogus" in text


def test_malformed_endpoint_values_are_listed_not_raised_raw(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(
        'name = "x"\ntitle = "t"\ncitation = "c"\nsource_url = "https://x"\n'
        'population = "p"\ntime_zero = "z"\nkm_coordinates = "none"\n'
        '[endpoints.os]\nlandmarks = [{ t = 1 }]\n[endpoints.orr]\nrate = "abc"\n'
    )
    with pytest.raises(ConfigError) as err:
        get_benchmark(str(path))
    assert {p.column for p in err.value.problems} == {"endpoints.os", "endpoints.orr.rate"}
    assert "endpoints.orr" in str(err.value)


@pytest.mark.parametrize(("entry", "column", "why"), [
    ("n = -5\nresponders = 2\nrate = 0.4", "endpoints.orr.n", "at least 1"),
    ("n = 10\nresponders = 15\nrate = 0.4", "endpoints.orr.responders", "from 0 to n"),
    ("n = 20\nresponders = 15\nrate = 0.40", "endpoints.orr.rate", "15/20 = 0.750"),
    ("rate = 0.40\nrate_ci = [0.6, 0.8]", "endpoints.orr.rate_ci", "outside its interval"),
    ("rate = 0.0", "endpoints.orr.rate", "strictly between 0 and 1"),
    ("median = 18.0\nmedian_ci = [20, 5]", "endpoints.orr.median_ci", "reversed"),
    ('median = "18"', "endpoints.orr.median", "not text"),
    ("median = 1e300", "endpoints.orr.median", "from 0 to 600"),
])  # fmt: skip
def test_contradictory_endpoint_values_are_refused(tmp_path, entry, column, why):
    """Fuzzing round 4 (G08): each was accepted silently (or a rate of 0 stopped compare
    without naming the file)."""
    path = tmp_path / "bad.toml"
    path.write_text(
        'name = "x"\ntitle = "t"\ncitation = "c"\nsource_url = "https://x"\n'
        'population = "p"\ntime_zero = "z"\nkm_coordinates = "none"\n'
        f"[endpoints.orr]\n{entry}\n"
    )
    with pytest.raises(ConfigError) as err:
        get_benchmark(str(path))
    (problem,) = err.value.problems
    assert problem.column == column and why in problem.message


def test_a_total_of_events_above_the_number_at_risk_is_refused():
    """Fuzzing round 4 (G08): total_events = 500 with 50 at risk (or -3) was ignored."""
    bench = get_benchmark(str(Path(__file__).with_name("data") / "total_events_500" /
                              "bench.toml"))  # fmt: skip
    with pytest.raises(ConfigError, match=r"km\.os\.total_events: 500 is not a number"):
        bench.curve("os")
