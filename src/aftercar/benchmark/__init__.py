"""aftercar.benchmark: compare with published post-CAR-T outcomes and design the next trial.

* :mod:`~aftercar.benchmark.registry`: published benchmarks as data files
  (:func:`list_benchmarks`, :func:`get_benchmark`);
* :mod:`~aftercar.benchmark.compare`: exact binomial and one-sample log-rank
  comparisons (plus two-sample tests against reconstructed IPD);
* :mod:`~aftercar.benchmark.reconstruct`: Guyot et al. (2012) KM reconstruction;
* :mod:`~aftercar.benchmark.simon` and :mod:`~aftercar.benchmark.samplesize`:
  Simon two-stage designs and single-arm survival sample sizes;
* :mod:`~aftercar.benchmark.maic`: matching-adjusted indirect comparison.

Times are months (days / 30.4375).
"""

from aftercar.benchmark.adjust import MaicComparison, maic_compare
from aftercar.benchmark.compare import (
    Comparison,
    RateComparison,
    SurvivalComparison,
    cohort_endpoints,
    compare_cohort,
    compare_rate,
    compare_survival,
)
from aftercar.benchmark.curves import (
    ExponentialCurve,
    PiecewiseExponentialCurve,
    StepCurve,
    WeibullCurve,
    fit_reference_curve,
)
from aftercar.benchmark.maic import (
    MaicResult,
    maic_bootstrap,
    maic_weights,
    weighted_km,
    weighted_rate,
)
from aftercar.benchmark.onesample import OneSampleLogRankResult, one_sample_logrank
from aftercar.benchmark.reconstruct import Reconstruction, guyot_reconstruct
from aftercar.benchmark.registry import Benchmark, Endpoint, get_benchmark, list_benchmarks
from aftercar.benchmark.samplesize import SurvivalSampleSize, one_sample_survival_size
from aftercar.benchmark.simon import SimonDesign, SimonResult, simon_two_stage

__all__ = [
    "Benchmark",
    "Comparison",
    "Endpoint",
    "ExponentialCurve",
    "MaicComparison",
    "MaicResult",
    "OneSampleLogRankResult",
    "PiecewiseExponentialCurve",
    "RateComparison",
    "Reconstruction",
    "SimonDesign",
    "SimonResult",
    "StepCurve",
    "SurvivalComparison",
    "SurvivalSampleSize",
    "WeibullCurve",
    "cohort_endpoints",
    "compare_cohort",
    "compare_rate",
    "compare_survival",
    "fit_reference_curve",
    "get_benchmark",
    "guyot_reconstruct",
    "list_benchmarks",
    "maic_bootstrap",
    "maic_compare",
    "maic_weights",
    "one_sample_logrank",
    "one_sample_survival_size",
    "simon_two_stage",
    "weighted_km",
    "weighted_rate",
]
