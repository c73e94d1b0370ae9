"""Simulator parameters: loaded from ``data/simulation.toml`` and the regimen table.

Every model parameter lives in the data file with its source or calibration note
(see ``docs/simulation.md``); this module only reads, merges and checks them.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from aftercar.errors import ConfigError, Problem
from aftercar.io.toml_file import read_toml, toml_value
from aftercar.schema import Col, not_evaluable_code, response_codes
from aftercar.simulate.checks import check_params, coerce, kind_problem, source_name
from aftercar.vocab import classify_regimens

_EPOCH = dt.date(1970, 1, 1)

#: IMWG best-response codes a simulated line can have (best first; never "not evaluable").
RESPONSE_CODES = tuple(c for c in response_codes() if c != not_evaluable_code())


def to_day(text: str) -> int:
    """Return an ISO date string as days since 1970-01-01."""
    return (dt.date.fromisoformat(text) - _EPOCH).days


@dataclass(frozen=True)
class Arms:
    """The salvage-therapy arms as aligned numpy arrays (one entry per arm)."""

    names: tuple[str, ...]
    category: tuple[str, ...]
    tce: np.ndarray
    bcma: np.ndarray
    weight: np.ndarray
    repeat_factor: np.ndarray
    after_tce: np.ndarray
    orr: np.ndarray
    resp: np.ndarray  # (n_arms, 4) shares of sCR, CR, VGPR, PR
    nonresp: np.ndarray  # (n_arms, 3) shares of MR, SD, PD
    pfs_factor: np.ndarray
    fixed_days: np.ndarray
    unassessed_prob: np.ndarray


@dataclass(frozen=True)
class Regimens:
    """Regimen texts: the free-text forms written into ``lines.regimen``."""

    arm: np.ndarray  # arm index per text
    text: tuple[str, ...]
    category: tuple[str, ...]
    tce: np.ndarray
    bcma: np.ndarray
    weight: np.ndarray
    available_from: np.ndarray  # day number
    trial_prob: np.ndarray
    drugs: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class SimulationParams:
    """All simulator parameters.

    Attributes
    ----------
    raw
        The merged TOML document (nested dictionaries), as documented in
        ``data/simulation.toml``.
    arms, regimens
        Arrays derived from ``raw['arms']`` and the regimen table.
    """

    raw: Mapping[str, Any]
    arms: Arms
    regimens: Regimens

    def section(self, name: str) -> Mapping[str, Any]:
        """Return one TOML section."""
        return self.raw[name]


def _data_text(name: str) -> str:
    return resources.files("aftercar.data").joinpath(name).read_text(encoding="utf-8")


def _deep_merge(base: dict[str, Any], over: Mapping[str, Any], where: str = "") -> list[Problem]:
    """Put the values of ``over`` into ``base``; return the keys unknown or of the wrong
    kind (a whole number, a number, true/false, a text, a list shaped as the default)."""
    problems: list[Problem] = []
    for key, value in over.items():
        name = f"{where}{key}"
        if key not in base:
            problems.append(Problem(None, None, name, None,
                                    f"unknown simulation parameter '{name}'",
                                    "use a key of aftercar/data/simulation.toml (see "
                                    "docs/simulation.md)", rule="sim-params"))  # fmt: skip
        elif isinstance(value, Mapping) and isinstance(base[key], dict):
            problems += _deep_merge(base[key], value, f"{name}.")
        elif (bad := kind_problem(key, base[key], value)) is not None:
            problems.append(Problem(None, None, name, toml_value(value), bad,
                                    f"write e.g. {key} = {toml_value(base[key])}",
                                    rule="sim-params"))  # fmt: skip
        else:
            base[key] = coerce(base[key], value)
    return problems


def _merge_overrides(raw: dict[str, Any], overrides: Mapping[str, Any], where: str) -> None:
    """Merge ``overrides`` into ``raw`` and check the result (:func:`check_params`)."""
    problems = [replace(p, file=where) for p in _deep_merge(raw, overrides)]
    if problems:
        raise ConfigError(f"{len(problems)} problem(s) in the simulation parameters {where}:\n"
                          + "\n".join(f"  - {p}" for p in problems), problems)  # fmt: skip
    check_params(raw, where)


def _arms(raw: Mapping[str, Any]) -> Arms:
    items = list(raw["arms"].items())

    def col(key: str, default: float | None = None) -> np.ndarray:
        return np.array([a.get(key, default) for _, a in items], dtype=float)

    resp = np.array([a["resp"] for _, a in items], dtype=float)
    nonresp = np.array([a["nonresp"] for _, a in items], dtype=float)
    return Arms(
        names=tuple(n for n, _ in items),
        category=tuple(a[Col.CATEGORY] for _, a in items),
        tce=np.array([a[Col.TCE] for _, a in items], dtype=bool),
        bcma=np.array([a["bcma"] for _, a in items], dtype=bool),
        weight=col("weight"),
        repeat_factor=col("repeat_factor"),
        after_tce=col("after_tce"),
        orr=col("orr"),
        resp=resp / resp.sum(axis=1, keepdims=True),
        nonresp=nonresp / nonresp.sum(axis=1, keepdims=True),
        pfs_factor=col("pfs_factor"),
        fixed_days=col("fixed_days"),
        unassessed_prob=col("unassessed_prob", 0.0),
    )


def _regimens(arms: Arms, text: str) -> Regimens:
    rows = list(csv.DictReader(io.StringIO(text)))
    index = {name: i for i, name in enumerate(arms.names)}
    unknown = sorted({r["arm"] for r in rows} - set(index))
    if unknown:
        raise ConfigError(f"simulation_regimens.csv names unknown arms {unknown}")
    missing = sorted(set(index) - {r["arm"] for r in rows})
    if missing:
        raise ConfigError(f"simulation_regimens.csv has no text for arms {missing}")
    texts = [r["text"] for r in rows]
    flags = classify_regimens(texts).to_pandas()  # category and flags as the report reads them
    return Regimens(
        arm=np.array([index[r["arm"]] for r in rows], dtype=np.int64),
        text=tuple(texts),
        category=tuple(flags[Col.CATEGORY].astype(str)),
        tce=flags[Col.TCE].to_numpy(dtype=bool),
        bcma=flags[Col.BCMA_DIRECTED].to_numpy(dtype=bool),
        weight=np.array([float(r["weight"]) for r in rows]),
        available_from=np.array([to_day(r["available_from"]) for r in rows], dtype=np.int64),
        trial_prob=np.array([float(r["trial_prob"]) for r in rows]),
        drugs=tuple(tuple(d for d in r[Col.DRUGS].split(";") if d) for r in rows),
    )


def load_params(
    overrides: Mapping[str, Any] | SimulationParams | str | Path | None = None,
) -> SimulationParams:
    """Load the default parameters, optionally updated by ``overrides``.

    Parameters
    ----------
    overrides
        ``None`` for the shipped defaults; a :class:`SimulationParams` (returned
        as is); a nested mapping of keys to replace (same layout as
        ``simulation.toml``); or the path of a TOML file with such keys.

    Raises
    ------
    ConfigError
        When the TOML file cannot be read, or an override names a key the defaults do
        not have, has another kind of value than the default or cannot be simulated
        (:func:`aftercar.simulate.checks.check_params`); every problem at once.
    """
    if isinstance(overrides, SimulationParams):
        return overrides
    raw = tomllib.loads(_data_text("simulation.toml"))
    where = source_name(overrides)
    if isinstance(overrides, str | Path):
        overrides = read_toml(overrides, fix="compare with aftercar/data/simulation.toml")
    if overrides:
        raw = copy.deepcopy(raw)
        _merge_overrides(raw, overrides, where)
    arms = _arms(raw)
    return SimulationParams(
        raw=raw, arms=arms, regimens=_regimens(arms, _data_text("simulation_regimens.csv"))
    )
