"""Rule sets of the raw-records derivation, loaded from TOML data files.

``data/lot_rules.toml`` (lines of therapy) and ``data/imwg_rules.toml`` (IMWG 2016
response and progression) hold every default with its source; a user TOML given
to ``aftercar derive --rules`` may override any subset of keys of either file
(sections ``[lines]``, ``[steroids]``, ... ``[measurable]``, ``[response]``, ...).
An unknown section or key is an error naming it (exit 2).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from aftercar.errors import ConfigError, Problem


@dataclass(frozen=True)
class Rules:
    """Frozen rule set: ``lot`` and ``imwg`` are ``{section: {key: value}}`` mappings.

    Read with ``rules.get("lines", "regimen_window_days")``; values are plain TOML
    values. Frozen (read-only mappings) so that a derivation cannot change its rules
    half-way.
    """

    lot: MappingProxyType
    imwg: MappingProxyType
    source: str = "defaults"

    @classmethod
    def frozen(cls, lot: dict, imwg: dict, source: str = "defaults") -> Rules:
        """Build read-only rules (sections become ``MappingProxyType``)."""

        def ro(table: dict) -> MappingProxyType:
            return MappingProxyType({k: MappingProxyType(dict(v)) for k, v in table.items()})

        return cls(ro(lot), ro(imwg), source)

    def get(self, section: str, key: str) -> Any:
        """Return one rule value (looked up in the LoT rules, then the IMWG rules)."""
        for table in (self.lot, self.imwg):
            if section in table:
                return table[section][key]
        raise KeyError(f"{section}.{key}")

    def test_names(self) -> dict[str, str]:
        """Return ``{lower-case test text: IMWG parameter}`` from ``[tests]``."""
        return {t.lower(): p for p, names in self.imwg["tests"].items() for t in names}

    def unit_factors(self) -> dict[tuple[str, str], float]:
        """Return ``{(family, unit text): factor to the canonical unit}`` from ``[units]``."""
        units = self.imwg["units"]
        return {(f, u): float(x) for f, table in units.items() for u, x in table.items()}


def _default(name: str) -> dict[str, dict[str, Any]]:
    text = resources.files("aftercar.data").joinpath(name).read_text("utf-8")
    return tomllib.loads(text)


def _merge(base: dict, user: dict, where: str) -> list[Problem]:
    problems = []
    for section, values in user.items():
        if section not in base or not isinstance(values, dict):
            problems.append(Problem(where, None, section, None,
                                    f"unknown rule section [{section}]",
                                    f"use one of {', '.join(sorted(base))}"))  # fmt: skip
            continue
        for key, value in values.items():
            if key not in base[section]:
                problems.append(
                    Problem(
                        where,
                        None,
                        f"{section}.{key}",
                        repr(value),
                        "unknown rule key",
                        f"use one of {', '.join(sorted(base[section]))}",
                    )
                )
            elif type(value) is not type(base[section][key]) and not (
                isinstance(value, int | float) and isinstance(base[section][key], int | float)
            ):
                problems.append(Problem(where, None, f"{section}.{key}", repr(value),
                                        f"expected a {type(base[section][key]).__name__}",
                                        f"write e.g. {base[section][key]!r}"))  # fmt: skip
            elif (bad := _out_of_range(key, value)) is not None:
                problems.append(Problem(where, None, f"{section}.{key}", repr(value), bad,
                                        f"write e.g. {base[section][key]!r}"))  # fmt: skip
            else:
                base[section][key] = value
    return problems


#: Rules with a larger lower bound than 0 (a gap of 0 days would end a line after every dose).
_AT_LEAST = {"discontinuation_gap_days": 1}
#: The largest rule value: the defaults are at most 1,000 (days, mg, factors); a larger
#: number is a typo, and one beyond 64 bits cannot reach the engine at all.
_AT_MOST = 1_000_000


def _out_of_range(key: str, value: Any) -> str | None:
    """Why a rule value is out of range (``None``: it is not). Every number of the rule
    files is a count of days, a threshold or a fraction: none is negative; a ``[from, to]``
    pair of days is ordered."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        low = _AT_LEAST.get(key, 0)
        if not math.isfinite(value) or not low <= value <= _AT_MOST:
            return f"must be a number from {low} to {_AT_MOST:,}"
    if isinstance(value, list) and len(value) == 2 and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    ) and value[0] > value[1]:
        return "must be [from, to] with from <= to"
    return None


def load_rules(path: str | Path | None = None) -> Rules:
    """Load the default rules, overridden by the TOML file at ``path`` if given.

    Parameters
    ----------
    path
        A TOML file with any subset of the sections and keys of ``lot_rules.toml``
        and ``imwg_rules.toml``; ``None`` = the shipped defaults.

    Raises
    ------
    ConfigError
        Unreadable TOML, unknown section or key, or a value of the wrong type
        (every problem at once; exit code 2).
    """
    lot, imwg = _default("lot_rules.toml"), _default("imwg_rules.toml")
    if path is None:
        return Rules.frozen(lot, imwg)
    where = str(path)
    try:
        user = tomllib.loads(Path(path).read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(
            f"{where}: cannot read the rules ({exc}). Fix: give a valid TOML file."
        ) from None
    problems = []
    for section, values in user.items():
        base = lot if section in lot else imwg
        problems += _merge(base, {section: values}, where)
    if problems:
        raise ConfigError(
            f"{len(problems)} problem(s) in {where}:\n" + "\n".join(f"  - {p}" for p in problems),
            problems,
        )
    return Rules.frozen(lot, imwg, source=where)
