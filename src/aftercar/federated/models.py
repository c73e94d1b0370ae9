"""Pooled Cox models stratified by site, from the sites' pattern tables or Newton rounds.

* :func:`pattern_model`: the rows rebuilt from every site's pattern table
  (:func:`aftercar.federated.cox.pattern_rows`) are fitted by
  :func:`aftercar.analysis.summaries.fit_cox` (so :func:`aftercar.stats.cox_ph`)
  with ``strata=site``; the coding of the covariates is the one of
  :func:`aftercar.analysis.baseline.baseline_cox` on the concatenated rows.
* :func:`first_proposal` / :func:`advance`: the Newton protocol for models with
  general covariates (:mod:`aftercar.federated.cox`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from aftercar.analysis.baseline import baseline_cox
from aftercar.analysis.options import AnalysisOptions
from aftercar.analysis.summaries import cox_block, fit_cox
from aftercar.federated import cox
from aftercar.schema import DAYS_PER_MONTH, Col

#: Events per covariate below which a note says the estimates may be unstable.
EVENTS_PER_COVARIATE = 10


def _site_rows(summaries: list[dict[str, Any]], key: str) -> pd.DataFrame:
    parts = []
    for s in summaries:
        days, event, cov = cox.pattern_rows(s["cox"][key]["table"])
        part = cov.assign(_time=days / DAYS_PER_MONTH, _event=event, _site=s[Col.SITE])
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def pattern_model(
    summaries: list[dict[str, Any]], key: str, opts: AnalysisOptions, notes: list[str]
) -> dict[str, Any]:
    """``cox_os`` from the sites' pattern tables: ``baseline_cox`` with strata=site."""
    rows = _site_rows(summaries, key)
    pts = rows.assign(**{Col.OS_VALID: True, Col.OS_MONTHS: rows["_time"],
                         Col.OS_EVENT: rows["_event"], Col.SITE: rows["_site"]})  # fmt: skip
    sec = baseline_cox(pts, opts, strata=Col.SITE)
    notes.extend(sec.notes)
    return sec.results["cox_os"] | {"strata": Col.SITE}


def _os_result(terms, skipped, complete: int, total: int, model, notes) -> dict[str, Any]:
    if model is not None and model["events"] < EVENTS_PER_COVARIATE * max(len(terms), 1):
        notes.append(
            f"Cox model of OS: {model['events']} events for {len(terms)} covariates "
            "(fewer than 10 per covariate); estimates may be unstable."
        )
    return {
        "covariates": list(terms),
        "skipped": skipped,
        "complete_cases": complete,
        "excluded_incomplete": total - complete,
        "model": model,
        "strata": Col.SITE,
    }


def line_model(
    summaries: list[dict[str, Any]], key: str, what: str, opts: AnalysisOptions, notes: list[str]
) -> dict[str, Any]:
    """Line-level PFS Cox model on group indicators (largest group the reference), by site."""
    rows = _site_rows(summaries, key)
    col = Col.TCE if key == "pfs_cox_tce" else Col.CATEGORY
    lab = rows[col].astype(str)
    reference = (
        "Other"
        if key == "pfs_cox_tce"
        else (str(lab.value_counts().index[0]) if len(lab) else None)
    )
    levels = sorted(set(lab) - {reference}) if reference is not None else []
    design = pd.DataFrame({f"{what}={lvl}": (lab == lvl).to_numpy(float) for lvl in levels})
    model = fit_cox(
        rows["_time"], rows["_event"], design, opts, notes,
        strata=rows["_site"].to_numpy(), label=f"Cox model of PFS ({what})",
    )  # fmt: skip
    return {
        "reference": reference,
        "model": model,
        "method": "Cox model of PFS per line stratified by site; model-based variance "
        "(the patient-clustered variance needs per-patient residuals and is not pooled)",
    }


# --------------------------------------------------------------------------
# The Newton protocol for cox_os with general covariates
# --------------------------------------------------------------------------


def _infos(summaries: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [
        s["cox"]["cox_os"]["covariates"][name]
        for s in summaries
        if name in s["cox"]["cox_os"]["covariates"]
    ]


def _numeric_constant(infos: list[dict[str, Any]]) -> bool:
    values = {i.get("value") for i in infos}
    return all(i.get("distinct", 2) < 2 for i in infos) and len(values) == 1


def _text_terms(name: str, infos: list[dict[str, Any]]) -> list[dict[str, Any]]:
    counts: dict[str, int] = {}
    for info in infos:
        for level, c in info.get("levels", {}).items():
            counts[level] = counts.get(level, 0) + (c or 0)
    levels = sorted(counts, key=lambda lv: (-counts[lv], lv))
    return [{"term": f"{name}={lv}", "covariate": name, "level": lv} for lv in sorted(levels[1:])]


def design_terms(
    summaries: list[dict[str, Any]], opts: AnalysisOptions, notes: list[str]
) -> tuple[list[dict[str, Any]], list[str], list[dict[str, str]]]:
    """Terms, the covariates complete cases need, and the skipped covariates (as baseline_cox)."""
    terms: list[dict[str, Any]] = []
    used: list[str] = []
    skipped: list[dict[str, str]] = []
    for name in opts.cox_covariates:
        infos = _infos(summaries, name)
        if not infos:
            skipped.append({"covariate": name, "reason": "absent from the cohort"})
            continue
        text = any(i["kind"] == "text" for i in infos)
        new = _text_terms(name, infos) if text else [{"term": name, "covariate": name}]
        if not new or (not text and _numeric_constant(infos)):
            skipped.append({"covariate": name, "reason": "constant in the cohort"})
            continue
        terms += new
        used.append(name)
    if skipped:
        listed = "; ".join(f"'{s['covariate']}' ({s['reason']})" for s in skipped)
        notes.append(f"Cox model of OS: covariates skipped: {listed}.")
    return terms, used, skipped


def first_proposal(
    summaries: list[dict[str, Any]], opts: AnalysisOptions, config_hash: str, notes: list[str]
) -> dict[str, Any]:
    """The round-0 coefficients file of ``cox_os`` (beta = 0)."""
    terms, used, skipped = design_terms(summaries, opts, notes)
    return cox.start(
        "cox_os", terms, used, config_hash=config_hash, ties=opts.cox_ties, skipped=skipped,
        sites=sorted(s[Col.SITE] for s in summaries),
    )  # fmt: skip


def _constant_terms(proposal: dict[str, Any], answers: list[dict[str, Any]]) -> list[int]:
    n = sum(a["n"] for a in answers)
    sums = np.sum([a["term_sums"] for a in answers], axis=0)
    squares = np.sum([a["term_squares"] for a in answers], axis=0)
    var = squares / max(n, 1) - (sums / max(n, 1)) ** 2
    return [i for i, v in enumerate(np.atleast_1d(var)) if v <= 1e-12 * max(1.0, squares[i])]


def advance(proposal: dict[str, Any], answers: list[dict[str, Any]]) -> dict[str, Any]:
    """The next proposal from every site's answer (round 0 also drops constant terms)."""
    missing = sorted(set(proposal.get("sites", [])) - {a[Col.SITE] for a in answers})
    if missing:
        from aftercar.errors import InputError

        raise InputError(
            f"Cox round {proposal['round']}: no answer from site(s) {', '.join(missing)}. "
            "Fix: run `aftercar site-summary COHORT --cox-round cox_round.json -o answer.json` "
            "there and pass every answer."
        )
    if proposal["round"] == 0:
        drop = _constant_terms(proposal, answers)
        if drop:
            terms = [t for i, t in enumerate(proposal["terms"]) if i not in drop]
            skipped = proposal.get("skipped", []) + [
                {"covariate": proposal["terms"][i]["term"],
                 "reason": "constant among complete cases"} for i in drop
            ]  # fmt: skip
            return proposal | {"terms": terms, "beta": [0.0] * len(terms), "skipped": skipped}
    return cox.step(proposal, cox.pool_answers(proposal, answers))


def newton_result(
    proposal: dict[str, Any], total: int, opts: AnalysisOptions, notes: list[str]
) -> dict[str, Any]:
    """The ``cox_os`` block of a converged proposal (model-based variance, as cox_ph)."""
    st = proposal["state"]
    fit = cox.round_fit(proposal, opts.conf_level)
    names = [t["term"] for t in proposal["terms"]]
    model = cox_block(fit, names, n=st["n"], events=st["events"])
    model["ph_test"] = None
    model["protocol"] = f"Newton rounds ({proposal['round']} rounds)"
    notes.append(
        "Cox model of OS: fitted by Newton rounds across sites (each site's log partial "
        "likelihood, score and information at the proposed coefficients); the "
        "proportional-hazards test needs residuals and is not pooled."
    )
    return _os_result(names, proposal.get("skipped", []), st["n"], total, model, notes)
