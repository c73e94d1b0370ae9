"""Fisher's exact test for r x c contingency tables, as R ``fisher.test``.

SciPy's ``fisher_exact`` is exact only for 2 x 2 tables (larger tables go through
a permutation or Monte Carlo approximation), so the r x c case is implemented
here with the network idea of Mehta & Patel (1983): columns are filled one at a
time, a node is the multiset of remaining row totals, and partial tables with
the same node and the same probability so far are merged. At each node the
largest and smallest attainable probability of the remaining columns bound the
completion: if even the largest keeps the table at or below the observed
probability, every completion counts and their total mass is known in closed
form (a multinomial coefficient); if even the smallest exceeds it, none counts.
Only the undecided nodes are expanded. For 2-row tables (response yes/no by
category, the common case) the bounds are exact (a small dynamic programme);
for more rows they are per-column bounds, valid but looser.

The p-value is the sum of the probabilities of all tables with the observed
margins whose probability does not exceed the observed one (relative tolerance
1e-7, R's ``relErr``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import numpy as np
from scipy.special import gammaln

from aftercar.errors import InputError

_REL = 1e-7
_MAX_WORK = 20_000_000  # partial tables carried (array elements): about 1 s
#: What one step of the network (a node and one filling of its column) counts towards
#: ``_MAX_WORK`` beside the partial tables it carries: a step's Python costs about as
#: much as 600 partial tables. A 4 x 4 table of 128 counts took 11-57 s to be refused
#: when only the partial tables were counted, and 8.1 s with a step counted as 50; as
#: 600, 1.1 s (2026-12-07): about the second ``_MAX_WORK`` stands for (R's default
#: workspace refuses it at once).
_STEP_WORK = 600


def _lf(x) -> np.ndarray:
    return gammaln(np.asarray(x, dtype=float) + 1.0)


def _water_fill(caps: np.ndarray, total: int) -> np.ndarray:
    """Most even split of ``total`` under per-row ``caps`` (maximises the multinomial)."""
    out = np.zeros_like(caps)
    left, k = total, caps.size
    for i in np.argsort(caps, kind="stable"):
        out[i] = min(caps[i], left // k)
        left -= out[i]
        k -= 1
    while left > 0:  # at most one unit per row: hand the floors' remainder out evenly
        spare = np.flatnonzero(out < caps)
        j = spare[np.argmin(out[spare])]
        out[j] += 1
        left -= 1
    return out


def _greedy_fill(caps: np.ndarray, total: int) -> np.ndarray:
    """Most concentrated split of ``total`` under ``caps`` (minimises the multinomial)."""
    out = np.zeros_like(caps)
    left = total
    for i in np.argsort(-caps, kind="stable"):
        out[i] = min(caps[i], left)
        left -= out[i]
    return out


def _column_term(col_total: int, x: np.ndarray) -> float:
    return float(_lf(col_total) - _lf(x).sum())


def _bounds(rows: tuple[int, ...], cols: tuple[int, ...]) -> tuple[float, float]:
    """Upper and lower bounds of the log probability contribution of the remaining columns."""
    caps = np.array(rows, dtype=np.int64)
    hi = sum(_column_term(c, _water_fill(caps, c)) for c in cols)
    lo = sum(_column_term(c, _greedy_fill(caps, c)) for c in cols)
    return hi, lo


def _two_row_bounds(cols: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Exact longest/shortest paths for 2-row tables, by dynamic programming.

    ``hi[j, r]`` (``lo[j, r]``) is the largest (smallest) sum over columns ``j..``
    of ``log C(c_k, a_k)`` with ``sum a_k = r`` and ``0 <= a_k <= c_k``: the exact
    bounds of the network algorithm, which prune far more than per-column bounds.
    """
    n = sum(cols)
    hi = np.full((len(cols) + 1, n + 1), -np.inf)
    lo = np.full((len(cols) + 1, n + 1), np.inf)
    hi[-1, 0] = lo[-1, 0] = 0.0
    for j in range(len(cols) - 1, -1, -1):
        c = cols[j]
        terms = _lf(c) - _lf(np.arange(c + 1)) - _lf(c - np.arange(c + 1))
        for a in range(c + 1):  # loop over a column's count, not over rows
            hi[j, a:] = np.maximum(hi[j, a:], terms[a] + hi[j + 1, : n + 1 - a])
            lo[j, a:] = np.minimum(lo[j, a:], terms[a] + lo[j + 1, : n + 1 - a])
    return hi, lo


def _columns(rows: tuple[int, ...], total: int) -> Iterator[tuple[int, ...]]:
    """Every way to split ``total`` over rows with capacities ``rows``."""
    if len(rows) == 1:
        if total <= rows[0]:
            yield (total,)
        return
    rest_cap = sum(rows[1:])
    for first in range(max(0, total - rest_cap), min(rows[0], total) + 1):
        for tail in _columns(rows[1:], total - first):
            yield (first, *tail)


def _check_table(table) -> np.ndarray:
    arr = np.asarray(table)
    if arr.ndim != 2 or min(arr.shape) < 2:
        raise InputError(
            f"A contingency table must be 2-dimensional with at least 2 rows and 2 columns; "
            f"got shape {arr.shape}. Fix: pass counts as rows = groups, columns = outcomes."
        )
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise InputError("A contingency table must hold non-negative whole-number counts.")
    return arr.astype(np.int64)


def fisher_exact_pvalue(table) -> float:
    """Two-sided exact p-value of independence in an r x c table (R ``fisher.test``).

    Parameters
    ----------
    table
        r x c array of non-negative counts.

    Returns
    -------
    float
        Sum of probabilities (given both margins) of tables no more probable than
        the observed one.

    Examples
    --------
    >>> round(fisher_exact_pvalue([[2, 7, 1], [9, 4, 0], [3, 3, 5]]), 6)  # R: 0.009787
    0.009787

    References
    ----------
    Fisher RA. On the interpretation of chi-square from contingency tables.
    J R Stat Soc 1922;85:87-94.
    Mehta CR, Patel NR. A network algorithm for performing Fisher's exact test in
    r x c contingency tables. J Am Stat Assoc 1983;78:427-434.
    """
    x = _check_table(table)
    x = x[x.sum(axis=1) > 0][:, x.sum(axis=0) > 0]
    if min(x.shape) < 2:
        return 1.0
    if x.shape[0] > x.shape[1]:
        x = x.T
    rows = tuple(sorted(int(v) for v in x.sum(axis=1)))
    cols = tuple(sorted((int(v) for v in x.sum(axis=0)), reverse=True))
    n = int(x.sum())
    const = float(_lf(rows).sum() - _lf(n))
    obs = float(const + _lf(x.sum(axis=0)).sum() - _lf(x).sum())
    limit = obs + np.log1p(_REL)
    return _network(rows, cols, const, limit)


def _merge(parts: list) -> tuple[np.ndarray, np.ndarray]:
    """Merge partial tables with equal log-probability so far (to 1e-9), adding counts."""
    past = np.concatenate([p for p, _ in parts])
    count = np.concatenate([c for _, c in parts])
    key, inv = np.unique(np.round(past, 9), return_inverse=True)
    return key, np.bincount(inv.reshape(-1), weights=count, minlength=key.size)


def _network(rows, cols, const, limit) -> float:
    """Sum the probabilities of tables at or below ``limit`` (log scale), column by column."""
    total = 0.0
    level: dict = {rows: (np.zeros(1), np.ones(1))}
    work = 0
    exact = _two_row_bounds(cols) if len(rows) == 2 else None
    for j, col in enumerate(cols):
        nxt: dict = defaultdict(list)
        for node, (past, count) in level.items():
            if exact is None:
                hi, lo = _bounds(node, cols[j:])
            else:
                hi, lo = exact[0][j, node[0]], exact[1][j, node[0]]
            value = const + past
            done = value + hi <= limit
            log_all = float(_lf(sum(node)) - _lf(node).sum())
            total += float(np.sum(count[done] * np.exp(value[done] + log_all)))
            keep = ~done & (value + lo <= limit)
            if not keep.any():
                continue
            for x in _columns(node, col):
                work += int(keep.sum()) + _STEP_WORK  # each step costs Python time too
                child = tuple(sorted(r - xi for r, xi in zip(node, x, strict=True)))
                nxt[child].append((past[keep] + _column_term(col, np.array(x)), count[keep]))
            if work > _MAX_WORK:
                raise InputError(
                    "The table is too large for an exact Fisher test "
                    f"(more than {_MAX_WORK:,} units of work). Fix: use fisher_test(table, "
                    "simulate=True) (a Monte Carlo p-value, R's simulate.p.value), chisq_test, "
                    "or merge sparse categories."
                )
        level = {node: _merge(parts) for node, parts in nxt.items()}
    for past, count in level.values():
        hit = const + past <= limit
        total += float(np.sum(count[hit] * np.exp(const + past[hit])))
    return float(min(1.0, total))
