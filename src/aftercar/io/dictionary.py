"""The data dictionary: the single definition of the curated cohort format.

``aftercar/data/dictionary.csv`` lists every canonical column of the ``patients``
and ``lines`` tables with its type, whether it is required, its allowed range or
values and a description. The readers, the checks, the Excel template and
``docs/data-format.md`` are all driven from it, so they cannot drift apart.

Types
-----
``string``
    Free text (Arrow ``string``).
``date``
    Calendar date (Arrow ``date32``): ISO 8601 ``YYYY-MM-DD`` or a native Excel date.
``float`` / ``int``
    Numbers (Arrow ``float64`` / ``int64``); ``int`` accepts ``3`` and ``3.0``.
``bool``
    yes/no, true/false, y/n, 1/0 in any case (Arrow ``bool``).
``response``
    IMWG response category (Arrow ``string`` holding ``sCR, CR, VGPR, PR, MR, SD,
    PD, NE``); abbreviations or full names in any case are accepted.
``stage``
    ISS stage (Arrow ``int64`` 1-3); ``I``, ``II``, ``III`` are accepted.

References
----------
Kumar S et al. International Myeloma Working Group consensus criteria for response
and minimal residual disease assessment in multiple myeloma. Lancet Oncol
2016;17:e328-e346 (response categories).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import pyarrow as pa

from aftercar.schema import Col, response_codes, response_synonyms  # noqa: F401 (re-exported)

TABLES: tuple[str, ...] = ("patients", "lines")

#: Canonical IMWG response codes, best first.
RESPONSE_CODES: tuple[str, ...] = response_codes()

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "date": pa.date32(),
    "float": pa.float64(),
    "int": pa.int64(),
    "bool": pa.bool_(),
    "response": pa.string(),
    "stage": pa.int64(),
}


@dataclass(frozen=True)
class ColumnSpec:
    """One canonical column of the curated format (a row of ``dictionary.csv``)."""

    table: str
    name: str
    type: str
    required: bool
    minimum: float | None
    maximum: float | None
    allowed_values: tuple[str, ...]
    description: str

    @property
    def arrow_type(self) -> pa.DataType:
        """Arrow type of the column in a loaded :class:`~aftercar.io.Cohort`."""
        return ARROW_TYPES[self.type]


def normalize_name(name: object) -> str:
    """Return a column name reduced to lower-case letters and digits.

    Column headers are matched ignoring case, spaces and punctuation, so
    ``"Patient ID"``, ``"patient_id"`` and ``"PATIENT-ID"`` all give ``"patientid"``.
    """
    return re.sub(r"[^0-9a-z]+", "", str(name).lower())


def snake_name(name: object) -> str:
    """Return a header as a snake_case identifier (for user covariate columns)."""
    text = re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")
    return text or "column"


def _number(text: str) -> float | None:
    return float(text) if text.strip() else None


@cache
def load_dictionary() -> tuple[ColumnSpec, ...]:
    """Read ``aftercar/data/dictionary.csv`` (cached) into :class:`ColumnSpec` records."""
    ref = resources.files("aftercar").joinpath("data", "dictionary.csv")
    with ref.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    specs = []
    for r in rows:
        if r["type"] not in ARROW_TYPES or r["table"] not in TABLES:
            raise ValueError(f"dictionary.csv: bad table/type in {r}")
        specs.append(
            ColumnSpec(
                table=r["table"],
                name=r["column"],
                type=r["type"],
                required=r["required"].strip().lower() == "yes",
                minimum=_number(r["minimum"]),
                maximum=_number(r["maximum"]),
                allowed_values=tuple(v for v in r["allowed_values"].split(";") if v),
                description=r["description"],
            )
        )
    return tuple(specs)


def columns(table: str) -> tuple[ColumnSpec, ...]:
    """Return the canonical columns of ``table`` (``"patients"`` or ``"lines"``) in order."""
    return tuple(s for s in load_dictionary() if s.table == table)


def schema(table: str) -> pa.Schema:
    """Return the Arrow schema of the canonical columns of ``table`` plus ``source_row``."""
    fields = [pa.field(s.name, s.arrow_type) for s in columns(table)]
    return pa.schema([*fields, pa.field(Col.SOURCE_ROW, pa.int64())])


def markdown_table(table: str) -> str:
    """Render the columns of ``table`` as the Markdown table used in ``docs/data-format.md``."""
    out = [
        "| column | type | required | allowed | description |",
        "|---|---|---|---|---|",
    ]
    for s in columns(table):
        allowed = ", ".join(s.allowed_values)
        if not allowed and (s.minimum is not None or s.maximum is not None):
            lo = "" if s.minimum is None else f"{s.minimum:g}"
            hi = "" if s.maximum is None else f"{s.maximum:g}"
            allowed = f">= {lo}" if not hi else f"{lo} to {hi}"
        req = "yes" if s.required else "no"
        out.append(f"| `{s.name}` | {s.type} | {req} | {allowed} | {s.description} |")
    return "\n".join(out)
