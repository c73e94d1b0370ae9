"""aftercar.stats: survival and response statistics that reproduce R to 1e-6.

Pure functions over arrays; imports no other aftercar stage (only
``aftercar.errors``). One module per concept: ``km`` (Kaplan-Meier),
``logrank`` (log-rank test), ``proportions`` (binomial intervals and tests,
clustered response rates), ``followup`` (reverse Kaplan-Meier follow-up),
``cox`` (Cox proportional hazards).
"""

from aftercar.stats.cox import ChiSquareTest, CoxResult, cox_ph
from aftercar.stats.followup import median_followup
from aftercar.stats.km import KaplanMeier, KaplanMeierGroups, QuantileEstimate, kaplan_meier
from aftercar.stats.logrank import LogRankResult, logrank_test
from aftercar.stats.proportions import (
    ClusteredProportion,
    ProportionCI,
    TableTest,
    binom_test,
    chisq_test,
    clustered_proportion,
    clustered_proportions,
    fisher_test,
    proportion_ci,
)
from aftercar.stats.ranks import RankTest, kruskal_test, wilcoxon_test

__all__ = [
    "ChiSquareTest",
    "ClusteredProportion",
    "CoxResult",
    "KaplanMeier",
    "KaplanMeierGroups",
    "LogRankResult",
    "ProportionCI",
    "QuantileEstimate",
    "RankTest",
    "TableTest",
    "binom_test",
    "chisq_test",
    "clustered_proportion",
    "clustered_proportions",
    "cox_ph",
    "fisher_test",
    "kaplan_meier",
    "kruskal_test",
    "logrank_test",
    "median_followup",
    "proportion_ci",
    "wilcoxon_test",
]
