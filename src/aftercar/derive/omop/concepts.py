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
    [covariates]         # a table per id: covariate, reads and (mostly) value
    2000000601 = { covariate = "extramedullary_disease", reads = "finding" }
    2000000602 = { covariate = "ecog", reads = "constant", value = "2" }

``[covariates]`` extends ``covariates.csv`` (the study covariates read by
:mod:`aftercar.derive.omop.covariates`). Every section is optional; an unknown
section, an id below 2,000,000,000 or a text the rules cannot read (an
ingredient the regimen vocabulary does not know, a procedure that is not
apheresis, lymphodepletion, CAR-T infusion, transplant or radiotherapy, a test
or unit not in ``imwg_rules.toml``) is an error naming the file, key and a fix
(exit 2).
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

from aftercar.derive.raw.classify import drug_lookup, procedure_lookup
from aftercar.derive.raw.rules import Rules
from aftercar.errors import ConfigError, Problem
from aftercar.schema import Col

#: The smallest concept id a site may use for its own concepts (OMOP CDM convention).
LOCAL_MIN = 2_000_000_000
_INT64_MAX = 2**63 - 1

#: TOML section -> (data file, text column of that file).
SECTIONS = {
    "ingredients": ("drug_ingredients.csv", "drug"),
    "measurements": ("measurements.csv", "test"),
    "units": ("units.csv", "unit"),
    "procedures": ("procedures.csv", "procedure"),
    "values": ("values.csv", "value"),
    "conditions": ("conditions.csv", "concept_name"),
}

#: The covariate concepts (``covariates.csv``; TOML section ``[covariates]``).
COVARIATES = "covariates"
_COV_COLUMNS = ("covariate", "value", "reads")
#: Covariate -> ``reads`` -> the values allowed (``None``: any non-empty abnormality name).
COVARIATE_READS: dict[str, dict[str, tuple[str, ...] | None]] = {
    Col.ECOG: {"constant": ("0", "1", "2", "3", "4", "5"), "number": ("",)},
    Col.ISS_STAGE: {"constant": ("1", "2", "3"), "number": ("b2m", "albumin")},
    Col.EXTRAMEDULLARY_DISEASE: {"finding": ("",), "result": ("",)},
    Col.HIGH_RISK_CYTOGENETICS: {"finding": None, "result": None},
}


@dataclass(frozen=True)
class Concepts:
    """Concept id -> text lookups (Arrow tables ``concept_id, text``), shipped + local.

    Attributes
    ----------
    tables
        ``{section: pa.Table(concept_id int64, text string)}`` for each of
        :data:`SECTIONS`, and ``covariates``: ``concept_id, covariate, value, reads``.
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
    """The shipped ``{concept_id: text}`` of one section (rows without an id left out: a
    LOINC code of ``measurements.csv`` whose concept id no public source gives is read
    by its code, :func:`loinc_tests`)."""
    name, col = SECTIONS[section]
    return {int(r["concept_id"]): r[col] for r in _read_csv(name) if r["concept_id"].strip()}


def loinc_tests() -> dict[str, str]:
    """``{lower-case LOINC code or long common name: test}`` of ``measurements.csv``.

    A measurement is read as that test when its concept (in the instance's ``concept``
    table) has that code (vocabulary LOINC) or name (any vocabulary), or its
    ``measurement_source_value``
    is that code or name (``docs/omop.md``, "Labs"): the concept ids of a vocabulary
    release need not be known for a LOINC-coded lab to be read.
    """
    out: dict[str, str] = {}
    for r in _read_csv("measurements.csv"):
        for key in (r["loinc"], r["concept_name"]):
            if key.strip():
                out[key.strip().lower()] = r["test"]
    return out


def shipped_covariates() -> dict[int, dict[str, str]]:
    """The shipped ``{concept_id: {covariate, value, reads}}`` of ``covariates.csv``."""
    return {int(r["concept_id"]): {c: r[c] for c in _COV_COLUMNS}
            for r in _read_csv("covariates.csv")}  # fmt: skip


def check_covariate(entry: Any) -> str | None:
    """Why a ``[covariates]`` entry cannot be used (``None`` when it can)."""
    if not isinstance(entry, dict) or set(entry) - set(_COV_COLUMNS):
        return "expected { covariate = ..., reads = ..., value = ... }"
    reads = COVARIATE_READS.get(str(entry.get("covariate")))
    if reads is None:
        return f"covariate must be one of {', '.join(COVARIATE_READS)}"
    if entry.get("reads") not in reads:
        return f"reads must be one of {', '.join(reads)} for {entry['covariate']}"
    allowed, value = reads[entry["reads"]], str(entry.get("value", "")).strip()
    if (allowed is None and not value) or (allowed is not None and value not in allowed):
        return "value must be " + ("an abnormality name" if allowed is None
                                   else " or ".join(repr(a) for a in allowed))  # fmt: skip
    return None


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
    return _unreadable(section, text, rules)


def _unreadable(section: str, text: str, rules: Rules) -> str | None:
    """Why a local drug or procedure text would be read as nothing (``None``: it is read)."""
    if section == "ingredients" and drug_lookup([text], rules)["role"][0].as_py() == "unrecognised":
        return ("not a drug name of the aftercar vocabulary (give the ingredient's generic "
                "name; `aftercar regimens explain TEXT` shows how a text is read)")
    if section == "procedures" and procedure_lookup([text])["kind"][0].as_py() == "unrecognised":
        return ("not a procedure the derivation reads (apheresis, lymphodepletion, CAR-T "
                "infusion, autologous or allogeneic transplant, radiotherapy)")
    return None


def _local(path: Path, rules: Rules) -> tuple[dict[str, dict[int, str]], list[Problem]]:
    where = str(path)
    try:
        user = tomllib.loads(path.read_text("utf-8-sig"))  # a BOM as --rules and --config (H08)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{where}: cannot read the local concepts ({exc}). "
                          "Fix: give a valid TOML file (see docs/omop.md).") from None  # fmt: skip
    out: dict[str, dict[int, Any]] = {}
    problems = []
    for section, values in user.items():
        if section not in (*SECTIONS, COVARIATES) or not isinstance(values, dict):
            problems.append(Problem(where, None, section, None, f"unknown section [{section}]",
                                    f"use one of {', '.join((*SECTIONS, COVARIATES))}"))
            continue
        for key, text in values.items():
            why = _check_key(key) or (check_covariate(text) if section == COVARIATES
                                      else _check_text(section, text, rules))  # fmt: skip
            if why:
                problems.append(Problem(where, None, f"{section}.{key}", repr(text), why,
                                        "see docs/omop.md, local concepts"))  # fmt: skip
            else:
                out.setdefault(section, {})[int(key)] = _clean(text)
    return out, problems


def _check_key(key: Any) -> str | None:
    if not str(key).isdigit():
        return "not a concept id"
    if int(key) < LOCAL_MIN:
        return f"local concept ids must be >= {LOCAL_MIN:,}"
    if int(key) > _INT64_MAX:  # OMOP concept ids are integers of at most 64 bits
        return f"a concept id must be at most {_INT64_MAX:,} (a 64-bit integer)"
    return None


def _clean(text: Any) -> Any:
    if isinstance(text, dict):
        return {c: str(text.get(c, "")).strip() for c in _COV_COLUMNS}
    return text.strip()


def _arrow(mapping: dict[int, str]) -> pa.Table:
    ids = sorted(mapping)
    return pa.table({"concept_id": pa.array(ids, pa.int64()),
                     "text": pa.array([mapping[i] for i in ids], pa.string())})  # fmt: skip


def _covariate_arrow(mapping: dict[int, dict[str, str]]) -> pa.Table:
    ids = sorted(mapping)
    cols = {c: pa.array([mapping[i][c] for i in ids], pa.string()) for c in _COV_COLUMNS}
    return pa.table({"concept_id": pa.array(ids, pa.int64()), **cols})


def load_concepts(local: str | Path | None, rules: Rules) -> Concepts:
    """Load the shipped mappings, extended by the local concepts TOML ``local``.

    Raises
    ------
    ConfigError
        Unreadable TOML, unknown section, an id below 2,000,000,000 or an unusable
        text (every problem at once; exit code 2).
    """
    maps: dict[str, dict] = {s: shipped(s) for s in SECTIONS}
    maps[COVARIATES] = shipped_covariates()
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
    tables = {s: _arrow(m) for s, m in maps.items() if s != COVARIATES}
    tables[COVARIATES] = _covariate_arrow(maps[COVARIATES])
    return Concepts(tables, tomllib.loads(text), source)


__all__ = ["COVARIATES", "COVARIATE_READS", "LOCAL_MIN", "SECTIONS", "Concepts",
           "check_covariate", "load_concepts", "loinc_tests", "shipped",
           "shipped_covariates"]  # fmt: skip
