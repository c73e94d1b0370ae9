"""Run the derivations on a backend and return typed pandas tables.

The expressions of :mod:`aftercar.derive.curated` are executed on an Ibis
connection (in-process DuckDB by default, see :mod:`aftercar.backends`) and each
result is conformed to its declared columns (``data/derived_tables.csv``): the
column set, order and pandas dtype (``string``, ``int64``, ``float64``, ``bool``,
nullable ``boolean``), so every backend gives the same typed table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

from aftercar.derive import curated
from aftercar.derive.rules import EndpointRules
from aftercar.errors import DerivationError
from aftercar.io.dictionary import schema as input_schema
from aftercar.schema import Col, derived_columns

_PANDAS_TYPES = {
    "string": "string",
    "int": "int64",
    "float": "float64",
    "bool": "bool",
    "boolean": "boolean",
}

_TEXT = "text"


@dataclass(frozen=True)
class DerivedCohort:
    """The derived tables of a cohort (pandas, typed as declared).

    Attributes
    ----------
    patients
        Table ``patient_endpoints``: every input patient column plus the derived
        ones, in input order.
    lines
        Table ``line_endpoints``, ordered by patient and line.
    classified
        The regimen classification of every distinct regimen text
        (``aftercar.vocab`` contract columns).
    tce_exposure
        Table ``tce_exposure``: counting-process rows split at the first TCE line.
    landmarks
        Landmark time (months) -> table ``landmark`` at that time.
    excluded_lines
        Input line rows that are not lines of therapy (``table, row, patient_id,
        reason``), listed in attrition.
    """

    patients: pd.DataFrame
    lines: pd.DataFrame
    classified: pd.DataFrame
    tce_exposure: pd.DataFrame = field(default_factory=pd.DataFrame)
    landmarks: Mapping[float, pd.DataFrame] = field(default_factory=dict)
    excluded_lines: pd.DataFrame = field(default_factory=pd.DataFrame)


def conform(frame: pd.DataFrame, table: str, *, keep_other: bool = False) -> pd.DataFrame:
    """Return ``frame`` with the declared columns of ``table`` in order and type.

    Parameters
    ----------
    frame
        A backend result (any dtypes for the same values).
    table
        A table of ``data/derived_tables.csv``.
    keep_other
        Keep columns that are not declared (after the declared ones).

    Raises
    ------
    DerivationError
        A declared column is missing.
    """
    decl = derived_columns(table)
    missing = [c.name for c in decl if c.name not in frame.columns]
    if missing:
        raise DerivationError(f"derived table {table!r} lacks column(s) {missing}")
    out = {}
    for c in decl:
        values = frame[c.name]
        if c.type == "bool":
            values = values.fillna(False).astype(bool) if values.dtype != bool else values
        out[c.name] = values.astype(_PANDAS_TYPES[c.type])
    typed = pd.DataFrame(out, index=frame.index)
    if keep_other:
        other = [c for c in frame.columns if c not in typed.columns]
        typed = pd.concat([typed, frame[other]], axis=1)
    return typed.reset_index(drop=True)


def _execute(con: Any, expr: ibis.Table) -> pd.DataFrame:
    """Run ``expr`` on ``con`` and return pandas with the engine's types normalised."""
    return _normalise(con.to_pyarrow(expr)).to_pandas(date_as_object=False)


def _normalise(table: pa.Table) -> pa.Table:
    """Give every engine's result the Arrow types DuckDB gives.

    Spark types decimal literals and some arithmetic as DECIMAL where DuckDB gives
    integers or doubles, and returns timestamps in the session time zone (UTC) where
    DuckDB's are naive. DECIMAL with scale 0 becomes ``int64``, other DECIMAL
    ``float64``; zoned timestamps become naive UTC. ``conform`` then types every
    declared column as ``data/derived_tables.csv`` says.
    """
    for i, f in enumerate(table.schema):
        target = None
        if pa.types.is_decimal(f.type):
            target = pa.int64() if f.type.scale == 0 else pa.float64()
        elif pa.types.is_timestamp(f.type) and f.type.tz is not None:
            target = pa.timestamp(f.type.unit)
        if target is not None:
            table = table.set_column(i, f.name, table.column(i).cast(target))
    return table


def _put(table: pa.Table) -> ibis.Table:
    """An in-memory table, registered by Ibis on the connection that executes it.

    A memtable rather than ``con.create_table``: no engine writes it to storage (Spark
    would write a Parquet table for each), and DuckDB reads the Arrow data in place.
    """
    return ibis.memtable(table)


def _as_arrow(table: pa.Table | pd.DataFrame, name: str) -> pa.Table:
    """An input table as Arrow, untyped (all-null) columns given their contract type."""
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table.reset_index(drop=True), preserve_index=False)
    if Col.SOURCE_ROW not in table.column_names:  # the row order is the tie-breaker
        rows = pa.array(np.arange(table.num_rows, dtype=np.int64))
        table = table.append_column(Col.SOURCE_ROW, rows)
    contract = input_schema(name)
    for i, f in enumerate(table.schema):
        if pa.types.is_null(f.type):
            typ = contract.field(f.name).type if f.name in contract.names else pa.string()
            table = table.set_column(i, f.name, table.column(i).cast(typ))
    return table


def _classes(classified: pd.DataFrame | pa.Table) -> pa.Table:
    frame = classified.to_pandas() if isinstance(classified, pa.Table) else classified
    missing = [c for c in (_TEXT, *curated.CLASS_COLUMNS) if c not in frame.columns]
    if missing:
        raise DerivationError(f"regimen classification lacks columns {missing}")
    frame = frame[[_TEXT, *curated.CLASS_COLUMNS]].drop_duplicates(_TEXT)
    frame = frame.astype({_TEXT: "string", Col.DRUGS: "string", Col.CATEGORY: "string"})
    return pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)


def _connect(con: Any) -> Any:
    if con is not None:
        return con
    from aftercar.backends import connect

    return connect()


def _patients_frame(patients: pa.Table, derived: pd.DataFrame) -> pd.DataFrame:
    """Input patient columns (input order) followed by the derived ones, typed."""
    base = patients.to_pandas(date_as_object=False)
    if Col.SOURCE_ROW not in base.columns:
        base[Col.SOURCE_ROW] = np.arange(len(base), dtype=np.int64)
    extra = derived.drop(columns=[Col.PATIENT_ID])
    merged = base.merge(extra, on=Col.SOURCE_ROW, how="left", validate="one_to_one")
    typed = conform(merged, "patient_endpoints", keep_other=True)
    added = [c.name for c in derived_columns("patient_endpoints") if c.name not in base.columns]
    return typed[[*base.columns, *added]]


def _line_frame(
    con: Any,
    patients: ibis.Table,
    lines: pa.Table | pd.DataFrame,
    classified: pd.DataFrame | pa.Table,
    rules: EndpointRules,
    non_therapy: Sequence[str] = (),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    ln = _put(_as_arrow(lines, "lines"))
    cls = _put(_classes(classified))
    expr = curated.line_endpoints(patients, ln, cls, rules=rules, non_therapy=non_therapy)
    excluded = _non_therapy_listing(con, ln, cls, non_therapy)
    return conform(_execute(con, expr), "line_endpoints"), excluded


def _non_therapy_listing(con: Any, ln: ibis.Table, cls: ibis.Table, non_therapy: Sequence[str]):
    columns = ["table", "row", Col.PATIENT_ID, "reason"]
    if not non_therapy:
        return pd.DataFrame(columns=columns)
    rows = _execute(con, curated.non_therapy_rows(ln, cls, non_therapy))
    reason = "not a line of therapy (category " + rows[Col.CATEGORY].astype(str) + ")"
    return pd.DataFrame(
        {
            "table": "lines",
            "row": rows[Col.SOURCE_ROW].astype("Int64"),
            Col.PATIENT_ID: rows[Col.PATIENT_ID].astype("string"),
            "reason": reason,
        },
        columns=columns,
    )


def derive_cohort(
    patients: pa.Table | pd.DataFrame,
    lines: pa.Table | pd.DataFrame,
    classified: pd.DataFrame | pa.Table,
    *,
    rules: EndpointRules | None = None,
    landmarks: Sequence[float] = (),
    non_therapy: Sequence[str] = (),
    con: Any = None,
) -> DerivedCohort:
    """Derive every table of a curated cohort on a backend.

    Parameters
    ----------
    patients, lines
        The cohort's tables (``Cohort.patients`` / ``Cohort.lines``).
    classified
        ``aftercar.vocab.classify_regimens`` of the distinct regimen texts.
    rules
        Endpoint rules (default :class:`EndpointRules`).
    landmarks
        Landmark times (months from the index date) whose cohorts to derive.
    non_therapy
        Categories that are not lines of therapy (left out and listed, see
        :func:`aftercar.derive.curated.line_endpoints`).
    con
        An Ibis connection (default: a new in-process DuckDB connection).

    Returns
    -------
    DerivedCohort
    """
    rules = rules or EndpointRules()
    con = _connect(con)
    p_arrow = _as_arrow(patients, "patients")
    p = _put(p_arrow)
    line_frame, excluded = _line_frame(con, p, lines, classified, rules, non_therapy)
    line_table = _put(pa.Table.from_pandas(line_frame, preserve_index=False))
    derived = _execute(con, curated.patient_endpoints(p, line_table, rules=rules))
    frame = _patients_frame(p_arrow, derived)
    pt = _patient_table(frame)
    exposure = conform(_execute(con, curated.tce_exposure(pt)), "tce_exposure")
    cohorts = {
        float(at): conform(_execute(con, curated.landmark(pt, at)), "landmark") for at in landmarks
    }
    cls_frame = classified.to_pandas() if isinstance(classified, pa.Table) else classified
    return DerivedCohort(frame, line_frame, cls_frame, exposure, cohorts, excluded)


def merge_product_spellings(patients: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """One name per CAR-T product: spellings of the same product take its most used one.

    Parameters
    ----------
    patients
        Table ``patient_endpoints`` (or any table with ``car_t_product``).
    products
        :func:`aftercar.vocab.car_t_products` of the distinct product texts
        (``text, product``; ``product`` missing when the product is unknown).

    Returns
    -------
    pandas.DataFrame
        ``patients`` with ``car_t_product`` rewritten so that "ide-cel", "Ide-cel"
        and "Abecma" all read as the spelling used for most of those patients (ties:
        the first in sorted order); unknown products and single spellings are kept
        as written.
    """
    if Col.CAR_T_PRODUCT not in patients.columns or products.empty:
        return patients
    written = patients[Col.CAR_T_PRODUCT].astype("string")
    canon = written.map(dict(zip(products["text"], products["product"], strict=True)))
    known = pd.DataFrame({"written": written, "canon": canon}).dropna()
    counts = known.value_counts().reset_index(name="n")
    counts = counts.sort_values(["canon", "n", "written"], ascending=[True, False, True])
    shown = counts.drop_duplicates("canon").set_index("canon")["written"]
    merged = canon.map(shown).fillna(written)
    return patients.assign(**{Col.CAR_T_PRODUCT: merged.where(written.notna())})


def _patient_table(patients: pd.DataFrame) -> ibis.Table:
    cols = [c.name for c in derived_columns("patient_endpoints")]
    frame = patients[[c for c in cols if c in patients.columns]].reset_index(drop=True)
    frame = frame.assign(**{Col.SOURCE_ROW: np.arange(len(frame), dtype=np.int64)})
    return _put(pa.Table.from_pandas(frame, preserve_index=False))


def tce_counting_process(patients: pd.DataFrame, *, con: Any = None) -> pd.DataFrame:
    """Return table ``tce_exposure`` for derived patients (see :func:`curated.tce_exposure`)."""
    con = _connect(con)
    expr = curated.tce_exposure(_patient_table(patients))
    return conform(_execute(con, expr), "tce_exposure")


def landmark_cohort(
    patients: pd.DataFrame, landmark_months: float, *, con: Any = None
) -> pd.DataFrame:
    """Return table ``landmark`` at ``landmark_months`` (see :func:`curated.landmark`)."""
    con = _connect(con)
    expr = curated.landmark(_patient_table(patients), landmark_months)
    return conform(_execute(con, expr), "landmark")


def derive_lines(
    patients: pa.Table | pd.DataFrame,
    lines: pa.Table | pd.DataFrame,
    classified: pd.DataFrame | pa.Table,
    *,
    rules: EndpointRules | None = None,
    con: Any = None,
) -> pd.DataFrame:
    """Return table ``line_endpoints`` of a curated cohort (see :func:`derive_cohort`)."""
    con = _connect(con)
    p = _put(_as_arrow(patients, "patients"))
    return _line_frame(con, p, lines, classified, rules or EndpointRules())[0]


def derive_patients(
    patients: pa.Table | pd.DataFrame,
    line_endpoints: pd.DataFrame,
    *,
    rules: EndpointRules | None = None,
    con: Any = None,
) -> pd.DataFrame:
    """Return table ``patient_endpoints`` from patients and their line endpoints.

    The derived columns are computed by :func:`curated.patient_endpoints` on
    ``con`` (default: a new in-process DuckDB connection); every input patient
    column is kept.
    """
    con = _connect(con)
    p_arrow = _as_arrow(patients, "patients")
    p = _put(p_arrow)
    frame = conform(line_endpoints, "line_endpoints")
    ln = _put(pa.Table.from_pandas(frame, preserve_index=False))
    derived = _execute(con, curated.patient_endpoints(p, ln, rules=rules))
    return _patients_frame(p_arrow, derived)
