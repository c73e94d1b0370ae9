"""Compare a cohort (or summary figures) with a published benchmark.

* Response rate: exact (Clopper-Pearson) CI and exact two-sided binomial test
  of the cohort's rate against the benchmark rate taken as known (p0).
* Survival: one-sample log-rank test (normal and exact Poisson) against the
  benchmark curve (reconstructed IPD when registered, else a parametric curve
  through the published median/landmarks); with reconstructed benchmark IPD
  also the two-sample log-rank test and a Cox hazard ratio (cohort vs
  benchmark), both from :mod:`aftercar.stats`.

Survival times are months (days / 30.4375) from the benchmark's time zero;
for the index study OS runs from the post-CAR-T relapse date and first-salvage
PFS from the start of the first salvage line.

References
----------
Clopper CJ, Pearson ES. The use of confidence or fiducial limits illustrated
in the case of the binomial. Biometrika 1934;26:404-413.
Finkelstein DM, Muzikansky A, Schoenfeld DA. J Natl Cancer Inst
2003;95:1434-1439 (one-sample log-rank).
Guyot P, et al. BMC Med Res Methodol 2012;12:9 (reconstructed IPD).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aftercar.benchmark.curves import ReferenceCurve
from aftercar.benchmark.onesample import OneSampleLogRankResult, one_sample_logrank
from aftercar.benchmark.registry import Benchmark
from aftercar.errors import InputError
from aftercar.schema import Col

__all__ = [
    "Comparison",
    "RateComparison",
    "SurvivalComparison",
    "cohort_endpoints",
    "compare_rate",
    "compare_survival",
    "endpoints_from_derived",
]

#: Endpoints a curated cohort provides, and the benchmark endpoint keys they match.
COHORT_ENDPOINTS = ("os", "pfs1", "orr1")


@dataclass(frozen=True)
class RateComparison:
    """Cohort response rate against a benchmark rate.

    ``p_value`` is the exact two-sided binomial test of H0: rate = benchmark
    rate (R ``binom.test``); ``lower, upper`` the exact Clopper-Pearson CI.
    """

    endpoint: str
    responders: int
    n: int
    rate: float
    lower: float
    upper: float
    benchmark_rate: float
    benchmark_label: str
    p_value: float
    conf_level: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {"type": "rate", **asdict(self)}


@dataclass(frozen=True)
class SurvivalComparison:
    """Cohort survival against a benchmark survival curve."""

    endpoint: str
    benchmark_label: str
    n: int
    events: int
    median: float | None
    median_lower: float | None
    median_upper: float | None
    benchmark_median: float | None
    benchmark_median_ci: tuple[float | None, float | None] | None
    curve: dict[str, Any]
    one_sample: OneSampleLogRankResult
    two_sample: dict[str, Any] | None = None
    km: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    benchmark_km: pd.DataFrame | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (KM tables left out)."""
        return {
            "type": "survival", "endpoint": self.endpoint,
            "benchmark_label": self.benchmark_label, "n": self.n, "events": self.events,
            "median": self.median, "median_lower": self.median_lower,
            "median_upper": self.median_upper, "benchmark_median": self.benchmark_median,
            "benchmark_median_ci": None if self.benchmark_median_ci is None
            else list(self.benchmark_median_ci),
            "benchmark_curve": self.curve, "one_sample_logrank": self.one_sample.to_dict(),
            "two_sample": self.two_sample,
        }  # fmt: skip


@dataclass(frozen=True)
class Comparison:
    """All endpoint comparisons of one cohort against one benchmark."""

    benchmark: Benchmark
    source: str
    results: tuple[RateComparison | SurvivalComparison, ...]
    notes: tuple[str, ...] = ()
    maic: Any = None  # MaicComparison when requested
    #: Counts beside an endpoint's own that its margin holds (``orr1``: the first lines
    #: not evaluable, which the report's first-line total gives back from ``n``): used by
    #: disclosure control only, never written (:mod:`aftercar.benchmark.disclosure`).
    margins: tuple[tuple[str, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The content of ``comparison.json``."""
        b = self.benchmark
        return {
            "benchmark": {"name": b.name, "citation": b.citation, "doi": b.doi,
                          "source_url": b.source_url, "population": b.population, "n": b.n,
                          "time_zero": b.time_zero, "km_coordinates": b.km_coordinates},
            "cohort": self.source,
            "comparisons": [r.to_dict() for r in self.results],
            "maic": None if self.maic is None else self.maic.to_dict(),
            "notes": list(self.notes),
        }  # fmt: skip


# --------------------------------------------------------------------------- rates


def compare_rate(
    responders: int,
    n: int,
    benchmark_rate: float,
    *,
    endpoint: str = "orr1",
    benchmark_label: str = "",
    conf_level: float = 0.95,
) -> RateComparison:
    """Exact binomial test and Clopper-Pearson CI of ``responders/n`` vs ``benchmark_rate``.

    Parameters
    ----------
    responders, n
        Responders and evaluable patients in the cohort.
    benchmark_rate
        The published rate (proportion 0-1), treated as known.

    References
    ----------
    Clopper & Pearson, Biometrika 1934. Two-sided p-value as R ``binom.test``
    (sum of probabilities no larger than that of the observed count); both from
    :func:`aftercar.stats.proportion_ci` and :func:`aftercar.stats.binom_test`.
    """
    if not (isinstance(n, int | np.integer) and n > 0):
        raise InputError(f"n must be a positive whole number (got {n!r}). Fix: e.g. --n 40.")
    if not (isinstance(responders, int | np.integer) and 0 <= responders <= n):
        raise InputError(
            f"responders must be a whole number between 0 and n={n} (got {responders!r}). "
            "Fix: count the patients with PR or better among the evaluable ones."
        )
    if not 0.0 < benchmark_rate < 1.0:
        raise InputError(f"Benchmark rate must be strictly between 0 and 1 (got {benchmark_rate})")
    from aftercar.stats import binom_test, proportion_ci

    ci = proportion_ci(int(responders), int(n), method="exact", conf_level=conf_level)
    p_value = binom_test(int(responders), int(n), float(benchmark_rate))
    return RateComparison(
        endpoint=endpoint, responders=int(responders), n=int(n), rate=responders / n,
        lower=float(ci.lower), upper=float(ci.upper), benchmark_rate=float(benchmark_rate),
        benchmark_label=benchmark_label, p_value=float(p_value), conf_level=conf_level,
    )  # fmt: skip


# ------------------------------------------------------------------------ survival


def _two_sample(time, event, ipd: pd.DataFrame) -> dict[str, Any]:
    from aftercar.stats import cox_ph, logrank_test

    t = np.r_[np.asarray(time, float), ipd["time"].to_numpy(float)]
    e = np.r_[np.asarray(event, int), ipd["event"].to_numpy(int)]
    g = np.r_[np.ones(len(time)), np.zeros(len(ipd))]
    lr = logrank_test(t, e, g)
    cox = cox_ph(t, e, pd.DataFrame({"cohort_vs_benchmark": g}))
    return {
        "logrank_chisq": float(lr.chisq), "logrank_df": int(lr.df),
        "logrank_p": float(lr.p_value), "hazard_ratio": float(cox.hazard_ratio[0]),
        "hr_lower": float(cox.hr_lower[0]), "hr_upper": float(cox.hr_upper[0]),
        "hr_p": float(cox.p[0]), "benchmark_n": len(ipd),
        "benchmark_events": int(ipd["event"].sum()),
        "note": "benchmark arm = pseudo-IPD reconstructed from the published KM curve (Guyot 2012)",
    }  # fmt: skip


def compare_survival(
    time,
    event,
    benchmark: Benchmark,
    endpoint: str,
    *,
    curve_kind: str = "auto",
    alternative: str = "two-sided",
    conf_level: float = 0.95,
) -> SurvivalComparison:
    """Compare cohort survival with a benchmark endpoint's curve.

    Parameters
    ----------
    time, event
        Cohort follow-up (months from the benchmark's time zero) and event flags.
    benchmark, endpoint
        The benchmark and the key of a time-to-event endpoint (e.g. ``"os"``).
    curve_kind
        ``"auto"`` (reconstructed IPD when registered, else exponential or
        piecewise exponential through the published points), ``"exponential"``,
        ``"weibull"`` or ``"piecewise_exponential"``.
    alternative
        For the one-sample test: ``"two-sided"``, ``"less"`` (cohort has fewer
        events than the benchmark predicts) or ``"greater"``.

    References
    ----------
    Finkelstein DM et al. J Natl Cancer Inst 2003;95:1434-1439.
    """
    from aftercar.stats import kaplan_meier

    ep = benchmark.endpoint(endpoint)
    curve: ReferenceCurve = benchmark.curve(endpoint, kind=curve_kind)
    osl = one_sample_logrank(time, event, curve, alternative=alternative, conf_level=conf_level)
    km = kaplan_meier(np.asarray(time, float), np.asarray(event, int), conf_level=conf_level)
    med = km.median()
    ipd = benchmark.reconstructed_ipd(endpoint) if curve_kind == "auto" else None
    bkm = None
    if ipd is not None:
        bkm = kaplan_meier(ipd["time"].to_numpy(float), ipd["event"].to_numpy(int)).table
    return SurvivalComparison(
        endpoint=endpoint, benchmark_label=ep.label, n=len(np.asarray(time)),
        events=int(np.sum(event)), median=med.estimate, median_lower=med.lower,
        median_upper=med.upper, benchmark_median=ep.median, benchmark_median_ci=ep.median_ci,
        curve=curve.to_dict(), one_sample=osl,
        two_sample=None if ipd is None else _two_sample(time, event, ipd),
        km=km.table, benchmark_km=bkm,
    )  # fmt: skip


# -------------------------------------------------------------------- from cohorts


def endpoints_from_derived(
    patients: pd.DataFrame, lines: pd.DataFrame, *, source: str = ""
) -> dict[str, Any]:
    """OS from relapse, first-salvage ORR and PFS from a cohort's derived tables.

    Parameters
    ----------
    patients, lines
        Tables ``patient_endpoints`` and ``line_endpoints`` of
        :func:`aftercar.derive.derive_cohort` (the pipeline derives them with the
        study's rules: :func:`aftercar.pipeline.cohort_endpoints`).
    source
        Where the cohort was read from (for the comparison's provenance).

    Returns
    -------
    dict
        ``os``: DataFrame ``time, event`` (valid OS rows); ``pfs1``: the same for
        line 1; ``orr1``: ``(responders, evaluable)``; ``patients``: one row per
        patient for MAIC; ``source``; ``notes`` (rows left out and why).
    """
    notes = []
    valid = patients[Col.OS_VALID].to_numpy(bool)
    if (~valid).any():
        notes.append(f"OS: {int((~valid).sum())} patient(s) without a valid OS time left out")
    first = lines[lines[Col.LINE] == 1]
    pfs_ok = np.isfinite(first[Col.PFS_MONTHS].to_numpy(float))
    if (~pfs_ok).any():
        notes.append(f"PFS1: {int((~pfs_ok).sum())} first line(s) without a PFS time left out")
    evaluable = first[Col.EVALUABLE].fillna(False).to_numpy(bool)
    responded = first[Col.RESPONDED].fillna(False).to_numpy(bool) & evaluable
    n_no_line = int(len(patients) - len(first))
    if n_no_line:
        notes.append(f"ORR1/PFS1: {n_no_line} patient(s) with no salvage line")
    notes.append(f"ORR1: {int(len(first) - evaluable.sum())} first line(s) not evaluable")
    per_patient = _per_patient(patients, first, evaluable, responded, pfs_ok)
    return {
        "patients": per_patient,
        "os": pd.DataFrame({"time": patients.loc[valid, Col.OS_MONTHS].to_numpy(float),
                            "event": patients.loc[valid, Col.OS_EVENT].to_numpy(int)}),
        "pfs1": pd.DataFrame({"time": first[Col.PFS_MONTHS].to_numpy(float)[pfs_ok],
                              "event": first[Col.PFS_EVENT].to_numpy(int)[pfs_ok]}),
        "orr1": (int(responded.sum()), int(evaluable.sum())),
        "orr1_not_evaluable": int(len(first) - evaluable.sum()),
        "source": source,
        "notes": notes,
    }  # fmt: skip


def cohort_endpoints(path: str | Path, *, date_format: str | None = None) -> dict[str, Any]:
    """Deprecated: use :func:`aftercar.pipeline.cohort_endpoints` (it takes ``config=``).

    Reads, classifies and derives with the default study configuration (and
    ``date_format``) through the pipeline, then :func:`endpoints_from_derived`.
    """
    warnings.warn(
        "aftercar.benchmark.compare.cohort_endpoints is deprecated; use "
        "aftercar.pipeline.cohort_endpoints(cohort, config=...), which applies the study TOML.",
        DeprecationWarning,
        stacklevel=2,
    )
    from aftercar import pipeline  # deprecated path only: benchmark does not use the pipeline
    from aftercar.config import load_config

    config = load_config()
    if date_format:
        config = config.replace("input", date_format=date_format)
    return pipeline.cohort_endpoints(path, config=config)


_BASELINE = (
    Col.AGE_AT_CART,
    Col.HIGH_RISK_CYTOGENETICS,
    Col.EXTRAMEDULLARY_DISEASE,
    Col.PRIOR_LINES,
    Col.TRIPLE_CLASS_REFRACTORY,
    Col.PENTA_REFRACTORY,
    Col.ISS_STAGE,
    Col.ECOG,
)


def _per_patient(patients, first, evaluable, responded, pfs_ok) -> pd.DataFrame:
    """One row per patient: baseline covariates, OS, and first-line ORR/PFS (NaN = none)."""
    cols = [c for c in _BASELINE if c in patients.columns]
    out = patients[[Col.PATIENT_ID, *cols]].copy()
    for c in cols:
        out[c] = pd.to_numeric(out[c].astype("Float64"), errors="coerce").astype(float)
    valid = patients[Col.OS_VALID].to_numpy(bool)
    out["os_time"] = np.where(valid, patients[Col.OS_MONTHS].to_numpy(float), np.nan)
    out[Col.OS_EVENT] = np.where(valid, patients[Col.OS_EVENT].to_numpy(float), np.nan)
    line1 = pd.DataFrame({
        Col.PATIENT_ID: first[Col.PATIENT_ID].to_numpy(),
        "orr1": np.where(evaluable, responded.astype(float), np.nan),
        "pfs1_time": np.where(pfs_ok, first[Col.PFS_MONTHS].to_numpy(float), np.nan),
        "pfs1_event": np.where(pfs_ok, first[Col.PFS_EVENT].to_numpy(float), np.nan),
    })  # fmt: skip
    out[Col.PATIENT_ID] = out[Col.PATIENT_ID].astype(str)
    line1[Col.PATIENT_ID] = line1[Col.PATIENT_ID].astype(str)
    return out.merge(line1, on=Col.PATIENT_ID, how="left", validate="one_to_one")


#: Why a survival endpoint with no times is not compared (a valid cohort may have none).
_NO_TIMES = {
    "os": "no patient with a valid OS time",
    "pfs1": "no patient with a first salvage line (no PFS time)",
}


def compare_cohort(
    endpoints: dict[str, Any],
    benchmark: Benchmark,
    *,
    which: tuple[str, ...] = COHORT_ENDPOINTS,
    curve_kind: str = "auto",
    alternative: str = "two-sided",
    conf_level: float = 0.95,
) -> Comparison:
    """Compare derived cohort endpoints (see :func:`cohort_endpoints`) with a benchmark.

    Endpoints the benchmark does not report, and endpoints the cohort has no data
    for (no evaluable first salvage line, no PFS or OS time: e.g. a cohort with no
    salvage lines), are skipped with a note, never silently.
    ``alternative`` applies to the one-sample log-rank tests (``"less"`` = the
    cohort has fewer events than the benchmark predicts); rate tests are two-sided.
    """
    results: list[RateComparison | SurvivalComparison] = []
    notes = list(endpoints.get("notes", []))
    for key in which:
        if key not in benchmark.endpoints:
            notes.append(f"{key}: not reported by {benchmark.name}; not compared")
            continue
        ep = benchmark.endpoints[key]
        if key == "orr1" or ep.kind == "rate":
            x, n = endpoints[key]
            if n == 0:
                notes.append(f"{key}: no evaluable patients; not compared")
                continue
            results.append(compare_rate(x, n, ep.rate, endpoint=key, benchmark_label=ep.label,
                                        conf_level=conf_level))  # fmt: skip
            continue
        df = endpoints[key]
        if len(df) == 0:
            notes.append(f"{key}: {_NO_TIMES.get(key, 'no patient with a time')}; not compared")
            continue
        results.append(compare_survival(
            df["time"], df["event"], benchmark, key, curve_kind=curve_kind,
            alternative=alternative, conf_level=conf_level,
        ))  # fmt: skip
    margins = (("orr1", int(endpoints.get("orr1_not_evaluable", 0))),)
    return Comparison(benchmark, str(endpoints.get("source", "")), tuple(results), tuple(notes),
                      margins=margins)  # fmt: skip
