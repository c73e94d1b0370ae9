"""The study configuration: one validated, serialisable TOML file with stage sections.

The documented defaults live in ``aftercar/data/study_defaults.toml``; a user file
overrides any subset of keys. Validation reports *every* problem at once (unknown
section or key, wrong type, value out of range or not among the allowed choices)
as one :class:`~aftercar.errors.ConfigError`. The configuration serialises to a
plain dictionary and has a stable SHA-256 hash (canonical JSON, sorted keys) that
goes into the run manifest.

Past the loader, code reads typed sections, each owned by the stage it configures:
:attr:`StudyConfig.study`, :attr:`~StudyConfig.input` and
:attr:`~StudyConfig.vocabulary` (this module: the pipeline hands them to ``io`` and
``vocab``), :attr:`~StudyConfig.endpoints` (:class:`aftercar.derive.EndpointRules`),
:attr:`~StudyConfig.analysis` (:class:`aftercar.analysis.AnalysisOptions`) and
:attr:`~StudyConfig.report` (:class:`ReportSection`).

References
----------
OHDSI CohortMethod settings objects (all validation errors reported at once).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from aftercar.analysis.options import AnalysisOptions
from aftercar.derive.rules import EndpointRules
from aftercar.errors import ConfigError, Problem
from aftercar.io.toml_file import read_toml
from aftercar.schema import response_codes

#: Allowed values of the keys that take one of a fixed set of choices.
CHOICES: dict[tuple[str, str], tuple[Any, ...]] = {
    ("endpoints", "pfs_next_line"): ("censor", "ignore"),
    ("endpoints", "non_therapy_rows"): ("exclude", "count"),
    ("analysis", "km_conf_type"): ("log-log", "log", "plain"),
    ("analysis", "proportion_method"): ("exact", "wilson"),
    ("analysis", "cox_ties"): ("efron", "breslow"),
    ("analysis", "km_many_groups"): ("small-multiples", "overlay"),
}

#: Allowed IMWG response codes (for ``endpoints.responders``).
RESPONSE_CODES = response_codes()

#: Codes that are never a response (``endpoints.responders``): those after stable disease
#: on the IMWG scale (progression, not evaluable).
_NEVER_RESPONSES = RESPONSE_CODES[RESPONSE_CODES.index("SD") + 1 :]

#: Inclusive numeric ranges (lower, upper); None = unbounded.
RANGES: dict[tuple[str, str], tuple[float | None, float | None]] = {
    ("endpoints", "early_relapse_months"): (0.0, None),
    ("analysis", "conf_level"): (0.5, 0.999),
    ("analysis", "line_number_pooled_from"): (2, None),
    ("analysis", "km_max_groups"): (1, None),
    ("analysis", "km_min_group_size"): (0, None),
    ("report", "suppress_below"): (0, None),
}


def _defaults() -> dict[str, dict[str, Any]]:
    text = resources.files("aftercar.data").joinpath("study_defaults.toml").read_text("utf-8")
    return tomllib.loads(text)


@dataclass(frozen=True)
class StudySection:
    """``[study]``: the title printed on the report."""

    title: str


@dataclass(frozen=True)
class InputSection:
    """``[input]``: how the cohort is read.

    ``date_format``: a ``strptime`` format or a list of them ("" = infer the day/month
    order per column); ``earliest_date``: dates before it are errors;
    ``age_range``: plausible age at CAR T in years.
    """

    date_format: str | list[str] = ""
    earliest_date: str = "1990-01-01"
    age_range: list[float] = field(default_factory=lambda: [18.0, 100.0])

    def read_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`aftercar.io.read_cohort` for this section."""
        return {
            "date_format": self.date_format or None,
            "earliest_date": dt.date.fromisoformat(self.earliest_date),
            "age_range": (float(self.age_range[0]), float(self.age_range[1])),
        }


@dataclass(frozen=True)
class VocabularySection:
    """``[vocabulary]``: a taxonomy TOML and an override file ("" = built-in / none).

    Relative paths are relative to the study TOML's folder (:meth:`StudyConfig.path`).
    """

    taxonomy: str = ""
    overrides: str = ""


@dataclass(frozen=True)
class ReportSection:
    """``[report]``: counts from 1 to ``suppress_below - 1`` are shown as "<K" (0 = off)."""

    suppress_below: int = 0


@dataclass(frozen=True)
class StudyConfig:
    """A validated study configuration.

    Attributes
    ----------
    sections
        ``{section: {key: value}}`` with every key present (defaults filled in).
    source
        The TOML file it was read from, or ``"defaults"``.
    """

    sections: Mapping[str, Mapping[str, Any]]
    source: str = "defaults"

    def __getitem__(self, section: str) -> Mapping[str, Any]:
        """The serialised values of one section (prefer the typed properties)."""
        return self.sections[section]

    @property
    def study(self) -> StudySection:
        """The typed ``[study]`` section."""
        return StudySection(**self.sections["study"])

    @property
    def input(self) -> InputSection:
        """The typed ``[input]`` section."""
        return InputSection(**self.sections["input"])

    @property
    def vocabulary(self) -> VocabularySection:
        """The typed ``[vocabulary]`` section."""
        return VocabularySection(**self.sections["vocabulary"])

    @property
    def endpoints(self) -> EndpointRules:
        """The typed ``[endpoints]`` section (owned by ``derive``)."""
        return EndpointRules(**self.sections["endpoints"])

    @property
    def analysis(self) -> AnalysisOptions:
        """The typed ``[analysis]`` section (owned by ``analysis``)."""
        return AnalysisOptions(**self.sections["analysis"])

    @property
    def report(self) -> ReportSection:
        """The typed ``[report]`` section."""
        return ReportSection(**self.sections["report"])

    def path(self, value: str) -> Path | None:
        """A path given in the study TOML: relative paths are relative to its folder."""
        if not value:
            return None
        path = Path(value)
        if not path.is_absolute() and Path(self.source).is_file():
            path = Path(self.source).parent / path
        return path

    def get(self, section: str, key: str) -> Any:
        """Return ``sections[section][key]``."""
        return self.sections[section][key]

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Return a JSON-ready deep copy of the configuration."""
        return json.loads(self.to_json())

    def to_json(self) -> str:
        """Return the canonical JSON text (sorted keys, no spaces) used for the hash."""
        return json.dumps(self.sections, sort_keys=True, separators=(",", ":"))

    def config_hash(self) -> str:
        """Return the SHA-256 hex digest of :meth:`to_json` (stable across runs), and of the
        content of the files it names (``[vocabulary] taxonomy`` and ``overrides``): two
        sites with the same TOML text but different override files must not share a hash
        (fuzzing round 4: ``pool`` mixed two classifications without a word). A file that
        cannot be read counts as its error text."""
        digest = hashlib.sha256(self.to_json().encode("utf-8"))
        for key in _FILE_KEYS:
            path = self.path(self.sections.get("vocabulary", {}).get(key, ""))
            if path is not None:
                digest.update(f"\n[vocabulary] {key}: {_file_digest(path)}".encode())
        return digest.hexdigest()

    def replace(self, section: str, **values: Any) -> StudyConfig:
        """Return a copy with keys of one section replaced (validated again)."""
        merged = {s: dict(v) for s, v in self.sections.items()}
        merged.setdefault(section, {}).update(values)
        return config_from_dict(merged, source=self.source)


#: ``[vocabulary]`` keys that name a file whose content is part of the configuration.
_FILE_KEYS = ("taxonomy", "overrides")


def _file_digest(path: Path) -> str:
    """SHA-256 of a text file's content as read (a byte-order mark dropped, line endings as
    ``\\n``: the same file saved by Excel or on Windows has the same hash)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return f"unreadable ({type(exc).__name__})"
    text = data.removeprefix(b"\xef\xbb\xbf").replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return hashlib.sha256(text).hexdigest()


def _problem(source: str, where: str, value: Any, message: str, hint: str, rule: str) -> Problem:
    return Problem(
        file=source,
        row=None,
        column=where,
        value=None if value is None else repr(value),
        message=message,
        hint=hint,
        rule=rule,
    )


#: Keys that take a string or a list of strings.
STRING_OR_LIST: frozenset[tuple[str, str]] = frozenset({("input", "date_format")})


def _type_ok(default: Any, value: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(default, list):
        if not isinstance(value, list):
            return False
        if default:
            return all(_type_ok(default[0], v) for v in value)
        return True
    return isinstance(value, type(default))


def _type_name(default: Any) -> str:
    if isinstance(default, list):  # "a list of numbers", not "of a numbers" (fuzz round 8)
        inner = _PLURAL.get(type(default[0]), "values") if default else "values"
        return f"a list of {inner}"
    return {bool: "true/false", int: "an integer", float: "a number", str: "a string"}.get(
        type(default), type(default).__name__
    )


_PLURAL = {bool: "true/false values", int: "integers", float: "numbers", str: "strings"}


def _coerce(default: Any, value: Any) -> Any:
    if isinstance(default, float) and not isinstance(value, bool):
        return float(value)
    if isinstance(default, list) and default and isinstance(default[0], float):
        return [float(v) for v in value]
    return value


def _check_value(source: str, section: str, key: str, value: Any) -> list[Problem]:
    where = f"{section}.{key}"
    problems: list[Problem] = []
    choices = CHOICES.get((section, key))
    if choices is not None and value not in choices:
        problems.append(
            _problem(
                source,
                where,
                value,
                f"{where} must be one of {list(choices)}",
                f"use one of {', '.join(map(str, choices))}",
                "config-choice",
            )
        )
    problems += _check_finite(source, section, key, value)
    if problems:
        return problems
    lo, hi = RANGES.get((section, key), (None, None))
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        problems.append(
            _problem(source, where, value, f"{where} is out of range: it must be "
                     f"{_range_text(lo, hi)}", f"give a value {_range_text(lo, hi, 'of ')}",
                     "config-range")
        )  # fmt: skip
    return problems


def _range_text(lo: float | None, hi: float | None, of: str = "") -> str:
    """``between 0.5 and 0.999``, ``at least 0.0`` or ``at most 1`` (never "None");
    ``of`` goes before the last two (``of at least 0.0``)."""
    if lo is not None and hi is not None:
        return f"between {lo} and {hi}"
    return f"{of}at least {lo}" if lo is not None else f"{of}at most {hi}"


def _check_finite(source: str, section: str, key: str, value: Any) -> list[Problem]:
    """A NaN or an infinity (TOML ``nan``, ``inf``), alone or in a list, is refused here,
    where the file and key are known (later it fails mid-analysis naming neither)."""
    values = value if isinstance(value, list) else [value]
    if all(not isinstance(v, float) or math.isfinite(v) for v in values):
        return []
    where, example = f"{section}.{key}", json.dumps(_defaults()[section][key])
    return [_problem(source, where, value, f"{where} must be a finite number (not nan or inf)",
                     f"for example {key} = {example}", "config-range")]  # fmt: skip


def _canonical_codes(values: list) -> list:
    """Response codes in any case as the IMWG spells them, once each ("cr", "CR" -> "CR"),
    as the data files read them (fuzz round 7, session 26: lower-case responders were
    refused); anything else as written, for the check to name."""
    canon = {c.lower(): c for c in RESPONSE_CODES}
    out = [canon.get(v.strip().lower(), v) if isinstance(v, str) else v for v in values]
    return list(dict.fromkeys(out)) if all(isinstance(v, str) for v in out) else out


def _check_lists(source: str, merged: dict[str, dict[str, Any]]) -> list[Problem]:
    problems: list[Problem] = []
    merged["endpoints"]["responders"] = _canonical_codes(merged["endpoints"]["responders"])
    bad = [c for c in merged["endpoints"]["responders"] if c not in RESPONSE_CODES]
    if bad or not merged["endpoints"]["responders"]:
        problems.append(
            _problem(
                source,
                "endpoints.responders",
                bad or [],
                "endpoints.responders must be a non-empty list of IMWG codes",
                f"use codes among {', '.join(RESPONSE_CODES)}",
                "config-response-code",
            )
        )
    never = [c for c in merged["endpoints"]["responders"] if c in _NEVER_RESPONSES]
    if never:  # fuzzing round 6 (I04): ORR 100% on every line, NE counted as a response
        problems.append(_problem(
            source, "endpoints.responders", never,
            "endpoints.responders may not count progression (PD) or a line not evaluable "
            "(NE) as a response: NE lines are left out of the denominator, so every rate "
            "would be 100%", "keep codes from sCR down to SD (PR or better by IMWG)",
            "config-response-code"))  # fmt: skip
    problems += _check_input_section(source, merged["input"])
    for key in ("os_rates_months", "landmark_months", "rmst_months"):
        values = merged["analysis"][key]
        if any(v <= 0 for v in values):
            problems.append(
                _problem(
                    source,
                    f"analysis.{key}",
                    values,
                    f"analysis.{key} must hold positive month values",
                    "give times in months greater than 0",
                    "config-range",
                )
            )
    return problems


def _check_input_section(source: str, section: Mapping[str, Any]) -> list[Problem]:
    problems = []
    try:
        dt.date.fromisoformat(section["earliest_date"])
    except ValueError:
        problems.append(
            _problem(source, "input.earliest_date", section["earliest_date"],
                     "input.earliest_date is not a date", "write it as YYYY-MM-DD, e.g. "
                     '"1990-01-01"', "config-range")
        )  # fmt: skip
    ages = section["age_range"]
    if len(ages) != 2 or not ages[0] < ages[1]:
        problems.append(
            _problem(source, "input.age_range", ages, "input.age_range must be [min, max] "
                     "with min < max", "for example age_range = [18.0, 100.0]", "config-range")
        )  # fmt: skip
    return problems


def _section_problem(section: str, values: Any, defaults: dict, source: str) -> Problem | None:
    """The problem of a TOML section aftercar does not know or that is no table of keys."""
    if section not in defaults:
        return _problem(source, section, None, f"unknown section [{section}]",
                        f"use one of {', '.join(sorted(defaults))}", "config-unknown")  # fmt: skip
    if not isinstance(values, Mapping):
        return _problem(source, section, values, f"[{section}] must be a table of keys",
                        f"write it as [{section}] followed by key = value lines",
                        "config-type")  # fmt: skip
    return None


def _merge_key(merged: dict[str, dict[str, Any]], defaults: dict, section: str, key: str,
               value: Any, source: str) -> list[Problem]:  # fmt: skip
    """Merge one ``key = value`` of ``[section]`` into ``merged``; its problems."""
    default = defaults[section].get(key)
    where = f"{section}.{key}"
    if key not in defaults[section]:
        hint = f"known keys of [{section}]: {', '.join(sorted(defaults[section]))}"
        return [_problem(source, where, None, f"unknown key {where}", hint, "config-unknown")]
    if (section, key) in STRING_OR_LIST and isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            return [_problem(source, where, value, f"{where} must be a string or a list of "
                             "strings", f'for example {key} = ["%d/%m/%Y"]',
                             "config-type")]  # fmt: skip
        merged[section][key] = list(value)
        return []
    if not _type_ok(default, value):
        return [_problem(source, where, value, f"{where} must be {_type_name(default)}",
                         f"for example {key} = {json.dumps(default)}", "config-type")]  # fmt: skip
    coerced = _coerce(default, value)
    merged[section][key] = coerced
    return _check_value(source, section, key, coerced)


def _merge(user: Mapping[str, Any], source: str) -> tuple[dict[str, dict[str, Any]], list[Problem]]:
    defaults = _defaults()
    merged = {s: dict(v) for s, v in defaults.items()}
    problems: list[Problem] = []
    for section, values in user.items():
        problem = _section_problem(section, values, defaults, source)
        if problem is not None:
            problems.append(problem)
            continue
        for key, value in map(_toml_date, values.items()):
            problems += _merge_key(merged, defaults, section, key, value, source)
    return merged, problems


def _toml_date(item: tuple[str, Any]) -> tuple[str, Any]:
    """``(key, value)`` with a TOML date (``earliest_date = 2010-01-01``, or a datetime at
    midnight) as its ISO text, the form of every date key (fuzz round 8, session 27: refused,
    quoting Python's ``datetime.date(2010, 1, 1)``)."""
    key, value = item
    if isinstance(value, dt.datetime) and value.time() == dt.time(0) and value.tzinfo is None:
        value = value.date()
    return (key, value.isoformat()) if type(value) is dt.date else item


def config_from_dict(data: Mapping[str, Any], *, source: str = "dict") -> StudyConfig:
    """Validate ``{section: {key: value}}`` over the defaults and return a config.

    Raises
    ------
    ConfigError
        Listing every problem found (unknown keys, wrong types, bad values).
    """
    merged, problems = _merge(data, source)
    if not problems:
        problems = _check_lists(source, merged)
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise ConfigError(
            f"{len(problems)} problem(s) in the study configuration:\n{lines}", problems
        )
    return StudyConfig(sections=merged, source=source)


def load_config(path: str | Path | None = None) -> StudyConfig:
    """Read a study TOML file (``None`` = the documented defaults) and validate it.

    Parameters
    ----------
    path
        A TOML file whose sections/keys override ``study_defaults.toml``; UTF-8,
        with or without a byte-order mark.

    Raises
    ------
    ConfigError
        The file cannot be read or parsed, or has any invalid section, key or value
        (all problems are listed at once).
    """
    if path is None:
        return config_from_dict({}, source="defaults")
    data = read_toml(path, fix="compare with aftercar/data/study_defaults.toml")
    return config_from_dict(data, source=str(path))


def default_config_text() -> str:
    """Return the text of the documented defaults file (for ``--help`` and docs)."""
    return resources.files("aftercar.data").joinpath("study_defaults.toml").read_text("utf-8")
