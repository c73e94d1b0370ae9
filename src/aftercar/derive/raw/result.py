"""What a raw-records derivation returns (kept apart so that its producers share it)."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa


@dataclass
class RawDerivation:
    """What :func:`derive_raw` returns (Arrow tables).

    Attributes
    ----------
    patients, lines
        The curated cohort (``data/dictionary.csv``); ``lines`` also has ``drugs``.
    audit
        ``{"lines", "events", "assessments"}``: why each line starts and ends, which
        raw row belongs to which line (or the index CAR T) in which role, and every
        IMWG assessment with the lab rows that set it.
    attrition
        ``table, row, patient_id, reason`` for every raw row not used.
    """

    patients: pa.Table
    lines: pa.Table
    audit: dict[str, pa.Table]
    attrition: pa.Table
