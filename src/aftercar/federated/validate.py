"""Checking a site summary against its schema (``data/site_summary.schema.json``).

``aftercar pool`` reads the counts, event tables and sketches of every site file;
a file edited by hand, or corrupted on the way, could hold a count that is
negative, a text, NaN, or a section of the wrong kind, and be pooled silently or
stop the pooling with an internal error. :func:`schema_problem` walks the file
along the schema (the subset of JSON Schema it uses: ``$ref``, ``type``,
``const``, ``enum``, ``minimum``, ``maximum``, ``exclusiveMinimum``,
``minLength``, ``pattern``, ``required``, ``properties``,
``additionalProperties``, ``items`` and ``oneOf``) and returns the first key
that breaks it. A whole number must be a JSON integer (``20``, not ``20.0`` or
``"20"``), and a number must be finite (JSON has no NaN).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from aftercar.schema import Col

_NAMES = {
    "object": "an object",
    "array": "a list",
    "string": "a text",
    "integer": "a whole number",
    "number": "a finite number",
    "boolean": "true or false",
    "null": "null (withheld)",
}
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Problem:
    """Where a site summary breaks its schema.

    Attributes
    ----------
    where : str
        The key path, e.g. ``cohort.patients`` or ``survival.os.all.events[3]``.
    value : Any
        The value found there (``MISSING`` when the key is absent).
    expected : str
        What the schema expects there, in words.
    """

    where: str
    value: Any
    expected: str


#: The value of a :class:`Problem` whose key is absent.
MISSING = object()


@cache
def site_schema() -> dict[str, Any]:
    """The site-summary JSON schema shipped with aftercar."""
    text = (
        resources.files("aftercar")
        .joinpath("data/site_summary.schema.json")
        .read_text(encoding="utf-8")
    )
    return json.loads(text)


#: Whole numbers beyond this are refused: no count or figure of a site is near it, and a
#: 400-digit integer overflowed the float checks (fuzz round 7, session 26).
_LARGEST = 2**53


def _is(kind: str, value: Any) -> bool:
    if kind in ("integer", "number") and isinstance(value, int) and not isinstance(value, bool):
        return abs(value) <= _LARGEST
    if kind == "number":
        return isinstance(value, float) and math.isfinite(value)
    if kind == "integer":
        return False
    types = {"object": dict, "array": list, "string": str, "boolean": bool}
    return value is None if kind == "null" else isinstance(value, types[kind])


def _same(value: Any, want: Any) -> bool:
    """JSON equality: ``true`` is not ``1``."""
    return type(value) is type(want) and value == want


def _typed(value: Any, schema: dict[str, Any]) -> str | None:
    """What ``type``, ``const`` and ``enum`` expect, when ``value`` breaks them."""
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(_is(k, value) for k in kinds):
            return " or ".join(_NAMES[k] for k in kinds)
    if "const" in schema and not _same(value, schema["const"]):
        return json.dumps(schema["const"])
    if "enum" in schema and not any(_same(value, e) for e in schema["enum"]):
        return "one of " + ", ".join(json.dumps(e) for e in schema["enum"])
    return None


def _bounded(value: Any, schema: dict[str, Any]) -> str | None:
    """What the bounds, ``minLength`` and ``pattern`` expect, when ``value`` breaks them."""
    if _is("number", value):
        if "minimum" in schema and value < schema["minimum"]:
            return f"a value of at least {schema['minimum']} (counts are never negative)"
        if "maximum" in schema and value > schema["maximum"]:
            return f"a value of at most {schema['maximum']}"
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            return f"a value above {schema['exclusiveMinimum']}"
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            return "a text that is not empty"
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return f"a text matching {schema['pattern']}"
    return None


def _child(where: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    if _KEY.match(key):
        return f"{where}.{key}" if where else key
    return f"{where}[{json.dumps(key, ensure_ascii=False)}]"


def _members(value: dict[str, Any], schema: dict[str, Any], where: str) -> Problem | None:
    """The first problem among an object's keys."""
    for key in schema.get("required", []):
        if key not in value:
            return Problem(_child(where, key), MISSING, "a required key")
    props = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        sub = props.get(key, extra)
        if sub is False:
            return Problem(_child(where, key), item, "no such key (not in the schema)")
        if isinstance(sub, dict):
            found = schema_problem(item, sub, _child(where, key))
            if found is not None:
                return found
    return None


def _one_of(value: Any, options: list[dict[str, Any]], where: str) -> Problem | None:
    """Exactly one of the forms must hold; else the problem of the form whose required
    keys ``value`` has (the most specific problem when none or several have them)."""
    problems = [schema_problem(value, option, where) for option in options]
    fits = sum(p is None for p in problems)
    if fits == 1:
        return None
    if fits > 1:
        return Problem(where, value, "exactly one of its documented forms")
    keys = set(value) if isinstance(value, dict) else set()
    meant = [
        p for p, o in zip(problems, options, strict=True) if set(o.get("required", [])) <= keys
    ]
    pool = meant if len(meant) == 1 else problems
    return max(pool, key=lambda p: len(p.where))  # type: ignore[arg-type,return-value]


def schema_problem(
    value: Any, schema: dict[str, Any] | None = None, where: str = ""
) -> Problem | None:
    """The first place where ``value`` breaks ``schema`` (by default the site summary's).

    Parameters
    ----------
    value : Any
        The parsed JSON (a site summary, or a part of it).
    schema : dict, optional
        A (sub)schema of ``data/site_summary.schema.json``; ``$ref`` is resolved
        against that file.
    where : str
        The key path of ``value`` (empty for the whole file).

    Returns
    -------
    Problem or None
        None when ``value`` follows the schema.
    """
    schema = site_schema() if schema is None else schema
    while "$ref" in schema:
        schema = site_schema()["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
    expected = _typed(value, schema) or _bounded(value, schema)
    if expected is not None:
        return Problem(where, value, expected)
    if "oneOf" in schema:
        return _one_of(value, schema["oneOf"], where)
    if isinstance(value, dict):
        return _members(value, schema, where)
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            found = schema_problem(item, schema["items"], _child(where, i))
            if found is not None:
                return found
    return None


#: Lists read side by side (event and pattern tables, sketches, response clusters).
PARALLEL = (
    (Col.TIME, "pattern", "n_risk", "events"),
    ("low", "high", "count"),
    ("m", "y", "patients"),
)


def _uneven(value: dict[str, Any], where: str) -> Problem | None:
    for group in PARALLEL:
        lists = {key: value[key] for key in group if isinstance(value.get(key), list)}
        sizes = {key: len(v) for key, v in lists.items()}
        if len(set(sizes.values())) > 1:
            names = ", ".join(lists)
            return Problem(where, sizes, f"lists {names} of one length (the value: their lengths)")
    return None


def length_problem(value: Any, where: str = "") -> Problem | None:
    """The first table whose parallel lists (:data:`PARALLEL`) differ in length.

    Parameters
    ----------
    value : Any
        The parsed JSON (a site summary, or a part of it).
    where : str
        The key path of ``value``.

    Returns
    -------
    Problem or None
        None when every such table is even.
    """
    if isinstance(value, dict):
        found = _uneven(value, where)
        items = [(_child(where, k), v) for k, v in value.items()]
    elif isinstance(value, list):
        found, items = None, [(_child(where, i), v) for i, v in enumerate(value)]
    else:
        return None
    for sub_where, item in items:
        if found is not None:
            break
        found = length_problem(item, sub_where)
    return found


def shown(value: Any, limit: int = 60) -> str:
    """A value as a reader of the file sees it (JSON, NaN as ``NaN``), shortened."""
    if value is MISSING:
        return "(missing)"
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


__all__ = [
    "MISSING",
    "PARALLEL",
    "Problem",
    "length_problem",
    "schema_problem",
    "shown",
    "site_schema",
]


#: The longest survival time a site summary may hold: 150 years in days (a larger one is a
#: unit or entry error, and the pooled curve's work grows with it).
MAX_DAYS = 54_787
#: Event tables counted in patients (``cohort.patients`` bounds their first ``n_risk``);
#: the other survival tables count lines (``cohort.lines``).
_PATIENT_TABLES = ("os", "os_by_relapse_timing", "os_by_product", "first_salvage_pfs",
                   "first_salvage_pfs_by_category")  # fmt: skip


def _table_problem(t: dict[str, Any], where: str, limit: int | None) -> Problem | None:
    """The first broken invariant of one event table: days increasing from 0 to
    :data:`MAX_DAYS`, events <= at risk, at risk after a day <= at risk - events of that day,
    the first at risk <= ``limit`` (the site's patients or lines)."""
    time, risk, events = t.get(Col.TIME), t.get("n_risk"), t.get("events")
    if not all(isinstance(v, list) for v in (time, risk, events)) or not time:
        return None
    checks = [(i, Col.TIME, time[i], f"a day after the day before ({time[i - 1]})")
              for i in range(1, len(time)) if time[i] <= time[i - 1]]  # fmt: skip
    checks += [(i, Col.TIME, v, f"a day from 0 to {MAX_DAYS:,} (150 years)")
               for i, v in enumerate(time) if not 0 <= v <= MAX_DAYS]  # fmt: skip
    checks += [(i, "events", events[i], f"at most the number at risk ({risk[i]})")
               for i in range(len(time)) if events[i] > risk[i]]  # fmt: skip
    checks += [(i, "n_risk", risk[i], "at most the number at risk the day before less its "
                f"events ({risk[i - 1]} - {events[i - 1]})")
               for i in range(1, len(time)) if risk[i] > risk[i - 1] - events[i - 1]]  # fmt: skip
    if limit is not None and risk[0] > limit:
        checks.append((0, "n_risk", risk[0], f"at most the site's count ({limit})"))
    if not checks:
        return None
    i, key, value, expected = min(checks, key=lambda c: c[0])
    return Problem(f"{where}.{key}[{i}]", value, expected)


def event_table_problem(data: dict[str, Any]) -> Problem | None:
    """The first event table of a site summary's ``survival`` that cannot be a site's: see
    :func:`_table_problem`; and an empty overall OS table at a site with patients. A file
    passing the schema may still be edited by hand or built by another tool (fuzzing round
    4: ten times the number at risk pooled an OS of 285 patients from 60; events above the
    number at risk stopped ``pool`` with a traceback; a day of 1e9 ran for half an hour).

    Returns
    -------
    Problem or None
        None when every table is one a site can hold.
    """
    cohort = data.get("cohort") if isinstance(data.get("cohort"), dict) else {}
    survival = data.get("survival") if isinstance(data.get("survival"), dict) else {}
    for name, groups in survival.items():
        if not isinstance(groups, dict):
            continue
        limit = cohort.get("patients" if name in _PATIENT_TABLES else "lines")
        limit = limit if isinstance(limit, int) else None
        for group, table in groups.items():
            where = _child(_child("survival", name), group)
            found = _table_problem(table, where, limit) if isinstance(table, dict) else None
            if found is not None:
                return found
    found = _rate_problem(data.get("response"), "response")
    if found is not None:
        return found
    os_all = survival.get("os", {}).get("all") if isinstance(survival.get("os"), dict) else None
    if isinstance(os_all, dict) and os_all.get(Col.TIME) == [] and (cohort.get("patients") or 0):
        return Problem("survival.os.all.time", [], "the OS event table of the site's "
                       f"{cohort['patients']} patients (it is empty)")  # fmt: skip
    return None


def _rate_problem(value: Any, where: str) -> Problem | None:
    """The first rate (``responders`` beside ``n``, both shared) with more responders than
    lines evaluated (fuzzing round 4: ``pool`` stopped with a message naming no file)."""
    if isinstance(value, dict):
        x, n = value.get("responders"), value.get("n")
        if isinstance(x, int) and isinstance(n, int) and x > n:
            return Problem(f"{where}.responders", x, f"at most n ({n})")
        for key, item in value.items():
            found = _rate_problem(item, _child(where, key))
            if found is not None:
                return found
    return None
