"""Check an opened OMOP CDM instance: the tables and columns aftercar reads, the type of
each column (ids, dates, numbers stored as text or with a time zone), then the rows
(primary ids unique, dates present and not in the future, exposure ends after starts).
Every problem names the table's file, the row's id, the column, the value and a fix
(exit 2). :func:`aftercar.derive.omop.source.open_source` runs these checks; split from
``source.py`` (over the ~600-line module budget) on 2026-12-06.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import ibis

from aftercar.derive.raw.events import MAX_ROW
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
}  # fmt: skip

def parquet_parts(folder: Path) -> list[Path]:
    """The Parquet parts of a table folder, as Spark reads them: those directly in it and
    those in Hive partition folders (``year=2020/``), never under a folder or file whose
    name starts with ``_`` or ``.`` (``_temporary/`` of an unfinished write, ``_delta_log/``,
    ``.ipynb_checkpoints/``, ``_SUCCESS``), sorted."""
    out = []
    for f in folder.rglob("*.parquet"):
        rel = f.relative_to(folder).parts
        if any(x.startswith(("_", ".")) for x in rel) or any("=" not in x for x in rel[:-1]):
            continue
        out.append(f)
    return sorted(out)


def is_csv_file(f: Path) -> bool:
    """Whether ``f`` is a CSV file (``.csv`` or ``.csv.gz``), not Parquet."""
    return f.is_file() and f.name.lower().endswith((".csv", ".csv.gz"))


def check_tables(tables: dict[str, ibis.Table], where: str,
                 files: dict[str, Path] | None = None, values: bool = True) -> None:  # fmt: skip
    """Raise :class:`CohortError` naming every missing table and column, every id column
    with a fractional value, every date column stored with a time zone other than UTC
    (``files``: the file of each table, whose Arrow schema may name that zone) and every
    date or number column stored as text that does not read as one (``values=False``:
    the tables and columns only); then give every column its CDM type."""
    problems = _missing(tables, where, files or {})
    if problems:
        raise CohortError(problems, f"{len(problems)} problem(s) in the OMOP source {where}")
    for name, t in tables.items():  # OMOP names are lower case; some exports are not
        if any(c != c.lower() for c in t.columns):
            t = t.rename({c.lower(): c for c in t.columns})
        tables[name] = _cdm_only(name, t)
        file = (files or {}).get(name)
        if values:
            problems += _type_problems(tables[name], str(file) if file else f"{where}/{name}",
                                       file, name)  # a site's own column is not checked either
    if problems:
        raise CohortError(problems, f"{len(problems)} problem(s) in the OMOP source {where}")
    for name, t in tables.items():
        tables[name] = _typed(t)


def _missing(tables: dict[str, ibis.Table], where: str, files: dict[str, Path]) -> list[Problem]:
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
        f = files.get(name)
        label, row = (str(f), 1 if is_csv_file(f) else None) if f else (f"{where}/{name}", None)
        problems += [Problem(label, row, c, None, "column is missing",
                             _missing_fix(name, c, tables[name].columns))
                     for c in cols if c not in have]  # fmt: skip
    return problems


def _missing_fix(table: str, col: str, columns: list[str]) -> str:
    """How to give ``table.col``: a column of another spelling to rename ("PersonID"), and
    whether its values may be empty (not an id or a date the CDM and aftercar need)."""
    key = col.replace("_", "")
    near = [c for c in columns if c.replace("_", "").replace(" ", "").lower() == key]
    fix = (f"rename the column {near[0]!r} to {col}" if near
           else f"add the OMOP CDM 5.4 column {table}.{col}")
    needed = col == "person_id" or col == PRIMARY_IDS.get(table) or col in (
        *_REQUIRED_DATES.get(table, ()), "drug_concept_id", "measurement_concept_id",
        "condition_concept_id", "condition_start_date", "year_of_birth")
    return fix if needed else fix + " (its values may be empty)"


_EXAMPLES = 5  # values quoted per problem
_UTC = frozenset({"UTC", "Etc/UTC", "Z", "+00:00", "GMT"})


def _examples(t: ibis.Table, column: str, bad: ibis.Value) -> list:
    rows = t.filter(bad).select(column).distinct().order_by(column).limit(_EXAMPLES)
    return rows.to_pyarrow()[column].to_pylist()


def _key(t: ibis.Table, table: str, column: str) -> str | None:
    """The column that names a row of OMOP table ``table``: its CDM primary key
    (``drug_exposure_id`` ...; ``person_id`` in ``person`` and ``death``), unless that is
    ``column`` itself or ``t`` has no such column."""
    key = "person_id" if table in ("person", "death") else f"{table}_id"
    return key if key in t.columns and key != column else None


def _bad_rows(t: ibis.Table, column: str, bad: ibis.Value, table: str) -> tuple[list, str]:
    """Up to :data:`_EXAMPLES` distinct bad values of ``column`` and, when ``t`` has its
    primary key, ``", at KEY k1, k2"``: the first row (lowest key) holding each value."""
    key = _key(t, table, column)
    if key is None:
        return _examples(t, column, bad), ""
    f = t.filter(bad)
    num = f[key] if f[key].type().is_numeric() else f[key].try_cast("float64")
    rows = f.group_by(column).aggregate(_row=f[key].argmin(num)).order_by(column)
    rows = rows.limit(_EXAMPLES)
    got = rows.to_pyarrow()
    ids = ", ".join(str(k) for k in got["_row"].to_pylist())
    return got[column].to_pylist(), (f", at {key} {ids}" if got.num_rows else "")


def _arrow_zone(file: Path | None, column: str) -> str | None:
    """The time zone a Parquet file's Arrow schema gives ``column`` (DuckDB reads every
    zone-aware timestamp as UTC and keeps no zone), else ``None``."""
    if file is None or is_csv_file(file):
        return None
    import pyarrow.parquet as pq

    part = next(iter(parquet_parts(file)), None) if file.is_dir() else file
    try:
        schema = pq.read_schema(part)
    except (OSError, TypeError, ValueError):  # not Parquet: the engine says so later
        return None
    field = next((f for f in schema if f.name.lower() == column), None)
    return getattr(field.type, "tz", None) if field is not None else None


def _not_whole(v: ibis.Value) -> ibis.BooleanValue:
    """A fractional, NaN, infinite or beyond-64-bit value of a float or decimal id column
    (no cast: casting NaN to an integer stops the engine)."""
    frac = (v % 1) != 0
    if v.type().is_floating():
        frac = frac | v.isnan() | v.isinf()
    return frac | (v >= 2.0**63) | (v < -(2.0**63))


def _type_problems(t: ibis.Table, label: str, file: Path | None,
                   table: str) -> list[Problem]:  # fmt: skip
    """Id columns with a fractional value (cast, 1.5 would be person 2), date columns
    stored as a time-zone-aware timestamp whose UTC date is not the recorded date, and
    date or number columns stored as text that the engine cannot read as their type."""
    problems = []
    for c, typ in t.schema().items():
        want = _cdm_type(c)
        if want == "int64" and (typ.is_floating() or typ.is_decimal()):
            bad, rows = _bad_rows(t, c, _not_whole(t[c]), table)
            if bad:
                problems.append(Problem(label, None, c, ", ".join(map(str, bad)),
                                        f"an id that is not a whole number{rows}",
                                        f"give {c} as an integer (the OMOP CDM type); a "
                                        "rounded id would name another record"))  # fmt: skip
        elif want == "date" and typ.is_timestamp() and typ.timezone is not None:
            problems += _zoned(t, c, label, _arrow_zone(file, c))
        elif want in ("date", "timestamp") and (typ.is_numeric() or typ.is_boolean()):
            # days since 1970 or YYYYMMDD as an integer: the engine's cast error quoted its
            # SQL and no file (fuzzing, 2026-12-07)
            problems.append(Problem(label, None, c, str(typ),
                                    f"a date column stored as a number ({typ})",
                                    f"store {c} as DATE (or as text YYYY-MM-DD): a number "
                                    "(days since 1970, YYYYMMDD) is not read as a date"))
        elif want in _TEXT_FIX and typ.is_string():
            problems += _unreadable_text(t, c, want, label, table)
    return problems


#: CDM type of a column stored as text -> what its values must be, and the fix.
_TEXT_FIX = {
    "date": ("a date", "write {c} as ISO dates (YYYY-MM-DD), or store the column as DATE; "
                       "leave a missing value empty (not NULL or NA as text)"),
    "timestamp": ("a date and time", "write {c} as ISO date-times (YYYY-MM-DD HH:MM:SS), or "
                                     "store the column as TIMESTAMP; leave a missing value "
                                     "empty (not NULL or NA as text)"),
    "int64": ("a whole number", "give {c} as whole numbers (the OMOP CDM type); leave a "
                                "missing value empty (not NULL or NA as text)"),
    "float64": ("a number",
                "give {c} as numbers only (a text result belongs in value_source_value); "
                "leave a missing value empty (not NULL or NA as text)"),
}  # fmt: skip


def _unreadable_text(t: ibis.Table, c: str, want: str, label: str,
                     table: str) -> list[Problem]:  # fmt: skip
    """A CDM date or number column stored as text with values the engine cannot read as
    its type (``01/10/2022``, ``abc``); blank text is a missing value (:func:`_typed`)."""
    bad, rows = _bad_rows(t, c, (t[c].strip() != "") & _from_text(t[c], want).isnull(), table)
    if not bad:
        return []
    kind, fix = _TEXT_FIX[want]
    return [Problem(label, None, c, ", ".join(map(str, bad)), f"text that is not {kind}{rows}",
                    fix.format(c=c))]  # fmt: skip


def _zoned(t: ibis.Table, c: str, label: str, zone: str | None) -> list[Problem]:
    """A zone-aware date column: read as its UTC date when its zone is UTC, or when unknown
    (a DuckDB TIMESTAMPTZ) and every value is at 00:00 UTC; otherwise the calendar date
    depends on a zone aftercar cannot see."""
    fix = (f"store {c} as a DATE holding the local calendar date (or as a timestamp "
           "without time zone of the local wall-clock time)")  # fmt: skip
    if zone is not None and zone not in _UTC:
        why = ("a date stored as a timestamp with a time zone other than UTC (its UTC date "
               "may be the day before or after)")  # fmt: skip
        return [Problem(label, None, c, zone, why, fix)]
    if zone is not None:
        return []
    bad = _examples(t, c, t[c].epoch_seconds() % 86400 != 0)
    if not bad:
        return []
    why = ("a date stored as a timestamp with a time zone, not at midnight UTC (the zone "
           "it was recorded in is not stored: its calendar date is unknown)")  # fmt: skip
    return [Problem(label, None, c, ", ".join(str(v) for v in bad), why, fix)]


#: Integer and decimal CDM columns read here whose names do not say their type.
_INTEGERS = frozenset({"year_of_birth", "month_of_birth", "day_of_birth", "days_supply",
                       "refills"})  # fmt: skip
_DECIMALS = frozenset({"value_as_number", "range_low", "range_high", "quantity"})
#: Text CDM columns whose names end in ``_id`` (vocabulary keys, not row ids).
_TEXT_IDS = frozenset({"domain_id", "vocabulary_id", "concept_class_id", "relationship_id"})


def _cdm_type(column: str) -> str | None:
    """The CDM type of ``column`` by its name (``None``: left as read)."""
    if column in _TEXT_IDS:
        return "string"
    if column.endswith("_id") or column in _INTEGERS:
        return "int64"
    if column.endswith("_date"):
        return "date"
    if column == "birth_datetime":  # the only date-time read (other *_datetime: as read)
        return "timestamp"
    if column in _DECIMALS:
        return "float64"
    return "string" if column.endswith(("_source_value", "_name")) else None


#: The OMOP CDM 5.4 columns of the clinical tables aftercar reads (``data/omop/
#: cdm_columns.csv``): their other columns are not read.
CDM_COLUMNS: dict[str, frozenset[str]] = {}
for _row in csv.DictReader(io.StringIO(resources.files("aftercar.data").joinpath(
        "omop/cdm_columns.csv").read_text("utf-8"))):  # fmt: skip
    CDM_COLUMNS[_row["table"]] = CDM_COLUMNS.get(_row["table"], frozenset()) | {_row["column"]}


def _cdm_only(name: str, t: ibis.Table) -> ibis.Table:
    """``t`` with the CDM columns of its table only: a site's own column may carry a name the
    derivation gives its own columns (an extra ``patient_id`` in ``drug_exposure`` had
    reassigned its rows; fuzzing round 3, 2026-12-06). Other tables as they are."""
    keep = CDM_COLUMNS.get(name)
    if keep is None or all(c in keep for c in t.columns):
        return t
    return t.select(*[c for c in t.columns if c in keep])


def _typed(t: ibis.Table) -> ibis.Table:
    """CDM types whatever the file inferred (an empty CSV column reads as text: a
    ``day_of_birth`` no person has must still be a number)."""
    casts = {}
    for c, typ in t.schema().items():
        want = _cdm_type(c)
        if want == "timestamp" and typ.is_temporal():  # any precision or zone, kept as stored
            continue
        if want is not None and str(typ).removeprefix("!") != want:  # text: checked, blank = null
            casts[c] = _from_text(t[c], want) if typ.is_string() else t[c].cast(want)
    return t.mutate(**casts) if casts else t


#: A whole number written as text (``12``, ``+12``, ``12.0``: pandas writes an integer
#: column with a missing value as floats).
_WHOLE = r"^\s*[+-]?[0-9]+(\.0*)?\s*$"


#: An ISO date-time as text, with an optional zone designator (``Z``, ``UTC``, ``+09:00``,
#: ``-0500``): group 1 is the wall-clock time as written.
_ISO_DATETIME = (r"^\s*([0-9]{4}-[0-9]{2}-[0-9]{2}"
                 r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.][0-9]+)?)?)?)"
                 r"\s*(?:Z|UTC|[+-][0-9]{2}(?::?[0-9]{2})?)?\s*$")  # fmt: skip


def _from_text(v: ibis.Value, want: str) -> ibis.Value:
    """Text as the CDM type ``want`` (NULL when it cannot be read). Whole numbers are read
    by pattern, the same on every engine: DuckDB's ``TRY_CAST('1001.5' AS BIGINT)`` is
    1002, another row's id. A date-time is its wall-clock time as written, its zone
    designator dropped, on every engine (Spark would move ``+09:00`` to UTC, DuckDB not):
    its date is the date written, as for the ``*_date`` columns (fuzzing round 3, F07)."""
    if want == "timestamp":
        wall = v.re_extract(_ISO_DATETIME, 1)
        return ibis.ifelse(v.re_search(_ISO_DATETIME), wall.try_cast(want), ibis.null(want))
    if want != "int64":
        return v.try_cast(want)
    digits = v.re_extract(r"^\s*([+-]?[0-9]+)", 1).try_cast("int64")
    return ibis.ifelse(v.re_search(_WHOLE), digits, ibis.null("int64"))


#: OMOP tables whose rows the audit and the attrition name by their primary id.
PRIMARY_IDS = {"drug_exposure": "drug_exposure_id",
               "procedure_occurrence": "procedure_occurrence_id",
               "measurement": "measurement_id"}  # fmt: skip


def check_rows(tables: dict[str, ibis.Table], labels: dict[str, str],
               persons: ibis.Table | None = None) -> None:  # fmt: skip
    """Raise :class:`CohortError` naming each row aftercar cannot use as the CDM defines it.

    An empty ``person`` table, a ``person`` row without ``person_id`` or two rows with one
    (:func:`repeated_persons`); a missing or
    repeated primary id of ``drug_exposure``,
    ``procedure_occurrence`` or ``measurement`` (the audit names rows by it), or one below
    0; a repeated ``concept_id`` of ``concept`` (one concept read as two drugs); two
    ``death`` dates of one person; an ``observation_period`` or ``death`` row without
    ``person_id``; a ``drug_exposure_end_date`` or an ``observation_period_end_date``
    before its start; an
    empty required date (:data:`_REQUIRED_DATES`) or a date after today
    (:data:`_NOT_FUTURE`); a ``drug_exposure_id`` the derivation cannot key
    (:func:`_administration_ids`). One aggregate per table and check; a few examples of
    each are quoted.

    ``persons`` (``person_id``): the persons whose rows aftercar reads. The checks then
    cover the rows it reads or names: those persons' rows and the rows of no person
    (``person_id`` empty or not in ``person``: listed in the attrition), each primary id
    counted over the whole table. Rows of other persons are neither read nor listed, so
    a problem in them does not stop a study (and a large instance with few such persons
    is not read in full for them). When ``persons`` holds every person, those rows are
    the whole tables, which are checked as they are.
    """
    if not tables["person"].limit(1).count().to_pyarrow().as_py():
        raise CohortError([Problem(labels["person"], None, None, None,
                                   "the person table is empty",
                                   "export the person rows of the instance")],
                          "the OMOP person table is empty")  # fmt: skip
    scoped = _scoped(tables, persons)
    problems = _without_person(tables["person"], "person", labels["person"])
    problems += repeated_persons(tables["person"], labels["person"], persons)
    for name, col in PRIMARY_IDS.items():
        named = None if scoped is tables else scoped[name]
        problems += _primary_id(tables[name], col, labels[name], named)
    if "concept" in tables:  # one concept read as two drugs (fuzzing round 5, H01)
        problems += _primary_id(tables["concept"], "concept_id", labels.get("concept", "concept"))
    for name in ("procedure_occurrence", "measurement"):
        problems += _negative_ids(tables[name], PRIMARY_IDS[name], labels[name])
    problems += _death_dates(scoped["death"], labels["death"])
    for name in ("observation_period", "death"):
        problems += _without_person(scoped[name], name, labels[name])
    problems += _end_before_start(scoped["drug_exposure"], labels["drug_exposure"])
    problems += _period_before_start(scoped["observation_period"], labels["observation_period"])
    problems += _administration_ids(scoped["drug_exposure"], labels["drug_exposure"])
    for name in dict.fromkeys([*_REQUIRED_DATES, *_NOT_FUTURE]):
        problems += _dates(scoped[name], name, labels[name])
    if problems:
        raise CohortError(problems, f"{len(problems)} problem(s) in the OMOP rows")


#: Date columns checked against today (a death in 2200 is a typo; the curated reader of
#: ``aftercar report`` would refuse it in the derived cohort, blaming the derived file).
_NOT_FUTURE = {"death": (Col.DEATH_DATE,),
               "observation_period": ("observation_period_end_date",),
               "drug_exposure": ("drug_exposure_start_date", "drug_exposure_end_date"),
               "procedure_occurrence": ("procedure_date",),
               "measurement": ("measurement_date",)}  # fmt: skip
#: Date columns the CDM declares NOT NULL among those read: a row without one cannot be
#: placed in time (a death without its date is not "alive"). ``drug_exposure_end_date`` is
#: NOT NULL in CDM 5.4 too, but an empty one is read as a dose on its start date. The
#: myeloma conditions' start is checked with the scope (``cohort.myeloma_scope``): other
#: conditions are not read.
_REQUIRED_DATES = {"death": (Col.DEATH_DATE,),
                   "observation_period": ("observation_period_end_date",),
                   "drug_exposure": ("drug_exposure_start_date",),
                   "procedure_occurrence": ("procedure_date",),
                   "measurement": ("measurement_date",)}  # fmt: skip


def _dates(t: ibis.Table, table: str, label: str) -> list[Problem]:
    """Empty required dates (:data:`_REQUIRED_DATES`) and dates after today
    (:data:`_NOT_FUTURE`) of ``t``, one filter per table, a few rows quoted by their id."""
    need = tuple(c for c in _REQUIRED_DATES.get(table, ()) if c in t.columns)
    late = tuple(c for c in _NOT_FUTURE.get(table, ()) if c in t.columns)
    if not need + late:
        return []
    today, first = ibis.literal(dt.date.today()), ibis.literal(_EARLIEST)
    key = _key(t, table, "") or "person_id"
    cols = tuple(dict.fromkeys(need + late))
    flags = {**{f"_late_{c}": t[c] > today for c in late},
             **{f"_early_{c}": t[c] < first for c in cols}}
    bad = t.filter(ibis.or_(*[t[c].isnull() for c in need], *flags.values()))
    # the dates as text: a year past 9999 ("20170-02-04", which DuckDB reads) has no
    # Python date (a traceback: fuzzing, 2026-12-07)
    rows = bad.select(*{key: 0, "person_id": 0}, **{c: t[c].cast("string") for c in cols},
                      **flags).order_by(key)  # fmt: skip
    return [_date_problem(r, need, key, label)
            for r in rows.limit(_EXAMPLES).to_pyarrow().to_pylist()]  # fmt: skip


#: Dates before this day are no dates of a myeloma patient's care (a year 1 or 0 from an
#: ETL's "minimum date"; fuzzing, 2026-12-07).
_EARLIEST = dt.date(1900, 1, 1)


#: The CDM 5.4 datetime column beside a required date (observation periods have none).
_DATETIME = {"drug_exposure_start_date": "drug_exposure_start_datetime",
             "procedure_date": "procedure_datetime", "measurement_date": "measurement_datetime",
             "condition_start_date": "condition_start_datetime",
             Col.DEATH_DATE: "death_datetime"}  # fmt: skip


def _date_problem(r: dict, need: tuple[str, ...], key: str, label: str) -> Problem:
    who = f"{key} {r[key]}" + (f" (person_id {r['person_id']})" if key != "person_id" else "")
    empty = next((c for c in need if r[c] is None), None)
    if empty is not None:
        also = f" (from {_DATETIME[empty]} when that is filled)" if empty in _DATETIME else ""
        return Problem(label, None, empty, None, f"{who}: no {empty} (the CDM requires it)",
                       f"give the date{also}, or remove the row")
    c = next(c for c in r if not c.startswith("_") and c not in (key, "person_id")
             and (r.get(f"_late_{c}") or r.get(f"_early_{c}")))  # fmt: skip
    if r.get(f"_early_{c}"):
        return Problem(label, None, c, r[c], f"{who}: a date before {_EARLIEST.isoformat()}",
                       f"correct {c} (the date of the event; leave an optional date empty, "
                       "not 0001-01-01, when it is not known)")  # fmt: skip
    return Problem(label, None, c, r[c], f"{who}: a date after today",
                   f"correct {c} (a date that has happened; leave an end date empty, not "
                   "9999-12-31, when it is not known)")  # fmt: skip


def _negative_ids(t: ibis.Table, col: str, label: str) -> list[Problem]:
    """Primary ids below 0: the audit names rows by them, and a list of ids that starts
    with "-" reads as a spreadsheet formula (fuzzing round 5, H06)."""
    low = t[col].min().to_pyarrow().as_py()  # one pass over one column, no join
    if low is None or low >= 0:
        return []
    bad = t.filter(t[col] < 0).select(col).order_by(col)
    ids = bad.limit(_EXAMPLES).to_pyarrow()[col].to_pylist()
    return [Problem(label, None, col, ", ".join(map(str, ids)),
                    f"aftercar reads {col} from 0 up (the audit names each row by it)",
                    f"renumber {col} from 1 in the extract (e.g. ROW_NUMBER() in the ETL), "
                    "keeping a map to the original ids")]  # fmt: skip


def _administration_ids(de: ibis.Table, label: str) -> list[Problem]:
    """A ``drug_exposure_id`` outside ``0 .. MAX_ROW`` (:data:`aftercar.derive.raw.events.
    MAX_ROW`): the derivation keys each ingredient of an exposure by ``id x 1024 +`` its
    number, which a negative id would make another exposure's and a larger one overflow."""
    col = de.drug_exposure_id
    bad = de.filter((col < 0) | (col > MAX_ROW)).select("drug_exposure_id").order_by(col)
    ids = bad.limit(_EXAMPLES).to_pyarrow()["drug_exposure_id"].to_pylist()
    if not ids:
        return []
    return [Problem(label, None, "drug_exposure_id", ", ".join(map(str, ids)),
                    f"aftercar reads drug_exposure_id from 0 to {MAX_ROW:,} (it keys each "
                    "ingredient of an exposure by the id x 1024)",
                    "renumber drug_exposure_id from 1 in the extract (e.g. ROW_NUMBER() in "
                    "the ETL), keeping a map to the original ids")]  # fmt: skip


#: ``scope`` of :func:`open_source`: the typed tables -> the persons whose rows are read.
Scope = Callable[[dict[str, ibis.Table]], ibis.Table]


def _scoped(tables: dict[str, ibis.Table], persons: ibis.Table | None) -> dict[str, ibis.Table]:
    """The rows of ``persons`` and of no person of each table with a ``person_id``
    (``tables`` itself when ``persons`` is ``None`` or holds every person: the same rows)."""
    if persons is None:
        return tables
    ids = persons.select(person_id=persons.person_id.cast("int64")).distinct()
    known = tables["person"].select("person_id")
    every = known.filter(known.person_id.notnull()).distinct().count().to_pyarrow().as_py()
    if ids.count().to_pyarrow().as_py() >= every:
        return tables
    return {name: t.semi_join(ids, "person_id").union(t.anti_join(known, "person_id"))
            if name != "person" and "person_id" in t.columns else t
            for name, t in tables.items()}  # fmt: skip


def _without_person(t: ibis.Table, table: str, label: str) -> list[Problem]:
    """Rows of ``table`` without a ``person_id``. A ``person`` row: no record can name that
    person, and a run in batches (which cut ``person_id`` ranges) could not count it. An
    ``observation_period`` or ``death`` row (the CDM requires it): a period of no person was
    dropped without a word, and the living person whose period it was then listed as
    having none (fuzzing, 2026-12-07)."""
    n = t.filter(t.person_id.isnull()).count().to_pyarrow().as_py()
    if not n:
        return []
    fix = ("give every person row its person_id (the CDM primary key), or remove the row"
           if table == "person" else "give every row the person_id of its person (the CDM "
           "requires it), or remove the row")  # fmt: skip
    return [Problem(label, None, "person_id", None, f"{n} {table} row(s) have no person_id",
                    fix)]


def repeated_persons(pe: ibis.Table, label: str,
                     persons: ibis.Table | None = None) -> list[Problem]:  # fmt: skip
    """A ``person_id`` given by more than one ``person`` row (``persons``: of these persons
    only, those whose rows are read): every record of that person would be joined to each
    of them, the patient counted several times. A few ids are quoted."""
    if persons is not None:
        pe = pe.semi_join(persons.select(person_id=persons.person_id.cast("int64")).distinct(),
                          "person_id")  # fmt: skip
    pe = pe.filter(pe.person_id.notnull())
    n = pe.group_by("person_id").aggregate(_n=pe.count())
    dup = n.filter(n._n > 1).order_by("person_id").limit(_EXAMPLES).to_pyarrow().to_pylist()
    return [Problem(label, None, "person_id", str(r["person_id"]),
                    f"{r['_n']} person rows have this person_id",
                    "keep one person row per person_id (the CDM primary key)")
            for r in dup]  # fmt: skip


def _primary_id(t: ibis.Table, col: str, label: str,
                named: ibis.Table | None = None) -> list[Problem]:  # fmt: skip
    """A NULL or repeated primary id (the CDM primary key): rows it cannot name. ``named``:
    only the ids of these rows of ``t`` (NULL ones included), each counted over all of ``t``.

    Over a whole table, three counts come first (rows, ids, distinct ids): equal, every id
    is there once, and the grouping that lists the repeated ones is not run (at 1,000,000
    persons, 252 M drug exposures: 15 s instead of 21 s)."""
    if named is None:
        if _unique_ids(t, col):
            return []
        n = t.group_by(col).aggregate(_n=t.count())
    else:
        ids = named.filter(named[col].notnull()).select(col).distinct()
        seen = t.semi_join(ids, col)
        empty = named.filter(named[col].isnull())
        n = seen.group_by(col).aggregate(_n=seen.count()).union(
            empty.group_by(col).aggregate(_n=empty.count()))  # fmt: skip
    bad = n.filter((n._n > 1) | n[col].isnull()).order_by([n[col].isnull().desc(), col])
    rows = bad.limit(_EXAMPLES + 1).to_pyarrow().to_pylist()
    problems = []
    for r in rows[:_EXAMPLES]:
        if r[col] is None:
            problems.append(Problem(label, None, col, None, f"{r['_n']} row(s) have no {col}",
                                    f"give every row its {col} (the CDM primary key)"))  # fmt: skip
        else:
            problems.append(Problem(label, None, col, str(r[col]),
                                    f"{r['_n']} rows have this {col}",
                                    f"keep one row per {col} (the CDM primary key): remove "
                                    "the copy, or give the other record its own id"))  # fmt: skip
    if len(rows) > _EXAMPLES:
        problems.append(Problem(label, None, col, None, f"more repeated {col} values",
                                "see the ones above"))  # fmt: skip
    return problems


def _unique_ids(t: ibis.Table, col: str) -> bool:
    """Whether every row of ``t`` has a ``col`` and no two the same (exact counts)."""
    c = t.aggregate(_rows=t.count(), _ids=t[col].count(), _distinct=t[col].nunique())
    c = c.to_pyarrow().to_pylist()[0]
    return c["_rows"] == c["_ids"] == c["_distinct"]


def _death_dates(de: ibis.Table, label: str) -> list[Problem]:
    """Two different death dates of one person (which one is true?)."""
    g = de.group_by("person_id").aggregate(_first=de.death_date.min(), _last=de.death_date.max())
    bad = g.filter(g._first != g._last).order_by("person_id").limit(_EXAMPLES)
    return [Problem(label, None, Col.DEATH_DATE, f"{r['_first']}, {r['_last']}",
                    f"person_id {r['person_id']} has more than one death date",
                    "keep one death row per person (the true date)")
            for r in bad.to_pyarrow().to_pylist()]  # fmt: skip


def _end_before_start(de: ibis.Table, label: str) -> list[Problem]:
    """A ``drug_exposure_end_date`` before its start (an exposure cannot end before it
    starts; ``aftercar derive RAWDIR`` refuses the same ``end_date``), or, where no end
    date is given, a negative ``days_supply`` (whose end, start + days_supply - 1, would
    be too; it was read as a dose until 2026-12-05). One pass over the table."""
    end = "drug_exposure_end_date" in de.columns
    supply = "days_supply" in de.columns
    if not end and not supply:
        return []
    before = de.drug_exposure_end_date < de.drug_exposure_start_date if end else None
    negative = de.days_supply < 0 if supply else None
    if end and supply:
        negative = negative & de.drug_exposure_end_date.isnull()
    bad = de.filter(ibis.or_(*[c for c in (before, negative) if c is not None]))
    cols = {c: de[c].cast("string") if c.endswith("_date") else de[c]
            for c in ("drug_exposure_id", "drug_exposure_start_date", "drug_exposure_end_date",
                      "days_supply") if c in de.columns}  # dates as text: a year past 9999
    rows = bad.select(**cols).order_by("drug_exposure_id").limit(_EXAMPLES)
    return [_end_problem(r, label) for r in rows.to_pyarrow().to_pylist()]


def _period_before_start(op: ibis.Table, label: str) -> list[Problem]:
    """An ``observation_period_end_date`` before its ``observation_period_start_date`` (when
    the file has the start): the CDM's period runs from start to end, and a period whose
    end precedes its start has one of them wrong. The end is the last follow-up of a living
    patient (censoring of OS and PFS), so it is not read from such a row; OHDSI's Data
    Quality Dashboard checks the same (``plausibleStartBeforeEnd``). Until 2026-12-07 the
    end was read whatever the start (note34)."""
    start, end = "observation_period_start_date", "observation_period_end_date"
    if start not in op.columns:
        return []
    key = "observation_period_id" if "observation_period_id" in op.columns else "person_id"
    bad = op.filter(op[end] < op[start])
    cols = {c: op[c].cast("string") if c.endswith("_date") else op[c]  # a year past 9999
            for c in dict.fromkeys((key, "person_id", start, end))}  # fmt: skip
    rows = bad.select(**cols).order_by([key, "person_id"]).limit(_EXAMPLES)
    return [Problem(label, None, end, r[end],
                    (f"observation_period_id {r[key]} (person_id {r['person_id']})"
                     if key != "person_id" else f"person_id {r['person_id']}")
                    + f": the period ends before it starts ({r[start]})",
                    "give the first and the last day of the period in the instance's data "
                    f"(the end on or after the start: {end} is the last follow-up of a living "
                    "patient)") for r in rows.to_pyarrow().to_pylist()]  # fmt: skip


def _end_problem(r: dict, label: str) -> Problem:
    if r.get("drug_exposure_end_date") is None:
        return Problem(label, None, "days_supply", str(r["days_supply"]),
                       f"drug_exposure_id {r['drug_exposure_id']}: a negative days_supply (the "
                       f"exposure would end before its start, {r['drug_exposure_start_date']})",
                       "give the days supplied (1 or more), or leave days_supply empty for a "
                       "dose on the start date")  # fmt: skip
    return Problem(label, None, "drug_exposure_end_date", str(r["drug_exposure_end_date"]),
                   f"drug_exposure_id {r['drug_exposure_id']}: the end is before the start "
                   f"({r['drug_exposure_start_date']})",
                   "give the last day of the exposure (on or after the start), or leave "
                   "drug_exposure_end_date empty for a dose on the start date")  # fmt: skip


__all__ = ["CDM_COLUMNS", "OPTIONAL", "PRIMARY_IDS", "REQUIRED", "Scope", "check_rows",
           "check_tables", "is_csv_file", "parquet_parts", "repeated_persons"]  # fmt: skip
