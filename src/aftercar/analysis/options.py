"""The typed ``[analysis]`` section of the study TOML: options shared by every analysis."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AnalysisOptions:
    """Statistical options of the study's analyses (``[analysis]`` in the study TOML).

    Attributes
    ----------
    conf_level
        Confidence level of every interval.
    km_conf_type
        Kaplan-Meier interval transform: ``"log-log"``, ``"log"`` or ``"plain"``.
    proportion_method
        Binomial interval for response rates: ``"exact"`` (Clopper-Pearson) or ``"wilson"``.
    os_rates_months
        Times (months from the index date) at which OS rates are reported.
    landmark_months
        Landmark times (months from the index date) of the TCE landmark analysis.
    cox_covariates
        Baseline covariates of the Cox model of OS (absent or constant ones skipped).
    cox_ties
        Ties handling of every Cox model: ``"efron"`` or ``"breslow"``.
    line_number_pooled_from
        Lines numbered at or above this are pooled in the by-line analyses ("4+").
    naive_tce_comparison
        Also show the immortal-time-biased "ever received TCE" comparison.
    rmst_months
        Restriction times (months) of the restricted mean survival time of OS.
    table1_by
        Grouping variable of Table 1 (a patient column or ``"relapse_timing"``);
        ``""`` for the Overall column only.
    km_max_groups
        A Kaplan-Meier figure with more groups than this is drawn as small multiples.
    km_min_group_size
        A Kaplan-Meier figure with a group smaller than this (patients or lines) is
        drawn as small multiples, the small groups flagged.
    km_many_groups
        How such a figure is drawn: ``"small-multiples"`` (one panel per group, the
        others in grey behind it) or ``"overlay"`` (every curve on one panel).
    """

    conf_level: float = 0.95
    km_conf_type: str = "log-log"
    proportion_method: str = "exact"
    os_rates_months: tuple[float, ...] = (6.0, 12.0, 24.0)
    landmark_months: tuple[float, ...] = (3.0, 6.0)
    cox_covariates: tuple[str, ...] = ()
    cox_ties: str = "efron"
    line_number_pooled_from: int = 4
    naive_tce_comparison: bool = False
    table1_by: str = ""
    rmst_months: tuple[float, ...] = (12.0, 24.0)
    km_max_groups: int = 6
    km_min_group_size: int = 10
    km_many_groups: str = "small-multiples"

    def __post_init__(self) -> None:
        for name in ("os_rates_months", "landmark_months", "cox_covariates", "rmst_months"):
            object.__setattr__(self, name, tuple(getattr(self, name)))


#: Former name of :class:`AnalysisOptions` (kept for callers of aftercar <= 0.1).
StatOptions = AnalysisOptions
