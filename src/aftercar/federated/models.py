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

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from aftercar import stats
from aftercar.analysis.baseline import baseline_cox
from aftercar.analysis.options import AnalysisOptions
from aftercar.analysis.summaries import PH_ALPHA, cox_block, fit_cox
from aftercar.errors import InputError
from aftercar.federated import cox, robust, zph
from aftercar.schema import DAYS_PER_MONTH, Col


@dataclass(frozen=True)
class RobustFiles:
    """The robust round's coefficients file and the sites' answers to it (if given)."""

    round: dict[str, Any] | None = None
    answers: list[dict[str, Any]] = field(default_factory=list)


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


def _line_design(summaries: list[dict[str, Any]], key: str):
    """Pooled rows of a line model, its reference group, levels and 0/1 design."""
    rows = _site_rows(summaries, key)
    lab = rows[robust.LINE_MODELS[key]].astype(str)
    reference = (
        "Other"
        if key == "pfs_cox_tce"
        else (str(lab.value_counts().index[0]) if len(lab) else None)
    )
    levels = sorted(set(lab) - {reference}) if reference is not None else []
    return rows, reference, levels, lab


def line_model(
    summaries: list[dict[str, Any]],
    key: str,
    what: str,
    opts: AnalysisOptions,
    notes: list[str],
    files: RobustFiles | None = None,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Line-level PFS Cox model on group indicators (largest group the reference), by site.

    Returns the block and, while the sites have not answered the robust round, the
    model's entry of the robust coefficients file (levels and pooled ``beta``).
    With every site's answer (``files``) the block carries the patient-clustered
    variance (:mod:`aftercar.federated.robust`), as the study's ``cluster=patient``.
    """
    rows, reference, levels, lab = _line_design(summaries, key)
    design = pd.DataFrame({f"{what}={lvl}": (lab == lvl).to_numpy(float) for lvl in levels})
    label = f"Cox model of PFS ({what})"
    strata = rows["_site"].to_numpy()
    model = fit_cox(rows["_time"], rows["_event"], design, opts, notes, strata=strata,
                    label=label)  # fmt: skip
    block = {"reference": reference, "model": model, "method": METHOD_PENDING}
    if model is None:
        return block, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fit_cox has noted them
        fit = stats.cox_ph(
            rows["_time"].to_numpy(float), rows["_event"].to_numpy(bool), design,
            strata=strata, ties=opts.cox_ties, conf_level=opts.conf_level,
        )  # fmt: skip
    if not np.isfinite(fit.coef).all():  # collinear (noted): no sandwich of an NA coefficient
        return block, None
    spec = {"levels": levels, "terms": list(design.columns), "beta": fit.coef.tolist()}
    answered = files is not None and files.round is not None and key in files.round["models"]
    if not answered:
        return block, spec
    _check_spec(files.round["models"][key], spec, key)
    b = robust.pooled_meat(files.round, files.answers, key)
    rfit = robust.robust_fit(fit, b, opts.conf_level)
    block["model"] = cox_block(rfit, list(design.columns), n=model["n"], events=model["events"])
    block["model"]["ph_test"] = model["ph_test"]
    block["patients"] = int(sum(a["models"][key]["patients"] for a in files.answers))
    block["method"] = METHOD_ROBUST
    return block, None


METHOD_PENDING = (
    "Cox model of PFS per line stratified by site; model-based variance until the sites "
    "answer the robust round (robust_round.json), which gives the patient-clustered one"
)
METHOD_ROBUST = (
    "Cox model of PFS per line stratified by site, robust variance clustered by patient "
    "(each site's sum of patients' score-residual products at the pooled coefficients)"
)


def _check_spec(sent: dict[str, Any], now: dict[str, Any], key: str) -> None:
    same = sent["levels"] == now["levels"] and np.allclose(
        sent["beta"], now["beta"], rtol=1e-13, atol=1e-13
    )
    if not same:
        raise InputError(
            f"robust round: the coefficients of {key} in robust_round.json are not those of "
            "the site files given now. Fix: pool with the site files the robust round was "
            "written from, or start the robust round again from this pool's robust_round.json."
        )


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
    """Terms constant among the pooled complete cases: every site with complete cases
    constant at the same value (``term_constant``; sums of older answers otherwise)."""
    if all("term_constant" in a for a in answers):
        known = [a["term_constant"] for a in answers if a["n"] > 0]
        p = len(proposal["terms"])
        return [i for i in range(p)
                if all(c[i] is not None and c[i] == known[0][i] for c in known)]  # fmt: skip
    n = sum(a["n"] for a in answers)
    sums = np.sum([a["term_sums"] for a in answers], axis=0)
    squares = np.sum([a["term_squares"] for a in answers], axis=0)
    var = squares / max(n, 1) - (sums / max(n, 1)) ** 2
    return [i for i, v in enumerate(np.atleast_1d(var)) if v <= 1e-12 * max(1.0, squares[i])]


def advance(proposal: dict[str, Any], answers: list[dict[str, Any]]) -> dict[str, Any]:
    """The next proposal from every site's answer (round 0 also drops constant terms)."""
    missing = sorted(set(proposal.get("sites", [])) - {a[Col.SITE] for a in answers})
    if missing:
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
    if proposal["state"].get("phase") == "zph":
        return _ph_tested(proposal, answers)
    nxt = cox.step(proposal, cox.pool_answers(proposal, answers))
    if proposal["round"] == 0:
        tables = [a.get("km_table") for a in answers]
        g = zph.transform(tables) if all(t is not None for t in tables) else None
        nxt = nxt | {"state": nxt["state"] | {"g": g}}
    if nxt["state"]["phase"] == "converged" and nxt["state"].get("g") is not None:
        # one more round at the fit: each site's sums for the pooled cox.zph
        return nxt | {"round": nxt["round"] + 1, "state": nxt["state"] | {"phase": "zph"}}
    return nxt


def _ph_tested(proposal: dict[str, Any], answers: list[dict[str, Any]]) -> dict[str, Any]:
    """The converged proposal with the pooled cox.zph table (the zph round's answers)."""
    pooled = cox.pool_answers(proposal, answers)
    st = proposal["state"]
    names = [t["term"] for t in proposal["terms"]]
    table = zph.test_table(answers, pooled.score, pooled.information, st["events"], names)
    return proposal | {"state": st | {"phase": "converged", "ph_test": table}}


def _ph_block(terms: list[dict[str, Any]] | None, notes: list[str]) -> dict[str, Any] | None:
    """The pooled cox.zph table in the shape of ``analysis.summaries.ph_test``."""
    if terms is None:
        return None
    overall = terms[-1]["p_value"]
    if overall < PH_ALPHA:
        notes.append(
            f"Cox model of OS on baseline covariates: proportional hazards rejected (cox.zph "
            f"GLOBAL p = {overall:.3g}); the hazard ratio averages an effect that changes over "
            "time - see RMST and landmarks."
        )
    return {"method": "Grambsch-Therneau (cox.zph, km transform)", "terms": terms}


def newton_result(
    proposal: dict[str, Any], total: int, opts: AnalysisOptions, notes: list[str]
) -> dict[str, Any]:
    """The ``cox_os`` block of a converged proposal (model-based variance, as cox_ph)."""
    st = proposal["state"]
    fit = cox.round_fit(proposal, opts.conf_level)
    names = [t["term"] for t in proposal["terms"]]
    model = cox_block(fit, names, n=st["n"], events=st["events"])
    model["ph_test"] = _ph_block(st.get("ph_test"), notes)
    model["protocol"] = f"Newton rounds ({proposal['round']} rounds)"
    notes.append(
        "Cox model of OS: fitted by Newton rounds across sites (each site's log partial "
        "likelihood, score and information at the proposed coefficients)"
        + ("; the proportional-hazards test from each site's sums at the fit (cox.zph)."
           if model["ph_test"] else "; the proportional-hazards test is not pooled (a site "
           "withheld its complete cases' event table under --suppress-below).")
    )  # fmt: skip
    return _os_result(names, proposal.get("skipped", []), st["n"], total, model, notes)
