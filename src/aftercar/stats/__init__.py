"""aftercar.stats: survival and response statistics that reproduce R to 1e-6.

Pure functions over arrays; imports no other aftercar stage (only
``aftercar.errors``). One module per concept: ``km`` (Kaplan-Meier),
``logrank`` (log-rank test), ``proportions`` (binomial intervals and tests,
clustered response rates), ``followup`` (reverse Kaplan-Meier follow-up),
``cox`` (Cox proportional hazards), ``zph`` (its proportional-hazards test),
``concordance`` (Harrell's C), ``rmst`` (restricted mean survival time),
``competing`` (Aalen-Johansen cumulative incidence), ``gray`` (Gray's test),
``finegray`` (Fine-Gray subdistribution hazards). See docs/statistics.md.
"""

from aftercar.stats.competing import CumulativeIncidence, cumulative_incidence
from aftercar.stats.concordance import ConcordanceResult, concordance
from aftercar.stats.cox import (
    ChiSquareTest,
    CoxControl,
    CoxResult,
    cox_cluster_meat,
    cox_ph,
    cox_wald_statistic,
)
from aftercar.stats.finegray import FineGrayResult, fine_gray
from aftercar.stats.followup import median_followup
from aftercar.stats.gray import GrayTestResult, gray_test
from aftercar.stats.km import KaplanMeier, QuantileEstimate, kaplan_meier
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
from aftercar.stats.rmst import RMSTResult, rmst
from aftercar.stats.zph import CoxZph, cox_zph

__all__ = [
    "ChiSquareTest",
    "ClusteredProportion",
    "ConcordanceResult",
    "CoxControl",
    "CoxResult",
    "CoxZph",
    "CumulativeIncidence",
    "FineGrayResult",
    "GrayTestResult",
    "KaplanMeier",
    "LogRankResult",
    "ProportionCI",
    "QuantileEstimate",
    "RMSTResult",
    "RankTest",
    "TableTest",
    "binom_test",
    "chisq_test",
    "clustered_proportion",
    "clustered_proportions",
    "concordance",
    "cox_cluster_meat",
    "cox_ph",
    "cox_wald_statistic",
    "cox_zph",
    "cumulative_incidence",
    "fine_gray",
    "fisher_test",
    "gray_test",
    "kaplan_meier",
    "kruskal_test",
    "logrank_test",
    "median_followup",
    "proportion_ci",
    "rmst",
    "wilcoxon_test",
]


def __getattr__(name: str):
    if name == "KaplanMeierGroups":  # deprecated: kaplan_meier returns one type
        from aftercar.stats import km

        return km.__getattr__(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
