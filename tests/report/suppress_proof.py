"""A reader's view of a suppressed report, written apart from the mechanism it checks.

For every margin the report holds (cells that add up to a total the reader can see,
or get by subtraction), the reader knows: shown numbers exactly, ``"<K"`` as 1..K-1,
``"suppressed"`` (a secondary suppression) as at least K, and a cell that is never
printed (non-responders, censored, the rest of a subset) as 0 or more. With one
linear equation and box constraints, the values a cell can take form the interval
``[max(lo, S_lo - sum of the others' hi), min(hi, S_hi - sum of the others' lo)]``;
a count from 1 to K-1 is *recovered* when that interval holds a single integer.

The checks walk the unsuppressed results beside the shared ones, so every cell's
true value (and so every denominator) comes from the structure itself.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

INF = math.inf
ESTIMATE_KEYS = ("estimate", "surv", "median_months", "ci95", "orr", "percent", "fraction")


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return None if math.isnan(v) else float(v)


def known(shown: Any, k: int, true: float | None = None) -> tuple[float, float]:
    """What the reader knows of one printed count. ``"suppressed"`` (withheld) is read
    as at least K, as a reader who knows the rules would, unless the true value is
    smaller (a total withheld because all its cells were small): then as anything."""
    if shown is None:
        return (0.0, INF)
    if shown == f"<{k}":
        return (1.0, k - 1.0)
    if shown == "suppressed":
        return (0.0, INF) if true is not None and true < k else (float(k), INF)
    if shown == "withheld":  # withheld with its margin: anything, 0 included
        return (0.0, INF)
    v = _num(shown)
    if v is None:
        try:
            v = float(str(shown).split(" ")[0])
        except ValueError:
            return (0.0, INF)
    return (v, v)


@dataclass
class Finding:
    where: str
    what: str


@dataclass
class Reader:
    """Collects margins and reports every small cell a reader can recover."""

    k: int
    findings: list[Finding] = field(default_factory=list)
    margins: int = 0
    cells: int = 0

    def margin(self, where: str, cells: list[tuple[float, Any]], total: tuple[float, Any]) -> None:
        """``cells`` and ``total``: (true value, as printed or None when never printed)."""
        if any(t is None for t, _ in cells) or total[0] is None:
            return
        self.margins += 1
        boxes = [known(s, self.k, t) for t, s in cells]
        t_lo, t_hi = known(total[1], self.k, total[0])
        members = [*cells, total]
        for i, (true, _shown) in enumerate(members):
            self.cells += 1
            if not 0 < true < self.k:
                continue
            if i < len(cells):
                others = [b for j, b in enumerate(boxes) if j != i]
                lo = max(boxes[i][0], t_lo - sum(b[1] for b in others))
                hi = min(boxes[i][1], t_hi - sum(b[0] for b in others))
            else:
                lo = max(t_lo, sum(b[0] for b in boxes))
                hi = min(t_hi, sum(b[1] for b in boxes))
            if hi < INF and math.floor(hi) <= math.ceil(lo):
                self.findings.append(Finding(where, f"cell {i} = {true:g} recovered ({lo}..{hi})"))

    def shown_count(self, where: str, true: float | None, shown: Any) -> None:
        """A printed count is truthful and never from 1 to K-1."""
        if true is None:
            return
        self.cells += 1
        lo, hi = known(shown, self.k, true)
        if not lo <= true <= hi:
            self.findings.append(Finding(where, f"{shown!r} printed for {true:g}"))

    def rate(self, where: str, denominator: float | None, shown: Any) -> None:
        """No estimate is shown over fewer than K."""
        if denominator is not None and 0 < denominator < self.k and _shown_estimate(shown):
            self.findings.append(Finding(where, f"estimate {shown!r} over {denominator:g}"))


def _shown_estimate(v: Any) -> bool:
    if isinstance(v, list):
        return any(_shown_estimate(x) for x in v)
    return _num(v) is not None


def pairs(raw: Any, shared: Any, path: str = "") -> Iterator[tuple[str, Mapping, Mapping]]:
    """Dictionaries found at the same place of the unsuppressed and shared results."""
    if isinstance(raw, Mapping) and isinstance(shared, Mapping):
        yield path, raw, shared
        for key, v in raw.items():
            if key in shared:
                yield from pairs(v, shared[key], f"{path}.{key}")
    elif isinstance(raw, list) and isinstance(shared, list) and len(raw) == len(shared):
        for i, (a, b) in enumerate(zip(raw, shared, strict=True)):
            yield from pairs(a, b, f"{path}[{i}]")


def _v(d: Mapping, key: str) -> float | None:
    return _num(d.get(key))


def check_dict(reader: Reader, path: str, raw: Mapping, shared: Mapping) -> None:
    """Every margin of one dictionary of results.json."""
    k = reader.k
    for key in ("n", "events", "responders", "lines", "patients", "not_evaluable", "observed"):
        if key in raw and _v(raw, key) is not None:
            reader.shown_count(f"{path}.{key}", _v(raw, key), shared.get(key))
    for total, part in (("n", "events"), ("n", "observed"), ("n", "responders")):
        t, p = _v(raw, total), _v(raw, part)
        if t is not None and p is not None:
            reader.margin(
                f"{path}: {total} = {part} + rest",
                [(p, shared.get(part)), (t - p, None)],
                (t, shared.get(total)),
            )
    orr = raw.get("orr")
    if isinstance(orr, Mapping) and _v(raw, "lines") is not None and _v(orr, "n") is not None:
        s_orr = shared.get("orr") if isinstance(shared.get("orr"), Mapping) else {}
        ne = _v(orr, "not_evaluable")
        if ne is not None:
            reader.margin(
                f"{path}: lines = evaluable + NE",
                [(_v(orr, "n"), s_orr.get("n")), (ne, s_orr.get("not_evaluable"))],
                (_v(raw, "lines"), shared.get("lines")),
            )
        _depth_margins(reader, path, raw, shared)
    _denominators(reader, path, raw, shared, k)
    _group_sums(reader, path, raw, shared)


def _depth_margins(reader: Reader, path: str, raw: Mapping, shared: Mapping) -> None:
    names = ["orr", "vgpr_or_better", "cr_or_better"]
    depth = [(n, raw[n], shared.get(n)) for n in names if isinstance(raw.get(n), Mapping)]
    n_true, n_shown = _v(raw["orr"], "n"), (shared.get("orr") or {}).get("n")
    if not isinstance(shared.get("orr"), Mapping):
        return
    chain = [(n_true, n_shown)] + [
        (_v(r, "responders"), s.get("responders") if isinstance(s, Mapping) else "suppressed")
        for _, r, s in depth
    ]
    for i in range(len(chain)):
        for j in range(i + 1, len(chain)):
            (wide, ws), (narrow, ns) = chain[i], chain[j]
            if wide is None or narrow is None:
                continue
            reader.margin(f"{path}: depth {i} >= depth {j}", [(narrow, ns), (wide - narrow, None)],
                          (wide, ws))  # fmt: skip


def _denominators(reader: Reader, path: str, raw: Mapping, shared: Mapping, k: int) -> None:
    dens = [_v(raw, d) for d in ("n", "lines", "patients", "evaluable")]
    small = [d for d in dens if d is not None and 0 < d < k]
    if not small:
        return
    for key in ESTIMATE_KEYS:
        if key in shared:
            reader.rate(f"{path}.{key}", min(small), shared[key])
    for rate in shared.get("rates") or []:
        if isinstance(rate, Mapping):
            reader.rate(f"{path}.rates", min(small), rate.get("surv"))


def _group_sums(reader: Reader, path: str, raw: Mapping, shared: Mapping) -> None:
    total = _v(raw, "n") if _v(raw, "n") is not None else _v(raw, "patients")
    s_total = shared.get("n", shared.get("patients"))
    for key, child in raw.items():
        groups = child.get("groups") if isinstance(child, Mapping) else None
        s_child = shared.get(key)
        if not isinstance(groups, Mapping) or not isinstance(s_child, Mapping) or total is None:
            continue
        s_groups = s_child.get("groups") or {}
        cells = [(_v(g, "n"), (s_groups.get(name) or {}).get("n")) for name, g in groups.items()]
        missing = _num(child.get("missing_group"))
        if missing is not None:
            cells.append((missing, s_child.get("missing_group")))
        reader.margin(f"{path}.{key}: groups add up to n", cells, (total, s_total))
        events = [(_v(g, "events"), (s_groups.get(name) or {}).get("events"))
                  for name, g in groups.items()]  # fmt: skip
        if _v(raw, "events") is not None and all(e is not None for e, _ in events):
            if missing:  # the events of patients without a group are never printed
                events.append((_v(raw, "events") - sum(e for e, _ in events), None))
            reader.margin(f"{path}.{key}: group events add up", events,
                          (_v(raw, "events"), shared.get("events")))  # fmt: skip


def check_km_figure(reader: Reader, path: str, raw: Mapping, shared: Mapping) -> None:
    """At-risk and cumulative-event rows: a step of 1..K-1 between printed ticks, or
    a group of fewer than K drawn, is a finding."""
    k = reader.k
    for g in shared.get("groups", []):
        n = known(g.get("n"), k)
        if n[1] < k and (g.get("at_risk") or g.get("surv")):
            reader.findings.append(Finding(path, f"curve of a small group drawn: {g['group']}"))
        for row in ("at_risk", "events"):
            values = [known(v, k) for v in g.get(row) or []]
            start = [(n if row == "at_risk" else (0.0, 0.0))]
            for a, b in zip(start + values, values, strict=False):
                if a[0] == a[1] and b[0] == b[1] and 0 < abs(a[0] - b[0]) < k:
                    reader.findings.append(
                        Finding(path, f"{g['group']} {row} steps by {a[0] - b[0]}")
                    )
    reader.margins += 1


def check_results(raw: Mapping, shared: Mapping, k: int) -> Reader:
    """Every margin of results.json (raw: before disclosure control)."""
    reader = Reader(k)
    for path, a, b in pairs(raw, shared):
        if a.get("kind") == "kaplan-meier":
            check_km_figure(reader, path, a, b)
        elif a.get("kind") == "response-bars":
            for i, (r, s) in enumerate(zip(a["rows"], b["rows"], strict=True)):
                cells = list(zip(r["counts"], s["counts"], strict=True))
                reader.margin(f"{path}.rows[{i}]", cells, (r["lines"], s["lines"]))
        else:
            check_dict(reader, path, a, b)
    return reader


def check_table1(reader: Reader, raw_rows: list[Mapping], shared_rows: list[Mapping]) -> None:
    """Table 1 (long): per characteristic, levels (or known values) + Missing = patients."""
    total = next(((r["n"], s["n"]) for r, s in zip(raw_rows, shared_rows, strict=True)
                  if r["characteristic"] == "Patients"), None)  # fmt: skip
    if total is None:
        return
    by_char: dict[str, list[tuple[float, Any]]] = {}
    for r, s in zip(raw_rows, shared_rows, strict=True):
        reader.shown_count(f"table1 {r['characteristic']} {r['level']}", _num(r["n"]), s["n"])
        if r["characteristic"] == "Patients" or str(r["level"]).lower() == "range":
            continue
        by_char.setdefault(r["characteristic"], []).append((_num(r["n"]), s["n"]))
        few = 0 < (_num(r["n"]) or 0) < reader.k
        if few and str(r["level"]).lower() == "median (iqr)" and s.get("summary") != "suppressed":
            reader.findings.append(Finding("table1", f"median of {r['n']} shown"))
        if _num(s.get("percent")) is not None and not isinstance(s["n"], int | float):
            reader.findings.append(Finding("table1", f"percent beside {s['n']}"))
    for char, cells in by_char.items():
        reader.margin(f"table1 {char}", cells, (_num(total[0]), total[1]))


def check_response_rows(reader: Reader, name: str, raw: list[Mapping], shared: list[Mapping]):
    """Rows with lines / evaluable / not_evaluable / responders (and depths)."""
    k = reader.k
    for i, (r, s) in enumerate(zip(raw, shared, strict=True)):
        where = f"{name}[{i}]"
        for c in ("lines", "evaluable", "not_evaluable", "responders", "vgpr_or_better_n",
                  "cr_or_better_n", "n", "events", "patients"):  # fmt: skip
            if c in r:
                reader.shown_count(f"{where}.{c}", _num(r[c]), s[c])
        if {"lines", "evaluable", "not_evaluable"} <= r.keys():
            reader.margin(f"{where} lines", [(_num(r["evaluable"]), s["evaluable"]),
                          (_num(r["not_evaluable"]), s["not_evaluable"])],
                          (_num(r["lines"]), s["lines"]))  # fmt: skip
        chain = [c for c in ("evaluable", "responders", "vgpr_or_better_n", "cr_or_better_n")
                 if c in r]  # fmt: skip
        for a in range(len(chain)):
            for b in range(a + 1, len(chain)):
                wide, narrow = _num(r[chain[a]]), _num(r[chain[b]])
                if wide is not None and narrow is not None:
                    reader.margin(f"{where} {chain[a]}>={chain[b]}",
                                  [(narrow, s[chain[b]]), (wide - narrow, None)],
                                  (wide, s[chain[a]]))  # fmt: skip
        if {"n", "events"} <= r.keys() and _num(r["n"]) is not None:
            reader.margin(f"{where} n", [(_num(r["events"]), s["events"]),
                          (_num(r["n"]) - (_num(r["events"]) or 0), None)],
                          (_num(r["n"]), s["n"]))  # fmt: skip
        dens = [_num(r.get(c)) for c in ("n", "evaluable", "lines")]
        small = [d for d in dens if d is not None and 0 < d < k]
        if small:
            for c in r:
                if c.endswith(("median_months", "orr", "lower", "upper")) or c.startswith("os_"):
                    reader.rate(f"{where}.{c}", min(small), s[c])


def _group_sizes(results: Mapping) -> dict[str, Any]:
    sizes: dict[str, Any] = {}
    for block in ("by_product", "by_relapse_timing"):
        part = (results.get("os_from_progression") or {}).get(block) or {}
        sizes |= {name: g.get("n") for name, g in (part.get("groups") or {}).items()}
    return sizes


def _figure_sizes(results: Mapping, key: str) -> dict[str, Any]:
    fig = (results.get("figures") or {}).get(key) or {}
    return {g.get("group"): g.get("n") for g in fig.get("groups", []) if isinstance(g, Mapping)}


def check_figure_groups(reader: Reader, raw: Mapping, shared: Mapping) -> None:
    """A curve drawn with its n shows a group size: the same group's size is not
    hidden in the survival comparison beside it."""
    for key in ("os_by_product", "os_by_relapse_timing"):
        raw_fig, shared_fig = _figure_sizes(raw, key), _figure_sizes(shared, key)
        raw_groups, shared_groups = _group_sizes(raw), _group_sizes(shared)
        for label, n in shared_fig.items():
            same = _num(raw_fig.get(label)) == _num(raw_groups.get(label))
            if same and _num(n) is not None and _num(shared_groups.get(label)) is None:
                reader.findings.append(Finding(f"figure {key} {label}", f"n={n} drawn, hidden"))


def check_same_cells(
    reader: Reader, raw: tuple[list[Mapping], Mapping], shared: tuple[list[Mapping], Mapping]
) -> None:
    """A Table 1 level and the survival group of the same name and size (by CAR-T
    product, by relapse timing) are one count: shown in one output, it must not be
    hidden in the other (the hidden one would be given back)."""
    raw_sizes, shared_sizes = _group_sizes(raw[1]), _group_sizes(shared[1])
    for r, s in zip(raw[0], shared[0], strict=True):
        label = r["level"]
        if r["characteristic"] == "Patients" or label not in raw_sizes:
            continue
        if _num(r["n"]) != _num(raw_sizes[label]):
            continue  # different patients (e.g. OS not analysable): different counts
        shown = (_num(s["n"]) is not None, _num(shared_sizes.get(label)) is not None)
        if shown[0] != shown[1]:
            reader.findings.append(
                Finding(f"table1 {label}", f"{s['n']!r} vs {shared_sizes[label]!r}")
            )
