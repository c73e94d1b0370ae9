"""Response and PFS per salvage line: the first salvage line and all lines.

* :func:`first_salvage`: ORR, >= VGPR, >= CR (exact CIs) and PFS of the first
  salvage line, overall and by therapy category, with a test of ORR by category;
* :func:`all_lines`: response (patient-clustered) and PFS of all lines by
  category, by line number, TCE vs other and BCMA re-targeting, and Cox models of
  line-level PFS with a patient cluster.

Each function takes the derived ``line_endpoints`` table (:mod:`aftercar.derive`)
and the typed options and returns an :class:`~aftercar.analysis.model.AnalysisResult`.
Every number comes with its n and confidence interval; not-estimable values are
``None``.

Inference across repeated lines per patient is patient-clustered: response by a
cluster-robust (sandwich) interval for the pooled proportion, PFS by a Cox model
with a patient cluster (robust variance). Kaplan-Meier medians of pooled lines are
descriptive.

References
----------
Van Oekelen O, et al. Blood 2023;141:756-765 (index study).
Kumar S, et al. Lancet Oncol 2016;17:e328-e346 (IMWG response).
Schemper M, Smith TL. Control Clin Trials 1996;17:343-346 (reverse KM follow-up).
Lin DY, Wei LJ. J Am Stat Assoc 1989;84:1074-1078 (robust variance, Cox).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from aftercar.analysis.hazards import clustered_km, competing_risks
from aftercar.analysis.model import AnalysisResult
from aftercar.analysis.options import AnalysisOptions
from aftercar.analysis.summaries import (
    clustered_block,
    clustered_groups,
    fit_cox,
    km_block,
    response_block,
    table_test,
)
from aftercar.schema import Col


def _depth(frame: pd.DataFrame, opts: AnalysisOptions) -> dict[str, Any]:
    return {
        "orr": response_block(frame[Col.RESPONDED], opts),
        Col.VGPR_OR_BETTER: response_block(frame[Col.VGPR_OR_BETTER], opts),
        Col.CR_OR_BETTER: response_block(frame[Col.CR_OR_BETTER], opts),
    }


def first_salvage(lines: pd.DataFrame, opts: AnalysisOptions) -> AnalysisResult:
    """First salvage line: ORR, >= VGPR, >= CR (exact CIs), PFS; each by category."""
    first = lines.loc[lines[Col.LINE] == 1].reset_index(drop=True)
    sec = AnalysisResult()
    pfs, fit = km_block(first[Col.PFS_MONTHS], first[Col.PFS_EVENT], opts)
    res: dict[str, Any] = {
        "lines": len(first),
        "patients": int(first[Col.PATIENT_ID].nunique()),
        **_depth(first, opts),
        "pfs": pfs,
    }
    by_cat: dict[str, Any] = {}
    for cat, sub in first.groupby(Col.CATEGORY, sort=True):
        cat_pfs, _ = km_block(sub[Col.PFS_MONTHS], sub[Col.PFS_EVENT], opts)
        by_cat[str(cat)] = {
            "lines": len(sub),
            "patients": int(sub[Col.PATIENT_ID].nunique()),
            **_depth(sub, opts),
            "pfs": cat_pfs,
        }
    res["by_category"] = by_cat
    res["competing_risks"] = competing_risks(first, opts)
    res["orr_by_category_test"] = table_test(
        _outcome_table(first, Col.CATEGORY, Col.RESPONDED),
        sec.notes,
        "First-salvage ORR by category",
    )
    sec.results["first_salvage"] = res
    sec.curves["first_salvage_pfs"] = {"First salvage": fit} if fit is not None else {}
    sec.tables["first_salvage_by_category"] = _response_table(by_cat, Col.CATEGORY)
    return sec


def _outcome_table(frame: pd.DataFrame, group: str, flag: str) -> np.ndarray:
    """Groups x (responders, non-responders) counts over evaluable rows."""
    known = frame.loc[frame[flag].notna()]
    yes = known[flag].astype(bool).to_numpy()
    codes, _ = pd.factorize(known[group], sort=True)
    k = int(codes.max()) + 1 if len(codes) else 0
    return np.column_stack(
        [np.bincount(codes[yes], minlength=k), np.bincount(codes[~yes], minlength=k)]
    )


def _group_block(sub: pd.DataFrame, opts: AnalysisOptions) -> tuple[dict[str, Any], Any]:
    pfs, fit = km_block(sub[Col.PFS_MONTHS], sub[Col.PFS_EVENT], opts)
    ids = sub["_pid"] if "_pid" in sub.columns else sub[Col.PATIENT_ID]
    block = {
        "lines": len(sub),
        "patients": int(ids.nunique()),
        "orr": clustered_block(sub[Col.RESPONDED], ids, opts),
        Col.VGPR_OR_BETTER: clustered_block(sub[Col.VGPR_OR_BETTER], ids, opts),
        Col.CR_OR_BETTER: clustered_block(sub[Col.CR_OR_BETTER], ids, opts),
        "pfs": pfs,
    }
    return block, fit


def grouped_lines(
    lines: pd.DataFrame, key: pd.Series, opts: AnalysisOptions
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Response (clustered by patient) and PFS per group of lines; blocks and KM curves.

    ``lines`` must carry ``_pid`` (integer patient codes).
    """
    codes, labels = pd.factorize(key, sort=True)
    pid = lines["_pid"].to_numpy()
    flags = {
        flag: clustered_groups(lines[flag], pid, codes, len(labels), opts)
        for flag in (Col.RESPONDED, Col.VGPR_OR_BETTER, Col.CR_OR_BETTER)
    }
    blocks: dict[str, Any] = {}
    curves: dict[str, Any] = {}
    needed = lines[[Col.PFS_MONTHS, Col.PFS_EVENT, "_pid"]]  # not every column per group
    for k, label in enumerate(labels):
        sub = needed.loc[codes == k]
        pfs, fit = km_block(sub[Col.PFS_MONTHS], sub[Col.PFS_EVENT], opts)
        blocks[str(label)] = {
            "lines": len(sub),
            "patients": int(sub["_pid"].nunique()),
            "orr": flags[Col.RESPONDED][k],
            Col.VGPR_OR_BETTER: flags[Col.VGPR_OR_BETTER][k],
            Col.CR_OR_BETTER: flags[Col.CR_OR_BETTER][k],
            "pfs": pfs,
        }
        if fit is not None:
            curves[str(label)] = fit
    return blocks, curves


def _line_group(line: pd.Series, pooled_from: int) -> pd.Series:
    text = line.astype("int64").astype(str)
    return text.where(line < pooled_from, f"{pooled_from}+")


def all_lines(lines: pd.DataFrame, opts: AnalysisOptions) -> AnalysisResult:
    """All lines: response and PFS by category, by line number, TCE vs other, BCMA re-targeting.

    Lines numbered ``opts.line_number_pooled_from`` or more are pooled ("4+").
    """
    pooled_from = opts.line_number_pooled_from
    sec = AnalysisResult()
    lines = lines.assign(_pid=pd.factorize(lines[Col.PATIENT_ID])[0])
    by_cat, sec.curves["pfs_by_category"] = grouped_lines(lines, lines[Col.CATEGORY], opts)
    groups = _line_group(lines[Col.LINE], pooled_from)
    by_line, _ = grouped_lines(lines, groups, opts)
    tce_label = pd.Series(np.where(lines[Col.TCE], "TCE", "Other"), index=lines.index)
    tce_vs, _ = grouped_lines(lines, tce_label, opts)
    bcma = lines.loc[lines[Col.BCMA_DIRECTED]]
    retarget, _ = grouped_lines(bcma, bcma[Col.CATEGORY], opts)
    sec.results["by_category"] = by_cat
    sec.results["all_lines"] = {
        "lines": len(lines),
        "patients": int(lines[Col.PATIENT_ID].nunique()),
        **{k: v for k, v in _group_block(lines, opts)[0].items() if k not in ("lines",)},
        "by_line": by_line,
        "tce_vs_other": tce_vs,
        "bcma_retargeting": {"lines": len(bcma), "by_category": retarget},
        "line_groups_pooled_from": pooled_from,
        "pfs_clustered": clustered_km(lines, opts),
        "pfs_cox_tce": _pfs_cox(lines, tce_label, "Other", opts, sec.notes, "TCE vs other"),
        "pfs_cox_by_category": _pfs_cox(
            lines, lines[Col.CATEGORY], _largest(lines[Col.CATEGORY]), opts, sec.notes, Col.CATEGORY
        ),
    }
    sec.tables["response_by_category"] = _response_table(by_cat, Col.CATEGORY)
    sec.tables["pfs_by_category"] = _pfs_table(by_cat, Col.CATEGORY)
    sec.tables["response_by_line"] = _response_table(by_line, Col.LINE)
    sec.tables["bcma_retargeting"] = _response_table(retarget, Col.CATEGORY)
    sec.tables["pfs_cox_lines"] = _pfs_cox_table(sec.results["all_lines"])
    return sec


def _pfs_cox_table(res: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for key in ("pfs_cox_tce", "pfs_cox_by_category"):
        block = res[key]
        for term in (block["model"] or {}).get("terms", []):
            rows.append(
                {
                    "term": term["term"],
                    "reference": block["reference"],
                    "hazard_ratio": term["hazard_ratio"],
                    "lower": term["ci95"][0],
                    "upper": term["ci95"][1],
                    "p_value": term["p_value"],
                    "robust_se": term["robust_se"],
                }
            )
    return pd.DataFrame(
        rows,
        columns=["term", "reference", "hazard_ratio", "lower", "upper", "p_value", "robust_se"],
    )


def _largest(labels: pd.Series) -> str | None:
    counts = labels.value_counts()
    return None if counts.empty else str(counts.index[0])


def _pfs_cox(
    lines: pd.DataFrame,
    labels: pd.Series,
    reference: str | None,
    opts: AnalysisOptions,
    notes: list[str],
    what: str,
) -> dict[str, Any]:
    """Cox model of line-level PFS on group indicators, robust variance clustered by patient.

    Lines of the same patient are correlated; the cluster-robust (Lin-Wei) variance
    keeps the inference valid. Groups are compared with ``reference``. The
    indicators are one column-major float matrix (no per-line Python strings, no
    copy of the lines table).
    """
    ok = (
        np.isfinite(lines[Col.PFS_MONTHS].to_numpy(float)) & (lines[Col.PFS_MONTHS] >= 0).to_numpy()
    )
    sub = lines.loc[ok, [Col.PFS_MONTHS, Col.PFS_EVENT, "_pid"]]
    codes, text = _label_codes(labels.loc[ok])
    levels = sorted(set(text) - {reference}) if reference is not None else []
    x = np.zeros((len(sub), len(levels)), order="F")
    for j, lvl in enumerate(levels):
        x[:, j] = codes == text.index(lvl)
    names = [f"{what}={lvl}" for lvl in levels]
    design = pd.DataFrame(x, columns=names, index=sub.index, copy=False)  # a view of x
    model = fit_cox(
        sub[Col.PFS_MONTHS],
        sub[Col.PFS_EVENT],
        design,
        opts,
        notes,
        cluster=sub["_pid"].to_numpy(),
        label=f"Cox model of PFS ({what})",
    )
    del design, x
    events = np.asarray(sub[Col.PFS_EVENT], dtype=float)
    counts = (np.bincount(codes, minlength=len(text)), np.bincount(codes, events, len(text)))
    return {
        "reference": reference,
        "patients": int(sub["_pid"].nunique()),
        "model": model,
        "method": "Cox model of PFS per line, robust variance clustered by patient",
        "sparse_levels": _sparse_levels(counts, text, levels, notes, what),
    }


def _label_codes(labels: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer code per line and the distinct labels as text (as ``labels.astype(str)``).

    Hashes the labels once and converts only the distinct values to text.
    """
    raw, uniques = pd.factorize(labels, use_na_sentinel=False)
    text_codes, text = pd.factorize(np.array([str(u) for u in uniques], dtype=object))
    return text_codes[raw], [str(t) for t in text]


#: A group with fewer PFS events than this gets an unstable hazard ratio (flagged).
SPARSE_EVENTS = 5


def _sparse_levels(counts, text, levels, notes: list[str], what: str) -> list[dict[str, Any]]:
    """Levels with fewer than :data:`SPARSE_EVENTS` events: listed and warned about.

    ``counts`` are (lines, events) per label code, ``text`` the labels. A
    category with one or two lines gives a hazard ratio such as 30.8 (7.5-127)
    that means nothing; the model keeps it (dropping it would change the
    reference comparisons) and says so.
    """
    size, events = counts
    sparse = [
        {
            "level": str(lvl),
            "lines": int(size[text.index(lvl)]),
            "events": int(events[text.index(lvl)]),
        }
        for lvl in levels
        if events[text.index(lvl)] < SPARSE_EVENTS
    ]
    if sparse:
        listed = ", ".join(
            f"{s['level']} ({s['lines']} lines, {s['events']} events)" for s in sparse
        )
        notes.append(
            f"Cox model of PFS ({what}): sparse levels give unstable hazard ratios: {listed}; "
            f"fewer than {SPARSE_EVENTS} events each."
        )
    return sparse


def _response_table(blocks: dict[str, Any], key: str) -> pd.DataFrame:
    rows = []
    for label, b in blocks.items():
        orr = b["orr"]
        rows.append(
            {
                key: label,
                "lines": b["lines"],
                "patients": b.get("patients"),
                Col.EVALUABLE: orr["n"],
                "not_evaluable": orr["not_evaluable"],
                "responders": orr["responders"],
                "orr": orr["estimate"],
                "lower": orr["ci95"][0],
                "upper": orr["ci95"][1],
                "ci_method": orr["method"],
                "vgpr_or_better_n": b[Col.VGPR_OR_BETTER]["responders"],
                "cr_or_better_n": b[Col.CR_OR_BETTER]["responders"],
                "pfs_median_months": b["pfs"]["median_months"],
            }
        )
    return pd.DataFrame(rows)


def _pfs_table(blocks: dict[str, Any], key: str) -> pd.DataFrame:
    rows = [
        {
            key: label,
            "n": b["pfs"]["n"],
            "events": b["pfs"]["events"],
            "median_months": b["pfs"]["median_months"],
            "lower": b["pfs"]["ci95"][0],
            "upper": b["pfs"]["ci95"][1],
        }
        for label, b in blocks.items()
    ]
    return pd.DataFrame(rows)
