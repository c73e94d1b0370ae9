"""What the rules of :mod:`aftercar.io.checks` work on and return.

A :class:`TableView` is a parsed table (typed columns, raw text, the user's
headers); :func:`hits` builds a rule's hits, one row per offending cell
(:data:`HIT_COLUMNS`); :func:`patient_codes` gives the integer patient codes the
row rules group and join on, and :func:`isin` a vectorised membership test.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class TableView:
    """A parsed table: typed canonical columns, raw text and the user's headers.

    ``df`` holds the canonical columns (typed), ``_pos`` (position in the raw
    table) and ``_row`` (spreadsheet row); ``text`` the raw cell text by canonical
    name; ``labels`` maps a canonical name to the header as the user wrote it.
    """

    name: str
    file: str
    df: pd.DataFrame
    text: pd.DataFrame
    labels: dict[str, str]
    flagged: Mapping[str, np.ndarray] = field(default_factory=dict)

    def label(self, column: str) -> str:
        """The user's header for ``column`` (the canonical name when absent)."""
        return self.labels.get(column, column)

    def flagged_cells(self, column: str) -> np.ndarray:
        """Cells of ``column`` already reported as unreadable (formulas without a result)."""
        return self.flagged.get(column, np.zeros(len(self.df), dtype=bool))

    def subset(self, keep: np.ndarray) -> TableView:
        """The rows where ``keep`` is true."""
        flagged = {c: m[keep] for c, m in self.flagged.items()}
        return TableView(self.name, self.file, self.df[keep], self.text[keep], self.labels, flagged)

    def masked(self, masks: Mapping[str, np.ndarray]) -> TableView:
        """A copy whose ``df`` has ``NaT``/``<NA>`` in the cells ``masks`` marks per column.

        Used so that a cell already reported (e.g. an implausible date) does not
        produce a second, derived problem (e.g. a date order) in later rules.
        """
        df = self.df.assign(**{c: self.df[c].mask(m) for c, m in masks.items() if m.any()})
        return TableView(self.name, self.file, df, self.text, self.labels, self.flagged)


HIT_COLUMNS = ["table", "pos", "column", "value", "message", "hint", "rule"]
#: The hits of a rule that found nothing (shared; never modified).
NO_HITS = pd.DataFrame(columns=HIT_COLUMNS)


def hits(t: TableView, mask, column: str | None, message, hint, rule: str, value=None):
    """Build the hits of ``rule`` on the rows of ``t`` where ``mask`` is true.

    ``value``, ``message`` and ``hint`` are one text for every hit, or a Series
    with one text per row of ``t`` or per hit (the rows where ``mask`` is true,
    in order): rules build messages for their hits only, not for every row.
    """
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return NO_HITS
    if value is None and column is not None and column in t.text:
        value = t.text[column]
    out = pd.DataFrame({"pos": t.df["_pos"].to_numpy()[mask]})
    out["table"] = t.name
    out["column"] = t.label(column) if column else None
    for key, item in (("value", value), ("message", message), ("hint", hint)):
        if isinstance(item, pd.Series):
            item = item[mask] if len(item) == len(mask) else item
            out[key] = item.to_numpy(dtype=object)
        else:
            out[key] = item
    out["rule"] = rule
    return out[HIT_COLUMNS]


def isin(values: pd.Series, pool: pd.Series) -> np.ndarray:
    """Vectorised ``values.isin(pool)`` for string Series (null -> False).

    pandas 3 string ``isin`` converts the pool element by element in Python;
    Arrow's ``is_in`` is a hash lookup.
    """
    arr = pa.array(values.astype("string"), type=pa.string(), from_pandas=True)
    pool_arr = pa.array(pool.dropna().astype("string"), type=pa.string(), from_pandas=True)
    found = pc.is_in(arr, value_set=pool_arr.unique())
    return pc.fill_null(found, False).to_numpy(zero_copy_only=False)


def patient_codes(patients: pd.Series, lines: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """One integer per ``patient_id`` shared by both tables (-1 for an empty id).

    The row rules group, sort and join on these codes (numpy) instead of hashing
    the id text again in every rule.
    """
    both = pa.chunked_array(
        [pa.array(s.array, type=pa.large_string(), from_pandas=True) for s in (patients, lines)]
    ).combine_chunks()
    encoded = pc.dictionary_encode(both)
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes[: len(patients)], codes[len(patients) :]


def _iso(series: pd.Series) -> pd.Series:
    return series.dt.strftime("%Y-%m-%d").astype("string")


def _q(series: pd.Series) -> pd.Series:
    return "'" + series.astype("string") + "'"
