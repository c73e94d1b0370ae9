r"""Proportional-hazards test (R ``cox.zph``, km transform) of a Newton-round Cox model.

``cox.zph`` adds :math:`x_j\,g(t)` to the fitted model and takes the score test
at :math:`\hat\beta` (:mod:`aftercar.stats.zph`). It needs, over the event groups
t of every stratum, :math:`\sum_t g_t U_t`, :math:`\sum_t g_t I_t` and
:math:`\sum_t g_t^2 I_t`, with :math:`g` = 1 - the left-continuous Kaplan-Meier
of **all** the model's rows (pooled over sites, as R ignores strata here),
centred on its mean over the events. With strata by site each sum splits into
the sites' sums, so the test is exact from aggregates in two steps:

1. at round 0 each site adds the event table of its complete cases (events and
   censorings per whole day: the kind of table it already shares for OS) to its
   answer; the coordinator computes the pooled Kaplan-Meier and so
   :math:`g(\text{day})` (:func:`transform`);
2. after convergence one more round sends :math:`g` with :math:`\hat\beta`; each
   site returns :math:`\sum g U_t` (p), :math:`\sum g I_t`, :math:`\sum g^2 I_t`
   (p x p) and :math:`\sum_{events} g` over its own event times
   (:func:`site_sums`). The coordinator centres them (:func:`test_table`).

Under ``--suppress-below`` a site withholds its complete-case event table and
the test is not pooled (a note says so).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import chi2

from aftercar.federated import aggregate as agg
from aftercar.federated.cox import group_terms
from aftercar.schema import Col


def transform(tables: list[dict[str, list[int]]]) -> dict[str, list[float]]:
    """g = 1 - the left-continuous pooled Kaplan-Meier at each pooled event day.

    ``tables`` are the sites' complete-case event tables (``time`` in whole days,
    ``events``, ``censored``).
    """
    days = np.concatenate([np.asarray(t[Col.TIME], dtype=np.int64) for t in tables])
    ev = np.concatenate([np.asarray(t["events"], dtype=float) for t in tables])
    cens = np.concatenate([np.asarray(t["censored"], dtype=float) for t in tables])
    uniq, inv = np.unique(days, return_inverse=True)
    d = np.bincount(inv, weights=ev, minlength=len(uniq))
    total = np.bincount(inv, weights=ev + cens, minlength=len(uniq))
    at_risk = total[::-1].cumsum()[::-1]
    has = d > 0
    surv = np.cumprod(1.0 - d[has] / at_risk[has])
    before = np.concatenate(([1.0], surv[:-1]))
    return {Col.TIME: uniq[has].tolist(), "g": (1.0 - before).tolist()}


def site_sums(
    time: Any, event: Any, x: np.ndarray, beta: Any, g_table: dict[str, Any], ties: str
) -> dict[str, Any]:
    """This site's sums over its event times of g U_t, g I_t, g^2 I_t, and of g per event."""
    known = np.asarray(g_table[Col.TIME], dtype=np.int64)
    values = np.asarray(g_table["g"], dtype=float)
    gt_days, u_g, i_g = group_terms(time, event, x, beta, ties=ties)
    g = values[np.searchsorted(known, agg.whole_days(gt_days, "cox_os"))]
    ev_days = agg.whole_days(np.asarray(time, dtype=float)[np.asarray(event, dtype=bool)], "cox_os")
    g_events = float(values[np.searchsorted(known, ev_days)].sum())
    return {
        "gu": (g @ u_g).tolist(),
        "gi": np.tensordot(g, i_g, 1).tolist(),
        "ggi": np.tensordot(g * g, i_g, 1).tolist(),
        "g_events": g_events,
    }


def test_table(
    answers: list[dict[str, Any]], score: np.ndarray, info: np.ndarray, events: int, names: list
) -> list[dict[str, Any]]:
    """Per term and GLOBAL: ``chisq, df, p_value`` of the pooled test (as ``cox_zph``)."""
    p = len(names)
    sums = [a["zph"] for a in answers]
    gu = np.sum([np.asarray(s["gu"], float).reshape(p) for s in sums], axis=0)
    gi = np.sum([np.asarray(s["gi"], float).reshape(p, p) for s in sums], axis=0)
    ggi = np.sum([np.asarray(s["ggi"], float).reshape(p, p) for s in sums], axis=0)
    c = sum(s["g_events"] for s in sums) / events
    u = np.concatenate((np.zeros(p), gu - c * score))
    i12 = gi - c * info
    i22 = ggi - 2 * c * gi + c * c * info
    imat = np.block([[info, i12], [i12, i22]])
    stats = []
    for j in range(p):
        kk = np.concatenate((np.arange(p), [p + j]))
        stats.append(float(np.linalg.solve(imat[np.ix_(kk, kk)], u[kk]) @ u[kk]))
    stats.append(float(np.linalg.solve(imat, u) @ u))
    df = [1] * p + [p]
    return [
        {"term": str(n), "chisq": s, "df": float(k), "p_value": float(chi2.sf(s, k))}
        for n, s, k in zip([*names, "GLOBAL"], stats, df, strict=True)
    ]
