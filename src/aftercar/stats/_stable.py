"""Cancellation-free sums for the infinitesimal-jackknife variances of KM and CIF.

With delayed entry, a row's influence is a sum over its own window of times
(entry, t]. Written as a difference of cumulative sums over all times, and its
square expanded into sums over rows, the variance cancels terms of the size of
the heaviest row's squared weight times the squared cumulative sums: with case
weights spanning 1e3 or more, the light rows' contributions are lost (third R
probe, defect C). Two tools avoid that:

* prefix sums in double-double arithmetic (:func:`prefix`, :func:`window`): a
  window sum is exact to about eps^2 times the cumulative sum, not eps;
* :func:`piece_squares`: each row's influence is a piece of a function of time,
  re-centred at the start of each node of a segment tree over the times, so that
  the squares summed over rows only mix values within one node.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

_SPLIT = 134217729.0  # 2^27 + 1: Dekker's splitter for float64


def two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Knuth's error-free sum: ``s = fl(a + b)`` and the exact rounding error ``e``."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def two_prod(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dekker's error-free product: ``p = fl(a b)`` and the exact rounding error."""
    p = a * b
    ca, cb = _SPLIT * a, _SPLIT * b
    ah, bh = ca - (ca - a), cb - (cb - b)
    al, bl = a - ah, b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _renorm(hi: np.ndarray, lo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = hi + lo
    return s, lo - (s - hi)


def dd_add(a: tuple, b: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Sum of two double-double numbers ``(hi, lo)``."""
    s, e = two_sum(a[0], b[0])
    return _renorm(s, e + (a[1] + b[1]))


def dd_mul(a: tuple, b: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Product of two double-double numbers ``(hi, lo)``."""
    p, e = two_prod(a[0], b[0])
    return _renorm(p, e + (a[0] * b[1] + a[1] * b[0]))


def prefix(x: np.ndarray, x_lo: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Double-double prefix sums ``P[j] = sum(x[:j])`` (length ``x.size + 1``, ``P[0] = 0``).

    ``np.cumsum`` adds in sequence, so the rounding error of each step is
    recovered exactly by :func:`two_sum` and summed apart (``x_lo``: low parts
    of double-double terms).
    """
    hi = np.concatenate(([0.0], np.cumsum(x)))
    _, err = two_sum(hi[:-1], x)
    if x_lo is not None:
        err = err + x_lo
    return hi, np.concatenate(([0.0], np.cumsum(err)))


def window(p: tuple, end, begin) -> tuple[np.ndarray, np.ndarray]:
    """``P[end] - P[begin]`` (the sum of ``x[begin:end]``) in double-double."""
    s, e = two_sum(p[0][end], -p[0][begin])
    return _renorm(s, e + (p[1][end] - p[1][begin]))


def window_value(p: tuple, end, begin) -> np.ndarray:
    """``P[end] - P[begin]`` rounded to double (relative error about eps)."""
    hi, lo = window(p, end, begin)
    return hi + lo


def piece_squares(
    lo: np.ndarray,
    hi: np.ndarray,
    coef_at: Callable[[np.ndarray, np.ndarray], np.ndarray],
    basis_at: Callable[[int], np.ndarray],
    k: int,
) -> np.ndarray:
    """Sum over pieces of ``(c . b(j))^2`` at each time index ``j < k`` inside the piece.

    Piece ``i`` covers the time indices ``lo[i] <= j < hi[i]``. Its interval is
    split into the aligned nodes of a segment tree (node ``m`` of level ``l``
    covers ``[m 2^l, (m + 1) 2^l)``; at most two nodes a level, so a loop of
    about log2(k) vectorised steps). ``coef_at(pieces, starts)`` gives each
    piece's coefficients ``c`` (rows, q) for the node starting at ``starts``,
    and ``basis_at(level)`` the basis ``b(j)`` (k, q) re-centred at the start of
    the node of that level holding ``j``: the per-node sums of ``c c'`` then only
    combine values within one node.
    """
    out = np.zeros(k)
    who = np.arange(lo.size)
    left, right = lo.astype(np.int64), hi.astype(np.int64)
    level = 0
    while who.size:
        live = left < right
        who, left, right = who[live], left[live], right[live]
        odd_l, odd_r = (left & 1) == 1, (right & 1) == 1
        nodes = np.concatenate((left[odd_l], right[odd_r] - 1))
        if nodes.size:
            rows = np.concatenate((who[odd_l], who[odd_r]))
            coef, basis = coef_at(rows, nodes << level), basis_at(level)
            if isinstance(coef, tuple):
                out += _level_squares_dd(nodes, coef, basis, level)
            else:
                out += _level_squares(nodes, coef, basis, level)
        left, right = (left + 1) >> 1, right >> 1
        level += 1
    return out


def _level_squares(nodes: np.ndarray, coef: np.ndarray, basis: np.ndarray, level: int):
    """Sum of ``(c . b(j))^2`` over the pieces in the node (of ``level``) holding each j."""
    k, q = basis.shape
    owner = np.arange(k) >> level
    n_nodes = int(owner[-1]) + 1
    total = np.zeros(k)
    for a, b in zip(*np.triu_indices(q), strict=True):
        sums = np.bincount(nodes, weights=coef[:, a] * coef[:, b], minlength=n_nodes)
        total += (1.0 if a == b else 2.0) * sums[owner] * basis[:, a] * basis[:, b]
    return total


def _level_squares_dd(nodes: np.ndarray, coef: tuple, basis: tuple, level: int) -> np.ndarray:
    """:func:`_level_squares` in double-double (``coef`` and ``basis`` are (hi, lo) pairs)."""
    k, q = basis[0].shape
    owner = np.arange(k) >> level
    n_nodes = int(owner[-1]) + 1
    order = np.argsort(nodes, kind="stable")
    bounds = np.searchsorted(nodes[order], np.arange(n_nodes + 1))
    total = (np.zeros(k), np.zeros(k))
    for a, b in zip(*np.triu_indices(q), strict=True):
        prod = dd_mul((coef[0][:, a], coef[1][:, a]), (coef[0][:, b], coef[1][:, b]))
        sums = window(prefix(prod[0][order], prod[1][order]), bounds[1:], bounds[:-1])
        pair = dd_mul((basis[0][:, a], basis[1][:, a]), (basis[0][:, b], basis[1][:, b]))
        term = dd_mul((sums[0][owner], sums[1][owner]), pair)
        scale = 1.0 if a == b else 2.0
        total = dd_add(total, (scale * term[0], scale * term[1]))
    return total[0] + total[1]
