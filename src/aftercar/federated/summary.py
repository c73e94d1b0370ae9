"""``site-summary``: the aggregates one site shares, computed from its derived cohort.

:func:`site_summary` takes the derived tables (:mod:`aftercar.derive`, read and
derived with the study configuration by :func:`summarise_cohort` through
:mod:`aftercar.pipeline`) and returns a JSON-ready dictionary of aggregates only:

* event tables (whole days) of OS overall, by relapse timing and by CAR-T product,
  of first-salvage PFS (overall and by category) and of PFS of all lines by category;
* response counts (responders, evaluable, not evaluable) of the first salvage line
  overall and by category, and per category and line number for all lines;
* Table 1 counts per level and, for continuous characteristics, the site's own
  median and quartiles with a quantile sketch;
* what the pooled Cox models need (:mod:`aftercar.federated.cox`).

With ``k`` (``--suppress-below K``) every count is 0 or at least K: event tables
are coarsened (:func:`aftercar.federated.aggregate.coarsen`, censorings between
listed days included), other counts from 1 to K-1 are withheld (``null``) with
their complements (:mod:`aftercar.federated.margins`: no withheld count is the
only unknown of a margin); ``disclosure`` records what was done. No patient
identifier, date or row leaves: :func:`check_no_rows` refuses a summary that holds one.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aftercar import __version__
from aftercar.analysis.baseline import identifying_covariate
from aftercar.analysis.descriptive import TABLE1_ROWS, level_labels, relapse_timing
from aftercar.analysis.options import AnalysisOptions
from aftercar.derive import DerivedCohort, EndpointRules
from aftercar.errors import InputError
from aftercar.federated import aggregate as agg
from aftercar.federated import cox, margins, zph
from aftercar.schema import DAYS_PER_MONTH, Col

#: Format name and version of a site summary (``data/site_summary.schema.json``).
FORMAT = "aftercar-site-summary"
SCHEMA_VERSION = 1

#: Keys whose values (or list elements) are counts of patients or lines.
COUNT_KEYS = frozenset(
    {
        "events",
        "n_risk",
        "count",
        "n",
        "patients",
        "lines",
        "responders",
        "not_evaluable",
        "missing",
        "patients_with_lines",
        "patients_without_lines",
    }
)

#: Sketch bins per unit of the continuous Table 1 characteristics (0.1 year, one day).
SKETCH_PER_UNIT = {
    Col.AGE_AT_CART: 10.0,
    Col.RELAPSE_MONTHS: DAYS_PER_MONTH,
    Col.PRIOR_LINES: 1.0,
}

_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b")


class _Tables:
    """Event tables coarsened as they are added; the coarsening recorded by path."""

    def __init__(self, k: int | None) -> None:
        self.k = k
        self.record: dict[str, Any] = {}

    def one(self, path: str, months: Any, event: Any) -> dict[str, Any]:
        table, rec = agg.coarsen(agg.event_table(months, event), self.k)
        self.record[path] = rec
        return table

    def grouped(self, path: str, months: Any, event: Any, group: pd.Series) -> dict[str, Any]:
        out = {}
        for label, raw in agg.grouped_tables(months, event, group).items():
            out[label], self.record[f"{path}/{label}"] = agg.coarsen(raw, self.k)
        return out


def _survival(derived: DerivedCohort, rules: EndpointRules, opts, tabs: _Tables) -> dict:
    pts = derived.patients.loc[derived.patients[Col.OS_VALID]].reset_index(drop=True)
    t, e = pts[Col.OS_MONTHS], pts[Col.OS_EVENT]
    lines = derived.lines
    first = lines.loc[lines[Col.LINE] == 1].reset_index(drop=True)
    ft, fe = first[Col.PFS_MONTHS], first[Col.PFS_EVENT]
    return {
        "os": {"all": tabs.one("os", t, e)},
        "os_by_relapse_timing": tabs.grouped(
            "os_by_relapse_timing", t, e, relapse_timing(pts, rules.early_relapse_months)
        ),
        "os_by_product": tabs.grouped("os_by_product", t, e, pts[Col.CAR_T_PRODUCT]),
        "first_salvage_pfs": {"all": tabs.one("first_salvage_pfs", ft, fe)},
        "first_salvage_pfs_by_category": tabs.grouped(
            "first_salvage_pfs_by_category", ft, fe, first[Col.CATEGORY]
        ),
    } | {
        name: tabs.grouped(name, frame[Col.PFS_MONTHS], frame[Col.PFS_EVENT], key)
        for (frame, key), name in zip(
            line_groupings(lines, opts).values(), LINE_GROUPINGS.values(), strict=True
        )
    }


def _flag_counts(flag: pd.Series, k: int | None) -> dict[str, int | None]:
    known = flag.notna().to_numpy()
    return {
        "responders": agg.count_or_none(int(flag[known].astype(bool).sum()), k),
        "n": agg.count_or_none(int(known.sum()), k),
        "not_evaluable": agg.count_or_none(int((~known).sum()), k),
    }


_FLAGS = ("orr", Col.VGPR_OR_BETTER, Col.CR_OR_BETTER)


def _response_cell(frame: pd.DataFrame, k: int | None) -> dict[str, Any]:
    cell = {
        "lines": len(frame),
        "patients": int(frame[Col.PATIENT_ID].nunique()),
        "orr": _flag_counts(frame[Col.RESPONDED], None),
        Col.VGPR_OR_BETTER: _flag_counts(frame[Col.VGPR_OR_BETTER], None),
        Col.CR_OR_BETTER: _flag_counts(frame[Col.CR_OR_BETTER], None),
    }
    return _protect_response(cell, k) if k is not None else cell


def _response_margins(cell: dict[str, Any]) -> tuple[dict, list, list]:
    """Values, margins and implicit cells of one response cell: lines = evaluable + not
    evaluable and evaluable = responders + non-responders per depth; responders at one
    depth = responders at a deeper one + the lines in between."""
    values: dict[Any, int] = {("lines",): cell["lines"], ("patients",): cell["patients"]}
    margins_, implicit = [], []
    for f in _FLAGS:
        b = cell[f]
        values |= {(f, key): b[key] for key in ("responders", "n", "not_evaluable")}
        values[(f, "non")] = b["n"] - b["responders"]
        implicit.append((f, "non"))
        margins_ += [(("lines",), ((f, "n"), (f, "not_evaluable"))),
                     ((f, "n"), ((f, "responders"), (f, "non")))]  # fmt: skip
    for i, wide in enumerate(_FLAGS):
        for narrow in _FLAGS[i + 1 :]:
            gap = values[(wide, "responders")] - values[(narrow, "responders")]
            if gap >= 0:
                values[(wide, narrow)] = gap
                implicit.append((wide, narrow))
                margins_.append(((wide, "responders"), ((narrow, "responders"), (wide, narrow))))
    return values, margins_, implicit


def _protect_response(cell: dict[str, Any], k: int) -> dict[str, Any]:
    """Primary and complementary suppression of one response cell (lines are shown
    elsewhere, as the PFS event tables' numbers at risk: never a complement)."""
    values, margins_, implicit = _response_margins(cell)
    hide = margins.secondary(values, margins_, k, implicit=implicit, fixed={("lines",)})
    margins.apply(cell, hide, {key: key for key in values})
    return cell


def _cluster_pairs(lines: pd.DataFrame, key: pd.Series, k: int | None) -> dict[str, Any]:
    """Per group and flag: patients per (evaluable lines, responding lines) pair.

    The patient-clustered (sandwich) interval of a pooled response rate depends on
    the patients only through these pairs, so the pooled interval is exact.
    """
    out: dict[str, Any] = {}
    for flag in (Col.RESPONDED, Col.VGPR_OR_BETTER, Col.CR_OR_BETTER):
        known = lines[flag].notna()
        frame = pd.DataFrame(
            {
                Col.CATEGORY: key.astype("string").to_numpy(),
                Col.PATIENT_ID: lines[Col.PATIENT_ID].to_numpy(),
                "m": known.astype(np.int64).to_numpy(),
                "y": lines[flag].fillna(False).astype(bool).astype(np.int64).to_numpy(),
            }
        ).dropna(subset=[Col.CATEGORY])
        per = frame.groupby([Col.CATEGORY, Col.PATIENT_ID], sort=False)[["m", "y"]].sum()
        pairs = per.loc[per["m"] > 0].groupby([Col.CATEGORY, "m", "y"]).size()
        for (cat, m, y), count in pairs.items():
            cell = out.setdefault(str(cat), {}).setdefault(flag, {"m": [], "y": [], "patients": []})
            shared = agg.count_or_none(int(count), k)
            cell["m"].append(int(m) if shared is not None else None)
            cell["y"].append(int(y) if shared is not None else None)
            cell["patients"].append(shared)
    return out


#: Groupings of all lines (as :func:`aftercar.analysis.lines.all_lines`) and the key of
#: their PFS event tables under ``survival``.
LINE_GROUPINGS = {
    "by_category": "pfs_by_category",
    "by_line": "pfs_by_line",
    "tce_vs_other": "pfs_tce_vs_other",
    "bcma_retargeting": "pfs_bcma_retargeting",
    "all": "pfs_all_lines",
}


def line_groupings(lines: pd.DataFrame, opts: AnalysisOptions) -> dict[str, tuple]:
    """(lines, group label) of each grouping of :data:`LINE_GROUPINGS`."""
    pooled_from = opts.line_number_pooled_from
    number = lines[Col.LINE].astype("int64").astype(str)
    by_line = number.where(lines[Col.LINE] < pooled_from, f"{pooled_from}+")
    tce = pd.Series(np.where(lines[Col.TCE], "TCE", "Other"), index=lines.index)
    bcma = lines.loc[lines[Col.BCMA_DIRECTED]]
    return {
        "by_category": (lines, lines[Col.CATEGORY]),
        "by_line": (lines, by_line),
        "tce_vs_other": (lines, tce),
        "bcma_retargeting": (bcma, bcma[Col.CATEGORY]),
        "all": (lines, pd.Series("All lines", index=lines.index)),
    }


def _response(lines: pd.DataFrame, opts: AnalysisOptions, k: int | None) -> dict[str, Any]:
    first = lines.loc[lines[Col.LINE] == 1]
    groups = line_groupings(lines, opts)
    return {
        "first_salvage": {
            "all": _response_cell(first, k),
            "by_category": {
                str(c): _response_cell(sub, k) for c, sub in first.groupby(Col.CATEGORY, sort=True)
            },
        },
        "all_lines": {
            g: {str(c): _response_cell(sub, k) for c, sub in frame.groupby(key, sort=True)}
            for g, (frame, key) in groups.items()
        },
        "all_lines_clusters": {
            g: _cluster_pairs(frame, key, k) for g, (frame, key) in groups.items()
        },
    }


def _continuous_row(values: pd.Series, column: str, k: int | None) -> dict[str, Any]:
    x = pd.to_numeric(values.astype("Float64"), errors="coerce").to_numpy(float)
    x = x[np.isfinite(x)]
    row: dict[str, Any] = {
        "kind": "continuous",
        "n": len(x),
        "missing": int(values.isna().sum()),
    }
    if len(x) and (k is None or len(x) >= k):
        q1, med, q3 = (float(v) for v in np.percentile(x, [25, 50, 75]))
        row |= {"median": med, "q1": q1, "q3": q3}
        row["sketch"] = agg.sketch(x, SKETCH_PER_UNIT.get(column, 10.0), k)
    return row


def _table1(patients: pd.DataFrame, cutoff: float, k: int | None) -> dict[str, Any]:
    pts = patients.assign(relapse_timing=relapse_timing(patients, cutoff))
    rows: dict[str, Any] = {}
    for column, label, kind in TABLE1_ROWS:
        if column == Col.SITE or column not in pts.columns or pts[column].isna().all():
            continue
        values = pts[column]
        if kind == "continuous":
            rows[column] = {"label": label, **_continuous_row(values, column, k)}
            continue
        counts = level_labels(values).value_counts()
        rows[column] = {
            "label": label,
            "kind": "categorical",
            "levels": {str(lv): int(c) for lv, c in counts.items()},
            "missing": int(values.isna().sum()),
        }
    if k is not None:
        for row in rows.values():
            _protect_row(row, len(pts), k)
            if 0 < len(pts) < k:
                _withhold_row(row)
    return {"patients": agg.count_or_none(len(pts), k), "rows": rows}


def _withhold_row(row: dict[str, Any]) -> None:
    """Every count and estimate of a Table 1 row of a site of 1 to K-1 patients withheld:
    its zeros and levels would describe those few patients one by one (fuzz round 9,
    session 28: both patients of a 2-patient site read as male, PR, ISS 3)."""
    for key in ("n", "missing"):
        if key in row:
            row[key] = None
    if "levels" in row:  # the names of the levels present would tell them too
        row["levels"] = {}
        row["withheld"] = True
    for key in ("median", "q1", "q3"):
        row.pop(key, None)
    if "sketch" in row:
        row["sketch"] = {key: row["sketch"][key] for key in ("resolution", "per_unit")
                         if key in row["sketch"]} | {"suppressed": True}  # fmt: skip


def _protect_row(row: dict[str, Any], patients: int, k: int) -> None:
    """Primary and complementary suppression of one Table 1 row: its levels (or number
    known) and missing add up to the patients, shown elsewhere (never a complement).
    A continuous row whose number known is withheld loses its sketch (whose counts
    add up to it)."""
    cells = [("levels", lv) for lv in row.get("levels", {})] or [("n",)]
    cells.append(("missing",))
    values = {("patients",): patients} | {c: _at(row, c) for c in cells}
    hide = margins.secondary(values, [(("patients",), tuple(cells))], k, fixed={("patients",)})
    margins.apply(row, hide - {("patients",)}, {c: c for c in cells})
    if row.get("kind") == "continuous" and row["n"] is None and "sketch" in row:
        row["sketch"] = {key: row["sketch"][key] for key in ("resolution", "per_unit")} | {
            "suppressed": True
        }


def _at(node: dict[str, Any], path: tuple) -> Any:
    for key in path:
        node = node[key]
    return node


def _cohort(derived: DerivedCohort, k: int | None) -> dict[str, Any]:
    per = derived.patients[Col.N_LINES].to_numpy()
    out = {
        "patients": len(per),
        "lines": len(derived.lines),
        "patients_with_lines": int((per > 0).sum()),
        "patients_without_lines": int((per == 0).sum()),
        "lines_per_patient": agg.sketch(per, 1.0, k),
    }
    if k is not None:  # patients = with lines + without lines
        keys = {(c,): out[c] for c in ("patients", "lines", "patients_with_lines",
                                      "patients_without_lines")}  # fmt: skip
        parts = (("patients_with_lines",), ("patients_without_lines",))
        hide = margins.secondary(keys, [(("patients",), parts)], k, fixed={("patients",)})
        margins.apply(out, hide, {key: key for key in keys})
    return out


def _coarsen_patterns(table: dict[str, Any], k: int | None, record: dict, path: str) -> dict:
    """Each pattern's event table as shared (``n_risk``, ``events``; coarsened for ``k``);
    patterns with too few rows are left out."""
    frame = pd.DataFrame({c: table[c] for c in (Col.TIME, "pattern", "events", "censored")})
    parts, dropped = [], 0
    for pat, sub in frame.groupby("pattern", sort=True):  # one pass per covariate pattern
        merged, rec = agg.coarsen({c: sub[c].to_numpy() for c in sub.columns}, k)
        if rec["suppressed"]:
            dropped += 1
            continue
        parts.append(pd.DataFrame(merged).assign(pattern=pat))
    record[path] = {"patterns_before": len(table["patterns"]), "patterns_dropped": dropped}
    cols = [Col.TIME, "pattern", "n_risk", "events"]
    out = pd.concat(parts)[cols] if parts else pd.DataFrame(columns=cols)
    out = out.sort_values([Col.TIME, "pattern"])
    shared = {key: table[key] for key in ("covariates", "patterns")}
    return shared | {c: out[c].astype(np.int64).tolist() for c in cols}


def _covariate_info(values: pd.Series, k: int | None) -> dict[str, Any]:
    try:
        x = pd.to_numeric(values.astype("Float64"), errors="coerce")
        known = x.dropna()
        out = {
            "kind": "numeric",
            "n_known": agg.count_or_none(len(known), k),
            "distinct": min(int(known.nunique()), 2),
        }
        if out["distinct"] == 1 and out["n_known"] is not None:
            out["value"] = float(known.iloc[0])  # the one value of >= K patients
        return out
    except (TypeError, ValueError):
        counts = values.astype("string").value_counts()
        levels = {str(lv): agg.count_or_none(int(c), k) for lv, c in counts.items()}
        n_known = agg.count_or_none(int(counts.sum()), k)
        return {"kind": "text", "n_known": n_known, "levels": levels}


def _cox_os(patients: pd.DataFrame, opts: AnalysisOptions, k, record: dict) -> dict[str, Any]:
    pts = patients.loc[patients[Col.OS_VALID]].reset_index(drop=True)
    t = pts[Col.OS_MONTHS].to_numpy(float)
    ok = np.isfinite(t) & (t >= 0)
    pts = pts.loc[ok].reset_index(drop=True)
    # an identifying covariate (an id, a date, one text per patient) would put its values
    # into the file that leaves the site (fuzzing round 6, I02): left out, as in the report
    present = [c for c in opts.cox_covariates if c in pts.columns and not pts[c].isna().all()
               and identifying_covariate(c, pts[c]) is None]  # fmt: skip
    info = {c: _covariate_info(pts[c], k) for c in present}
    if all(cox.is_categorical(pts[c]) for c in present):
        days = agg.whole_days(pts[Col.OS_MONTHS], "cox_os")
        table = cox.pattern_table(days, pts[Col.OS_EVENT].to_numpy(bool), pts[present])
        table = _coarsen_patterns(table, k, record, "cox/cox_os")
        return {"protocol": "patterns", "covariates": info, "table": table}
    return {"protocol": "newton", "covariates": info}


def _cox_lines(lines: pd.DataFrame, k: int | None, record: dict) -> dict[str, Any]:
    t = lines[Col.PFS_MONTHS].to_numpy(float)
    sub = lines.loc[np.isfinite(t) & (t >= 0)].reset_index(drop=True)
    days = agg.whole_days(sub[Col.PFS_MONTHS], "pfs_cox")
    ev = sub[Col.PFS_EVENT].to_numpy(bool)
    tce = pd.DataFrame({Col.TCE: np.where(sub[Col.TCE], "TCE", "Other")})
    cat = pd.DataFrame({Col.CATEGORY: sub[Col.CATEGORY].astype("string")})
    return {
        "pfs_cox_tce": {
            "protocol": "patterns",
            "table": _coarsen_patterns(cox.pattern_table(days, ev, tce), k, record, "cox/tce"),
        },
        "pfs_cox_by_category": {
            "protocol": "patterns",
            "table": _coarsen_patterns(cox.pattern_table(days, ev, cat), k, record, "cox/cat"),
        },
    }


def site_summary(
    derived: DerivedCohort,
    *,
    site: str,
    rules: EndpointRules,
    options: AnalysisOptions,
    config_hash: str,
    suppress_below: int | None = None,
    synthetic: bool = False,
) -> dict[str, Any]:
    """The aggregates of one site (see the module docstring and ``docs/federated.md``).

    Parameters
    ----------
    derived
        The site's derived tables.
    site
        The site's name (shown in the pooled Table 1 and strata).
    rules, options
        The study's ``[endpoints]`` and ``[analysis]`` sections.
    config_hash
        SHA-256 of the study configuration; ``aftercar pool`` requires every site's to agree.
    suppress_below
        Disclosure threshold K, or ``None`` for exact (unsuppressed) aggregates.
    synthetic
        The cohort is synthetic (the pooled report is labelled so when every site is).

    Returns
    -------
    dict
        JSON-ready summary (``data/site_summary.schema.json``).
    """
    k = suppress_below
    tabs = _Tables(k)
    record: dict[str, Any] = {}
    out = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        Col.SITE: site,
        "aftercar_version": __version__,
        "config_hash": config_hash,
        "synthetic": bool(synthetic),
        "time_unit": "days",
        "cohort": _cohort(derived, k),
        "survival": _survival(derived, rules, options, tabs),
        "response": _response(derived.lines, options, k),
        "table1": _table1(derived.patients, rules.early_relapse_months, k),
        "cox": {
            "ties": options.cox_ties,
            "cox_os": _cox_os(derived.patients, options, k, record),
            **_cox_lines(derived.lines, k, record),
        },
    }
    out["disclosure"] = _disclosure(out, k, tabs.record | record)
    check_no_rows(out, derived.patients[Col.PATIENT_ID])
    return out


def _nulls(node: Any, path: str = "") -> list[str]:
    if isinstance(node, dict):
        return [p for key, v in node.items() for p in _nulls(v, f"{path}/{key}")]
    if isinstance(node, list):
        return []
    return [path] if node is None else []


def _disclosure(summary: dict[str, Any], k: int | None, coarsened: dict) -> dict[str, Any]:
    if k is None:
        return {"suppress_below": None, "method": "none: exact aggregates"}
    withheld = [p for p in _nulls(summary) if p.rsplit("/", 1)[-1] in COUNT_KEYS]
    return {
        "suppress_below": k,
        "method": (
            "event tables (time, n_risk, events): consecutive whole-day bins of >= K events "
            "(at the mean day of their events) and of >= K censorings (at the mean day of "
            "theirs), so every event count and every count of censorings between listed days "
            "is 0 or >= K and every number at risk >= K; groups and covariate patterns with 1 "
            "to K-1 events or censorings or fewer than K rows are left out; other counts from "
            "1 to K-1 withheld (null), and beside each the smallest other count of its margin "
            "(Table 1 levels + missing = patients; evaluable + not evaluable = lines; "
            "responders + non-responders = evaluable; patients with + without lines = "
            "patients) so that none is recovered by subtraction; sketch bins at their midpoint"
        ),
        "coarsened": coarsened,
        "withheld": withheld,
    }


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [*map(str, node.keys()), *(s for v in node.values() for s in _strings(v))]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return [node] if isinstance(node, str) else []


def check_no_rows(summary: dict[str, Any], patient_ids: Any) -> None:
    """Refuse a summary holding a patient identifier or a date (row-level data).

    Raises
    ------
    InputError
        Naming the offending text (never written).
    """
    texts = set(_strings(summary))
    ids = set(pd.Series(patient_ids).dropna().astype(str))
    leaked = sorted(texts & ids)
    dates = sorted(t for t in texts if _DATE.search(t))
    if leaked or dates:
        what = "patient identifiers" if leaked else "dates"
        raise InputError(
            f"site-summary refused to write: the summary would hold {what} "
            f"({len(leaked) + len(dates)} value(s)); only aggregates may leave a site. "
            "Fix: a category or level label must not be an identifier or a date."
        )


def summarise_cohort(
    cohort: str | Path,
    config: Any,
    *,
    site: str | None = None,
    suppress_below: int | None = None,
) -> tuple[dict[str, Any], DerivedCohort]:
    """Read and derive a cohort as ``aftercar report`` does, then :func:`site_summary`."""
    from aftercar import pipeline
    from aftercar.pipeline.provenance import input_files, is_synthetic

    data = pipeline.read(cohort, config)
    classified = pipeline.classify(data.lines.column(Col.REGIMEN).to_pandas(), config)
    derived = pipeline.derive(data, classified, config)
    name = site or site_name(derived.patients, str(cohort))
    summary = site_summary(
        derived,
        site=name,
        rules=config.endpoints,
        options=config.analysis,
        config_hash=config.config_hash(),
        suppress_below=suppress_below,
        synthetic=is_synthetic(data.source, input_files(data.source, data)),
    )
    return summary, derived


def answer_round(
    derived: DerivedCohort,
    proposal: dict[str, Any],
    site: str,
    suppress_below: int | None = None,
) -> dict[str, Any]:
    """This site's answer to a Cox coefficients file (``--cox-round``): log partial
    likelihood, score and information of its stratum at the proposed coefficients.

    Round 0 adds the complete cases' event table (withheld under ``suppress_below``),
    the round after convergence the sums of the pooled ``cox.zph``
    (:mod:`aftercar.federated.zph`).

    Raises
    ------
    InputError
        For another model's file, or (under ``suppress_below``) when the answer would
        give back a count from 1 to K-1 (:func:`aftercar.federated.cox.check_round`).
    """
    if proposal.get("model") != "cox_os":
        raise InputError(
            f"--cox-round: model {proposal.get('model')!r} is not pooled by rounds. "
            "Fix: pass the cox_round.json written by `aftercar pool`."
        )
    pts = derived.patients.loc[derived.patients[Col.OS_VALID]].reset_index(drop=True)
    t = pts[Col.OS_MONTHS].to_numpy(float)
    pts = pts.loc[np.isfinite(t) & (t >= 0)].reset_index(drop=True)
    complete, x = cox.design_matrix(pts, proposal)
    sub = pts.loc[complete]
    time, event = sub[Col.OS_MONTHS].to_numpy(float), sub[Col.OS_EVENT].to_numpy(bool)
    names = [t["term"] for t in proposal["terms"]]
    cox.check_round(len(pts), event, x, names, suppress_below)
    out = cox.site_answer(time, event, x, proposal, site, suppress_below)
    if proposal["round"] == 0:  # for the pooled cox.zph: the complete cases' event table
        out["km_table"] = None if suppress_below else agg.event_table(time, event)
    if proposal["state"].get("phase") == "zph":
        ties = proposal.get("ties", "efron")
        out["zph"] = zph.site_sums(time, event, x, proposal["beta"], proposal["state"]["g"], ties)
    return out


def site_name(patients: pd.DataFrame, source: str) -> str:
    """The cohort's one ``site`` value; an error naming the values when there is not one."""
    values = (
        sorted(patients[Col.SITE].dropna().astype(str).unique()) if Col.SITE in patients else []
    )
    if len(values) == 1:
        return values[0]
    raise InputError(
        f"{source}: cannot tell the site's name (column '{Col.SITE}' holds {len(values)} "
        "distinct value(s)). Fix: pass --site NAME."
    )
