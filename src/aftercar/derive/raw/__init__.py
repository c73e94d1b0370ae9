"""aftercar.derive.raw: lines of therapy and IMWG responses from raw records (issue 12).

Public API
----------
read_raw(folder) -> dict of Arrow tables
    Read and check ``patients``, ``administrations``, ``procedures``, ``labs``.
derive_raw(raw, *, rules=None, con=None, progress=None) -> RawDerivation
    Curated ``patients`` + ``lines`` (with ``drugs``), ``audit`` and ``attrition``.
derive_folder(rawdir, out, *, rules=None, format="csv", progress=None) -> Path
    Read, derive and write a cohort folder (what ``aftercar derive`` does).
load_rules(path=None) -> Rules
    The rule set (``data/lot_rules.toml`` + ``data/imwg_rules.toml``, overridable).
is_raw_folder(path) -> bool
    True when a folder holds raw records (for ``aftercar report RAWDIR``).

See ``docs/derivation.md`` for every rule and its source.
"""

from __future__ import annotations

from pathlib import Path

from aftercar.derive.raw.derive import RawDerivation, derive_raw
from aftercar.derive.raw.read import is_raw_folder, raw_format, read_raw
from aftercar.derive.raw.rules import Rules, load_rules


def derive_folder(rawdir, out, *, rules=None, format: str = "csv", progress=None) -> Path:
    """Derive the cohort of the raw folder ``rawdir`` and write it to ``out``.

    Parameters
    ----------
    rawdir
        Raw folder (or its parent holding ``raw/``).
    out
        Cohort folder to write (``patients``, ``lines``, ``audit/``).
    rules
        Path of a rules TOML, a :class:`Rules`, or ``None`` (defaults).
    format
        ``"csv"``, ``"parquet"`` or ``"xlsx"``.
    progress
        Called with a short description before each step.

    Returns
    -------
    Path
        ``out``, ready for :func:`aftercar.io.read_cohort`.
    """
    from aftercar.derive.raw.write import write_derivation

    rule_set = rules if isinstance(rules, Rules) else load_rules(rules)
    result = derive_raw(read_raw(rawdir), rules=rule_set, progress=progress, release=True)
    write_derivation(result, Path(out), format)
    return Path(out)


__all__ = ["RawDerivation", "Rules", "derive_folder", "derive_raw", "is_raw_folder",
           "load_rules", "raw_format", "read_raw"]  # fmt: skip
