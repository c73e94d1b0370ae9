"""Tables built from ``results.json`` blocks that have no CSV table of their own.

* **Proportional-hazards tests**: every Cox model of the study with its
  Grambsch-Therneau test per term and GLOBAL (R ``cox.zph``), flagged when PH is
  rejected;
* **RMST**: restricted mean survival time of OS overall and by TCE group in each
  landmark cohort, with the difference between groups;
* **Competing risks**: cumulative incidence of progression and of death without
  progression on the first salvage line at the rate times.
"""

from __future__ import annotations

from typing import Any

from aftercar.report import display as d
from aftercar.report.labels import Labeller
from aftercar.report.result_tables import Context, get

#: PH is reported as rejected below this p-value.
PH_ALPHA = 0.05


def cox_models(results: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(label, model)`` of every Cox model in ``results`` with a PH test, in page order."""
    out: list[tuple[str, dict[str, Any]]] = []
    named = [
        ("Cox model of OS (baseline covariates)", "cox_os.model"),
        ("OS: TCE as a time-varying covariate", "tce.time_dependent_cox.model"),
        ("PFS per line: TCE vs other", "all_lines.pfs_cox_tce.model"),
        ("PFS per line by therapy category", "all_lines.pfs_cox_by_category.model"),
    ]
    for name, path in named:
        model = get(results, path)
        if isinstance(model, dict) and model.get("ph_test"):
            out.append((name, model))
    landmarks = get(results, "tce.landmarks") or {}
    for block in landmarks.values() if isinstance(landmarks, dict) else []:
        cox = block.get("cox") if isinstance(block, dict) else None
        if isinstance(cox, dict) and cox.get("ph_test"):
            out.append((f"OS landmark {block.get('landmark_months', 0):g} months: TCE", cox))
    return out


def _term(term: Any, labels: Labeller) -> str:
    return "global test" if term == "GLOBAL" else labels.term(term)


def ph_rejected(results: dict[str, Any], labels: Labeller | None = None) -> list[str]:
    """Models and terms whose PH test rejects proportional hazards (p < :data:`PH_ALPHA`)."""
    labels = labels or Labeller()
    out = []
    for name, model in cox_models(results):
        for t in model["ph_test"].get("terms") or []:
            p = t.get("p_value")
            if isinstance(p, int | float) and p < PH_ALPHA:
                out.append(f"{name}: {_term(t.get('term'), labels)} (p = {d.p_value(p)})")
    return out


def ph_tests(ctx: Context) -> d.DisplayTable | None:
    """One row per term (and the global test) of every Cox model, grouped by model."""
    rows: list[list[str]] = []
    headings = []
    for name, model in cox_models(ctx.results):
        headings.append(len(rows))
        rows.append([name, "", "", "", ""])
        for t in model["ph_test"].get("terms") or []:
            p = t.get("p_value")
            flag = "PH rejected" if isinstance(p, int | float) and p < PH_ALPHA else ""
            rows.append(["    " + _term(t.get("term"), ctx.labels), d.number(t.get("chisq"), 2),
                         d.number(t.get("df"), 0), d.p_value(p), flag])  # fmt: skip
    if not rows:
        return None
    return d.make(
        "ph_tests", "Proportional-hazards tests of every Cox model",
        ["Model and term", "Chi-square", "df", "p", ""], rows,
        numeric=[False, True, True, True, False], headings=headings,
        footnotes=[
            "Grambsch-Therneau test of scaled Schoenfeld residuals against Kaplan-Meier-"
            f"transformed time (R cox.zph); p < {PH_ALPHA:g} rejects proportional hazards: the "
            "hazard ratio changes over time, and RMST or landmark estimates are the safer summary.",
        ],
    )  # fmt: skip


def _rmst_rows(blocks: Any) -> list[list[str]]:
    rows = []
    for block in blocks if isinstance(blocks, list) else []:
        tau = f"{block.get('tau_months', 0):g}"
        for g in block.get("groups") or []:
            ci = d.bounds(g.get("ci95"))
            rows.append(["    " + (g.get("group") or "All patients"), tau, d.count(g.get("n")),
                         d.estimate_ci(g.get("estimate"), ci[0], ci[1]), "", ""])  # fmt: skip
        for diff in block.get("differences") or []:
            ci = d.bounds(diff.get("ci95"))
            rows.append([f"    {diff.get('group')} minus {diff.get('reference')}", tau, "",
                         "", d.estimate_ci(diff.get("estimate"), ci[0], ci[1]),
                         d.p_value(diff.get("p_value"))])  # fmt: skip
    return rows


def rmst(ctx: Context) -> d.DisplayTable | None:
    """RMST of OS overall and per TCE landmark group, with group differences."""
    parts = [("OS, all patients", get(ctx.results, "os_from_progression.rmst"))]
    landmarks = get(ctx.results, "tce.landmarks") or {}
    for block in landmarks.values() if isinstance(landmarks, dict) else []:
        if isinstance(block, dict):
            name = f"OS from the {block.get('landmark_months', 0):g}-month landmark, by TCE"
            parts.append((name, block.get("rmst")))
    rows: list[list[str]] = []
    headings = []
    for name, blocks in parts:
        found = _rmst_rows(blocks)
        if found:
            headings.append(len(rows))
            rows += [[name, "", "", "", "", ""], *found]
    if not rows:
        return None
    return d.make(
        "rmst", "Restricted mean survival time (RMST) of overall survival",
        ["Group", "Up to, months", "N", "RMST, months (95% CI)",
         "Difference, months (95% CI)", "p"],
        rows, numeric=[False, True, True, True, True, True], headings=headings,
        footnotes=[
            "RMST: mean months alive up to the restriction time (area under the Kaplan-Meier "
            "curve, R print(survfit, rmean = tau)); 95% CIs from its standard error. It needs "
            "no proportional-hazards assumption.",
        ],
    )  # fmt: skip


def competing_risks(ctx: Context) -> d.DisplayTable | None:
    """Cumulative incidence of progression vs death without progression, first salvage."""
    block = get(ctx.results, "first_salvage.competing_risks")
    if not isinstance(block, dict):
        return None
    prog = {r.get("months"): r for r in block.get("progression") or []}
    death = {r.get("months"): r for r in block.get("death_without_progression") or []}
    rows = []
    for months in sorted(set(prog) | set(death), key=lambda m: float(m or 0)):
        cells = [f"{float(months):g}"]
        for part in (prog, death):
            r = part.get(months) or {}
            ci = d.bounds(r.get("ci95"))
            cells.append(d.percent_ci(r.get("estimate"), ci[0], ci[1]) if r else "–")
        rows.append(cells)
    return d.make(
        "competing_risks",
        "First salvage line: cumulative incidence of progression and of death without "
        "progression",
        ["Months from start of line", "Progression, % (95% CI)",
         "Death without progression, % (95% CI)"],
        rows, numeric=[True, True, True],
        footnotes=[
            f"Aalen-Johansen estimates (R survfit multi-state) over {d.count(block.get('n'))} "
            f"lines: {d.count(block.get('progressions'))} progressions, "
            f"{d.count(block.get('deaths_without_progression'))} deaths without progression; "
            "95% pointwise CIs on the log scale.",
        ],
    )  # fmt: skip
