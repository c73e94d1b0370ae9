"""aftercar.derive: the derived tables of the post-CAR-T relapse study.

One module per source turns its records into the same declared tables
(``data/derived_tables.csv``): :mod:`aftercar.derive.curated` for the curated
patients + lines workbook (raw records and OMOP sources go beside it). Each
derivation is written once as an Ibis expression and run on any backend by
:mod:`aftercar.derive.execute`:

* :func:`derive_cohort`: per-line endpoints (best response, response flags, PFS,
  TTNT) and per-patient endpoints (OS from relapse, relapse timing, lines, first
  T-cell-engaging line), typed as declared;
* :func:`tce_counting_process` and :func:`landmark_cohort`: TCE exposure without
  immortal-time bias;
* :class:`EndpointRules`: the typed ``[endpoints]`` section of the study TOML.

Months = days / 30.4375 (:data:`aftercar.schema.DAYS_PER_MONTH`). Every rule and
its source is in ``docs/methods.md``.
"""

from aftercar.derive.curated import months_between
from aftercar.derive.execute import (
    DerivedCohort,
    conform,
    derive_cohort,
    derive_lines,
    derive_patients,
    landmark_cohort,
    merge_product_spellings,
    tce_counting_process,
)
from aftercar.derive.rules import EndpointRules
from aftercar.schema import DAYS_PER_MONTH

__all__ = [
    "DAYS_PER_MONTH",
    "DerivedCohort",
    "EndpointRules",
    "conform",
    "derive_cohort",
    "derive_lines",
    "derive_patients",
    "landmark_cohort",
    "merge_product_spellings",
    "months_between",
    "tce_counting_process",
]
