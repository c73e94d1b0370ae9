"""Open an OMOP CDM instance as Ibis tables and check the columns aftercar reads.

A SOURCE is a DuckDB database file (opened read-only), a folder of Parquet or
CSV files named by table (``person.parquet``, ``drug_exposure.csv``, ...), or,
on an engine with a catalog (Spark), a schema name. Missing tables or columns
are reported at once, each naming the table, the column and a fix (exit 2).
"""

from __future__ import annotations

import csv
import re
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote

import ibis
import pyarrow.parquet as pq

from aftercar.backends.duckdb import scratch
from aftercar.derive.omop.checks import (
    OPTIONAL,
    PRIMARY_IDS,
    REQUIRED,
    Scope,
    check_rows,
    check_tables,
    is_csv_file,
    parquet_parts,
)
from aftercar.errors import CohortError, Problem
from aftercar.io.encoding import GZIP_ERRORS, open_csv, utf8_problem

_EXTS = ("parquet", "csv")
_ALIAS = "omop_source"


def _file_of(folder: Path, name: str) -> Path | None:
    """The file (``.parquet``, ``.csv`` or ``.csv.gz``, the name in any case) or
    Parquet parts folder (flat, or Hive-partitioned as Spark's ``partitionBy`` writes:
    ``drug_exposure/year=2020/part-0.parquet``) of table ``name``; two of them (a
    ``person.csv`` beside a ``person.parquet``, say) stop the run: which one is meant?"""
    found: list[Path] = []
    # the name in any case ("Person.csv" too: fuzz round 9, session 28, read "the OMOP
    # table 'person' is missing"); each file once on a case-blind disk
    wanted = {f"{name}.{ext}" for ext in (*_EXTS, "csv.gz")}
    for e in sorted(folder.iterdir()):
        low = e.name.lower()
        ok = e.is_file() if low in wanted else low == name and e.is_dir() and parquet_parts(e)
        if ok and not any(e.samefile(g) for g in found):  # a partitioned Parquet folder too
            found.append(e)
    if len(found) > 1:
        raise CohortError([Problem(str(folder), None, None, ", ".join(f.name for f in found),
                                   f"the OMOP table '{name}' is given by {len(found)} files",
                                   "keep one file per table: remove or rename the others",
                                   rule="ambiguous_file")],
                          f"{folder}: more than one file for the table '{name}'")  # fmt: skip
    return found[0] if found else None


def _has_text(f: Path) -> bool:
    """Whether the file (a ``.gz`` one decompressed) holds more than blanks and a BOM; a
    ``.gz`` file that cannot be decompressed (cut short within its first bytes, or no gzip
    at all) counts as text, for :func:`utf8_problem` to name (it stopped the run with a
    traceback, or "Aborted." and no file named, until 2026-12-07)."""
    if f.name.lower().endswith(".gz"):
        try:
            with open_csv(f) as fh:
                head = fh.read(65)
        except GZIP_ERRORS:
            return True
    elif f.stat().st_size > 64:
        return True
    else:
        head = f.read_bytes()
    return len(head) > 64 or bool(head.removeprefix(b"\xef\xbb\xbf").strip())


def _empty_file(f: Path, name: str) -> Problem | None:
    """A 0-byte (or blank) table file, or a Parquet part of 0 bytes: no column can be read."""
    if f.is_dir():
        part = next((p for p in parquet_parts(f) if p.stat().st_size == 0), None)
        if part is None:
            return None
        f = part
    elif _has_text(f):
        return None
    if is_csv_file(f):
        what = "not even a header row"
        fix = (f"write the OMOP CDM 5.4 columns of the {name} table as its first row "
               "(a table without rows still has them)")  # fmt: skip
    else:
        what, fix = "0 bytes, not a Parquet file", f"write it again with the {name} table's columns"
    if name in OPTIONAL and f.parent.name != name:
        fix += " or, as the table is optional, remove the file"
    return Problem(str(f), None, None, None, f"the file is empty ({what})", fix,
                   rule="empty_file")  # fmt: skip


def _dialect(header: str) -> type[csv.Dialect] | None:
    """The CSV dialect of a header line (delimiter ``, ; tab |``), ``None`` if unclear."""
    try:
        return csv.Sniffer().sniff(header, delimiters=",;\t|")
    except csv.Error:
        return None


def _csv_dates_as_text(f: Path) -> dict:
    """``read_csv`` options reading the ``*_date`` columns (and ``birth_datetime``) of ``f``
    as text: DuckDB's type inference would read ``01/10/2022`` as 1 October (day first)
    without a word when every date of a column could be day-first, and
    ``1947-12-12T00:00:00+09:00`` as the UTC instant (the day before). As text, ISO dates
    are read, a date-time as its written wall-clock time (:func:`_from_text`), and any other
    value is named (:func:`check_tables`)."""
    with open_csv(f, "rt", newline="", encoding="utf-8-sig", errors="replace") as fh:
        first = fh.readline()
    dialect = _dialect(first)
    if dialect is None:  # one column, or no header: the engine says what is wrong
        return {}
    header = next(csv.reader([first], dialect), [])
    keys = [c.strip().lower() for c in header]
    dates = {c: "VARCHAR" for c, k in zip(header, keys, strict=True)
             if k.endswith("_date") or k == "birth_datetime"}  # fmt: skip
    return {"types": dates} if dates else {}


def _csv_options(con, f: Path) -> dict:
    """DuckDB: the ``*_date`` columns as text (:func:`_csv_dates_as_text`). Other engines
    (Spark): every column as text, typed as the CDM declares it by :func:`check_tables`,
    which names any value that cannot be read (Spark's schema inference would otherwise
    guess each column's type from its values)."""
    if getattr(con, "name", None) == "duckdb":
        return _csv_dates_as_text(f)
    return {"inferSchema": False}


def _parquet_args(con, f: Path) -> tuple[str | list[str], dict]:
    """``read_parquet``'s path and options for a file or parts folder
    (:func:`~aftercar.derive.omop.checks.parquet_parts`): a Hive-partitioned folder is read
    whole, its partition columns added (DuckDB: the parts listed, ``hive_partitioning``;
    Spark discovers them in the folder, skipping the same)."""
    if not f.is_dir():
        return str(f), {}
    parts = parquet_parts(f)
    if all(p.parent == f for p in parts):
        return str(f / "*.parquet"), {}
    _partition_conflicts(f, parts)
    if getattr(con, "name", None) == "duckdb":
        return [str(p) for p in parts], {"hive_partitioning": True}
    return str(f), {}


def _partition_conflicts(folder: Path, parts: list[Path]) -> None:
    """Stop when a Hive partition folder (``person_id=2/``) names another value than the
    column of that name inside its files: the folder's value would win (DuckDB and Spark),
    and the rows of person 1 be read as person 2's without a word (fuzzing, 2026-12-07).
    Checked only when the files hold the partition column, which Spark's writers leave
    out."""
    keys = [k.split("=", 1)[0] for k in parts[0].relative_to(folder).parts[:-1]]
    inner = [k for k in keys if k in pq.read_schema(parts[0]).names]
    if not inner:
        return
    cols = ", ".join('min("' + k + '"), max("' + k + '")' for k in inner)
    sql = (f"SELECT filename, {cols} FROM read_parquet(?, filename = true, hive_partitioning "
           "= false) GROUP BY filename")  # fmt: skip
    with scratch("1GB") as con:
        found = con.execute(sql, [[str(p) for p in parts]]).fetchall()
    for name, *ends in found:
        named = dict(x.split("=", 1) for x in Path(name).relative_to(folder).parts[:-1])
        bad = [(k, v) for i, k in enumerate(inner) for v in ends[2 * i : 2 * i + 2]
               if not _same_value(named[k], v)]  # fmt: skip
        if bad:
            k, v = bad[0]
            raise CohortError([Problem(name, None, k, str(v), f"the file's {k} is not the one "
                                       f"its partition folder names ({k}={named[k]})",
                                       "write each row in the folder of its own value (or "
                                       "leave the partition column out of the files, as Spark "
                                       "does)")],
                              f"{folder}: partition folders and rows disagree")  # fmt: skip


def _same_value(folder: str, value) -> bool:
    """Whether a Hive folder's text (URL-encoded; ``__HIVE_DEFAULT_PARTITION__`` = null)
    names ``value`` of the file: as a number when it is one (``01`` is 1, ``1.0`` is 1), else
    as its text (a date ``2020-01-01``)."""
    text = unquote(folder)
    if text == "__HIVE_DEFAULT_PARTITION__":
        return value is None
    if value is None or isinstance(value, bool):
        return str(value).lower() == text.lower()
    if isinstance(value, int | float):
        try:
            return float(text) == float(value)
        except ValueError:
            return False
    return str(value) == text or str(value).replace(" ", "T") == text.replace(" ", "T")


def _read_csv(con, name: str, f: Path) -> ibis.Table:
    """The CSV table file ``f`` on ``con``; a file the engine cannot read (DuckDB stops on
    a row with more fields than the header while it binds the date columns) is named with
    its first ragged line, else with the engine's first line of error."""
    twice = _repeated_headers(f)
    if twice:
        raise CohortError([Problem(str(f), 1, twice[0], None,
                                   f"the header names {twice[0]} {twice[1]} times",
                                   "keep one column of that name (rename or remove the "
                                   "others)")], f"{f}: a column named twice")  # fmt: skip
    try:
        return con.read_csv(str(f), table_name=f"omop_{name}", **_csv_options(con, f))
    except Exception as exc:  # each engine has its own error types for a malformed file
        raise CohortError([_csv_problem(f, exc)], f"{f}: the CSV file cannot be read") from None


def _repeated_headers(f: Path) -> tuple[str, int] | None:
    """A header name of the CSV file ``f`` given more than once, in any case, and how often
    (the engines rename the second ``person_id`` "person_id_1", and the first was read
    without a word: fuzzing, 2026-12-07)."""
    with open_csv(f, "rt", newline="", encoding="utf-8-sig", errors="replace") as fh:
        first = fh.readline()
    names = [n.strip().lower() for n in next(csv.reader([first], _dialect(first) or csv.excel),
                                             [])]  # fmt: skip
    twice = [n for n in dict.fromkeys(names) if n and names.count(n) > 1]
    return (twice[0], names.count(twice[0])) if twice else None


def _csv_problem(f: Path, exc: Exception) -> Problem:
    try:
        ragged = _ragged_line(f)
    except csv.Error as quote:  # a quote inside a quoted value, not doubled, or unclosed
        return _quote_problem(f, exc, quote)
    if ragged is not None:
        line, n, width = ragged
        return Problem(str(f), line, None, None,
                       f"{n} fields where the header has {width} (line {line} of the file)",
                       "quote the values that hold the delimiter, or remove the extra or "
                       "missing fields of that line", rule="ragged_row")  # fmt: skip
    return _engine_csv_problem(f, exc)


def _quote_problem(f: Path, exc: Exception, quote: csv.Error) -> Problem:
    """The problem of a quotation mark the CSV reader stopped at (:func:`_ragged_line`'s
    error: message, line, that line's text, the first line of the record read). A record
    that began on an earlier line ran on from a quoted value that was not closed there: the
    record's first line is named, with the line where the reader stopped (until 2026-12-07
    only the latter, one or more lines after the unclosed quote, or the engine's text when
    the quote ran to the end of the file)."""
    message, line, text, start = quote.args
    fix = ('close the quoted value on its line, and double a quotation mark inside a quoted '
           'value ("" for "), or export the text with escaped quotes')
    if "unexpected end of data" in message:
        return Problem(str(f), start, None, _line_text(f, start)[:200],
                       f"a quoted value opened on line {start} is not closed before the end "
                       "of the file", fix, rule="ragged_row")  # fmt: skip
    if "expected after" not in message:  # another fault: the engine's word
        return _engine_csv_problem(f, exc)
    if start < line:
        return Problem(str(f), start, None, _line_text(f, start)[:200],
                       f"a quoted value opened on line {start} is not closed on that line, "
                       f"or a quotation mark inside a quoted value (the record runs from line "
                       f"{start} to line {line} of the file)", fix, rule="ragged_row")  # fmt: skip
    return Problem(str(f), line, None, text[:200],
                   f"a quotation mark inside a quoted value, or other characters after "
                   f"a quoted value (line {line} of the file)", fix, rule="ragged_row")


def _engine_csv_problem(f: Path, exc: Exception) -> Problem:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return Problem(str(f), None, None, None, f"the file cannot be read as CSV ({first})",
                   "save it as comma-separated UTF-8 text with the OMOP CDM columns as its "
                   "header row", rule="unreadable_file")  # fmt: skip


def _ragged_line(f: Path) -> tuple[int, int, int] | None:
    """``(line, fields, header fields)`` of the first non-blank line of ``f`` whose number
    of fields differs from the header's; ``None`` when every line has the header's.

    Raises
    ------
    csv.Error
        With ``args`` (message, line, the line's text, the first line of the record being
        read): a quotation mark inside a quoted value that is not doubled (fuzzing round 5,
        H05: DuckDB's message named columns that the file has), or a quoted value not
        closed (the record then runs on over the next lines, or to the end of the file).
    """
    with open_csv(f, "rt", newline="", encoding="utf-8-sig", errors="replace") as fh:
        first = fh.readline()
        dialect = _dialect(first) or csv.excel
        width = len(next(csv.reader([first], dialect), []))
        reader = csv.reader(fh, dialect, strict=True, doublequote=True)  # RFC 4180
        start = 2  # the first line of the record being read (the header is line 1)
        try:
            for row in reader:
                if row and len(row) != width:
                    return start, len(row), width
                start = reader.line_num + 2  # + the header line, + 1: the next line
        except csv.Error as exc:
            bad = reader.line_num + 1
            raise csv.Error(str(exc), bad, _line_text(f, bad), start) from None
    return None


def _line_text(f: Path, number: int) -> str:
    """Line ``number`` of ``f`` as written (1 = the header)."""
    with open_csv(f, "rt", newline="", encoding="utf-8-sig", errors="replace") as fh:
        for i, text in enumerate(fh, start=1):
            if i == number:
                return text.rstrip("\r\n")
    return ""


def _unreadable(bad: list[Problem]) -> str:
    """What the files of ``bad`` (:func:`utf8_problem`'s problems) are: a ``.csv.gz`` cut
    short is no text at all (until 2026-12-07 it was counted as "not UTF-8 text")."""
    cut = sum(p.rule == "unreadable_file" for p in bad)
    if not cut:
        return "not UTF-8 text"
    return "that cannot be decompressed" if cut == len(bad) else (
        "that cannot be decompressed or are not UTF-8 text")


def _from_folder(con, folder: Path, text: bool) -> tuple[dict[str, ibis.Table], dict[str, Path]]:
    """The tables of a folder; ``text``: first check that every CSV file is UTF-8 (DuckDB's
    own error can quote the line before the culprit; Spark reads the bytes as U+FFFD)."""
    files = {n: f for n in (*REQUIRED, *OPTIONAL) if (f := _file_of(folder, n)) is not None}
    empty = [p for n, f in files.items() if (p := _empty_file(f, n)) is not None]
    if empty:
        raise CohortError(empty, f"{folder}: {len(empty)} empty OMOP table file(s)")
    if text:
        bad = [p for f in files.values() if is_csv_file(f) and (p := utf8_problem(f, str(f)))]
        if bad:
            raise CohortError(bad, f"{folder}: {len(bad)} OMOP table file(s) {_unreadable(bad)}")
    out = {}
    for name, f in files.items():
        if is_csv_file(f):
            out[name] = _read_csv(con, name, f)
        else:
            path, options = _parquet_args(con, f)
            out[name] = con.read_parquet(path, table_name=f"omop_{name}", **options)
    return out, files


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


def table_names(con, database: str) -> dict[str, str]:
    """``{lower-case name: name}`` of the tables of ``database``: OMOP names are lower case,
    DuckDB's are case-insensitive and some DDLs (the OHDSI one) write them in upper case."""
    return {t.lower(): t for t in sorted(list_tables(con, database))}


def _from_database(con, database: str) -> dict[str, ibis.Table]:
    have = table_names(con, database)
    return {name: con.table(have[name], database=database)
            for name in (*REQUIRED, *OPTIONAL) if name in have}  # fmt: skip


def _attach(con, path: Path, schema: str | None) -> dict[str, ibis.Table]:
    attach = getattr(con, "attach", None)
    if attach is None:
        raise CohortError([Problem(str(path), None, None, None,
                                   "this engine cannot open a DuckDB database file",
                                   "use --engine duckdb, or export the tables to Parquet")],
                          f"{path}: a DuckDB file needs --engine duckdb")  # fmt: skip
    attach(str(path), name=_ALIAS, read_only=True)
    tables = _from_database(con, f"{_ALIAS}.{schema or 'main'}")
    missing = [n for n in REQUIRED if n not in tables]
    if missing:
        _other_schemas(con, path, schema or "main", missing)
    return tables


def _other_schemas(con, path: Path, schema: str, missing: list[str]) -> None:
    """Stop naming the schemas of the DuckDB file that hold the OMOP tables missing from the
    one read (``main`` without ``--schema``): the fix is ``--schema``, or one schema for all
    (``person`` in ``main`` and the others in ``cdm`` gave six "table missing" errors without
    a word of ``cdm``: fuzzing, 2026-12-07)."""
    names = ", ".join(f"'{n}'" for n in missing)
    res = con.raw_sql("SELECT table_schema, lower(table_name) FROM information_schema.tables "
                      f"WHERE table_catalog = '{_ALIAS}' AND lower(table_name) IN ({names}) "
                      "ORDER BY 1, 2")  # fmt: skip
    held: dict[str, list[str]] = {}
    for other, name in res.fetchall():
        if other != schema:
            held.setdefault(other, []).append(name)
    if not held:
        return
    with_person = [o for o, n in held.items() if "person" in n]
    if "person" in missing and with_person:
        raise CohortError([Problem(str(path), None, None, schema,
                                   f"no OMOP person table in the schema '{schema}'; the "
                                   f"schema(s) {', '.join(with_person)} hold one",
                                   f"add --schema {with_person[0]}")],
                          f"{path}: the OMOP tables are in another schema")  # fmt: skip
    if "person" in missing:
        return  # no schema has a person table: each missing table is named by the checks
    where = "; ".join(f"{', '.join(n)} in '{o}'" for o, n in held.items())
    raise CohortError([Problem(str(path), None, None, schema,
                               f"the OMOP tables are split between schemas: person in "
                               f"'{schema}', {where}",
                               "put every OMOP table in one schema (aftercar reads one), then "
                               "give it with --schema")],
                      f"{path}: the OMOP tables are in several schemas")  # fmt: skip


def close_source(con, source: str | Path) -> None:
    """Detach a DuckDB file source (so that EPISODE rows can then be written into it)."""
    if Path(source).is_file() and hasattr(con, "attach"):
        con.raw_sql(f"DETACH {_ALIAS}")


def open_source(con, source: str | Path, schema: str | None = None, *, checked: bool = False,
                scope: Scope | None = None) -> dict[str, ibis.Table]:  # fmt: skip
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
    checked
        The values of these very files were checked before (a resumed batched run,
        :mod:`aftercar.derive.omop.parts`): only the tables and columns are checked, not
        every row again (:func:`check_rows` and the value checks of :func:`check_tables`:
        18 minutes at 1,000,000 persons on Spark local).
    scope
        Given the typed tables, the ``person_id`` of the persons whose rows aftercar reads
        (the derivation's: those with a myeloma condition); the row checks then cover
        their rows only (:func:`check_rows`). Default: every row.

    Raises
    ------
    CohortError
        Source not found, or a table / column aftercar reads is missing.
    """
    path = Path(source)
    files: dict[str, Path] = {}
    if getattr(con, "name", None) == "duckdb":  # a zone-aware timestamp's date: in UTC, as
        con.raw_sql("SET TimeZone = 'UTC'")  # on Spark, whatever the machine's zone
    if path.is_dir():
        if schema is not None:  # a folder has no schemas: the option would be ignored
            raise CohortError([Problem(str(path), None, None, schema,
                                       "--schema applies to a DuckDB database file (or a Spark "
                                       "catalog), not to a folder of table files",
                                       "leave out --schema, or give the database file")],
                              f"{path}: --schema with a folder")  # fmt: skip
        (tables, files), where = _from_folder(con, path, not checked), str(path)
    elif path.is_file():
        _duckdb_file(path)
        tables, where = _attach(con, path, schema), str(path)
    elif hasattr(con, "list_tables") and _SCHEMA.fullmatch(str(source)):
        tables, where = _schema_tables(con, str(source)), str(source)
        if not tables:  # neither a file, nor a folder, nor a schema with an OMOP table
            _not_found(source, "no such file or folder, and no schema of that name")
    else:
        _not_found(source, "no such file or folder")
    check_tables(tables, where, files, values=not checked)
    if not checked:
        labels = _labels(tables, files, where)
        try:  # the scope stops on an undated myeloma condition, named by its table
            persons = None if scope is None else scope(tables)
        except CohortError as err:
            named_by_file(err, labels)
            raise
        check_rows(tables, labels, persons)
    return tables


def _labels(tables: dict, files: dict[str, Path], where: str) -> dict[str, str]:
    """How a problem names each table: its file in a folder, else ``SOURCE/table``."""
    return {n: str(files[n]) if n in files else f"{where}/{n}" for n in tables}


def table_labels(source: str | Path, tables: dict) -> dict[str, str]:
    """How problems name the tables of the opened ``source`` (:func:`open_source`): a
    folder's table by its file (``omop/measurement.csv``), a DuckDB file's or a schema's as
    ``SOURCE/measurement``."""
    path = Path(source)
    files = {n: f for n in tables if (f := _file_of(path, n)) is not None} \
        if path.is_dir() else {}  # fmt: skip
    return _labels(tables, files, str(path) if path.exists() else str(source))


def named_by_file(err: CohortError, labels: dict[str, str]) -> CohortError:
    """``err``, its problems that name a table by its bare name (``measurement``, as the
    derivation's checks of mapped rows do: they see tables, not files) now naming the
    table's file (:func:`table_labels`; changed in place, so that the caller re-raises the
    same error with its traceback); until 2026-12-07 the lab value, age and undated
    condition errors of ``derive --omop`` named the table, not the file (note34)."""
    err.problems = tuple(replace(p, file=labels[p.file]) if p.file in labels else p
                         for p in err.problems)  # fmt: skip
    return err


#: A catalog schema (``cdm``, ``main.cdm``), not a path: a path is never listed as one.
_SCHEMA = re.compile(r"[A-Za-z_][\w$]*(\.[A-Za-z_][\w$]*)?")


def _schema_tables(con, name: str) -> dict[str, ibis.Table]:
    """The OMOP tables of the catalog schema ``name``; none when the engine cannot list it
    (Spark: SCHEMA_NOT_FOUND; DuckDB: no such catalog)."""
    try:
        return _from_database(con, name)
    except Exception:  # each engine has its own error for a schema that is not there
        return {}


def _duckdb_file(path: Path) -> None:
    """Stop unless ``path`` is a DuckDB database file (its header says ``DUCK``): a single
    table file (``person.parquet``) or another database (SQLite) given as SOURCE."""
    with path.open("rb") as f:
        head = f.read(12)
    if head[8:12] == b"DUCK":
        return
    raise CohortError([Problem(str(path), None, None, None, "not a DuckDB database file",
                               "give the folder that holds the table files (person.parquet, "
                               "drug_exposure.csv ...), or a DuckDB database file")],
                      f"{path}: not an OMOP source")  # fmt: skip


def _not_found(source: str | Path, what: str) -> None:
    raise CohortError([Problem(str(source), None, None, None, what,
                               "give a DuckDB file or a folder of Parquet/CSV tables (or, on "
                               "Spark, a schema holding them)")],
                      f"{source}: OMOP source not found")  # fmt: skip


__all__ = ["OPTIONAL", "PRIMARY_IDS", "REQUIRED", "Scope", "check_rows", "check_tables",
           "close_source", "list_tables", "named_by_file", "open_source", "table_labels",
           "table_names"]  # fmt: skip
