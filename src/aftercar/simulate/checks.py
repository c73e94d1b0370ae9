"""Checks of the simulator parameters (``simulate --params``), every problem at once.

A user TOML overrides keys of ``data/simulation.toml``. Each value must have the kind of
its default (a whole number, a number, true/false, a text, a list of the same shape), and
the merged parameters must mean something: probabilities from 0 to 1, weights (``*_probs``)
with one above 0, no negative count, time or hazard, lists that go together of the same
length (``sites`` and ``site_probs``), bounds in order, at least one site and a chunk of at
least one patient, a cut-off after the last CAR-T date, and no text that a spreadsheet
would run as a formula in the files written (OWASP CSV injection). A problem is a
:class:`~aftercar.errors.ConfigError` naming the file, the key and the value (exit code 2).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Mapping
from pathlib import PurePath
from typing import Any

from aftercar.errors import ConfigError, Problem
from aftercar.io.toml_file import toml_value
from aftercar.schema import response_codes

#: Keys whose numbers may be negative: days relative to the CAR T, -1 = continuous therapy.
_NEGATIVE_OK = frozenset({"fixed_days", "lymphodepletion_days"})
#: Lists whose length may differ from the default's (checked in pairs by ``_SAME_LENGTH``).
_ANY_LENGTH = frozenset({"sites", "site_probs", "names", "era_starts", "era_probs", "starts",
                         "tce_multipliers", "car_t_response_codes", "car_t_response_probs",
                         "lymphodepletion_days", "serum_g_per_l_prob"})  # fmt: skip
#: Lists that go together (one probability per site, per code, per era...).
_SAME_LENGTH = (("baseline.sites", "baseline.site_probs"),
                ("baseline.car_t_response_codes", "baseline.car_t_response_probs"),
                ("products.era_starts", "products.era_probs"),
                ("era.starts", "era.tce_multipliers"))  # fmt: skip
#: ``(low, high, strict)``: bounds in order.
_ORDERED = (("baseline.age_min", "baseline.age_max", True),
            ("baseline.car_t_start", "baseline.car_t_end", False),
            ("baseline.car_t_end", "cohort.cutoff_date", True),
            ("baseline.prior_lines_min", "baseline.prior_lines_max", False),
            ("course.gap_min_days", "course.gap_max_days", False),
            ("course.switch_min_months", "course.switch_max_months", False))  # fmt: skip
#: Keys that must be above 0 (a chunk of patients, a line, a rate that is divided by).
_POSITIVE = frozenset({"chunk_size", "max_lines", "death_hazard_per_month",
                       "lost_hazard_per_month", "terminal_median_months",
                       "pfs_median_by_response", "pfs_scale"})  # fmt: skip
#: Fractions (at most 1) besides the probabilities (keys ending in ``_prob``). Keys ending in
#: ``_probs`` and ``resp`` / ``nonresp`` are relative weights (normalised when drawn).
_FRACTIONS = frozenset({"nadir_fraction", "cr_reduction", "level_bands"})
#: Texts written into the cohort's files, and date keys (ISO text).
_WRITTEN = frozenset({"id_prefix", "sites", "names", "switch_reasons"})
_DATES = frozenset({"cutoff_date", "car_t_start", "car_t_end", "era_starts", "starts"})
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: The largest number (defaults are at most 50,000): beyond it a typo, or numpy overflows.
_AT_MOST = 1_000_000_000


def kind_problem(key: str, default: Any, value: Any) -> str | None:
    """What is wrong with the kind of ``value`` for a key whose default is ``default``."""
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "expected true or false"
    if isinstance(default, str):
        return None if isinstance(value, str) else "expected a text in quotes"
    if isinstance(default, int | float):
        what = "a whole number" if isinstance(default, int) else "a number"
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok and not (isinstance(default, int) and isinstance(value, float)) \
            else f"expected {what}"  # fmt: skip
    if isinstance(default, Mapping):
        return None if isinstance(value, Mapping) else "expected a table"
    if not isinstance(value, list):
        return "expected a list"
    if key not in _ANY_LENGTH and len(value) != len(default):
        return f"expected a list of {len(default)} values"
    inner = default[0] if default else None
    bad = [kind_problem(key, inner, v) for v in value] if inner is not None else []
    return next((f"{b} in each place of the list" for b in bad if b), None)


def coerce(default: Any, value: Any) -> Any:
    """``value`` as the type of ``default`` (an integer for a number key becomes a float)."""
    if isinstance(default, float) and not isinstance(value, bool):
        return float(value)
    if isinstance(default, list) and default and isinstance(value, list):
        return [coerce(default[0], v) for v in value]
    return value


def _leaves(table: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str, Any]]:
    """``(dotted key, key, value)`` of every value. Sections and ``[arms.*]`` tables are
    walked; the items of an inline table (``pfs_median_by_response = { sCR = 15.0 }``) are
    checked under the table's key."""
    for key, value in table.items():
        if isinstance(value, Mapping) and (not prefix or prefix == "arms."):
            yield from _leaves(value, f"{prefix}{key}.")
        elif isinstance(value, Mapping):
            yield from ((f"{prefix}{key}.{k}", key, v) for k, v in value.items())
        else:
            yield f"{prefix}{key}", key, value


def _numbers(value: Any) -> list[float]:
    if isinstance(value, list):
        return [x for v in value for x in _numbers(v)]
    return [value] if isinstance(value, int | float) and not isinstance(value, bool) else []


def _number_problem(key: str, value: Any) -> tuple[str, str] | None:
    """A non-finite, negative, zero (where it must be positive) or above-1 fraction."""
    numbers = _numbers(value)
    if not all(math.isfinite(x) for x in numbers):
        return "must be a finite number (not nan or inf)", "give a number"
    if any(abs(x) > _AT_MOST for x in numbers):
        return f"must be at most {_AT_MOST:,}", "give a smaller value"
    if key not in _NEGATIVE_OK and any(x < 0 for x in numbers):
        return "must not be negative", "give a value of 0 or more"
    if key in _POSITIVE and any(x <= 0 for x in numbers):
        return "must be above 0", "give a positive value"
    fraction = key.endswith("_prob") or key in _FRACTIONS
    if fraction and any(x > 1 for x in numbers):
        return "must be from 0 to 1 (a probability or a fraction)", "e.g. 0.25 for 25%"
    if key == "orr" and any(x >= 1 for x in numbers):
        return "must be below 1 (a response probability of 1 leaves no odds)", "e.g. 0.95"
    weights = key.endswith("_probs") or key in {"resp", "nonresp"}
    if weights and any(sum(row) <= 0 for row in _rows(value)):
        return "must hold at least one value above 0", "give the relative weights"
    return None


def _rows(value: list) -> list[list]:
    """The rows of a list of weights (``era_probs`` holds one row per era)."""
    return value if value and isinstance(value[0], list) else [value]


def _text_problem(key: str, value: Any) -> tuple[str, str] | None:
    """A formula-like text written into the files, an empty site, or a date that is not."""
    texts = value if isinstance(value, list) else [value]
    if key in _WRITTEN and any(t.startswith(_FORMULA_START) for t in texts):
        return (
            "starts with = + - @, a tab or a carriage return: a spreadsheet opening the "
            "files would run it as a formula",
            "start the text with a letter or a digit",
        )
    if key in {"sites", "names"} and (not texts or "" in texts or len(set(texts)) < len(texts)):
        return f"must be a non-empty list of distinct, non-empty {key}", \
            f'write e.g. {key} = ["A", "B"]'  # fmt: skip
    if key in _DATES:
        try:
            days = [dt.date.fromisoformat(t) for t in texts]
        except ValueError:
            return "is not a date", 'write it as YYYY-MM-DD, e.g. "2025-06-30"'
        if days != sorted(days):
            return "must be dates in increasing order", "sort the dates"
    if key == "car_t_response_codes" and set(texts) - set(response_codes()):
        return "holds codes that are not IMWG responses", f"use {', '.join(response_codes())}"
    return None


def _value_problems(raw: Mapping[str, Any]) -> list[tuple[str, Any, str, str]]:
    problems = []
    for dotted, key, value in _leaves(raw):
        if (bad := _number_problem(key, value) or _text_problem(key, value)) is not None:
            problems.append((dotted, value, *bad))
        elif key == "level_bands" and value[0] > value[1]:
            problems.append((dotted, value, "must be [low, high] with low <= high", "swap them"))
    for a, b in _SAME_LENGTH:
        if _get(raw, a) and len(_get(raw, a)) != len(_get(raw, b)):  # empty: named above
            problems.append(
                (
                    b,
                    _get(raw, b),
                    f"must have one value for each of {a} ({len(_get(raw, a))})",
                    f"give {len(_get(raw, a))} values",
                )
            )
    products = _get(raw, "products.names")
    if any(len(row) != len(products) for row in _get(raw, "products.era_probs")):
        problems.append(
            (
                "products.era_probs",
                _get(raw, "products.era_probs"),
                f"each row must have one probability for each of products.names ({len(products)})",
                f"give {len(products)} values a row",
            )
        )
    return problems + _order_problems(raw)


def _order_problems(raw: Mapping[str, Any]) -> list[tuple[str, Any, str, str]]:
    problems = []
    for low, high, strict in _ORDERED:
        a, b = _get(raw, low), _get(raw, high)
        if a < b or (a == b and not strict):
            continue
        word = "after" if isinstance(a, str) else "above"
        problems.append(
            (
                high,
                b,
                f"must be {'' if strict else 'equal to or '}{word} {low} ({toml_value(a)})",
                f"give {high} {word} {low}",
            )
        )
    return problems


def _get(raw: Mapping[str, Any], dotted: str) -> Any:
    section, key = dotted.split(".")
    return raw[section][key]


def check_params(raw: Mapping[str, Any], where: str) -> None:
    """Raise a :class:`ConfigError` listing every value of the merged parameters ``raw``
    that cannot be simulated (``where``: the TOML file the overrides came from)."""
    found = _value_problems(raw)
    if not found:
        return
    problems = [Problem(where, None, key, toml_value(value), why, fix, rule="sim-params")
                for key, value, why, fix in found]  # fmt: skip
    raise ConfigError(f"{len(problems)} problem(s) in the simulation parameters {where}:\n"
                      + "\n".join(f"  - {p}" for p in problems), problems)  # fmt: skip


def check_raw_params(raw: Mapping[str, Any], where: str) -> None:
    """Raise a :class:`ConfigError` when the ``[raw]`` parameters do not fit the cohort's:
    raw records (``simulate --raw``) draw the g/L share of each site from
    ``raw.serum_g_per_l_prob``, one value for each of ``baseline.sites``."""
    sites, shares = _get(raw, "baseline.sites"), _get(raw, "raw.serum_g_per_l_prob")
    if len(sites) == len(shares):
        return
    problem = Problem(where, None, "raw.serum_g_per_l_prob", toml_value(shares),
                      f"raw records need one value for each of baseline.sites ({len(sites)})",
                      f"give {len(sites)} values, one a site", rule="sim-params")  # fmt: skip
    raise ConfigError(f"1 problem(s) in the simulation parameters {where}:\n  - {problem}",
                      [problem])  # fmt: skip


def source_name(params: object) -> str:
    """How messages name the parameters: the TOML file's path, else "(given as a mapping)"."""
    return str(params) if isinstance(params, str | PurePath) else "(given as a mapping)"
