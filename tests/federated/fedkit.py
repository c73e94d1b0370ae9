"""Helpers of the federated tests: concatenated rows, deep comparison, Newton rounds."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from aftercar.federated import models
from aftercar.federated.files import SiteFiles
from aftercar.federated.study import pool_study
from aftercar.federated.summary import answer_round
from aftercar.schema import Col

TOL = 1e-10


def concatenated(sites) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every site's patients and lines in one table each, ``_site`` added, ids made unique."""
    pts, lines = [], []
    for s in sites:
        p = s.derived.patients.assign(_site=s.name)
        p[Col.PATIENT_ID] = s.name + "/" + p[Col.PATIENT_ID].astype(str)
        ln = s.derived.lines.assign(_site=s.name)
        ln[Col.PATIENT_ID] = s.name + "/" + ln[Col.PATIENT_ID].astype(str)
        pts.append(p)
        lines.append(ln)
    return pd.concat(pts, ignore_index=True), pd.concat(lines, ignore_index=True)


def assert_close(got, want, path: str = "") -> None:
    """Equal structure; numbers equal to :data:`TOL` (relative for large ones)."""
    if isinstance(want, dict):
        assert isinstance(got, dict), path
        assert set(got) == set(want), (path, set(got) ^ set(want))
        for key in want:
            assert_close(got[key], want[key], f"{path}/{key}")
    elif isinstance(want, list | tuple):
        assert len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_close(g, w, f"{path}[{i}]")
    elif isinstance(want, float) and not isinstance(want, bool):
        assert got is not None, path
        if math.isnan(want):
            assert math.isnan(got), path
        else:
            assert abs(got - want) <= TOL * max(1.0, abs(want)), (path, got, want)
    else:
        assert got == want, (path, got, want)


def assert_frames_close(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want)
    for col in want.columns:
        a, b = got[col].to_numpy(float), want[col].to_numpy(float)
        assert np.array_equal(np.isnan(a), np.isnan(b)), col
        ok = ~np.isnan(b)
        assert np.all(np.abs(a[ok] - b[ok]) <= TOL * np.maximum(1.0, np.abs(b[ok]))), col


def pooled(summaries, config, proposal=None, answers=()):
    return pool_study(
        SiteFiles(list(summaries), proposal, list(answers)),
        rules=config.endpoints,
        options=config.analysis,
        config_hash=config.config_hash(),
    )


def newton(sites, summaries, config, max_rounds: int = 30, k=None) -> tuple[dict, dict]:
    """Run the Newton protocol in process until ``cox_os`` converges.

    Returns the ``cox_os`` block and the converged proposal (the coordinator's
    side is :mod:`aftercar.federated.models`, the sites' :func:`answer_round`, under
    ``--suppress-below k`` when ``k`` is given).
    """
    opts = config.analysis
    proposal = models.first_proposal(summaries, opts, config.config_hash(), [])
    for _ in range(max_rounds):
        answers = [answer_round(s.derived, proposal, s.name, k) for s in sites]
        proposal = models.advance(proposal, answers)
        if proposal["state"].get("phase") == "converged":
            total = sum(int(s.derived.patients[Col.OS_VALID].sum()) for s in sites)
            return models.newton_result(proposal, total, opts, []), proposal
    raise AssertionError("no convergence")
