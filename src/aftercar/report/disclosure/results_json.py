"""Complementary suppression applied to ``results.json`` dictionaries: response blocks,
survival pairs and groups, competing risks, response bars, model terms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from aftercar.report.disclosure.cells import (
    _is_estimate,
    _is_number,
    _set,
    _shown_as,
    _withhold_estimates,
    true_value,
)
from aftercar.report.disclosure.keys import STRUCTURAL_KEYS, _small, is_count_key
from aftercar.report.disclosure.km import km_json
from aftercar.report.disclosure.structures import (
    _CHAR,
    MISSING_LEVEL,
    attrition_states,
    bars_states,
    competing_states,
    pair_states,
    response_states,
    survival_group_states,
)
from aftercar.report.disclosure.tables import _records_with, _table1_wide_dict
from aftercar.report.margins import SUPPRESSED, marker
from aftercar.schema import Col

_DEPTHS = (("orr", "orr"), ("vgpr", Col.VGPR_OR_BETTER), ("cr", Col.CR_OR_BETTER))


#: (total, part) pairs of a dictionary whose difference is an implicit cell.
PAIRS: tuple[tuple[str, str], ...] = (
    ("n", "events"),
    ("n", "observed"),
    ("patients", "tce_patients"),
    ("patients", "events"),
)


def _block_lines(obj: Mapping[str, Any], orr: Mapping[str, Any]) -> tuple[str | None, Any]:
    """The key and value of the lines a response block is over: ``lines``, or for the
    first TCE line of each TCE patient (``tce``: ``patients`` of ``n`` beside ``orr``)
    the TCE patients, when they are the evaluable plus the not-evaluable lines."""
    if "lines" in obj:
        return "lines", obj["lines"]
    parts = [true_value(orr.get("n")), true_value(orr.get("not_evaluable"))]
    pats = true_value(obj.get("patients"))
    if "fraction" in obj and pats is not None and None not in parts and sum(parts) == pats:
        return "patients", obj["patients"]
    return None, None


def _response_block(obj: dict[str, Any], k: int) -> None:
    blocks = {role: obj[name] for role, name in _DEPTHS if isinstance(obj.get(name), dict)}
    orr = blocks["orr"]
    lines_key, lines = _block_lines(obj, orr)
    vals = {"lines": lines, "n": orr.get("n"), "ne": orr.get("not_evaluable")}
    vals |= {role: b.get("responders") for role, b in blocks.items()}
    states = response_states({n: v for n, v in vals.items() if v is not None}, k)
    if lines_key is not None:
        _set(obj, lines_key, states.get("lines"))
    # patients with an evaluable line: n when each patient has one line (lines =
    # patients), so with lines it gives the not-evaluable back; hidden with the margin
    margin_hidden = any(states.get(r, "shown") != "shown" for r in ("lines", "n", "ne"))
    for role, block in blocks.items():
        block = obj[dict(_DEPTHS)[role]] = dict(block)
        _set(block, "n", states.get("n"))
        _set(block, "not_evaluable", states.get("ne"))
        _set(block, "responders", states.get(role))
        if margin_hidden and _is_number(block.get("patients")):
            small = _small(true_value(block["patients"]), k)
            _set(block, "patients", marker(k) if small else SUPPRESSED)


def _single_response(obj: dict[str, Any], k: int) -> None:
    vals = {"n": obj.get("n"), "ne": obj.get("not_evaluable"), "orr": obj.get("responders")}
    states = response_states({n: v for n, v in vals.items() if v is not None}, k)
    for key, role in (("n", "n"), ("not_evaluable", "ne"), ("responders", "orr")):
        _set(obj, key, states.get(role))


def _pairs(obj: dict[str, Any], k: int) -> None:
    for total, part in PAIRS:
        if total in obj and part in obj and "responders" not in obj:
            states = pair_states(obj[total], obj[part], k)
            _set(obj, total, states.get("total"))
            _set(obj, part, states.get("part"))
    if "fraction" in obj and "patients" in obj and "n" in obj:  # TCE: patients of n
        states = pair_states(obj["n"], obj["patients"], k)
        _set(obj, "patients", states.get("part"))


def _competing(obj: dict[str, Any], k: int) -> None:
    """A competing-risks block (``competing_risks``) and its ``pfs`` beside it."""
    block, pfs = obj.get("competing_risks"), obj.get("pfs")
    if not isinstance(block, dict):
        return
    events = pfs.get("events") if isinstance(pfs, dict) else None
    states = competing_states(block.get("n"), block.get("progressions"),
                              block.get("deaths_without_progression"), events, k)  # fmt: skip
    block = obj["competing_risks"] = dict(block)
    _set(block, "progressions", states.get("progressions"))
    _set(block, "deaths_without_progression", states.get("deaths"))
    if isinstance(pfs, dict) and "events" in states:
        obj["pfs"] = dict(pfs)
        _set(obj["pfs"], "events", states.get("events"))


def _group_margins(obj: dict[str, Any], k: int) -> None:
    """Groups of a survival comparison (``<child>.groups.<g>``) partition ``obj``."""
    size_key = "n" if "n" in obj else "patients"
    for name, child in list(obj.items()):
        groups = child.get("groups") if isinstance(child, dict) else None
        if not isinstance(groups, dict) or not all(isinstance(g, dict) for g in groups.values()):
            continue
        parts = {str(g): (v.get("n"), v.get("events")) for g, v in groups.items()}
        if _is_number(child.get("missing_group")):
            parts[MISSING_LEVEL] = (child["missing_group"], None)
        states = survival_group_states(parts, (obj.get(size_key), obj.get("events")), k)
        _set(obj, size_key, states.get(("", "n")))
        _set(obj, "events", states.get(("", "events")))
        child = obj[name] = dict(child)
        child["groups"] = {g: dict(v) for g, v in groups.items()}
        for g, v in child["groups"].items():
            _set(v, "n", states.get((str(g), "n")))
            _set(v, "events", states.get((str(g), "events")))
        _set(child, "missing_group", states.get((MISSING_LEVEL, "n")))
        rank = child.get("logrank")
        if isinstance(rank, dict) and isinstance(rank.get("groups"), list):
            rows = [dict(r) if isinstance(r, dict) else r for r in rank["groups"]]
            for r in rows:
                if isinstance(r, dict):
                    _set(r, "n", states.get((str(r.get("group")), "n")))
                    _set(r, "observed", states.get((str(r.get("group")), "events")))
            child["logrank"] = rank | {"groups": rows}


def _bars(obj: dict[str, Any], k: int) -> None:
    rows = []
    for row in obj.get("rows", []):
        if isinstance(row, dict) and isinstance(row.get("counts"), list):
            states = bars_states(row.get("lines"), row["counts"], k)
            row = dict(row)
            row["counts"] = [_shown_as(v, states.get(i)) for i, v in enumerate(row["counts"])]
            _set(row, "lines", states.get("lines"))
        rows.append(row)
    obj["rows"] = rows


#: Sizes of the two levels of a binary model term (``[n at 0, n at 1]``), written by
#: :func:`aftercar.analysis.summaries.level_counts`: read here, never shared.
LEVEL_KEY = "level_n"


def _small_level(term: Any, k: int) -> bool:
    counts = term.get(LEVEL_KEY) if isinstance(term, Mapping) else None
    return isinstance(counts, list) and any(_small(true_value(c), k) for c in counts)


def sparse_terms(obj: Any, k: int) -> set[str]:
    """Names of the model terms in ``obj`` (any depth) with a level held by 1 to K-1
    patients or lines: their estimates are withheld (rule 4)."""
    if isinstance(obj, list):
        return set().union(set(), *(sparse_terms(v, k) for v in obj))
    if not isinstance(obj, Mapping):
        return set()
    own = {str(obj.get("term"))} if _small_level(obj, k) else set()
    return own.union(*(sparse_terms(v, k) for v in obj.values()))


def _model_terms(obj: dict[str, Any], k: int) -> None:
    """A Cox model's terms (and their proportional-hazards tests) with a level under K
    have every estimate withheld; the level sizes are dropped."""
    small = sparse_terms(obj["terms"], k)
    obj["terms"] = [
        _withhold_estimates({c: v for c, v in t.items() if c != LEVEL_KEY})
        if str(t.get("term")) in small else {c: v for c, v in t.items() if c != LEVEL_KEY}
        for t in obj["terms"] if isinstance(t, Mapping)
    ]  # fmt: skip
    ph = obj.get("ph_test")
    if small and isinstance(ph, dict) and isinstance(ph.get("terms"), list):
        obj["ph_test"] = ph | {"terms": [
            _withhold_estimates(t) if isinstance(t, Mapping) and str(t.get("term")) in small
            else t for t in ph["terms"]
        ]}  # fmt: skip
    named = {str(t.get("term")) for t in obj["terms"] if isinstance(t, Mapping)}
    if small and named <= small:  # every term withheld: the model's tests are theirs
        _withhold_model_tests(obj)


#: A Cox model's overall tests: with one term (or every term withheld) they are that
#: term's own tests (fuzzing round 4: a one-term model's Wald p was its withheld term's p,
#: its GLOBAL proportional-hazards test the term's).
MODEL_TESTS = ("wald_test", "score_test", "lr_test", "loglik", "concordance")


def _withhold_model_tests(obj: dict[str, Any]) -> None:
    for key in MODEL_TESTS:
        if key in obj:
            obj[key] = _withhold_estimates({key: obj[key]})[key]
    ph = obj.get("ph_test")
    if isinstance(ph, dict) and isinstance(ph.get("terms"), list):
        obj["ph_test"] = ph | {"terms": [_withhold_estimates(t) if isinstance(t, Mapping)
                                         else t for t in ph["terms"]]}  # fmt: skip


def _withhold_table_terms(tables: Mapping[str, pd.DataFrame],
                          small: set[str]) -> dict[str, pd.DataFrame]:  # fmt: skip
    """Rows of model tables (a ``term`` column) whose term has a level under K: every
    estimate withheld, as in ``results.json``."""
    out = dict(tables)
    for name, df in tables.items():
        if "term" not in df.columns or not small:
            continue
        hit = df["term"].astype(str).isin(small).to_numpy(dtype=bool)
        if not hit.any():
            continue
        table = df.copy()
        for col in table.columns:
            if is_count_key(col) or str(col).lower() in STRUCTURAL_KEYS:
                continue
            values = table[col].astype(object)
            mask = hit & values.map(_is_estimate).to_numpy(dtype=bool)
            values[mask] = SUPPRESSED
            table[col] = values
        out[name] = table
    return out


def _complementary(obj: Mapping[Any, Any], k: int) -> dict[Any, Any]:
    """A copy of one dictionary with the secondary suppressions of the margins it holds."""
    out = dict(obj)
    if isinstance(out.get("orr"), dict) and "responders" in out["orr"]:
        _response_block(out, k)
    elif "responders" in out and "n" in out:
        _single_response(out, k)
    _pairs(out, k)
    _competing(out, k)
    if isinstance(out.get("terms"), list):
        _model_terms(out, k)
    if _is_number(out.get("n", out.get("patients"))):
        _group_margins(out, k)
    kind = out.get("kind")
    if kind == "kaplan-meier":
        out = km_json(out, k)
    elif kind == "response-bars":
        _bars(out, k)
    rows = out.get("rows")
    if isinstance(rows, list) and rows and isinstance(rows[0], Mapping) and _CHAR in rows[0]:
        _table1_wide_dict(out, k)
    if isinstance(out.get("steps"), list) and "analysis_exclusions" in out:
        out["steps"] = _records_with(out["steps"], attrition_states(out["steps"], k))
    return out
