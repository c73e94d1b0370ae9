"""Simon two-stage designs against Simon (1989), Controlled Clin Trials 10:1-10.

Table 1 of the paper lists designs for p1 - p0 = 0.20 and Table 2 for
p1 - p0 = 0.15, each under (alpha, beta) = (0.10, 0.10), (0.05, 0.20) and
(0.05, 0.10). Every case below has p1 - p0 = 0.20 and so comes from Table 1;
each names its (p0, p1, alpha, beta) row. Simon prints EN(p0) to one decimal
and PET(p0) to two.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from aftercar.benchmark import simon_two_stage
from aftercar.errors import InputError

# (table, p0, p1, alpha, power, optimal (r1, n1, r, n, EN, PET), minimax (...))
SIMON_1989 = [
    ("Table 1, alpha=.05 beta=.20, p0=.05 p1=.25", 0.05, 0.25, 0.05, 0.80,
     (0, 9, 2, 17, 12.0, 0.63), (0, 12, 2, 16, 13.8, 0.54)),
    ("Table 1, alpha=.05 beta=.20, p0=.10 p1=.30", 0.10, 0.30, 0.05, 0.80,
     (1, 10, 5, 29, 15.0, 0.74), (1, 15, 5, 25, 19.5, 0.55)),
    ("Table 1, alpha=.05 beta=.20, p0=.20 p1=.40", 0.20, 0.40, 0.05, 0.80,
     (3, 13, 12, 43, 20.6, 0.75), (4, 18, 10, 33, 22.3, 0.72)),
    ("Table 1, alpha=.05 beta=.20, p0=.30 p1=.50", 0.30, 0.50, 0.05, 0.80,
     (5, 15, 18, 46, 23.6, 0.72), (6, 19, 16, 39, 25.7, 0.67)),
    ("Table 1, alpha=.10 beta=.10, p0=.05 p1=.25", 0.05, 0.25, 0.10, 0.90,
     (0, 9, 2, 24, 14.5, 0.63), (0, 13, 2, 20, 16.4, 0.51)),
    ("Table 1, alpha=.05 beta=.10, p0=.10 p1=.30", 0.10, 0.30, 0.05, 0.90,
     (2, 18, 6, 35, 22.5, 0.73), (2, 22, 6, 33, 26.2, 0.62)),
]  # fmt: skip


@pytest.mark.parametrize("row", SIMON_1989, ids=[r[0] for r in SIMON_1989])
def test_simon_designs_reproduce_published_table_row(row):
    _, p0, p1, alpha, power, opt, mmx = row
    res = simon_two_stage(p0=p0, p1=p1, alpha=alpha, power=power)
    for design, expected in ((res.optimal, opt), (res.minimax, mmx)):
        assert (design.r1, design.n1, design.r, design.n) == expected[:4]
        assert design.en0 == pytest.approx(expected[4], abs=0.05)
        assert design.pet0 == pytest.approx(expected[5], abs=0.005)


def _exact_operating_characteristics(r1, n1, r, n, p):
    """Brute force P(declare promising) by summing over every (x1, x2) outcome."""
    x1 = np.arange(n1 + 1)[:, None]
    x2 = np.arange(n - n1 + 1)[None, :]
    prob = sps.binom.pmf(x1, n1, p) * sps.binom.pmf(x2, n - n1, p)
    return float(prob[(x1 > r1) & (x1 + x2 > r)].sum())


def test_reported_alpha_and_power_match_brute_force_enumeration():
    res = simon_two_stage(p0=0.434, p1=0.65, alpha=0.05, power=0.8)
    for d in (res.optimal, res.minimax):
        a = _exact_operating_characteristics(d.r1, d.n1, d.r, d.n, 0.434)
        pw = _exact_operating_characteristics(d.r1, d.n1, d.r, d.n, 0.65)
        assert d.alpha == pytest.approx(a, abs=1e-12) and a <= 0.05
        assert d.power == pytest.approx(pw, abs=1e-12) and pw >= 0.8
        assert d.pet0 == pytest.approx(sps.binom.cdf(d.r1, d.n1, 0.434), abs=1e-12)
        assert d.en0 == pytest.approx(d.n1 + (1 - d.pet0) * (d.n - d.n1), abs=1e-9)
    assert res.minimax.n <= res.optimal.n
    assert res.optimal.en0 <= res.minimax.en0


@pytest.mark.parametrize(
    "kwargs",
    [dict(p0=0.6, p1=0.4), dict(p0=0.0, p1=0.4), dict(p0=0.2, p1=0.4, alpha=0.7),
     dict(p0=0.2, p1=0.4, power=0.3)],
)  # fmt: skip
def test_invalid_design_inputs_raise_input_error(kwargs):
    with pytest.raises(InputError, match="Fix"):
        simon_two_stage(**kwargs)


def test_no_design_within_n_max_is_reported_not_silent():
    with pytest.raises(InputError, match="No Simon design with n <= 10"):
        simon_two_stage(p0=0.2, p1=0.3, n_max=10)


def _brute_force(p0, p1, alpha, power, n_max):
    """Every (r1, n1, r, n) by direct summation of P(X1 = x1) P(X2 = x2) over the
    rejection region; no pruning, no shared code with the implementation."""
    best = []
    for n in range(2, n_max + 1):
        for n1 in range(1, n):
            x1 = np.arange(n1 + 1)[:, None]
            x2 = np.arange(n - n1 + 1)[None, :]
            j0 = sps.binom.pmf(x1, n1, p0) * sps.binom.pmf(x2, n - n1, p0)
            j1 = sps.binom.pmf(x1, n1, p1) * sps.binom.pmf(x2, n - n1, p1)
            for r1 in range(n1 + 1):
                cont = x1 > r1
                for r in range(r1, n + 1):
                    region = cont & (x1 + x2 > r)
                    if j0[region].sum() <= alpha + 1e-12 and j1[region].sum() >= power - 1e-12:
                        pet = sps.binom.cdf(r1, n1, p0)
                        best.append((n1 + (1 - pet) * (n - n1), n, r1, n1, r))
                        break  # larger r only lowers power; the smallest feasible r is kept
    optimal = min(best, key=lambda d: (round(d[0], 10), d[1]))
    minimax = min(best, key=lambda d: (d[1], round(d[0], 10)))
    return optimal, minimax


@settings(max_examples=6, deadline=None)
@given(p0=st.sampled_from([0.1, 0.2, 0.3, 0.434]), gap=st.sampled_from([0.25, 0.3]),
       alpha=st.sampled_from([0.05, 0.1]), power=st.sampled_from([0.8, 0.9]))  # fmt: skip
def test_pruned_enumeration_agrees_with_brute_force(p0, gap, alpha, power):
    n_max = 30
    try:
        res = simon_two_stage(p0=p0, p1=p0 + gap, alpha=alpha, power=power, n_max=n_max)
    except InputError:
        with pytest.raises(ValueError):  # brute force finds nothing either
            _brute_force(p0, p0 + gap, alpha, power, n_max)
        return
    opt, mmx = _brute_force(p0, p0 + gap, alpha, power, n_max)
    assert res.optimal.en0 == pytest.approx(opt[0], abs=1e-9)
    assert res.minimax.n == mmx[1]
    assert res.minimax.en0 == pytest.approx(mmx[0], abs=1e-9)


def test_an_n_max_beyond_the_enumeration_is_refused():
    # fuzz round 8 (session 27): n_max = 100,000 asked numpy for 18.6 GiB (MemoryError)
    with pytest.raises(InputError, match="n_max must be at most 500"):
        simon_two_stage(p0=0.2, p1=0.25, n_max=100_000)
