"""aftercar.stats: survival and response statistics that reproduce R to 1e-6.

Pure functions over arrays; imports no other aftercar stage (only
``aftercar.errors``). One module per concept: ``km`` (Kaplan-Meier),
``logrank`` (log-rank test), ``proportions`` (binomial intervals and tests,
clustered response rates), ``followup`` (reverse Kaplan-Meier follow-up),
``cox`` (Cox proportional hazards).
"""

from aftercar.stats.cox import ChiSquareTest, CoxResult, cox_ph
from aftercar.stats.km import KaplanMeier, KaplanMeierGroups, QuantileEstimate, kaplan_meier
from aftercar.stats.logrank import LogRankResult, logrank_test

__all__ = [
    "ChiSquareTest",
    "CoxResult",
    "KaplanMeier",
    "KaplanMeierGroups",
    "LogRankResult",
    "QuantileEstimate",
    "cox_ph",
    "kaplan_meier",
    "logrank_test",
]
