"""Rule sets of the raw-records derivation, loaded from TOML data files.

``data/lot_rules.toml`` (lines of therapy) and ``data/imwg_rules.toml`` (IMWG 2016
response and progression) hold every default with its source; a user TOML given
to ``aftercar derive --rules`` may override any subset of keys of either file
(sections ``[lines]``, ``[steroids]``, ... ``[measurable]``, ``[response]``, ...).
An unknown section or key is an error naming it (exit 2), and so is a value unlike the
default (a whole number of days, a number, true/false, a text, a list): a regex that does not
compile, a number out of range (fractions from 0 to 1), a ``[from, to]`` pair out of order,
a drug or drug class that ``drugs.csv`` does not have, or bounds out of order
(``flc_ratio_low`` below ``flc_ratio_high``; MR <= PR <= VGPR reductions).
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from aftercar.errors import ConfigError, Problem
from aftercar.io.toml_file import read_toml
from aftercar.io.toml_file import toml_value as _toml


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
                known = ", ".join(sorted(base[section]))
                problems.append(Problem(where, None, f"{section}.{key}", _toml(value),
                                        "unknown rule key", f"use one of {known}"))  # fmt: skip
            elif (bad := _bad_value(section, key, value, base[section][key])) is not None:
                problems.append(Problem(where, None, f"{section}.{key}", _toml(value), *bad))
            else:
                base[section][key] = float(value) if isinstance(base[section][key], float) \
                    else value  # fmt: skip
    return problems


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _bad_type(value: Any, default: Any) -> tuple[str, str] | None:
    """``(what is wrong, fix)`` when ``value`` is not of the kind of the default value."""
    fix = f"write e.g. {_toml(default)}"
    if isinstance(default, bool):
        ok = isinstance(value, bool)
        return None if ok else ("expected true or false", "write true or false (no quotes)")
    if isinstance(default, int | float):
        what = "a whole number" if isinstance(default, int) else "a number"
        return None if _number(value) else (f"expected {what}", fix)
    if isinstance(default, str):
        return None if isinstance(value, str) else ("expected a text in quotes", fix)
    if isinstance(default, dict):
        ok = isinstance(value, dict) and all(_number(v) for v in value.values())
        return None if ok else ("expected a table of unit = factor", fix)
    if not isinstance(value, list):
        return ("expected a list", fix)
    if default and isinstance(default[0], str):
        ok = all(isinstance(v, str) for v in value)
        return None if ok else ("expected a list of texts in quotes", fix)
    ok = len(value) == len(default) and all(isinstance(v, int) and not isinstance(v, bool)
                                            for v in value)  # fmt: skip
    return None if ok else ("expected [from, to]: two whole numbers of days", fix)


def _bad_value(section: str, key: str, value: Any, default: Any) -> tuple[str, str] | None:
    """``(what is wrong, fix)`` for a user rule value, ``None`` when it can be used."""
    if (bad := _bad_type(value, default)) is not None:
        return bad
    fix = f"write e.g. {_toml(default)}"
    if isinstance(value, str):
        return _bad_pattern(value, default, key in _ENGINE_PATTERNS) if key.endswith("_pattern") \
            else None  # fmt: skip
    if isinstance(value, dict):
        ok = all(math.isfinite(v) and v > 0 for v in value.values())
        return None if ok else ("every factor must be a number above 0", fix)
    if isinstance(value, list):
        return _bad_list(key, value, default)
    if (bad := _out_of_range(key, value)) is not None:
        return bad, fix
    if key in _FIXED and value != _FIXED[key]:
        return _FIXED_WHY[key], f"remove the key or write {key} = {_FIXED[key]}"
    if isinstance(default, int) and not isinstance(default, bool) and isinstance(value, float):
        return "must be a whole number (days and counts have no decimals)", fix
    top = _AT_MOST_KEY.get(key, 1.0 if key.endswith("_reduction") else None)
    if top is not None and value > top:
        return f"must be from 0 to {top:g}" + (" (a fraction: 0.9 = 90%)" if top == 1 else ""), fix
    return None


#: Keys whose value documents the rule the code implements and cannot be changed (fuzz round
#: 7, session 26: `confirmations = 5` was accepted and silently had no effect).
_FIXED = {"confirmations": 2}
_FIXED_WHY = {"confirmations": "only 2 is implemented (IMWG 2016: two consecutive "
                                "assessments confirm a response or a progression)"}


#: Rule regexes the engine runs (DuckDB's RE2, Spark's Java regex), not Python: their
#: common syntax has no look-around and no back-references.
_ENGINE_PATTERNS = frozenset({"limit_pattern", "below_limit_pattern", "ife_negative_pattern",
                              "ife_positive_pattern", "premedication_pattern",
                              "not_given_pattern", "not_given_unless_pattern",
                              "mobilisation_pattern", "car_t_phase_pattern",
                              "car_t_infusion_pattern"})  # fmt: skip


def _bad_pattern(value: str, default: str, engine: bool = False) -> tuple[str, str] | None:
    """A rule regex that does not compile, or matches every text (it matches ""), or, for a
    regex the engine runs (``engine``), uses look-around or a back-reference, which DuckDB's
    RE2 refuses in the middle of a run (found by reading the rules, 2026-12-06)."""
    try:
        pattern = re.compile(value, re.IGNORECASE)
    except re.error as exc:
        return f"not a valid regular expression ({exc})", f"correct it, e.g. {_toml(default)}"
    if pattern.search("") is not None:
        return "the pattern matches every text (it matches an empty text)", \
            f"write e.g. {_toml(default)}"  # fmt: skip
    if engine and (bad := _engine_problem(value)) is not None:
        return bad, f"write it without look-around or back-references, e.g. {_toml(default)}"
    return None


def _engine_problem(value: str) -> str | None:
    """Why the database engine cannot run ``value`` (DuckDB compiles it as RE2), or None."""
    from aftercar.backends.duckdb import regex_problem

    why = regex_problem(value)
    if why is None:
        return None
    return f"the database engine cannot run this regular expression ({why})"


def _bad_list(key: str, value: list, default: list) -> tuple[str, str] | None:
    """A ``[from, to]`` pair out of order or too large, or names unknown to the vocabulary."""
    fix = f"write e.g. {_toml(default)}"
    if value and _number(value[0]):
        if any(abs(v) > _AT_MOST for v in value):
            return f"each day must be from -{_AT_MOST:,} to {_AT_MOST:,}", fix
        return "must be [from, to] with from <= to" if value[0] > value[1] else None
    if key in _VOCABULARY_LISTS:
        return _unknown_names(value, _VOCABULARY_LISTS[key], _toml(default))
    return None


def _unknown_names(value: list[str], kind: str, example: str) -> tuple[str, str] | None:
    """Names of ``value`` that are not drug names (``kind`` "drug") or drug classes of
    ``drugs.csv`` (``kind`` "class"): they would never match a row."""
    from aftercar.vocab import default_vocabulary
    from aftercar.vocab.vocabulary import norm_key

    vocab = default_vocabulary()
    known = vocab.classes() if kind == "class" else set(vocab.drugs)
    bad = [v for v in value if v not in known]
    if not bad:
        return None
    if kind == "class":
        return (f"{', '.join(map(repr, bad))}: not a drug class of drugs.csv",
                f"use classes of the drug_class column of drugs.csv, e.g. {example}")  # fmt: skip
    near = sorted({n for b in bad for n in getattr(vocab.by_key.get(norm_key(b)), "names", ())})
    hint = f"did you mean {', '.join(map(repr, near))}? " if near else ""
    return (f"{', '.join(map(repr, bad))}: not a drug name of drugs.csv",
            f"{hint}use names of the name column of drugs.csv, e.g. {example}")  # fmt: skip


def _bad_order(lot: dict, imwg: dict, user: dict, where: str) -> list[Problem]:
    """Pairs of rules whose order is fixed (a low bound above its high bound)."""
    problems = []
    for section, low, high, strict in _ORDERED:
        table = (lot if section in lot else imwg)[section]
        a, b = table[low], table[high]
        if a < b or (a == b and not strict):
            continue
        given = user.get(section, {})
        key = low if low in given or high not in given else high
        problems.append(Problem(where, None, f"{section}.{key}", _toml(table[key]),
                                f"{section}.{low} ({a:g}) must be "
                                f"{'below' if strict else 'at most'} {section}.{high} ({b:g})",
                                "give the two values in that order"))  # fmt: skip
    return problems


#: Rules with a larger lower bound than 0 (a gap of 0 days would end a line after every dose).
_AT_LEAST = {"discontinuation_gap_days": 1,
             # [plausible]: a limit below the IMWG measurable values would stop every run
             # (0 made every positive value an error; a review of session 27)
             "serum_m": 1.0, "urine_m": 200.0, "kappa": 10.0, "lambda": 10.0, "marrow_pc": 10.0}
#: The largest rule value: the defaults are at most 1,000 (days, mg, factors); a larger
#: number is a typo, and one beyond 64 bits cannot reach the engine at all.
_AT_MOST = 1_000_000
#: Rules with a smaller upper bound (``*_reduction`` keys are fractions, at most 1).
_AT_MOST_KEY = {"cr_marrow_pct": 100.0, "marrow_pc": 100.0}
#: Lists of names the derivation matches exactly against the vocabulary (``drugs.csv``).
_VOCABULARY_LISTS = {
    "addition_exception_classes": "class",
    "lymphodepletion_ingredients": "drug",
    "conditioning_ingredients": "drug",
    "allo_conditioning_ingredients": "drug",
    "mobilisation_ingredients": "drug",
    "after_car_t_ingredients": "drug",
}
#: ``(section, low, high, strict)``: rules that bound a range or grade a response in order
#: (IMWG 2016: MR < PR < VGPR reductions; VGPR urine < PR urine; normal FLC ratio range).
_ORDERED = (("measurable", "flc_ratio_low", "flc_ratio_high", True),
            ("response", "mr_reduction", "pr_reduction", False),
            ("response", "pr_reduction", "vgpr_reduction", False),
            ("response", "mr_urine_reduction", "pr_urine_reduction", False),
            ("response", "vgpr_urine_mg_24h", "pr_urine_mg_24h", False))  # fmt: skip


def _out_of_range(key: str, value: float) -> str | None:
    """Why a rule number is out of range (``None``: it is not). Every number of the rule
    files is a count of days, a threshold or a fraction: none is negative."""
    low = _AT_LEAST.get(key, 0)
    if not math.isfinite(value) or not low <= value <= _AT_MOST:
        return f"must be a number from {low} to {_AT_MOST:,}"
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
        Unreadable TOML, unknown section or key, a value of the wrong type (a whole
        number, a number, true/false, a text, a list of texts or a ``[from, to]``
        pair, as the default), out of range, a regex that does not compile, a drug
        or drug class unknown to ``drugs.csv`` or two bounds out of order (every
        problem at once; exit code 2).
    """
    lot, imwg = _default("lot_rules.toml"), _default("imwg_rules.toml")
    if path is None:
        return Rules.frozen(lot, imwg)
    where = str(path)
    user = read_toml(path, fix="compare with aftercar/data/lot_rules.toml and imwg_rules.toml")
    problems = []
    for section, values in user.items():
        base = lot if section in lot else imwg
        problems += _merge(base, {section: values}, where)
    if not problems:
        problems = _bad_order(lot, imwg, user, where)
    if problems:
        raise ConfigError(
            f"{len(problems)} problem(s) in {where}:\n" + "\n".join(f"  - {p}" for p in problems),
            problems,
        )
    return Rules.frozen(lot, imwg, source=where)
