"""Open an OMOP CDM instance as Ibis tables and check the columns aftercar reads.

A SOURCE is a DuckDB database file (opened read-only), a folder of Parquet or
CSV files named by table (``person.parquet``, ``drug_exposure.csv``, ...), or,
on an engine with a catalog (Spark), a schema name. Missing tables or columns
are reported at once, each naming the table, the column and a fix (exit 2).
"""

from __future__ import annotations

from pathlib import Path

import ibis

from aftercar.errors import CohortError, Problem
from aftercar.schema import Col

#: Table -> columns aftercar reads (OMOP CDM 5.4 names). Vocabulary tables, ``care_site``
#: and ``observation`` (covariates) are optional.
REQUIRED: dict[str, tuple[str, ...]] = {
    "person": ("person_id", "gender_concept_id", "year_of_birth"),
    "observation_period": ("person_id", "observation_period_end_date"),
    "death": ("person_id", Col.DEATH_DATE),
    "condition_occurrence": ("person_id", "condition_concept_id", "condition_start_date"),
    "drug_exposure": ("drug_exposure_id", "person_id", "drug_concept_id",
                      "drug_exposure_start_date", "drug_source_value"),
    "procedure_occurrence": ("procedure_occurrence_id", "person_id", "procedure_concept_id",
                             "procedure_date", "procedure_source_value"),
    "measurement": ("measurement_id", "person_id", "measurement_concept_id", "measurement_date",
                    "value_as_number", "value_as_concept_id", "unit_concept_id",
                    "unit_source_value", "measurement_source_value"),
}  # fmt: skip
OPTIONAL: dict[str, tuple[str, ...]] = {
    "concept": ("concept_id", "concept_name"),
    "concept_ancestor": ("ancestor_concept_id", "descendant_concept_id"),
    "care_site": ("care_site_id", "care_site_name"),
    "observation": ("observation_id", "person_id", "observation_concept_id", "observation_date",
                    "value_as_number", "value_as_concept_id"),
}
_EXTS = ("parquet", "csv")
_ALIAS = "omop_source"


def _file_of(folder: Path, name: str) -> Path | None:
    for ext in _EXTS:
        for f in (folder / f"{name}.{ext}", folder / f"{name.upper()}.{ext}"):
            if f.is_file():
                return f
    d = folder / name  # a partitioned Parquet folder
    return d if d.is_dir() and any(d.glob("*.parquet")) else None


def _from_folder(con, folder: Path) -> tuple[dict[str, ibis.Table], str]:
    out = {}
    for name in (*REQUIRED, *OPTIONAL):
        f = _file_of(folder, name)
        if f is None:
            continue
        if f.suffix == ".csv":
            out[name] = con.read_csv(str(f), table_name=f"omop_{name}")
        else:
            path = str(f / "*.parquet") if f.is_dir() else str(f)
            out[name] = con.read_parquet(path, table_name=f"omop_{name}")
    return out, str(folder)


def list_tables(con, database: str) -> set[str]:
    """Tables of ``database`` (``catalog.schema`` or ``schema``) on ``con``."""
    try:
        return set(con.list_tables(database=database))
    except AttributeError:  # Ibis 12 list_tables on duckdb >= 2 (no fetch_arrow_table)
        parts = database.split(".")
        where = f"table_schema = '{parts[-1]}'"
        if len(parts) == 2:
            where += f" AND table_catalog = '{parts[0]}'"
        res = con.raw_sql(f"SELECT table_name FROM information_schema.tables WHERE {where}")
        rows = res.fetchall() if hasattr(res, "fetchall") else res.collect()
        return {r[0] for r in rows}


def _from_database(con, database: str) -> dict[str, ibis.Table]:
    have = list_tables(con, database)
    have_lower = {t.lower(): t for t in have}
    out = {}
    for name in (*REQUIRED, *OPTIONAL):
        if name in have_lower:
            out[name] = con.table(have_lower[name], database=database)
    return out


def _attach(con, path: Path, schema: str | None) -> dict[str, ibis.Table]:
    attach = getattr(con, "attach", None)
    if attach is None:
        raise CohortError([Problem(str(path), None, None, None,
                                   "this engine cannot open a DuckDB database file",
                                   "use --engine duckdb, or export the tables to Parquet")],
                          f"{path}: a DuckDB file needs --engine duckdb")  # fmt: skip
    attach(str(path), name=_ALIAS, read_only=True)
    return _from_database(con, f"{_ALIAS}.{schema or 'main'}")


def close_source(con, source: str | Path) -> None:
    """Detach a DuckDB file source (so that EPISODE rows can then be written into it)."""
    if Path(source).is_file() and hasattr(con, "attach"):
        con.raw_sql(f"DETACH {_ALIAS}")


def open_source(con, source: str | Path, schema: str | None = None) -> dict[str, ibis.Table]:
    """Return ``{table name: Ibis table}`` of the OMOP instance ``source`` on ``con``.

    Parameters
    ----------
    con
        An Ibis connection (:func:`aftercar.backends.connect`).
    source
        A DuckDB file, a folder of Parquet/CSV files named by table, or (engines with
        a catalog) a schema name.
    schema
        Schema inside a DuckDB file (default ``main``).

    Raises
    ------
    CohortError
        Source not found, or a table / column aftercar reads is missing.
    """
    path = Path(source)
    if path.is_dir():
        tables, where = _from_folder(con, path)
    elif path.is_file():
        tables, where = _attach(con, path, schema), str(path)
    elif hasattr(con, "list_tables") and not path.suffix:
        tables, where = _from_database(con, str(source)), str(source)
    else:
        raise CohortError([Problem(str(source), None, None, None, "no such file or folder",
                                   "give a DuckDB file or a folder of Parquet/CSV tables")],
                          f"{source}: OMOP source not found")  # fmt: skip
    check_tables(tables, where)
    return tables


def check_tables(tables: dict[str, ibis.Table], where: str) -> None:
    """Raise :class:`CohortError` naming every missing table and column."""
    problems = []
    for name in REQUIRED:
        if name not in tables:
            problems.append(Problem(where, None, None, None, f"the OMOP table '{name}' is missing",
                                    f"add {name} (a {name}.parquet or {name}.csv file, or a "
                                    f"table in the database); it may be empty"))  # fmt: skip
    for name, cols in {**REQUIRED, **OPTIONAL}.items():
        if name not in tables:
            continue
        have = {c.lower() for c in tables[name].columns}
        for c in cols:
            if c not in have:
                problems.append(Problem(f"{where}/{name}", 1, c, None, "column is missing",
                                        f"add the OMOP CDM 5.4 column {name}.{c} "
                                        "(it may hold nulls)"))  # fmt: skip
    if problems:
        raise CohortError(problems, f"{len(problems)} problem(s) in the OMOP source {where}")
    for name, t in tables.items():  # OMOP names are lower case; some exports are not
        if any(c != c.lower() for c in t.columns):
            t = t.rename({c.lower(): c for c in t.columns})
        tables[name] = _typed(t)


#: Integer and decimal CDM columns read here whose names do not say their type.
_INTEGERS = frozenset({"year_of_birth", "month_of_birth", "day_of_birth", "days_supply",
                       "refills"})  # fmt: skip
_DECIMALS = frozenset({"value_as_number", "range_low", "range_high", "quantity"})


def _cdm_type(column: str) -> str | None:
    """The CDM type of ``column`` by its name (``None``: left as read)."""
    if column.endswith("_id") or column in _INTEGERS:
        return "int64"
    if column.endswith("_date"):
        return "date"
    if column in _DECIMALS:
        return "float64"
    return "string" if column.endswith(("_source_value", "_name")) else None


def _typed(t: ibis.Table) -> ibis.Table:
    """CDM types whatever the file inferred (an empty CSV column reads as text: a
    ``day_of_birth`` no person has must still be a number)."""
    casts = {}
    for c, typ in t.schema().items():
        want = _cdm_type(c)
        if want is not None and str(typ).removeprefix("!") != want:
            casts[c] = t[c].cast(want)
    return t.mutate(**casts) if casts else t


__all__ = ["OPTIONAL", "REQUIRED", "check_tables", "close_source", "list_tables", "open_source"]
