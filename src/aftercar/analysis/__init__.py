"""aftercar.analysis: the study's analyses as pure functions over the derived tables.

Each analysis takes typed derived tables (:mod:`aftercar.derive`) and its typed
options (:class:`AnalysisOptions`, the ``[analysis]`` section of the study TOML)
and returns an :class:`AnalysisResult`; :func:`analyse` runs them all and
assembles ``results.json``, the result tables and the figures' data
(:class:`StudyResults`) from their results only. The statistics come from
:mod:`aftercar.stats`; nothing here reads or writes files.

Modules: ``survival`` (cohort summary, OS), ``lines`` (first salvage, all lines),
``tce`` (T-cell-engaging therapy without immortal-time bias), ``baseline`` (Cox
model of OS), ``hazards`` (competing risks, RMST, clustered KM), ``descriptive``
(Table 1 long, regimen mapping), ``table1`` (Table 1 by group with p-values),
``attrition``, ``adam`` (CDISC ADaM datasets), ``figures`` (figure data),
``methods`` (methods notes), ``summaries`` (JSON shapes of statistics, PH tests),
``study`` (all of them).
"""

from aftercar.analysis.model import (
    AnalysisResult,
    Curve,
    CurveFigure,
    Figures,
    ResponseBars,
    Sequence,
    Swimmer,
)
from aftercar.analysis.options import AnalysisOptions, StatOptions
from aftercar.analysis.study import InputSummary, StudyResults, analyse

__all__ = [
    "AnalysisOptions",
    "AnalysisResult",
    "Curve",
    "CurveFigure",
    "Figures",
    "InputSummary",
    "ResponseBars",
    "Sequence",
    "StatOptions",
    "StudyResults",
    "Swimmer",
    "analyse",
]
