"""Checks on the arrays handed to the statistics functions.

The statistics layer receives plain arrays, not files, so its errors name the
argument and the (0-based) positions of the offending values instead of a
spreadsheet row. Every check is vectorised; the message lists at most the first
five positions and says how many there are in all.
"""

from __future__ import annotations

import warnings

import numpy as np

from aftercar.errors import InputError, StatisticalWarning

_SHOW = 5
MIN_CLUSTERS = 10  # below this a cluster-robust variance is flagged (StatisticalWarning)


def positions(mask: np.ndarray) -> str:
    idx = np.flatnonzero(mask)
    shown = ", ".join(str(i) for i in idx[:_SHOW])
    more = f" and {idx.size - _SHOW} more" if idx.size > _SHOW else ""
    return f"position(s) {shown}{more} (0-based)"


def as_float(values, name: str, *, n: int | None = None, caller: str = "") -> np.ndarray:
    """Return ``values`` as a finite 1-d float64 array or raise :class:`InputError`.

    ``caller`` (e.g. ``"cox_ph"``) prefixes every message so the user knows which
    function refused the input.
    """
    who = f"{caller}: " if caller else ""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"{who}`{name}` must be numeric; could not convert it ({exc}). "
            "Fix: pass numbers (days or months), with missing values removed."
        ) from None
    if arr.ndim != 1:
        arr = arr.reshape(-1) if arr.ndim == 0 else arr
        if arr.ndim != 1:
            raise InputError(f"{who}`{name}` must be one-dimensional, got shape {arr.shape}.")
    if n is not None and arr.size != n:
        raise InputError(
            f"{who}`{name}` has {arr.size} values but `time` has {n}. "
            "Fix: pass arrays of equal length, one value per subject."
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        raise InputError(
            f"{who}`{name}` has {int(bad.sum())} missing or non-finite value(s) at "
            f"{positions(bad)}. Fix: drop those subjects or fill the values."
        )
    return arr


def as_event(values, *, n: int) -> np.ndarray:
    """Return the event indicator as a bool array; accept bools or 0/1 numbers."""
    arr = as_float(values, "event", n=n)
    bad = (arr != 0) & (arr != 1)
    if bad.any():
        raise InputError(
            f"`event` must be 0/1 or True/False; found other values at {positions(bad)}. "
            "Fix: code the event as 1 (event observed) or 0 (censored)."
        )
    return arr == 1


def as_weights(values, *, n: int) -> np.ndarray:
    """Return case weights (finite, >= 0) as float64; ``None`` gives all ones."""
    if values is None:
        return np.ones(n)
    arr = as_float(values, "weights", n=n)
    bad = arr < 0
    if bad.any():
        raise InputError(
            f"`weights` must be >= 0; negative at {positions(bad)}. "
            "Fix: use non-negative case weights."
        )
    return arr


def as_entry(values, time: np.ndarray) -> np.ndarray | None:
    """Return delayed-entry times (must be < time), or ``None``."""
    if values is None:
        return None
    arr = as_float(values, "entry", n=time.size)
    bad = arr >= time
    if bad.any():
        raise InputError(
            f"`entry` must be earlier than `time` (as R: stop time must be > start time); "
            f"violated at {positions(bad)}. Fix: drop rows with no time at risk."
        )
    return arr


def as_labels(values, name: str, *, n: int) -> np.ndarray:
    """Return group labels as a 1-d object/number array of length ``n`` without missing."""
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.size != n:
        raise InputError(
            f"`{name}` must be one-dimensional with {n} values (one per subject); "
            f"got shape {arr.shape}."
        )
    missing = _missing_mask(arr)
    if missing.any():
        raise InputError(
            f"`{name}` has {int(missing.sum())} missing value(s) at {positions(missing)}. "
            "Fix: drop those subjects or give them an explicit level."
        )
    return arr


def _missing_mask(arr: np.ndarray) -> np.ndarray:
    if arr.dtype.kind == "f":
        return np.isnan(arr)
    if arr.dtype.kind == "O":
        import pandas as pd

        return np.asarray(pd.isna(arr), dtype=bool)
    return np.zeros(arr.size, dtype=bool)


def factorize(labels: np.ndarray) -> tuple[list, np.ndarray]:
    """Return (sorted levels, integer codes) for a label array, like R's ``factor``.

    Levels are plain Python values (``str``, ``int``, ``float``, ``bool``).
    Object arrays (strings, e.g. patient ids) are hashed and only the distinct
    values sorted (pandas ``factorize``); integers of a small range are counted
    (``bincount``, no sort); other numeric arrays are sorted by numpy.
    """
    if labels.dtype.kind == "O":
        import pandas as pd

        codes, uniques = pd.factorize(labels, sort=True)
        levels = uniques.tolist()
        if any(isinstance(v, np.generic) for v in levels):
            levels = [v.item() if isinstance(v, np.generic) else v for v in levels]
        return levels, codes.astype(np.intp, copy=False)
    if labels.dtype.kind in "iu" and labels.size:
        low = int(labels.min())
        if int(labels.max()) - low < 4 * labels.size:  # codes of a small range: O(n)
            offset = labels.astype(np.int64) - low
            present = np.flatnonzero(np.bincount(offset))
            lookup = np.zeros(present[-1] + 1, dtype=np.intp)
            lookup[present] = np.arange(present.size)
            return (present + low).astype(labels.dtype).tolist(), lookup[offset]
    levels, codes = np.unique(labels, return_inverse=True)
    return levels.tolist(), codes.reshape(-1)


def codes(labels: np.ndarray) -> np.ndarray:
    """Integer codes of a label array in order of first appearance (hashing, no sort).

    For groupings whose level order does not matter (clusters). Small
    non-negative integers are taken as codes already.
    """
    small = labels.dtype.kind in "iu" and labels.size and labels.min() >= 0
    if small and labels.max() < 4 * labels.size:
        return labels.astype(np.int64, copy=False)
    import pandas as pd

    return pd.factorize(labels)[0].astype(np.int64, copy=False)


def timefix(time: np.ndarray, entry: np.ndarray | None = None):
    """Merge times that differ only by floating-point noise, as R ``aeqSurv``.

    R's ``survfit``, ``survdiff`` and ``coxph`` do this by default (``timefix =
    TRUE``): distinct times closer than sqrt(machine eps), absolutely or relative
    to the mean absolute time, are set to the smaller one, so that e.g. months
    computed two ways tie. Returns ``(time, entry)`` (new arrays only if changed).
    """
    tol = float(np.sqrt(np.finfo(float).eps))
    both = time if entry is None else np.concatenate((entry, time))
    y = np.unique(both)
    if y.size < 2:
        return time, entry
    dy = np.diff(y)
    tied = (dy <= tol) | (dy / np.mean(np.abs(y)) <= tol)
    if not tied.any():
        return time, entry
    cuts = y[np.concatenate(([True], ~tied))]

    def snap(x: np.ndarray) -> np.ndarray:
        return cuts[np.searchsorted(cuts, x, side="right") - 1]

    new_entry = None if entry is None else snap(entry)
    new_time = snap(time)
    if new_entry is not None and np.any(new_entry >= new_time):
        raise InputError(
            "After merging times that differ by less than sqrt(machine eps) (R's aeqSurv), "
            "an (entry, time] interval has length 0. Fix: drop or correct that subject."
        )
    return new_time, new_entry


def warn_few_clusters(n_clusters: int, caller: str) -> None:
    """Warn when a cluster-robust variance rests on fewer than ``MIN_CLUSTERS`` clusters.

    The sandwich variance is a sum over clusters; with few clusters it is
    biased downwards and itself very variable, so its intervals are too narrow.
    """
    if n_clusters < MIN_CLUSTERS:
        warnings.warn(
            f"{caller}: the robust variance rests on {n_clusters} cluster(s), fewer than "
            f"{MIN_CLUSTERS}; sandwich standard errors from so few clusters are too small "
            "and unstable. Read the intervals with care.",
            StatisticalWarning,
            stacklevel=3,
        )
