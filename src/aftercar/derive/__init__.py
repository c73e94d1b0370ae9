"""aftercar.derive: endpoints of the post-CAR-T relapse study.

* :func:`derive_lines`: one row per salvage line with best response, response
  flags, PFS and time to next treatment;
* :func:`derive_patients`: one row per patient with OS from relapse, early vs
  late relapse, number of lines and the start of the first T-cell-engaging line;
* :func:`tce_counting_process` and :func:`landmark_cohort`: TCE exposure without
  immortal-time bias;
* :func:`attrition`: the cohort flow from rows read to rows analysed;
* :mod:`aftercar.derive.ibis_lines`: the line endpoints as backend-neutral Ibis
  expressions (DuckDB / Spark) for cohorts that live in a database; a parity test
  keeps them equal to :func:`derive_lines`.

Months = days / 30.4375 everywhere. Every rule and its source is in
``docs/methods.md``.
"""

from aftercar.derive.attrition import analysis_exclusions, attrition
from aftercar.derive.endpoints import (
    DAYS_PER_MONTH,
    RESPONSE_ORDER,
    EndpointRules,
    derive_lines,
    derive_patients,
    months_between,
    response_flags,
)
from aftercar.derive.exposure import landmark_cohort, tce_counting_process

__all__ = [
    "DAYS_PER_MONTH",
    "RESPONSE_ORDER",
    "EndpointRules",
    "analysis_exclusions",
    "attrition",
    "derive_lines",
    "derive_patients",
    "landmark_cohort",
    "months_between",
    "response_flags",
    "tce_counting_process",
]
