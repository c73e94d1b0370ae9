"""Cells as shown under disclosure control: :class:`Hidden` cells keep their true value
for the margins still to be checked (:class:`~aftercar.report.margins.Margins` is the
engine); estimates over fewer than K are withheld; :func:`shown_steps` picks the points
of cumulative rows that may be shown."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from aftercar.report.disclosure.keys import STRUCTURAL_KEYS, is_count_key
from aftercar.report.margins import SUPPRESSED, Margins, marker


class Hidden(str):
    """A suppressed cell as shown (``"<K"`` or ``"suppressed"``) that keeps its true
    value for the margins still to be checked; written out as plain text."""

    value: float

    def __new__(cls, text: str, value: float) -> Hidden:
        obj = super().__new__(cls, text)
        obj.value = value
        return obj


def true_value(value: Any) -> float | None:
    """The count behind a cell: a number, the value kept by :class:`Hidden`, else None."""
    if isinstance(value, Hidden):
        return value.value
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
        return None
    return None if not np.isfinite(float(value)) else float(value)


def _is_number(value: Any) -> bool:
    return true_value(value) is not None


_COUNT_TEXT = re.compile(r"^\s*(\d+)\s*(\(\s*[\d.]+\s*%\s*\))?\s*$")


_HEADER_N = re.compile(r"^(.*\(N=)(\d+)(\)\s*)$")


def _text_count(value: Any) -> float | None:
    if isinstance(value, Hidden):
        return value.value
    if not isinstance(value, str):
        return true_value(value)
    hit = _COUNT_TEXT.match(value)
    return float(hit.group(1)) if hit else None


def shown_steps(
    chains: list[list[float]], k: int, end_ok: Callable[[int], bool] | None = None
) -> list[int]:
    """Indices of the points of parallel cumulative rows that may be shown.

    Each chain is a row of counts (at-risk or cumulative events at each tick), its
    first value the known start. A point is kept only when every chain moves by 0 or
    at least K from the previous kept point, so no step of fewer than K patients can
    be read off by subtraction; then the last kept points are dropped until
    ``end_ok(point)`` holds (what follows the last point must not be derivable
    either). Returned indices count the points only (the start is not one).
    """
    if not chains:
        return []
    n = len(chains[0]) - 1
    kept: list[int] = []

    def ok(a: int, b: int) -> bool:
        return all(abs(c[b] - c[a]) == 0 or abs(c[b] - c[a]) >= k for c in chains)

    last = 0
    for i in range(1, n + 1):
        if ok(last, i):
            kept.append(i)
            last = i
    while kept and end_ok is not None and not end_ok(kept[-1] - 1):
        kept.pop()
    return [i - 1 for i in kept]


def _declare(m: Margins, key: Any, value: Any, *, implicit: bool = False) -> bool:
    """Declare a cell from a shown (or already hidden) value; False when not a count."""
    v = true_value(value)
    if v is None:
        return False
    m.cell(key, v, implicit=implicit)
    if isinstance(value, Hidden):
        m.state[key] = str(value)
    return True


def _shown_as(value: Any, state: str | None) -> Any:
    """The value as displayed in a given state (a :class:`Hidden` when suppressed)."""
    if state is None or state == "shown" or (isinstance(value, Hidden) and value == state):
        return value
    v = _text_count(value)
    return value if v is None else Hidden(state, v)


def _set(d: dict[str, Any], key: str, state: str | None) -> None:
    if key in d:
        d[key] = _shown_as(d[key], state)


def _is_estimate(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return any(_is_estimate(v) for v in value)
    return true_value(value) is not None and not isinstance(value, Hidden)


def _withhold_estimates(obj: Any) -> Any:
    """Every estimate in ``obj`` (numbers not under a count or structural key) becomes
    ``"suppressed"``: they are computed over fewer than K patients or lines."""
    if isinstance(obj, list):
        return [_withhold_estimates(v) for v in obj]
    if not isinstance(obj, Mapping):
        return obj
    out = {}
    for key, value in obj.items():
        name = str(key).lower()
        if is_count_key(key) or name in STRUCTURAL_KEYS:
            out[key] = value
        elif isinstance(value, Mapping) or (
            isinstance(value, list) and any(isinstance(v, Mapping) for v in value)
        ):
            out[key] = _withhold_estimates(value)
        elif isinstance(value, list):
            out[key] = [SUPPRESSED if _is_estimate(v) else v for v in value]
        else:
            out[key] = SUPPRESSED if _is_estimate(value) else value
    return out


def _below_k(value: Any, k: int) -> bool:
    """A suppressed count below K: ``"<K"``, or a cell withheld (``"withheld"``, or a
    total ``"suppressed"`` with its small cells) whose true value is below K."""
    if isinstance(value, Hidden):
        return value == marker(k) or 0 < value.value < k
    return isinstance(value, str) and value == marker(k)
