"""MAIC-adjusted comparison of a cohort with a benchmark's published baseline.

Takes the benchmark's ``[baseline]`` proportions and means as MAIC targets for
the matching cohort columns, weights the cohort's patients
(:func:`aftercar.benchmark.maic.maic_weights`) and reports the weighted
first-salvage ORR and median OS / first-salvage PFS with bootstrap CIs next to
the unweighted ones. Published medians are not means: they are skipped unless
the caller accepts them as proxies (``allow_median=True``), and every skipped
or proxied covariate is listed.

References
----------
Signorovitch JE, et al. Pharmacoeconomics 2010;28:935-945.
Phillippo DM, et al. NICE DSU Technical Support Document 18, 2016.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from aftercar.benchmark.maic import maic_bootstrap, maic_weights
from aftercar.benchmark.registry import Benchmark
from aftercar.errors import InputError
from aftercar.schema import Col

__all__ = ["COHORT_COLUMNS", "MaicComparison", "maic_compare", "maic_targets"]

#: Registry baseline name -> curated cohort column, where they differ.
COHORT_COLUMNS = {"age": Col.AGE_AT_CART}


@dataclass(frozen=True)
class MaicComparison:
    """Result of :func:`maic_compare` (JSON-ready via :meth:`to_dict`)."""

    benchmark: str
    targets: dict[str, float]
    skipped: dict[str, str]
    proxies: tuple[str, ...]
    n: int
    n_dropped: int
    ess: float
    balance: list[dict[str, float | str]]
    diagnostics: list[dict[str, float | str]]
    outcomes: dict[str, dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        out = asdict(self)
        out["proxies"] = list(self.proxies)
        return out


def maic_targets(
    benchmark: Benchmark, columns, *, allow_median: bool = False
) -> tuple[dict[str, float], dict[str, str], tuple[str, ...]]:
    """Targets usable for MAIC: ``(targets by cohort column, skipped with reason, proxies)``."""
    targets: dict[str, float] = {}
    skipped: dict[str, str] = {}
    proxies: list[str] = []
    for name, spec in benchmark.baseline.items():
        col = COHORT_COLUMNS.get(name, name)
        stat = spec.get("statistic", "mean")
        if col not in columns:
            skipped[name] = f"no cohort column '{col}'"
        elif stat == "median" and not allow_median:
            skipped[name] = "published as a median, not a mean (use allow_median to proxy)"
        else:
            targets[col] = float(spec["value"])
            if stat == "median":
                proxies.append(col)
    return targets, skipped, tuple(proxies)


def _outcome_rows(frame: pd.DataFrame, boot: dict[str, dict]) -> dict[str, dict[str, Any]]:
    from aftercar.stats import kaplan_meier

    out: dict[str, dict[str, Any]] = {}
    if "orr1" in frame:
        y = frame["orr1"].to_numpy(float)
        m = np.isfinite(y)
        out["orr1"] = {"unweighted": float(y[m].mean()) if m.any() else None,
                       "n_evaluable": int(m.sum()), **boot["orr"]}  # fmt: skip
    for key in ("os", "pfs1"):
        if f"{key}_time" not in frame:
            continue
        t = frame[f"{key}_time"].to_numpy(float)
        e = frame[f"{key}_event"].to_numpy(float)
        m = np.isfinite(t) & np.isfinite(e)
        med = kaplan_meier(t[m], e[m].astype(int)).median().estimate
        out[f"median_{key}"] = {"unweighted": med, "n": int(m.sum()), **boot[f"median_{key}"]}
    return out


def maic_compare(
    patients: pd.DataFrame,
    benchmark: Benchmark,
    *,
    allow_median: bool = False,
    n_boot: int = 1000,
    seed: int = 20230216,
) -> MaicComparison:
    """Weight a cohort to a benchmark's published baseline and re-estimate outcomes.

    Parameters
    ----------
    patients
        One row per patient: the baseline covariate columns plus any of
        ``orr1`` (1/0, NaN = not evaluable), ``os_time, os_event``,
        ``pfs1_time, pfs1_event`` (months; NaN = not available).
    benchmark
        Benchmark with a ``[baseline]`` section.
    allow_median
        Use published medians as if they were means (listed under ``proxies``).

    Raises
    ------
    InputError
        The benchmark publishes no usable baseline for this cohort.
    """
    targets, skipped, proxies = maic_targets(benchmark, patients.columns, allow_median=allow_median)
    if not targets:
        reasons = (
            "; ".join(f"{k}: {v}" for k, v in skipped.items()) or "the file has no baseline section"
        )
        raise InputError(
            f"Benchmark '{benchmark.name}' has no baseline figures this cohort can be matched "
            f"on ({reasons}). Fix: choose a benchmark with published baseline proportions "
            "(e.g. mouhieddine_2023) or pass allow_median."
        )
    cov = patients[list(targets)].astype("float64")
    complete = cov.notna().all(axis=1).to_numpy()
    frame = patients.loc[complete].reset_index(drop=True)
    fit = maic_weights(frame, targets)
    surv = {k: (frame[f"{k}_time"], frame[f"{k}_event"]) for k in ("os", "pfs1")
            if f"{k}_time" in frame}  # fmt: skip
    boot = maic_bootstrap(frame, targets, responded=frame.get("orr1"), survival=surv,
                          n_boot=n_boot, seed=seed)  # fmt: skip
    balance = [{"covariate": k, "target": v, "unweighted": float(fit.unweighted_means[k]),
                "weighted": float(fit.weighted_means[k])} for k, v in targets.items()]  # fmt: skip
    diag = fit.diagnostics().to_dict(orient="records")
    return MaicComparison(
        benchmark=benchmark.name, targets=targets, skipped=skipped, proxies=proxies,
        n=len(frame), n_dropped=int((~complete).sum()), ess=fit.ess, balance=balance,
        diagnostics=diag, outcomes=_outcome_rows(frame, boot),
    )  # fmt: skip
