"""``aftercar pool``: the study's analyses from the sites' aggregates, stratified by site.

Every survival estimate is computed by the same functions as ``aftercar report``
(:func:`aftercar.analysis.summaries.km_block`, :func:`aftercar.stats.logrank_test`,
:func:`aftercar.stats.proportion_ci`, :func:`aftercar.stats.cox_ph`) on anonymous
rows rebuilt from the event tables (:func:`aftercar.federated.aggregate.expand`):
the multiset of (time, event, group, site) is that of the patients' own rows, so
without suppression the pooled numbers equal the analysis of the concatenated
rows. Comparisons are stratified by site: the log-rank test sums observed minus
expected within sites, the Cox models have a baseline hazard per site.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from aftercar import stats
from aftercar.analysis.hazards import rmst_block
from aftercar.analysis.options import AnalysisOptions
from aftercar.analysis.summaries import (
    clustered_block,
    km_block,
    logrank_result_block,
    num,
    prop_block,
    table_test,
    triple,
)
from aftercar.federated import aggregate as agg
from aftercar.schema import Col

#: Column names of the rebuilt anonymous rows (not patient columns).
TIME, EVENT, GROUP, SITE = Col.TIME, Col.EVENT, "group", Col.SITE


def rows(summaries: list[dict[str, Any]], endpoint: str) -> pd.DataFrame:
    """Anonymous (time in months, event, group, site) rows of one endpoint of every site."""
    parts = []
    for s in summaries:
        for group, table in s["survival"][endpoint].items():
            t, e = agg.expand(table)
            parts.append(pd.DataFrame({TIME: t, EVENT: e, GROUP: group, SITE: s[Col.SITE]}))
    if not parts:
        return pd.DataFrame({TIME: [], EVENT: [], GROUP: [], SITE: []})
    return pd.concat(parts, ignore_index=True)


def suppressed_groups(summaries: list[dict[str, Any]], endpoint: str) -> list[str]:
    """``site/group`` of every event table a site suppressed."""
    return [
        f"{s[Col.SITE]}/{g}"
        for s in summaries
        for g, table in s["survival"][endpoint].items()
        if table.get("suppressed")
    ]


def stratified_logrank(frame: pd.DataFrame) -> dict[str, Any] | None:
    """Log-rank test across groups stratified by site (R ``survdiff(... + strata(site))``).

    Formatted as :func:`aftercar.analysis.summaries.logrank_block`; ``None`` with
    fewer than two groups or no event.
    """
    codes, labels = pd.factorize(frame[GROUP].astype("string"), sort=True)
    if len(labels) < 2 or not frame[EVENT].any():
        return None
    res = stats.logrank_test(
        frame[TIME].to_numpy(float), frame[EVENT].to_numpy(bool), codes,
        strata=frame[SITE].astype(str).to_numpy(),
    )  # fmt: skip
    return logrank_result_block(res, codes, labels) | {"strata": Col.SITE}


def grouped_km(
    frame: pd.DataFrame, opts: AnalysisOptions, total: int, rates: tuple[float, ...] = ()
) -> tuple[dict[str, Any], dict[str, Any]]:
    """KM per group of the pooled rows and the site-stratified log-rank test.

    ``total`` is the number of rows of the endpoint; those in no group table had
    no group (``missing_group``).
    """
    blocks, curves = {}, {}
    for label, sub in frame.groupby(GROUP, sort=True):
        blocks[str(label)], fit = km_block(sub[TIME], sub[EVENT], opts, rates=rates)
        if fit is not None:
            curves[str(label)] = fit
    missing = total - len(frame)
    return {"groups": blocks, "logrank": stratified_logrank(frame), "missing_group": missing}, (
        curves
    )


def _sum(values: list[Any]) -> int | None:
    """Sum of counts; ``None`` when any site withheld its count."""
    return None if any(v is None for v in values) else int(sum(values))


def cohort_block(
    summaries: list[dict[str, Any]], os_rows: pd.DataFrame, opts: AnalysisOptions
) -> dict[str, Any]:
    """Patients, lines, lines per patient (from the sketches), reverse-KM follow-up."""
    c = [s["cohort"] for s in summaries]
    per = np.concatenate([agg.sketch_values(x["lines_per_patient"]) for x in c])
    fu_est = fu_lo = fu_hi = None
    if len(os_rows):
        fu_est, fu_lo, fu_hi = triple(
            stats.median_followup(
                os_rows[TIME].to_numpy(float), os_rows[EVENT].to_numpy(bool),
                conf_type=opts.km_conf_type, conf_level=opts.conf_level,
            )
        )  # fmt: skip
    return {
        key: _sum([x[key] for x in c])
        for key in ("patients", "lines", "patients_with_lines", "patients_without_lines")
    } | {
        "lines_per_patient": {
            "median": num(np.median(per)) if len(per) else None,
            "min": num(per.min()) if len(per) else None,
            "max": num(per.max()) if len(per) else None,
            "mean": num(per.mean()) if len(per) else None,
        },
        "median_followup_months": {
            "n": len(os_rows),
            "estimate": fu_est,
            "ci95": [fu_lo, fu_hi],
            "method": "reverse Kaplan-Meier",
        },
    }


def os_block(
    summaries: list[dict[str, Any]], opts: AnalysisOptions, cutoff: float
) -> tuple[dict, dict, pd.DataFrame]:
    """OS from relapse: KM, rates, RMST; by relapse timing and product (stratified log-rank)."""
    rates = opts.os_rates_months
    all_rows = rows(summaries, "os")
    block, fit = km_block(all_rows[TIME], all_rows[EVENT], opts, rates=rates)
    curves: dict[str, Any] = {"os": {"All patients": fit} if fit is not None else {}}
    n = len(all_rows)
    timing, curves["os_by_relapse_timing"] = grouped_km(
        rows(summaries, "os_by_relapse_timing"), opts, n, rates
    )
    product, curves["os_by_product"] = grouped_km(rows(summaries, "os_by_product"), opts, n, rates)
    timing["cutoff_months"] = cutoff
    block["rmst"] = rmst_block(all_rows[TIME], all_rows[EVENT], opts)
    block |= {"by_relapse_timing": timing, "by_product": product}
    return block, curves, all_rows


def _counts(cells: list[dict[str, Any]], flag: str) -> tuple[int | None, int | None, int | None]:
    parts = [c[flag] for c in cells]
    return (
        _sum([p["responders"] for p in parts]),
        _sum([p["n"] for p in parts]),
        _sum([p["not_evaluable"] for p in parts]),
    )


def _flag_block(cells: list[dict[str, Any]], flag: str, opts: AnalysisOptions) -> dict[str, Any]:
    x, n, ne = _counts(cells, flag)
    if x is None or n is None:
        return {"responders": x, "n": n, "estimate": None, "ci95": [None, None],
                "method": opts.proportion_method, "not_evaluable": ne,
                "note": "a site withheld a count below the disclosure threshold"}  # fmt: skip
    return prop_block(x, n, opts) | {"not_evaluable": ne}


def response_block(cells: list[dict[str, Any]], opts: AnalysisOptions) -> dict[str, Any]:
    """Lines, patients, ORR, >= VGPR and >= CR with exact CIs from the sites' counts."""
    return {
        "lines": _sum([c["lines"] for c in cells]),
        "patients": _sum([c["patients"] for c in cells]),
        "orr": _flag_block(cells, "orr", opts),
        Col.VGPR_OR_BETTER: _flag_block(cells, Col.VGPR_OR_BETTER, opts),
        Col.CR_OR_BETTER: _flag_block(cells, Col.CR_OR_BETTER, opts),
    }


def _by_key(summaries, part: str) -> dict[str, list[dict[str, Any]]]:
    """Response cells per group label across sites: ``part`` is ``"first"`` (first
    salvage by category) or a grouping of all lines (``"by_category"``, ``"by_line"``...)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for s in summaries:
        node = (
            s["response"]["first_salvage"]["by_category"]
            if part == "first"
            else s["response"]["all_lines"][part]
        )
        for key, cell in node.items():
            out.setdefault(key, []).append(cell)
    return dict(sorted(out.items()))


def first_salvage_block(
    summaries: list[dict[str, Any]], opts: AnalysisOptions, notes: list[str]
) -> tuple[dict, dict]:
    """First salvage line: response with exact CIs, PFS; by category; ORR test by category."""
    first_rows = rows(summaries, "first_salvage_pfs")
    pfs, fit = km_block(first_rows[TIME], first_rows[EVENT], opts)
    res = response_block([s["response"]["first_salvage"]["all"] for s in summaries], opts)
    res["pfs"] = pfs
    by_rows = rows(summaries, "first_salvage_pfs_by_category")
    by_cat = {}
    for cat, cells in _by_key(summaries, "first").items():
        sub = by_rows.loc[by_rows[GROUP] == cat]
        by_cat[cat] = response_block(cells, opts) | {
            "pfs": km_block(sub[TIME], sub[EVENT], opts)[0]
        }
    res["by_category"] = by_cat
    table = [
        [b["orr"]["responders"], b["orr"]["n"] - b["orr"]["responders"]]
        for b in by_cat.values()
        if b["orr"]["responders"] is not None and b["orr"]["n"] is not None
    ]
    res["orr_by_category_test"] = (
        table_test(np.asarray(table), notes, "First-salvage ORR by category") if table else None
    )
    return res, {"first_salvage_pfs": {"First salvage": fit} if fit is not None else {}}


def _pseudo_lines(pairs: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray] | None:
    """Evaluable lines rebuilt from (evaluable, responding) pairs: responses and cluster ids."""
    m = np.concatenate([np.asarray(p["m"], dtype=float) for p in pairs])
    y = np.concatenate([np.asarray(p["y"], dtype=float) for p in pairs])
    count = np.concatenate([np.asarray(p["patients"], dtype=float) for p in pairs])
    if np.isnan(count).any():
        return None
    sizes = np.repeat(m, count.astype(np.int64)).astype(np.int64)
    hits = np.repeat(y, count.astype(np.int64)).astype(np.int64)
    ids = np.repeat(np.arange(len(sizes)), sizes)
    position = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    return position < np.repeat(hits, sizes), ids


def clustered_flag(
    pairs: list[dict[str, Any]], cells: list[dict[str, Any]], flag: str, opts: AnalysisOptions
) -> dict[str, Any]:
    """Pooled response across lines with the patient-clustered interval of the analysis
    (:func:`aftercar.analysis.summaries.clustered_block`), from the sites' pairs."""
    _, _, ne = _counts(cells, flag)
    lines = _pseudo_lines(pairs) if pairs else (np.zeros(0, bool), np.zeros(0, np.int64))
    if lines is None:
        return _flag_block(cells, flag, opts) | {"patients": None}
    y, ids = lines
    block = clustered_block(pd.Series(y, dtype="boolean"), pd.Series(ids), opts)
    return block | {"not_evaluable": ne}  # patients: those with an evaluable line


def lines_grouped(
    summaries: list[dict[str, Any]], grouping: str, opts: AnalysisOptions
) -> tuple[dict, dict]:
    """All lines by a grouping: lines, patients, patient-clustered response, pooled PFS KM
    (as :func:`aftercar.analysis.lines.grouped_lines`)."""
    from aftercar.federated.summary import LINE_GROUPINGS

    by_rows = rows(summaries, LINE_GROUPINGS[grouping])
    blocks, curves = {}, {}
    for label, cells in _by_key(summaries, grouping).items():
        sub = by_rows.loc[by_rows[GROUP] == label]
        pfs, fit = km_block(sub[TIME], sub[EVENT], opts)
        block = {
            "lines": _sum([c["lines"] for c in cells]),
            "patients": _sum([c["patients"] for c in cells]),
        }
        for flag in ("orr", Col.VGPR_OR_BETTER, Col.CR_OR_BETTER):
            key = Col.RESPONDED if flag == "orr" else flag
            pairs = [
                node[key]
                for s in summaries
                if key in (node := s["response"]["all_lines_clusters"][grouping].get(label, {}))
            ]
            block[flag] = clustered_flag(pairs, cells, flag, opts)
        blocks[label] = block | {"pfs": pfs}
        if fit is not None:
            curves[label] = fit
    return blocks, curves


def all_lines_block(
    summaries: list[dict[str, Any]], opts: AnalysisOptions
) -> tuple[dict, dict, dict]:
    """``by_category`` and ``all_lines`` (without the Cox models) and the PFS curves."""
    by_cat, curves = lines_grouped(summaries, "by_category", opts)
    overall = lines_grouped(summaries, "all", opts)[0].get("All lines")
    retarget = lines_grouped(summaries, "bcma_retargeting", opts)[0]
    block = {
        **(overall or {"lines": 0, "patients": 0}),
        "by_line": lines_grouped(summaries, "by_line", opts)[0],
        "tce_vs_other": lines_grouped(summaries, "tce_vs_other", opts)[0],
        "bcma_retargeting": {
            "lines": _sum([b["lines"] for b in retarget.values()]) if retarget else 0,
            "by_category": retarget,
        },
        "line_groups_pooled_from": opts.line_number_pooled_from,
    }
    return by_cat, block, {"pfs_by_category": curves}
