"""OMOP concept mappings (``data/omop/*.csv``) and a site's local concepts (TOML).

The shipped mappings give, for each OMOP standard concept id, the text the raw
derivation reads: a drug name of the aftercar vocabulary (RxNorm ingredients),
a lab test name of ``[tests]`` in ``imwg_rules.toml`` (LOINC measurements), a
unit text of ``[units]``, a procedure text, an immunofixation result; and the
multiple-myeloma condition concepts. A site adds concepts its vocabulary lacks
(ids >= 2,000,000,000, the OMOP range for local concepts) in a TOML file::

    [ingredients]
    2000000001 = "forimtamig"
    [measurements]
    2000000101 = "urine M-protein"
    [units]
    2000000201 = "mg/24h"
    [procedures]
    2000000301 = "CAR-T cell infusion"
    [values]
    2000000401 = "POSITIVE"
    [conditions]
    2000000501 = "multiple myeloma (local code)"

Every section is optional; an unknown section, an id below 2,000,000,000 or a
text the rules cannot read is an error naming the file, key and a fix (exit 2).
"""

from __future__ import annotations

import csv
import io
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa

from aftercar.derive.raw.rules import Rules
from aftercar.errors import ConfigError, Problem

#: The smallest concept id a site may use for its own concepts (OMOP CDM convention).
LOCAL_MIN = 2_000_000_000

#: TOML section -> (data file, text column of that file).
SECTIONS = {
    "ingredients": ("drug_ingredients.csv", "drug"),
    "measurements": ("measurements.csv", "test"),
    "units": ("units.csv", "unit"),
    "procedures": ("procedures.csv", "procedure"),
    "values": ("values.csv", "value"),
    "conditions": ("conditions.csv", "concept_name"),
}


@dataclass(frozen=True)
class Concepts:
    """Concept id -> text lookups (Arrow tables ``concept_id, text``), shipped + local.

    Attributes
    ----------
    tables
        ``{section: pa.Table(concept_id int64, text string)}`` for each of
        :data:`SECTIONS`.
    episode
        The EPISODE concept ids of ``data/omop/episodes.toml``.
    source
        ``"defaults"`` or the local TOML path.
    """

    tables: dict[str, pa.Table]
    episode: dict[str, int]
    source: str = "defaults"

    def table(self, section: str) -> pa.Table:
        """The ``concept_id, text`` table of one section."""
        return self.tables[section]


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("aftercar.data").joinpath(f"omop/{name}").read_text("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def shipped(section: str) -> dict[int, str]:
    """The shipped ``{concept_id: text}`` of one section."""
    name, col = SECTIONS[section]
    return {int(r["concept_id"]): r[col] for r in _read_csv(name)}


def _check_text(section: str, text: Any, rules: Rules) -> str | None:
    """Why a local concept's text cannot be used (``None`` when it can)."""
    if not isinstance(text, str) or not text.strip():
        return "expected a non-empty text"
    if section == "measurements" and text.lower() not in rules.test_names():
        return "not a test name of [tests] in imwg_rules.toml"
    if section == "units" and text not in {u for _f, u in rules.unit_factors()}:
        return "not a unit of [units] in imwg_rules.toml"
    if section == "values" and text.upper() not in ("POSITIVE", "NEGATIVE"):
        return "expected POSITIVE or NEGATIVE"
    return None


def _local(path: Path, rules: Rules) -> tuple[dict[str, dict[int, str]], list[Problem]]:
    where = str(path)
    try:
        user = tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{where}: cannot read the local concepts ({exc}). "
                          "Fix: give a valid TOML file (see docs/omop.md).") from None  # fmt: skip
    out: dict[str, dict[int, str]] = {}
    problems = []
    for section, values in user.items():
        if section not in SECTIONS or not isinstance(values, dict):
            problems.append(Problem(where, None, section, None, f"unknown section [{section}]",
                                    f"use one of {', '.join(SECTIONS)}"))  # fmt: skip
            continue
        for key, text in values.items():
            cid = int(key) if str(key).isdigit() else None
            why = "not a concept id" if cid is None else None
            if cid is not None and cid < LOCAL_MIN:
                why = f"local concept ids must be >= {LOCAL_MIN:,}"
            why = why or _check_text(section, text, rules)
            if why:
                problems.append(Problem(where, None, f"{section}.{key}", repr(text), why,
                                        "see docs/omop.md, local concepts"))  # fmt: skip
            else:
                out.setdefault(section, {})[int(key)] = text.strip()
    return out, problems


def _arrow(mapping: dict[int, str]) -> pa.Table:
    ids = sorted(mapping)
    return pa.table({"concept_id": pa.array(ids, pa.int64()),
                     "text": pa.array([mapping[i] for i in ids], pa.string())})  # fmt: skip


def load_concepts(local: str | Path | None, rules: Rules) -> Concepts:
    """Load the shipped mappings, extended by the local concepts TOML ``local``.

    Raises
    ------
    ConfigError
        Unreadable TOML, unknown section, an id below 2,000,000,000 or an unusable
        text (every problem at once; exit code 2).
    """
    maps = {s: shipped(s) for s in SECTIONS}
    source = "defaults"
    if local is not None:
        extra, problems = _local(Path(local), rules)
        if problems:
            raise ConfigError(f"{len(problems)} problem(s) in {local}:\n"
                              + "\n".join(f"  - {p}" for p in problems), problems)  # fmt: skip
        for section, values in extra.items():
            maps[section].update(values)
        source = str(local)
    text = resources.files("aftercar.data").joinpath("omop/episodes.toml").read_text("utf-8")
    return Concepts({s: _arrow(m) for s, m in maps.items()}, tomllib.loads(text), source)


__all__ = ["LOCAL_MIN", "SECTIONS", "Concepts", "load_concepts", "shipped"]
