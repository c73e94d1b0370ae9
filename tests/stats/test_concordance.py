"""concordance against R survival 3.5-3 ``concordance()`` and an O(n^2) pair count.

Reference values: ``concordance_cases.json`` from ``make_concordance_cases.R`` (next to
this file) on veteran (ties in time and score, weights, strata, reverse), aml,
mgus2 (ties; with delayed entry) and heart (counting process) in ``data/``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rparity import assert_r_close

from aftercar.stats import ConcordanceResult, concordance

HERE = Path(__file__).parent
CASES = {c["name"]: c for c in json.loads((HERE / "concordance_cases.json").read_text())}


def _run(name):
    data = HERE / "data"
    vet = pd.read_csv(data / "veteran.csv")
    if name == "veteran_karno":
        return concordance(vet["time"], vet["status"], vet["karno"])
    if name == "veteran_age_reverse":
        return concordance(vet["time"], vet["status"], vet["age"], reverse=True)
    if name == "veteran_weights":
        w = np.linspace(0.5, 1.5, len(vet))
        return concordance(vet["time"], vet["status"], vet["karno"], weights=w)
    if name == "veteran_strata":
        return concordance(vet["time"], vet["status"], vet["karno"], strata=vet["celltype"])
    if name == "aml":
        aml = pd.read_csv(data / "aml.csv")
        return concordance(aml["time"], aml["status"], (aml["x"] == "Maintained").astype(float))
    if name.startswith("mgus2"):
        mg = pd.read_csv(data / "mgus2.csv")
        entry = mg["entry"] if name == "mgus2_entry" else None
        return concordance(mg["etime"], mg["cause"] > 0, mg["w"], entry=entry)
    hr = pd.read_csv(data / "heart.csv")
    return concordance(hr["stop"], hr["event"], hr["id"] + 10 * hr["transplant"], entry=hr["start"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_concordance_matches_r(name):
    ref, res = CASES[name], _run(name)
    assert isinstance(res, ConcordanceResult)
    assert_r_close([res.concordance], ref["concordance"])
    assert_r_close([res.var], ref["var"])
    counts = [res.concordant, res.discordant, res.tied_x, res.tied_y, res.tied_xy]
    assert_r_close(counts, ref["count"])


def _brute(t, d, x, w, e):
    later = (t[None, :] > t[:, None]) | ((t[None, :] == t[:, None]) & ~d[None, :])
    comp = d[:, None] & later & (e[None, :] < t[:, None])
    ww = w[:, None] * w[None, :]
    conc = (ww * (comp & (x[None, :] > x[:, None]))).sum()
    disc = (ww * (comp & (x[None, :] < x[:, None]))).sum()
    tied = (ww * (comp & (x[None, :] == x[:, None]))).sum()
    return conc, disc, tied


@pytest.mark.parametrize("seed", range(12))
def test_pair_counts_equal_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    t = rng.integers(1, 12, n).astype(float)
    e = np.where(rng.random(n) < 0.5, np.floor(t * rng.random(n)) - 0.5, -1.0)
    d = rng.random(n) < 0.6
    d[0] = True
    x = rng.integers(0, 5, n).astype(float)
    w = rng.uniform(0.2, 2.0, n)
    res = concordance(t, d, x, weights=w, entry=e)
    np.testing.assert_allclose(
        [res.concordant, res.discordant, res.tied_x], _brute(t, d, x, w, e), rtol=1e-12
    )


def test_frame_interval_and_errors():
    res = _run("veteran_karno")
    frame = res.to_frame()
    assert frame["concordance"].iloc[0] == res.concordance
    assert res.lower < res.concordance < res.upper
    assert res.std_err == pytest.approx(np.sqrt(res.var))
    none = concordance([1, 2, 3], [0, 0, 0], [1, 2, 3])  # no comparable pair: R's NaN
    assert np.isnan(none.concordance) and np.isnan(none.std_err)
    assert none.concordant == none.discordant == none.tied_x == 0.0
