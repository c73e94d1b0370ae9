"""The report's result tables as a reader sees them (:class:`.display.DisplayTable`).

Each builder takes a suppressed result table (the DataFrame written as
``tables/<name>.csv``) and/or ``results.json`` and returns human headers, estimates
formatted as "18.0 (12.8-23.1)" or "44.0% (32.5-55.9); 33/75", therapy categories
in the taxonomy's labels, and footnotes naming every confidence-interval method
used. Unknown tables get a generic rendering with labelled headers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from aftercar.report import display as d
from aftercar.report.labels import Labeller, label
from aftercar.schema import Col

#: Footnote of each proportion CI method (``method`` of a response block).
PROPORTION_METHODS: dict[str, str] = {
    "exact": "exact (Clopper-Pearson) binomial 95% CI",
    "wilson": "Wilson score 95% CI",
    "patient-clustered": "patient-clustered 95% CI (cluster-robust sandwich variance on the "
    "logit scale: lines of one patient are correlated)",
    "exact-clusters": "exact (Clopper-Pearson) 95% CI on the number of patients (every or no "
    "line responded, so the clustered variance is undefined)",
}

#: Markers of footnotes attached to cells.
MARKS = "abcdefgh"

#: Tables listed long enough to scroll on screen (every row prints).
SCROLLING = frozenset({"regimen_mapping", "analysis_exclusions", "excluded"})


@dataclass(frozen=True)
class Context:
    """What the builders need besides the table: labels, results, interval settings."""

    labels: Labeller
    results: dict[str, Any]
    km_conf_type: str = "log-log"
    conf_level: float = 0.95

    @property
    def km_note(self) -> str:
        """Footnote of Kaplan-Meier intervals."""
        return (
            f"Kaplan-Meier estimates; {self.conf_level:.0%} CIs of survival with the "
            f"{self.km_conf_type} transform (R survfit conf.type = \"{self.km_conf_type}\"), "
            "of medians by Brookmeyer-Crowley. NE: not estimable (the curve or its limit "
            "does not reach 50%)."
        )


def get(results: dict[str, Any], path: str) -> Any:
    """The value at a dotted ``results.json`` path (``None`` when absent)."""
    node: Any = results
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _col(frame: pd.DataFrame, name: str) -> list[Any]:
    if name not in frame:
        return [None] * len(frame)
    return frame[name].astype(object).where(frame[name].notna(), None).tolist()


def os_summary(name: str, frame: pd.DataFrame, ctx: Context) -> d.DisplayTable:
    """OS: median and survival rates with CIs per group."""
    rates = sorted(
        (float(m.group(1)), c)
        for c in frame.columns
        if (m := re.fullmatch(r"os_(\d+(?:\.\d+)?)m", str(c)))
    )
    columns = ["Group", "Patients", "Deaths", "Median OS, months (95% CI)"]
    columns += [f"OS at {m:g} months, % (95% CI)" for m, _ in rates]
    rows = []
    for i in range(len(frame)):
        r = frame.iloc[i]
        row = [r.get("group"), d.count(r.get("n")), d.count(r.get("events"))]
        row.append(d.estimate_ci(r.get("median_months"), r.get("lower"), r.get("upper")))
        row += [d.percent_ci(r.get(c), r.get(f"{c}_lower"), r.get(f"{c}_upper")) for _, c in rates]
        rows.append(row)
    return d.make(
        name,
        "Overall survival from post-CAR-T progression",
        columns,
        rows,
        numeric=[False] + [True] * (len(columns) - 1),
        footnotes=[ctx.km_note, "OS: overall survival, from progression after CAR T to death."],
    )


def _orr_marks(methods: list[Any]) -> tuple[dict[str, str], list[str]]:
    used = [m for m in dict.fromkeys(str(x) for x in methods if x is not None)]
    marks = {m: MARKS[i % len(MARKS)] for i, m in enumerate(used)}
    notes = [f"{marks[m]} {PROPORTION_METHODS.get(m, m + ' 95% CI')}." for m in used]
    return marks, notes


def response_table(name: str, frame: pd.DataFrame, ctx: Context) -> d.DisplayTable:
    """Response (ORR, >= VGPR, >= CR) and median PFS per category or line."""
    key = Col.LINE if Col.LINE in frame else Col.CATEGORY
    marks, notes = _orr_marks(_col(frame, "ci_method"))
    columns = [
        label(key), "Lines (patients)", "Evaluable lines",
        "ORR, % (95% CI); responders / evaluable", "≥VGPR, n", "≥CR, n", "Median PFS, months",
    ]  # fmt: skip
    rows = []
    for i in range(len(frame)):
        r = frame.iloc[i]
        group = ctx.labels.category(r[key]) if key == Col.CATEGORY else str(r[key])
        orr = d.percent_ci(r.get("orr"), r.get("lower"), r.get("upper"))
        orr += f"; {d.count(r.get('responders'))}/{d.count(r.get(Col.EVALUABLE))}"
        mark = marks.get(str(r.get("ci_method")), "")
        rows.append([
            group, f"{d.count(r.get('lines'))} ({d.count(r.get('patients'))})",
            d.count(r.get(Col.EVALUABLE)), f"{orr} {mark}".strip(),
            d.count(r.get("vgpr_or_better_n")), d.count(r.get("cr_or_better_n")),
            d.number(r.get("pfs_median_months")),
        ])  # fmt: skip
    notes += [
        "ORR: overall response rate (sCR, CR, VGPR or PR, IMWG 2016) over response-evaluable "
        "lines; lines with a best response of NE or missing are not evaluable.",
        ctx.km_note,
    ]
    return d.make(
        name, _TITLES.get(name, label(name)), columns, rows,
        numeric=[False, True, True, True, True, True, True], footnotes=notes,
    )  # fmt: skip


def pfs_table(name: str, frame: pd.DataFrame, ctx: Context) -> d.DisplayTable:
    """PFS per category: plain and patient-clustered (robust) CIs of the median."""
    clustered = get(ctx.results, "all_lines.pfs_clustered.by_category") or {}
    columns = [
        "Therapy category", "Lines", "Events", "Median PFS, months (95% CI)",
        "Median PFS, months (patient-clustered 95% CI)",
    ]  # fmt: skip
    rows = []
    for i in range(len(frame)):
        r = frame.iloc[i]
        robust = clustered.get(str(r.get(Col.CATEGORY))) or {}
        ci = d.bounds(robust.get("ci95"))
        rows.append([
            ctx.labels.category(r.get(Col.CATEGORY)), d.count(r.get("n")),
            d.count(r.get("events")),
            d.estimate_ci(r.get("median_months"), r.get("lower"), r.get("upper")),
            d.estimate_ci(robust.get("median_months"), ci[0], ci[1]) if robust else "–",
        ])  # fmt: skip
    return d.make(
        name, _TITLES[name], columns, rows, numeric=[False, True, True, True, True],
        footnotes=[
            ctx.km_note,
            "Lines, not patients, are the units: a patient contributes every salvage line. "
            "The patient-clustered CI uses the robust variance of R survfit(id =, robust = "
            "TRUE), which accounts for several lines of one patient.",
        ],
    )  # fmt: skip


def _ph_by_term(model: Any) -> dict[str, Any]:
    terms = ((model or {}).get("ph_test") or {}).get("terms") or []
    return {str(t.get("term")): t.get("p_value") for t in terms if isinstance(t, dict)}


def cox_os(name: str, frame: pd.DataFrame, ctx: Context) -> d.DisplayTable:
    """Cox model of OS on baseline covariates, with each term's PH test."""
    ph = _ph_by_term(get(ctx.results, "cox_os.model"))
    rows = [
        [ctx.labels.term(r.get("term")),
         d.estimate_ci(r.get("hazard_ratio"), r.get("lower"), r.get("upper"), 2),
         d.p_value(r.get("p_value")), d.p_value(ph.get(str(r.get("term"))))]
        for _, r in frame.iterrows()
    ]  # fmt: skip
    return d.make(
        name, _TITLES[name], ["Covariate", "Hazard ratio (95% CI)", "p", "PH test p"], rows,
        numeric=[False, True, True, True],
        footnotes=[
            "Cox proportional-hazards model (Efron ties), Wald 95% CIs. PH test: "
            "Grambsch-Therneau test of Schoenfeld residuals (R cox.zph, km transform); "
            "p < 0.05 means the hazard ratio changes over time.",
        ],
    )  # fmt: skip


def pfs_cox_lines(name: str, frame: pd.DataFrame, ctx: Context) -> d.DisplayTable:
    """Line-level Cox models of PFS (robust SE clustered by patient); sparse levels flagged."""
    sparse = get(ctx.results, "all_lines.pfs_cox_by_category.sparse_levels") or []
    flagged = {f"{Col.CATEGORY}={s.get('level')}" for s in sparse if isinstance(s, dict)}
    rows = []
    for _, r in frame.iterrows():
        hr = d.estimate_ci(r.get("hazard_ratio"), r.get("lower"), r.get("upper"), 2)
        rows.append([
            ctx.labels.term(r.get("term")), ctx.labels.category(r.get("reference")),
            hr + (" a" if str(r.get("term")) in flagged else ""), d.p_value(r.get("p_value")),
            d.number(r.get("robust_se"), 3),
        ])  # fmt: skip
    notes = [
        "Cox models of PFS per line; the robust (Lin-Wei) variance is clustered by patient, "
        "whose lines are correlated. Wald 95% CIs from the robust SE.",
    ]
    if flagged:
        notes.append(
            "a Sparse level: fewer than 5 PFS events; the hazard ratio is unstable and should "
            "not be interpreted."
        )
    return d.make(
        name, _TITLES[name], ["Comparison", "Reference", "Hazard ratio (95% CI)", "p",
                              "Robust SE"],
        rows, numeric=[False, False, True, True, True], footnotes=notes,
    )  # fmt: skip


def tce_os(name: str, frame: pd.DataFrame, ctx: Context) -> d.DisplayTable:
    """TCE and OS: time-dependent Cox and landmark analyses."""
    rows = [
        [r.get("analysis"), d.count(r.get("n")), d.count(r.get("events")),
         d.estimate_ci(r.get("hazard_ratio"), r.get("lower"), r.get("upper"), 2),
         d.p_value(r.get("p_value"))]
        for _, r in frame.iterrows()
    ]  # fmt: skip
    return d.make(
        name, _TITLES[name], ["Analysis", "N", "Deaths", "Hazard ratio (95% CI)", "p"], rows,
        numeric=[False, True, True, True, True],
        footnotes=[
            "Hazard ratio of death, T-cell-engaging therapy (TCE) vs none. Time-dependent: TCE "
            "as a time-varying covariate from its start (no immortal time; N counts patients). "
            "Landmark: patients alive at the landmark, grouped by TCE before it.",
        ],
    )  # fmt: skip


def table1_wide(name: str, frame: pd.DataFrame, ctx: Context) -> d.DisplayTable:
    """Table 1 (wide): characteristic headings with their levels indented beneath."""
    groups = [c for c in frame.columns if c not in {"characteristic", "level", "p_value", "test"}]
    has_p = bool("p_value" in frame and frame["p_value"].notna().any())
    columns = ["Characteristic", *groups] + (["p"] if has_p else [])
    rows, headings, tests = [], [], []
    for characteristic, part in frame.groupby("characteristic", sort=False):
        levels = part["level"].fillna("").astype(str)
        if len(part) == 1 and not levels.iloc[0]:
            rows.append([characteristic, *_values(part.iloc[0], groups, has_p)])
            continue
        headings.append(len(rows))
        p = [d.p_value(part["p_value"].iloc[0])] if has_p else []
        rows.append([characteristic] + [""] * len(groups) + p)
        for (_, r), lvl in zip(part.iterrows(), levels, strict=True):
            rows.append(["    " + (lvl or "Missing"), *_values(r, groups, False)] + [""] * has_p)
        tests += [str(t) for t in part.get("test", pd.Series(dtype=object)).dropna() if t]
    notes = ["Continuous: median (IQR) and range; categorical: n (%) of patients."]
    if has_p:
        notes.append("p: " + "; ".join(dict.fromkeys(tests)) + " across groups.")
    return d.make(
        name, "Table 1. Baseline characteristics", columns, rows,
        numeric=[False] + [True] * (len(columns) - 1), footnotes=notes, headings=headings,
    )  # fmt: skip


def _values(row: pd.Series, groups: list[str], has_p: bool) -> list[str]:
    out = ["" if pd.isna(row[g]) else str(row[g]) for g in groups]
    return out + ([d.p_value(row.get("p_value"))] if has_p else [])


#: Short headers of wide listings (explained in the table's footnote).
SHORT_HEADERS: dict[str, tuple[dict[str, str], str]] = {
    "regimen_mapping": (
        {Col.TCE: "TCE", Col.BCMA_DIRECTED: "BCMA", "unrecognized": "Unread"},
        "TCE: T-cell-engaging therapy; BCMA: BCMA-directed; Unread: words of the regimen "
        "text that no drug, abbreviation or procedure matched.",
    ),
}


def generic(name: str, frame: pd.DataFrame, ctx: Context) -> d.DisplayTable:
    """Any other table: labelled headers, categories labelled, numbers formatted."""
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) and frame[c].dtype != bool for c in frame]
    short, note = SHORT_HEADERS.get(name, ({}, ""))
    rows = []
    for values in frame.astype(object).itertuples(index=False):
        rows.append([_generic_cell(v, str(c), ctx) for v, c in zip(values, frame.columns,
                                                                    strict=True)])
    return d.make(
        name, _TITLES.get(name, label(name)), [short.get(c) or label(c) for c in frame.columns],
        rows, numeric=numeric, scroll=name in SCROLLING and len(frame) > 25, footnotes=[note],
    )  # fmt: skip


def _generic_cell(value: Any, column: str, ctx: Context) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if column == "p_value":
        return d.p_value(value)
    if isinstance(value, float):
        return f"{value:.3g}" if not value.is_integer() else str(int(value))
    text = str(ctx.labels.value(value))
    return text.replace(";", "; ") if column in {Col.DRUGS, "procedures", "targets"} else text


_TITLES: dict[str, str] = {
    "response_by_category": "Response by therapy category (all salvage lines)",
    "first_salvage_by_category": "First salvage line by therapy category",
    "response_by_line": "Response by salvage line number",
    "bcma_retargeting": "BCMA re-targeting (CAR T, bispecific, ADC) after BCMA CAR T",
    "pfs_by_category": "Progression-free survival by therapy category (all lines)",
    "cox_os": "Cox model of OS from post-CAR-T progression on baseline covariates",
    "pfs_cox_lines": "Cox models of PFS per line (patient-clustered robust SE)",
    "tce_os": "T-cell-engaging therapy and OS: time-dependent Cox and landmark analyses",
    "regimen_mapping": "Regimen mapping: every distinct regimen text",
    "attrition": "Attrition: rows read, excluded and analysed",
    "analysis_exclusions": "Rows left out of an analysis, with the reason",
    "table1": "Table 1. Baseline characteristics (one row per level)",
}

Builder = Callable[[str, pd.DataFrame, Context], d.DisplayTable]

#: The builder of each known table (others: :func:`generic`).
BUILDERS: dict[str, Builder] = {
    "os_summary": os_summary,
    "response_by_category": response_table,
    "first_salvage_by_category": response_table,
    "response_by_line": response_table,
    "bcma_retargeting": response_table,
    "pfs_by_category": pfs_table,
    "cox_os": cox_os,
    "pfs_cox_lines": pfs_cox_lines,
    "tce_os": tce_os,
    "table1_wide": table1_wide,
}


_ESTIMATE = ("lower", "upper")

#: Columns each builder needs; a table without them (e.g. hand-made) is shown generically.
REQUIRED: dict[str, tuple[str, ...]] = {
    "os_summary": ("group", "n", "events", "median_months", *_ESTIMATE),
    "response_by_category": ("lines", "orr", *_ESTIMATE),
    "first_salvage_by_category": ("lines", "orr", *_ESTIMATE),
    "response_by_line": ("lines", "orr", *_ESTIMATE),
    "bcma_retargeting": ("lines", "orr", *_ESTIMATE),
    "pfs_by_category": (Col.CATEGORY, "n", "events", "median_months", *_ESTIMATE),
    "cox_os": ("term", "hazard_ratio", "p_value", *_ESTIMATE),
    "pfs_cox_lines": ("term", "reference", "hazard_ratio", "p_value", *_ESTIMATE),
    "tce_os": ("analysis", "n", "events", "hazard_ratio", "p_value", *_ESTIMATE),
    "table1_wide": ("characteristic", "level"),
}


def display_table(name: str, frame: pd.DataFrame, ctx: Context) -> d.DisplayTable:
    """The reader's version of the table ``name`` (the generic one when the table lacks
    the columns its builder needs, e.g. a hand-made table of the same name)."""
    if not set(REQUIRED.get(name, ())) <= set(frame.columns):
        return generic(name, frame, ctx)
    return BUILDERS.get(name, generic)(name, frame, ctx)
