"""The engine of complementary suppression: cells that add up to totals, what a reader
knows of each, and which cells to hide so that no count from 1 to K-1 has one value.

A reader who knows the rules reads a shown number exactly, ``"<K"`` as 1..K-1,
``"suppressed"`` as at least K (a total withheld because all its cells are small: as
anything), ``"withheld"`` as anything (0 included), and a cell never printed but
derivable by subtraction (non-responders, censored) as 0 or more. Every margin says
``sum(cells) == total``; a small cell whose interval, by one margin and those markers,
holds a single integer is recovered, and :meth:`Margins.solve` hides more until none
is. Bounds one margin gives a cell are not carried into the other margins (interval
propagation across margins, which a determined reader can do, is a known limitation:
``tests/report/test_suppress_known_leaks.py``).

References
----------
.. [1] Office for National Statistics, "Statistical disclosure control" guidance:
   primary and secondary (complementary) cell suppression.
.. [2] Hundepool A. et al., *Statistical Disclosure Control*, Wiley 2012, ch. 4
   (linear relations between cells; interval attack on suppressed tables).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

INF = float("inf")
#: Marker of a secondary suppression (and of a proportion whose numerator was hidden).
SUPPRESSED = "suppressed"
#: Marker of a count withheld with the rest of its margin (any value, 0 included): the
#: last resort when the margin's total is known to a reader (:meth:`Margins.publish`),
#: e.g. the levels of a Table 1 characteristic whose small cells the cohort size pins.
WITHHELD = "withheld"
_IMPLICIT = "implicit"
#: A cell whose value the table does not carry (``None``, NaN: already hidden where it
#: was made, e.g. a site's own ``<K`` in a pooled Table 1): taken as any value, never
#: hidden again, and left as printed (not in :meth:`Margins.solve`'s states).
_UNKNOWN = "unknown"
_SHOWN = "shown"
_EPS = 1e-9


def marker(k: int) -> str:
    """Return the text shown for a suppressed count, ``"<K"``."""
    return f"<{k}"


def count_range(text: str, k: int) -> tuple[float, float]:
    """What a reader knows of a suppressed count from its marker: ``"<K"`` is 1..K-1,
    ``"suppressed"`` (a secondary suppression, never a small count) is at least K,
    ``"withheld"`` is anything (0 included)."""
    if text == WITHHELD:
        return 0.0, INF
    return (1.0, float(k - 1)) if text == marker(k) else (float(k), INF)


def _whole(lo: float, hi: float) -> tuple[float, float]:
    """The integer interval inside ``[lo, hi]`` (counts are whole numbers)."""
    lo = math.ceil(lo - _EPS) if math.isfinite(lo) else lo
    hi = math.floor(hi + _EPS) if math.isfinite(hi) else hi
    return float(lo), float(hi)


@dataclass
class Margins:
    """Cells that add up to totals (margins), and which of them are hidden;
    :meth:`solve` adds secondary suppressions until no cell from 1 to K-1 is determined
    by the margins taken together.

    A cell is shown (its value is known), hidden (``"<K"``: 1..K-1; ``"suppressed"``:
    at least K), withheld (``"withheld"``: any value, 0 included) or implicit (never
    printed, so 0..inf, but derivable by subtraction).

    A *public* cell (:meth:`publish`) is one a reader knows from another output, such
    as the cohort size, which results.json, the attrition and the figures all print:
    hiding it would protect nothing, so it is never hidden. When a margin still pins a
    small cell down once every other cell of it is hidden and its total is public or
    already hidden, the margin's hidden cells are withheld (shown as ``"withheld"``).
    """

    k: int
    values: dict[Any, float] = field(default_factory=dict)
    state: dict[Any, str] = field(default_factory=dict)
    sums: list[tuple[tuple[Any, ...], Any]] = field(default_factory=list)
    public: set[Any] = field(default_factory=set)
    always: set[Any] = field(default_factory=set)  # guarded whatever their value (0 too)

    def cell(self, key: Any, value: float | None, *, implicit: bool = False) -> None:
        """Declare a cell (once; later declarations of the same key are ignored).

        A ``value`` of ``None`` or NaN is a cell already hidden upstream, whose value is
        not known here: it is taken as any value (0 included), never hidden again, and
        left out of the states :meth:`solve` returns (so it stays as printed).
        """
        if key in self.values:
            return
        if value is None or math.isnan(float(value)):
            self.values[key] = math.nan
            self.state[key] = _UNKNOWN
            return
        self.values[key] = float(value)
        small = 0 < value < self.k
        self.state[key] = _IMPLICIT if implicit else (marker(self.k) if small else _SHOWN)

    def margin(self, cells: list[Any], total: Any) -> None:
        """Declare ``sum(cells) == total`` (all declared cells)."""
        self.sums.append((tuple(cells), total))

    def publish(self, key: Any) -> None:
        """Mark a declared cell as known to a reader from elsewhere: never hidden."""
        self.public.add(key)

    def _range(self, key: Any) -> tuple[float, float]:
        """What the marker of one cell tells, always holding its true value."""
        st, value = self.state[key], self.values[key]
        if st == _SHOWN:
            return value, value
        if st in (_IMPLICIT, _UNKNOWN) or (st == SUPPRESSED and value < self.k):
            return 0.0, INF  # never printed or not known; or a total withheld with its small cells
        return count_range(st, self.k)

    def _guarded(self, key: Any) -> bool:
        """A cell whose value must not have one possible value: a small count not shown
        (primary, or derivable), and any non-zero hidden cell, since a secondary
        suppression pinned by one margin gives a small cell back through another."""
        st, value = self.state[key], self.values[key]
        if key in self.always:  # a cell of a group of 1 to K-1 (its zeros describe them)
            return st != _UNKNOWN
        if st in (_SHOWN, _UNKNOWN) or value <= 0:
            return False
        return value < self.k or (st in (SUPPRESSED, WITHHELD) and key not in self.public)

    def exposed(self, cells: tuple[Any, ...], total: Any) -> list[Any]:
        """Guarded cells (:meth:`_guarded`) of one margin whose value the margin
        determines."""
        members = [*cells, total]
        ranges = [self._range(c) for c in cells]
        t_lo, t_hi = self._range(total)
        out = []
        for i, key in enumerate(members):
            if not self._guarded(key):
                continue
            if i < len(cells):
                rest_lo = sum(r[0] for j, r in enumerate(ranges) if j != i)
                rest_hi = sum(r[1] for j, r in enumerate(ranges) if j != i)
                lo, hi = max(ranges[i][0], t_lo - rest_hi), min(ranges[i][1], t_hi - rest_lo)
            else:
                lo = max(t_lo, sum(r[0] for r in ranges))
                hi = min(t_hi, sum(r[1] for r in ranges))
            lo, hi = _whole(lo, hi)
            if lo >= hi:
                out.append(key)
        return out

    def _hide_next(self, cells: tuple[Any, ...]) -> bool:
        """Suppress the smallest shown non-zero cell (ties: the first in sorted key order)."""
        shown = [c for c in cells if self.state[c] == _SHOWN and self.values[c] > 0
                 and c not in self.public]  # fmt: skip
        if not shown:
            return False
        pick = min(shown, key=lambda c: (self.values[c], str(c)))
        self.state[pick] = SUPPRESSED
        return True

    def _withhold(self, cells: tuple[Any, ...]) -> bool:
        """Withhold the hidden cells of a margin (any value, 0 included); zeros stay
        shown, as every form of a table prints them (or leaves their row out)."""
        todo = [c for c in cells if self.state[c] in (marker(self.k), SUPPRESSED)
                and c not in self.public]  # fmt: skip
        for c in todo:
            self.state[c] = WITHHELD
        return bool(todo)

    def _protect(self, cells: tuple[Any, ...], total: Any) -> bool:
        """One margin: hide its smallest shown cells, then its total (unless public),
        then withhold its hidden cells, while it pins a small cell down."""
        changed = False
        while self.exposed(cells, total) and self._hide_next(cells):
            changed = True
        if not self.exposed(cells, total):
            return changed
        if total not in self.public and self.state[total] in (_SHOWN, marker(self.k)):
            self.state[total] = SUPPRESSED  # every cell hidden and still tight
            return True
        return self._withhold(cells) or changed

    def solve(self) -> dict[Any, str]:
        """Add secondary suppressions until no margin pins a small cell to a single value
        (or none can be protected); return the display state of every printed cell
        (``"shown"``, ``"<K"``, ``"suppressed"``, ``"withheld"``). Each step only widens
        what a reader knows, so the loop ends.

        Each margin is judged with what its own members' markers tell; bounds that one
        margin gives a cell are not carried into the others (a known limitation:
        ``tests/report/test_suppress_known_leaks.py``)."""
        changed = True
        while changed:
            changed = False
            for cells, total in self.sums:
                changed = self._protect(cells, total) or changed
        return {c: s for c, s in self.state.items() if s not in (_IMPLICIT, _UNKNOWN)}


__all__ = ["INF", "SUPPRESSED", "WITHHELD", "Margins", "count_range", "marker"]
