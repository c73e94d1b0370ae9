"""Margins of the structures aftercar knows: response blocks, survival pairs and groups,
competing risks, Table 1 (long and wide), Kaplan-Meier ticks, attrition, response bars."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aftercar.report.disclosure.cells import (
    _declare,
    _is_number,
    _text_count,
    shown_steps,
    true_value,
)
from aftercar.report.margins import WITHHELD, Margins

#: Response counts of a block or table row, from the widest to the narrowest set:
#: lines = evaluable (n) + not evaluable; n >= responders >= VGPR or better >= CR or better.
RESPONSE_CHAIN = ("n", "orr", "vgpr", "cr")


def response_states(vals: Mapping[str, Any], k: int) -> dict[str, str]:
    """States of the counts of one response block.

    ``vals`` maps ``lines``, ``n`` (evaluable), ``ne`` (not evaluable), ``orr``,
    ``vgpr``, ``cr`` (responders at each depth) to their values (any may be absent).
    Margins: ``lines = n + ne`` and the nested chain ``n >= orr >= vgpr >= cr``
    (non-responders ``n - orr`` and the differences between depths are implicit
    cells that a reader gets by subtraction).
    """
    m = Margins(k)
    present = {name: v for name, v in vals.items() if _declare(m, name, v)}
    if {"lines", "n", "ne"} <= present.keys():
        m.margin(["n", "ne"], "lines")
    chain = [c for c in RESPONSE_CHAIN if c in present]
    for i, wide in enumerate(chain):  # every difference of two depths is a cell
        for narrow in chain[i + 1 :]:
            gap = f"{wide}-{narrow}"
            m.cell(gap, true_value(present[wide]) - true_value(present[narrow]), implicit=True)
            m.margin([narrow, gap], wide)
    return m.solve()


def pair_states(total: Any, part: Any, k: int) -> dict[str, str]:
    """States of ``total`` (e.g. n) and ``part`` (e.g. events), whose difference (the
    censored) is an implicit cell."""
    m = Margins(k)
    if not (_declare(m, "total", total) and _declare(m, "part", part)):
        return {}
    m.cell("rest", m.values["total"] - m.values["part"], implicit=True)
    m.margin(["part", "rest"], "total")
    return m.solve()


_CHAR, _LEVEL = "characteristic", "level"


PATIENTS_ROW = "Patients"


MISSING_LEVEL = "Missing"


_KNOWN = "__known__"


def table1_long_states(rows: list[Mapping[str, Any]], k: int) -> dict[int, str]:
    """States of the ``n`` of each row of Table 1 (long form: ``characteristic``,
    ``level``, ``n``, ``percent``): the levels of a characteristic, with its Missing
    row and, for a continuous one, its number of known values, add up to the patients."""
    m = Margins(k)
    keys: dict[int, Any] = {}
    groups: dict[str, list[Any]] = {}
    total = None
    for i, row in enumerate(rows):
        char, n = str(row.get(_CHAR)), row.get("n")
        if char == PATIENTS_ROW:
            total = (PATIENTS_ROW,)
            keys[i] = total
        elif _is_number(row.get("percent")) or str(row.get(_LEVEL)) == MISSING_LEVEL:
            keys[i] = (char, str(row.get(_LEVEL)))
        else:  # median (IQR), range: the number of known values
            keys[i] = (char, _KNOWN)
        if _declare(m, keys[i], n) and keys[i] != total:
            groups.setdefault(char, [])
            if keys[i] not in groups[char]:
                groups[char].append(keys[i])
    if total is not None and total in m.values:
        m.publish(total)  # the cohort size: printed by results.json, attrition, figures
        for cells in groups.values():
            m.margin(cells, total)
    states = m.solve()
    return {i: states[key] for i, key in keys.items() if key in states}


def _wide_columns(rows: list[Mapping[str, Any]]) -> list[str]:
    names = list(rows[0].keys()) if rows else []
    return [c for c in names if c not in (_CHAR, _LEVEL, "p_value", "test")]


def table1_wide_states(
    rows: list[Mapping[str, Any]], k: int, missing_group: Any = None
) -> dict[tuple[int, str], str]:
    """States of the count cells of Table 1 (wide form: a ``n (%)`` column per group).

    Per column, the levels of a characteristic (with Missing, and for a continuous one
    the implicit number of known values) add up to the column's patients; per row,
    the group columns add up to the Overall column (patients without a group are an
    implicit cell, or, when ``missing_group`` is printed beside the table as in
    ``results.json``, a cell of its own, keyed ``(-1, "missing_group")`` in the
    result). Cells of the Overall column are keyed as in the long form, so both forms
    suppress the same cells; row margins never suppress an Overall cell.
    """
    cols = _wide_columns(rows)
    overall = next((c for c in cols if str(c).startswith("Overall")), None)
    m = Margins(k)
    keys: dict[tuple[int, str], Any] = {}
    col_margins: dict[tuple[str, str], list[Any]] = {}
    for i, row in enumerate(rows):
        char, level = str(row.get(_CHAR)), str(row.get(_LEVEL))
        for col in cols:
            value = _text_count(row.get(col))
            if char != PATIENTS_ROW and (
                value is None or level.lower() in ("median (iqr)", "range")
            ):
                continue
            tag = () if col == overall else (col,)
            key = (PATIENTS_ROW, *tag) if char == PATIENTS_ROW else (char, level, *tag)
            keys[(i, col)] = key
            m.cell(key, value)
            if char != PATIENTS_ROW and key not in col_margins.setdefault((char, col), []):
                col_margins[(char, col)].append(key)
    _withhold_tiny_groups(m, keys, cols, overall)
    nogroup = (PATIENTS_ROW, "__nogroup__")
    printed = missing_group is not None
    if not printed:  # a reader knows it anyway (results.json, the long form's Missing row)
        missing_group = _nogroup_count(m, cols, overall)
    if (PATIENTS_ROW,) in m.values and _declare(m, nogroup, missing_group) and printed:
        keys[(-1, "missing_group")] = nogroup
    if (PATIENTS_ROW,) in m.values:
        m.publish((PATIENTS_ROW,))  # the cohort size (as in the long form)
    # the Overall column first, on its own margins: the states the long form gives;
    # then fixed (public), so that the group columns and row margins protect the rest
    _column_margins(m, {key: c for key, c in col_margins.items() if key[1] == overall}, overall)
    m.solve()
    m.public |= {key for (_, col), key in keys.items() if col == overall}
    m.public |= {key for key in m.values if len(key) == 2 and key[1] == _KNOWN}
    _column_margins(m, {key: c for key, c in col_margins.items() if key[1] != overall}, overall)
    _row_margins(m, cols, overall)
    states = m.solve()
    return {cell: states[key] for cell, key in keys.items() if key in states}


def _withhold_tiny_groups(m: Margins, keys: dict[tuple[int, str], Any], cols: list[str],
                          overall: str | None) -> None:  # fmt: skip
    """Every count cell of a group column of 1 to K-1 patients withheld and guarded, zeros
    too, so that the row margins (Overall = the groups) hide another cell of each row: the
    zeros of a group of one are that patient's record (fuzz round 9, session 28; a review
    found them recoverable as Overall less the other groups)."""
    sizes = {c: m.values.get((PATIENTS_ROW, c)) for c in cols if c != overall}
    tiny = {c for c, n in sizes.items() if n is not None and 0 < n < m.k}
    for (_, col), key in keys.items():
        if col in tiny and key != (PATIENTS_ROW, col) and m.state.get(key) != "unknown":
            m.state[key] = WITHHELD
            m.always.add(key)


def _nogroup_count(m: Margins, cols: list[str], overall: str | None) -> float | None:
    """The patients without a group: the Overall N less the group columns' N."""
    groups = [(PATIENTS_ROW, c) for c in cols if c != overall]
    if overall is None or (PATIENTS_ROW,) not in m.values or not groups \
            or not all(g in m.values for g in groups):  # fmt: skip
        return None
    return max(m.values[(PATIENTS_ROW,)] - sum(m.values[g] for g in groups), 0.0)


def _column_margins(
    m: Margins, col_margins: dict[tuple[str, str], list[Any]], overall: str | None
) -> None:
    """Per column of the wide Table 1, the levels of each characteristic (with, for a
    continuous one, the number of known values) add up to the column's patients."""
    for (char, col), cells in col_margins.items():
        total = (PATIENTS_ROW,) if col == overall else (PATIENTS_ROW, col)
        if total not in m.values:
            continue
        known = sum(m.values[c] for c in cells)
        if m.values[total] - known > 0:  # continuous: values known (not shown here)
            gap = (char, _KNOWN) + (() if col == overall else (col,))
            m.cell(gap, m.values[total] - known, implicit=col != overall)
            cells = [*cells, gap]
        m.margin(cells, total)


def _row_margins(m: Margins, cols: list[str], overall: str | None) -> None:
    """Per row of the wide Table 1, the group columns and the patients without a group
    add up to Overall. The latter are derivable (0 or more), or a known 0 in every row
    when nobody lacks a group (the group sizes add up to the Overall N)."""
    groups = [c for c in cols if c != overall]
    if overall is None or not groups:
        return
    nobody = m.values.get((PATIENTS_ROW, "__nogroup__")) == 0.0
    for key in [key for key in list(m.values) if len(key) in (1, 2) and key[-1] != _KNOWN]:
        parts = [(*key, g) for g in groups if (*key, g) in m.values]
        if not parts:
            continue
        rest = m.values[key] - sum(m.values[p] for p in parts)
        m.cell((*key, "__nogroup__"), max(rest, 0.0), implicit=not nobody)
        m.margin([*parts, (*key, "__nogroup__")], key)


def km_ticks(groups: list[tuple[float, list[Any], list[Any], float, float]], k: int) -> list[int]:
    """Tick indices whose at-risk and cumulative-event counts may be shown.

    ``groups``: per curve drawn, ``(n, at_risk, cumulative_events, events, censored)``.
    Three rows per group are read by subtraction: at risk (from n down), cumulative
    events (from 0 up) and the rest, ``n - at risk - events`` (censored, from 0 up);
    a tick is kept only where each of them moves by 0 or at least K since the last
    kept tick (:func:`shown_steps`). After the last kept tick, the events and
    censored still to come are derivable when the group's events are shown: they
    must be 0 or at least K; when the events are suppressed, at least K must remain
    at risk so that the figure does not give them back.
    """
    chains, ends = [], []
    for n, risk, events, total_events, censored in groups:
        r = [float(true_value(v) or 0) for v in risk]
        e = [float(true_value(v) or 0) for v in events]
        q = [n - a - b for a, b in zip(r, e, strict=True)]
        chains += [[n, *r], [0.0, *e], [0.0, *q]]
        shown = pair_states(n, total_events, k).get("part") == "shown"
        ends.append((r, e, q, total_events, censored, shown))

    def step_ok(d: float) -> bool:
        return d == 0 or d >= k

    def end_ok(i: int) -> bool:
        for r, e, q, total_events, censored, shown in ends:
            if shown and not (step_ok(total_events - e[i]) and step_ok(censored - q[i])):
                return False
            if not shown and r[i] < k:
                return False
        return True

    return shown_steps(chains, k, end_ok) if groups else []


#: Margins of the attrition table: (column, total step, [part steps], complete).
#: A part list that is not complete gets an implicit remainder (e.g. patients with
#: a salvage line, never printed but derivable).
ATTRITION_MARGINS: tuple[tuple[str, str, tuple[str, ...], bool], ...] = (
    ("patients", "Rows read", ("Excluded on reading", "Analysed"), True),
    ("lines", "Rows read", ("Excluded on reading", "Not lines of therapy", "Analysed"), True),
    ("lines", "Analysed", ("Response-evaluable lines", "Lines with NE or missing response"), True),
    ("patients", "Analysed", ("Patients without a salvage line",), False),
    ("patients", "Analysed", ("OS analysable",), False),
    ("patients", "Analysed", ("Response-evaluable lines",), False),
    ("lines", "Analysed", ("PFS analysable lines",), False),
)


def attrition_states(rows: list[Mapping[str, Any]], k: int) -> dict[tuple[int, str], str]:
    """States of the counts of the attrition table (``step, patients, lines``)."""
    m = Margins(k)
    where: dict[tuple[str, str], tuple[int, str]] = {}
    for i, row in enumerate(rows):
        for col in ("patients", "lines"):
            if _declare(m, (str(row.get("step")), col), row.get(col)):
                where[(str(row.get("step")), col)] = (i, col)
    for col, total, parts, complete in ATTRITION_MARGINS:
        cells = [(p, col) for p in parts if (p, col) in m.values]
        if (total, col) not in m.values or not cells:
            continue
        if not complete:
            rest = (f"{total} - {'+'.join(parts)}", col)
            m.cell(rest, m.values[(total, col)] - sum(m.values[c] for c in cells), implicit=True)
            cells.append(rest)
        m.margin(cells, (total, col))
    states = m.solve()
    return {cell: states[key] for key, cell in where.items() if key in states}


def bars_states(lines: Any, counts: list[Any], k: int) -> dict[int, str]:
    """States of one row of response bars: counts per response group add up to the lines."""
    m = Margins(k)
    cells = [i for i, v in enumerate(counts) if _declare(m, i, v)]
    if _declare(m, "lines", lines) and cells:
        m.margin(cells, "lines")
    return m.solve()


def competing_states(n: Any, progressions: Any, deaths: Any, events: Any,
                     k: int) -> dict[str, str]:  # fmt: skip
    """States of the counts of a competing-risks block beside its PFS estimate.

    ``n`` lines end in a progression, a death without progression or a censoring
    (implicit); PFS events (``events``, may be ``None``) are progressions plus deaths
    without progression. Margins: ``n = progressions + deaths + censored``,
    ``n = events + censored`` and ``events = progressions + deaths``. ``n`` is printed
    beside both estimates (the lines of the first salvage line): never hidden. Keys:
    ``"n"``, ``"progressions"``, ``"deaths"``, ``"events"``.
    """
    m = Margins(k)
    if not all(_declare(m, key, v) for key, v in
               (("n", n), ("progressions", progressions), ("deaths", deaths))):  # fmt: skip
        return {}
    m.publish("n")
    parts = m.values["progressions"] + m.values["deaths"]
    m.cell("censored", m.values["n"] - parts, implicit=True)
    m.margin(["progressions", "deaths", "censored"], "n")
    if _declare(m, "events", events) and m.values["events"] == parts:
        m.margin(["events", "censored"], "n")
        m.margin(["progressions", "deaths"], "events")
    return m.solve()


def survival_group_states(
    groups: Mapping[str, tuple[Any, Any]], totals: tuple[Any, Any], k: int
) -> dict[tuple[str, str], str]:
    """States of the sizes and events of groups that partition a survival estimate.

    ``groups``: label -> (n, events) (``Missing``: patients without a group, events
    unknown); ``totals``: the estimate's (n, events). Margins: the sizes add up to n,
    the events to the events (the Missing group's are an implicit cell), and in each
    group n = events + censored (implicit). Keys: ``(label, "n" | "events")`` and
    ``("", "n" | "events")`` for the totals. The total n is public (never hidden): a
    margin it pins is withheld whole (:class:`Margins`).
    """
    m = Margins(k)
    sizes, events = [], []
    for label, (n, ev) in groups.items():
        if not _declare(m, (label, "n"), n):
            continue
        sizes.append((label, "n"))
        if _declare(m, (label, "events"), ev):
            events.append((label, "events"))
            m.cell((label, "censored"), m.values[(label, "n")] - m.values[(label, "events")],
                   implicit=True)  # fmt: skip
            m.margin([(label, "events"), (label, "censored")], (label, "n"))

    if _declare(m, ("", "n"), totals[0]) and sizes:
        # n is printed beside the estimate and, for OS from progression, is the cohort
        # size of Table 1 and the attrition: a reader knows it, so it is never hidden
        m.publish(("", "n"))
        m.margin(sizes, ("", "n"))
    if _declare(m, ("", "events"), totals[1]) and events:
        rest = m.values[("", "events")] - sum(m.values[c] for c in events if c in m.values)
        if rest > 0:  # events of patients without a group: never printed
            m.cell(("", "events-rest"), rest, implicit=True)
            events.append(("", "events-rest"))
        m.margin(events, ("", "events"))
    return m.solve()
