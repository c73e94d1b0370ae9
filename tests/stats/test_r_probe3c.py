"""Infinitesimal-jackknife standard errors of KM and CIF with case weights spanning 1e3 to
2e7 (third R probe, defect C; R 4.2.2, survival 3.5-3): reference values in
``probe3c_cases.json``, written by ``make_probe3c_cases.R`` (next to this file), which also
holds the data. R agrees with exact rational arithmetic on these to 1e-10; aftercar's
expanded sums were off by up to 100% before the variances were summed without
cancellation (``aftercar.stats._stable``)."""

from __future__ import annotations

import json
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from aftercar.errors import StatisticalWarning
from aftercar.stats import _stable, cumulative_incidence, kaplan_meier

CASES = json.loads(Path(__file__).with_name("probe3c_cases.json").read_text())


def _close(got, expected, what: str) -> None:
    # NaN where R has NA (null in the JSON); 1e-6 relative, and 1e-13 absolute for the
    # standard errors that are 0 in exact arithmetic (R: 0 or 1e-17 noise)
    want = np.array([np.nan if v is None else v for v in expected], dtype=float)
    got = np.asarray(got, dtype=float)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-13, err_msg=what)


def _values(case, key):
    return None if case[key] is None else np.array(case[key], dtype=float)


@pytest.mark.parametrize("case", CASES["km"], ids=lambda c: c["name"])
def test_km_jackknife_se_with_weights_spanning_1e7_equals_r(case):
    # survfit(Surv(entry, time, status) ~ 1, weights=, [id=, robust=TRUE]): summary(censored=TRUE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)  # fewer than 10 clusters
        fit = kaplan_meier(
            case["time"], case["status"], weights=case["weights"], entry=_values(case, "entry"),
            cluster=case["cluster"], conf_type="log",
        )  # fmt: skip
    table = fit.table
    np.testing.assert_allclose(table["time"], case["out_time"])
    for col in ("surv", "std_err", "lower", "upper"):
        _close(table[col], case[col], f"{case['name']} {col}")


@pytest.mark.parametrize("case", CASES["cif"], ids=lambda c: c["name"])
def test_cif_jackknife_se_with_weights_spanning_1e7_equals_r(case):
    # survfit(Surv(entry, time, factor(status)) ~ 1, weights=, id=): pstate, std.err, limits
    fit = cumulative_incidence(
        case["time"], case["status"], weights=case["weights"], entry=_values(case, "entry")
    )
    for cause in case["causes"]:
        k = int(cause["cause"][0])
        rows = fit.table[fit.table["cause"] == k]
        np.testing.assert_allclose(rows["time"], case["out_time"])
        for col in ("estimate", "std_err"):
            _close(rows[col], cause[col], f"{case['name']} cause {k} {col}")
        for col in ("lower", "upper"):  # R's limits are NA where the estimate is 0
            want = np.array([np.nan if v is None else v for v in cause[col]], dtype=float)
            ok = rows["estimate"].to_numpy() > 0
            _close(rows[col].to_numpy()[ok], want[ok], f"{case['name']} cause {k} {col}")


def test_double_double_window_sums_are_exact_to_about_eps_squared():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(2000) * 10.0 ** rng.integers(-12, 12, 2000)
    acc = _stable.prefix(x)
    exact = np.cumsum([Fraction(0)] + [Fraction(float(v)) for v in x])
    scale = Fraction(float(np.abs(x).sum()))
    for end, begin in ((1, 0), (17, 5), (999, 998), (2000, 5), (2000, 1999)):
        hi, lo = _stable.window(acc, end, begin)
        err = abs(Fraction(float(hi)) + Fraction(float(lo)) - (exact[end] - exact[begin]))
        assert err <= scale * Fraction(1, 2**90)  # a plain cumulative sum: about 2^-53


def test_piece_squares_equals_direct_sum():
    rng = np.random.default_rng(7)
    k, n = 37, 60
    lo = rng.integers(0, k, n)
    hi = np.minimum(lo + rng.integers(0, k, n), k)
    coef = rng.standard_normal((n, 2))
    basis = rng.standard_normal(k)

    def coef_at(rows, node_start):  # value c0 + c1 * (basis(j) - basis(node_start - 1))
        before = np.where(node_start > 0, basis[np.maximum(node_start - 1, 0)], 0.0)
        return np.column_stack((coef[rows, 0] + coef[rows, 1] * before, coef[rows, 1]))

    def basis_at(level):
        j = np.arange(k)
        start = (j >> level) << level
        return np.column_stack((np.ones(k), basis - np.where(start > 0, basis[start - 1], 0.0)))

    got = _stable.piece_squares(lo, hi, coef_at, basis_at, k)
    want = np.zeros(k)
    for i in range(n):
        for j in range(lo[i], hi[i]):
            want[j] += (coef[i, 0] + coef[i, 1] * basis[j]) ** 2
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_cancellation_free_path_equals_fast_path_on_ordinary_data(seed, monkeypatch):
    # the fast expanded sums are accurate here: forcing the piecewise sums (the path
    # taken when weights span 1e3 or more) must give the same standard errors
    import aftercar.stats.competing as competing
    import aftercar.stats.km as km

    rng = np.random.default_rng(seed)
    n = 40
    time = np.round(rng.exponential(5, n), 1) + 0.5
    entry = np.where(rng.random(n) < 0.5, np.round(time * rng.uniform(0, 0.9, n), 1), 0.0)
    weights = np.round(rng.uniform(0.2, 2, n), 2)
    status = rng.integers(0, 3, n)
    cluster = rng.integers(0, 12, n)
    fits = []
    for tol in (km._REL_TOL, -1.0):  # -1: every variance takes the piecewise sums
        monkeypatch.setattr(km, "_REL_TOL", tol)
        monkeypatch.setattr(competing, "_REL_TOL", tol)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StatisticalWarning)
            fits.append(
                [
                    kaplan_meier(time, status > 0, entry=entry, weights=weights).table,
                    kaplan_meier(time, status > 0, entry=entry, cluster=cluster).table,
                    kaplan_meier(time, status > 0, weights=weights, cluster=cluster).table,
                    cumulative_incidence(time, status, entry=entry, weights=weights).table,
                    cumulative_incidence(time, status, weights=weights).table,
                ]
            )
    for fast, piecewise in zip(*fits, strict=True):
        np.testing.assert_allclose(piecewise["std_err"], fast["std_err"], rtol=1e-9, atol=1e-13)
