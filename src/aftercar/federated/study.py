"""The pooled study: every pooled analysis assembled into the report's input.

:func:`pool_study` turns validated site files (:mod:`aftercar.federated.files`)
into ``results.json`` (the shape of ``aftercar report`` where the quantity can be
pooled), the result tables, the Kaplan-Meier figures and the notes;
:func:`report_input` hands them to :func:`aftercar.report.write_report`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from aftercar import __version__
from aftercar.analysis import figures as fig
from aftercar.analysis.model import Figures
from aftercar.analysis.options import AnalysisOptions
from aftercar.analysis.study import CURVE_ORDER
from aftercar.derive import EndpointRules
from aftercar.federated import models, pool, robust
from aftercar.federated.files import SiteFiles
from aftercar.federated.table1 import pooled_table1
from aftercar.report.model import ReportInput
from aftercar.schema import DAYS_PER_MONTH, Col

_CAT = Col.CATEGORY


@dataclass(frozen=True)
class PooledStudy:
    """The pooled analyses, and the next Cox coefficients file when rounds remain."""

    results: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    figures: Figures
    notes: tuple[str, ...]
    next_round: dict[str, Any] | None = None
    robust_round: dict[str, Any] | None = None


def _sites_block(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            Col.SITE: s[Col.SITE],
            "patients": s["cohort"]["patients"],
            "lines": s["cohort"]["lines"],
            "suppress_below": s["disclosure"].get("suppress_below"),
            "aftercar_version": s.get("aftercar_version"),
        }
        for s in summaries
    ]


def _disclosure_notes(summaries: list[dict[str, Any]], notes: list[str]) -> None:
    for endpoint in ("os", "os_by_relapse_timing", "os_by_product", "first_salvage_pfs"):
        gone = pool.suppressed_groups(summaries, endpoint)
        if gone:
            notes.append(
                f"{endpoint}: event tables withheld by a site's disclosure control "
                f"({', '.join(gone)}); the pooled analysis leaves those patients out."
            )
    coarse = sorted({s[Col.SITE] for s in summaries if s["disclosure"].get("suppress_below")})
    if coarse:
        notes.append(
            f"Site(s) {', '.join(coarse)} shared coarsened aggregates (--suppress-below): "
            "event times are merged into bins, so pooled estimates are approximate (on "
            "simulated five-site consortia of 300 and 1000 patients, K = 5 moved the pooled OS "
            "median up by 0.6-0.8 months and 24-month OS by 1.4-2.4 points; docs/federated.md)."
        )


def _cox_os(files: SiteFiles, opts, config_hash, total, notes) -> tuple[dict, dict | None]:
    summaries = files.summaries
    if all(s["cox"]["cox_os"]["protocol"] == "patterns" for s in summaries):
        return models.pattern_model(summaries, "cox_os", opts, notes), None
    proposal = files.proposal
    if proposal is None:
        nxt = models.first_proposal(summaries, opts, config_hash, notes)
    elif files.answers:
        nxt = models.advance(proposal, files.answers)
    else:
        nxt = proposal
    if nxt["state"].get("phase") == "converged":
        return models.newton_result(nxt, total, opts, notes), None
    notes.append(
        f"Cox model of OS: covariates that are not categorical need Newton rounds across "
        f"sites; round {nxt['round']} is in cox_round.json: each site runs `aftercar "
        "site-summary COHORT --cox-round cox_round.json -o answer.json`, then `aftercar pool` "
        "again with the site files, cox_round.json and every answer."
    )
    return {"covariates": [t["term"] for t in nxt["terms"]], "model": None,
            "strata": Col.SITE, "pending_round": nxt["round"]}, nxt  # fmt: skip


def _line_models(files: SiteFiles, opts, config_hash, out: dict, notes) -> dict | None:
    """The line-level Cox models into ``out``; the robust round's file while unanswered."""
    given = models.RobustFiles(files.robust, files.robust_answers)
    pending = {}
    for key, what in (("pfs_cox_tce", "TCE vs other"), ("pfs_cox_by_category", _CAT)):
        out[key], spec = models.line_model(files.summaries, key, what, opts, notes, given)
        if spec is not None:
            pending[key] = spec
    if not pending:
        return None
    notes.append(
        "Line-level Cox models of PFS: model-based variance; the patient-clustered (robust) "
        "variance of the study needs one more round: each site runs `aftercar site-summary "
        "COHORT --cox-round robust_round.json -o robust-answer.json`, then `aftercar pool` "
        "again with the site files, robust_round.json and every answer."
    )
    sites = [s[Col.SITE] for s in files.summaries]
    return robust.proposal(pending, config_hash=config_hash, ties=opts.cox_ties, sites=sites)


def _figures(curves: dict[str, dict[str, Any]], results: dict[str, Any]) -> Figures:
    os_block = results["os_from_progression"]
    annotations = {
        "os_by_relapse_timing": fig.test_text(os_block["by_relapse_timing"]["logrank"]),
        "os_by_product": fig.test_text(os_block["by_product"]["logrank"]),
    }
    keys = [k for k in CURVE_ORDER if k in curves]
    drawn = {
        k: fig.curve_figure(
            k, {g: fig.curve(g, f) for g, f in curves[k].items()}, annotations.get(k, "")
        )
        for k in keys
        if curves[k]
    }
    return Figures(curves=drawn, response_bars=None, sequence=None, swimmer=None)


def _provenance_notes(summaries: list[dict[str, Any]], notes: list[str]) -> None:
    """Notes on sites whose data are synthetic (the pooled report is then synthetic: one
    simulated site makes its numbers not a real study's) or whose aftercar version is not
    this one (fuzzing round 4: a test site left in a consortium run gave a report that
    looked real)."""
    fake = [s[Col.SITE] for s in summaries if s.get("synthetic")]
    if fake and len(fake) < len(summaries):
        notes.append(f"Synthetic data: site(s) {', '.join(fake)} hold simulated patients; "
                     "the pooled results mix them with real sites and are labelled "
                     "synthetic.")  # fmt: skip
    other = {s[Col.SITE]: s.get("aftercar_version") for s in summaries
             if s.get("aftercar_version") != __version__}  # fmt: skip
    if other:
        listed = ", ".join(f"{site} ({v})" for site, v in other.items())
        notes.append(f"Site summaries written by another aftercar version than this one "
                     f"({__version__}): {listed}; their aggregates follow that version's "
                     "rules.")  # fmt: skip


def pool_study(
    files: SiteFiles,
    *,
    rules: EndpointRules,
    options: AnalysisOptions,
    config_hash: str,
) -> PooledStudy:
    """Pool the sites' aggregates into the study's results (stratified by site)."""
    summaries = sorted(files.summaries, key=lambda s: s[Col.SITE])
    files = SiteFiles(summaries, files.proposal, files.answers, files.robust, files.robust_answers)
    notes: list[str] = []
    os_res, curves, os_rows = pool.os_block(summaries, options, rules.early_relapse_months)
    first, first_curves = pool.first_salvage_block(summaries, options, notes)
    by_cat, lines_block, cat_curves = pool.all_lines_block(summaries, options)
    cox_os, nxt = _cox_os(files, options, config_hash, len(os_rows), notes)
    results: dict[str, Any] = {
        "sites": _sites_block(summaries),
        "cohort": pool.cohort_block(summaries, os_rows, options),
        "os_from_progression": os_res,
        "first_salvage": first,
        "by_category": by_cat,
        "all_lines": lines_block,
        "cox_os": cox_os,
    }
    robust_round = _line_models(files, options, config_hash, results["all_lines"], notes)
    _disclosure_notes(summaries, notes)
    _provenance_notes(summaries, notes)
    k = max((s["disclosure"].get("suppress_below") or 0 for s in summaries), default=0) or None
    wide, results["table1_wide"] = pooled_table1(summaries, k)
    results["endpoints"] = {
        "early_relapse_months": rules.early_relapse_months,
        "pfs_next_line": rules.pfs_next_line,
        "responders": list(rules.responders),
        "exclude_not_evaluable": rules.exclude_not_evaluable,
        "non_therapy_rows": rules.non_therapy_rows,
        "days_per_month": DAYS_PER_MONTH,
    }
    results["meta"] = {
        "aftercar_version": __version__,
        "conf_level": options.conf_level,
        "config_hash": config_hash,
        "synthetic": any(s.get("synthetic") for s in summaries),
        "pooled_sites": len(summaries),
        "strata": Col.SITE,
    }
    results["notes"] = notes
    figures = _figures(curves | first_curves | cat_curves, results)
    results["figures"] = figures.to_dict()
    tables = {"table1_wide": wide, "sites": pd.DataFrame(results["sites"])}
    return PooledStudy(results, tables, figures, tuple(notes), nxt, robust_round)


def report_input(
    pooled: PooledStudy, config: Any, inputs: list[dict[str, Any]], *, synthetic: bool
) -> ReportInput:
    """What :func:`aftercar.report.write_report` renders for the pooled study."""
    import datetime as dt

    from aftercar.pipeline.provenance import dependencies
    from aftercar.pipeline.runner import category_styles, index_study

    meta = {
        "title": f"{config.study.title} (pooled across {len(inputs)} sites)",
        "source": f"{len(inputs)} site summaries (aftercar pool)",
        "synthetic": synthetic,
        "aftercar_version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "config": config.to_dict(),
        "config_hash": config.config_hash(),
        "inputs": inputs,
        "dependencies": dependencies(),
        "timings": {},
    }
    return ReportInput(
        results=pooled.results | {"meta": pooled.results["meta"] | {"synthetic": synthetic}},
        tables=pooled.tables,
        figures=pooled.figures,
        meta=meta,
        notes=pooled.notes,
        categories=category_styles(config),
        index_study=index_study(),
        warnings=pooled.notes,
    )
