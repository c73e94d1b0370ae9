"""Complementary (secondary) suppression of the counts of a site summary.

A count withheld because it is 1 to K-1 (``null``) is given back by subtraction
when it is the only unknown of a margin whose total and other cells are shown
(a Table 1 level as patients - other levels - missing; the not-evaluable lines
as lines - evaluable). :func:`secondary` withholds the next smallest shown cell
of such a margin, until no margin has exactly one unknown that needs protecting,
as the report's engine does (:class:`aftercar.report.disclosure.Margins`).
Implicit cells (never printed, e.g. non-responders = evaluable - responders) are
unknowns that need protecting only when they are 1 to K-1. A total a reader
knows from elsewhere (``fixed``) is never withheld.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Any

#: One margin: its total and the cells that add up to it.
Margin = tuple[Hashable, tuple[Hashable, ...]]


def _small(value: int, k: int) -> bool:
    return 0 < value < k


def _exposed(members: Iterable[Hashable], hidden: set, implicit: set, values, k: int):
    """The one unknown of a margin that a reader would solve, or ``None``."""
    unknown = [m for m in members if m in hidden]
    if len(unknown) != 1:
        return None
    one = unknown[0]
    return None if one in implicit and not _small(values[one], k) else one


def _pick(total, cells, hidden: set, fixed: set, values) -> Hashable | None:
    """The smallest shown cell (a positive one first), else the total if it may be hidden."""
    free = [c for c in cells if c not in hidden and c not in fixed]
    if free:
        return min(free, key=lambda c: (values[c] == 0, values[c]))
    return total if total not in hidden and total not in fixed else None


def secondary(
    values: Mapping[Hashable, int],
    margins: Iterable[Margin],
    k: int,
    *,
    implicit: Iterable[Hashable] = (),
    fixed: Iterable[Hashable] = (),
) -> set[Hashable]:
    """Keys to withhold: the primary ones (1 to K-1) and their complements.

    Parameters
    ----------
    values
        True value of every key (cells, totals and implicit cells).
    margins
        ``(total, cells)`` pairs: the cells add up to the total.
    k
        Disclosure threshold K.
    implicit
        Keys never shown (derivable only); they are not returned.
    fixed
        Keys known from elsewhere: never withheld as a complement.

    Returns
    -------
    set
        The shown keys to withhold (``null``).
    """
    margins = list(margins)
    implicit, fixed = set(implicit), set(fixed)
    hidden = {key for key, v in values.items() if _small(v, k)} | implicit
    changed = True
    while changed:  # a loop over margins (a few per summary), not over patients
        changed = False
        for total, cells in margins:
            if _exposed((total, *cells), hidden, implicit, values, k) is None:
                continue
            pick = _pick(total, cells, hidden, fixed, values)
            if pick is not None:
                hidden.add(pick)
                changed = True
    return hidden - implicit


def apply(node: dict[str, Any], keys: set[Hashable], paths: Mapping[Hashable, tuple]) -> None:
    """Set to ``None`` the count of ``node`` at ``paths[key]`` for every key withheld."""
    for key in keys:
        *parents, last = paths[key]
        target = node
        for p in parents:
            target = target[p]
        target[last] = None
