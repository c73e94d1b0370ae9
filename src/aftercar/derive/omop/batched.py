"""Derive an OMOP instance in batches of persons, the outputs streamed to disk (issue 13 item 6).

:func:`aftercar.derive.omop.derive_omop` holds every output as Arrow: at 1,000,000
persons (~400 million OMOP rows) the audit and the attrition alone are hundreds of
millions of rows. :func:`derive_omop_batched` bounds the memory whatever the size:

1. the distinct ``person_id`` of the persons with a myeloma condition (the only ones a
   batch derives), sorted, are cut every ``batch_persons``; the batches' ``person_id``
   ranges tile those of ``person``, so that every person is counted in one batch (a
   person without myeloma is only counted: an instance of 1,000,000 persons, 2,000 of
   them with myeloma, is one batch, not 40; :func:`cohort_batches`);
2. for each batch, every OMOP table with a ``person_id`` is filtered to the batch's
   ``person_id`` range (an Ibis filter: DuckDB skips the Parquet row groups outside
   it when the files are sorted by ``person_id``), and the batch is derived as one
   instance would be (:func:`aftercar.derive.omop.derive.derive_tables`: the concept
   mapping and :func:`aftercar.derive.raw.derive_raw`, unchanged); its outputs are
   appended to one temporary Parquet file per output and dropped (with ``resume``:
   written to a folder of the batch's own, marked done when complete, and read back
   instead of derived again by a run of the same options; :mod:`aftercar.derive.omop.parts`);
3. each output file is then written from its temporary file in the order of a
   one-batch run: ``patients`` by ``person_id`` (as a number), ``lines`` and the line
   audit by person and line, the assessments by person, line and date, as each batch
   wrote them (the batches are ascending ``person_id`` ranges, so their rows are in
   order as appended, :func:`aftercar.derive.raw.audit.ordered`: no sort); the
   attrition by table and row, the cohort's exclusions first (sorted by DuckDB, on
   disk beyond :data:`ENGINE_MEMORY`; the batches of a run of several leave theirs
   unsorted); the cohort attrition steps (``audit/omop_cohort``) are summed over the
   batches; EPISODE ids are numbered over the whole cohort, as one run numbers them
   (EPISODE_EVENT, in that order batch after batch, is read in order with each batch's
   ids shifted: :func:`_line_offsets`).

Every person's records are in the batch of that person, and the derivation is per
person, so the rows are those of a one-batch run (``tests/derive_omop/test_batched.py``).
Only the order of ``audit/events``, which no run defines, is the batches' order.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from aftercar import __version__
from aftercar.backends.duckdb import arrow_reader
from aftercar.backends.duckdb import engine as duckdb_engine
from aftercar.derive.omop.cohort import myeloma_persons, myeloma_scope, orphan_rows
from aftercar.derive.omop.concepts import Concepts, load_concepts
from aftercar.derive.omop.derive import (
    OmopDerivation,
    cohort_steps,
    derive_mapped,
    derive_tables,
    empty_cohort,
    map_tables,
)
from aftercar.derive.omop.episodes import EPISODE_SCHEMA, EVENT_SCHEMA
from aftercar.derive.omop.mapping import resolve_concepts
from aftercar.derive.omop.parts import (
    RESUME_FOLDER,
    BatchStore,
    Held,
    Parts,
    checked_before,
    concepts_digest,
    hold,
    mark_checked,
    source_state,
)
from aftercar.derive.omop.source import close_source, open_source
from aftercar.derive.omop.write import check_episode_target, episode_tables, synthetic_marker
from aftercar.derive.raw.rules import Rules, load_rules
from aftercar.derive.raw.write import writing
from aftercar.errors import InputError
from aftercar.io import cohort_arrow, neutralise_table, write_cohort
from aftercar.io.csv_out import append_csv, write_csv

#: Persons per batch by default (``aftercar derive --omop --batch-persons``). Peak memory
#: follows the batch: 1.69 / 2.68 / 3.72 / 7.73 GiB for 5,000 / 10,000 / 20,000 / 50,000
#: simulated persons in one batch (``benchmarks/bench_omop.py``, 2026-12-02), so 25,000
#: kept a batch near 4.5 GiB, well within 8 GiB; since, batches of 50,000 peak at 6.0 GiB
#: with an engine of 4000MB (1,000,000 persons, 2026-12-05).
DEFAULT_BATCH_PERSONS = 25_000
#: Memory each in-process DuckDB of the batched run may hold before it spills to disk.
#: 4000MB (2500MB until 2026-12-05): a batch of 50,000 simulated persons 2.6-6% faster
#: (less spilling), peak 5.6 GiB at 100,000 and 6.0 GiB at 1,000,000 persons (docs/omop.md).
ENGINE_MEMORY = "4000MB"
_ROWS = 1 << 17  # rows per record batch when streaming a file out
_PART = "_part"  # attrition: 0 = the cohort's exclusions, 1 = the derivation's rows
_BATCH = "_batch"  # episodes: the batch whose local episode ids a row carries
#: Output (path under OUT without extension) -> the sort keys of a one-batch run, for the
#: outputs whose batches' rows are not already in that order when appended (the outputs
#: ordered by person are: module docstring, step 3).
SORT_KEYS: dict[str, tuple[str, ...]] = {
    "audit/attrition": (_PART, "table", "row"),
}


@dataclass
class BatchedRun:
    """What :func:`derive_omop_batched` wrote.

    Attributes
    ----------
    steps
        ``step, persons``: the cohort attrition, summed over the batches.
    patients, lines, unused
        Rows written to ``patients``, ``lines`` and ``audit/attrition``.
    orphans
        Rows of no person (``person_id`` empty or not in ``person``) among ``unused``.
    batches
        Number of person batches.
    written
        The files written.
    """

    steps: pa.Table
    patients: int = 0
    lines: int = 0
    unused: int = 0
    batches: int = 0
    written: list[Path] = field(default_factory=list)
    orphans: int = 0


def person_batches(person: ibis.Table, batch_persons: int) -> list[tuple[int, int] | None]:
    """``[(first, last person_id)]`` of each batch; ``[None]``: one batch, no filter.

    Cuts on every person; the batched run cuts on the persons with myeloma instead
    (:func:`cohort_batches`, since 2026-12-04). Kept for callers of the earlier API.

    Parameters
    ----------
    person
        The OMOP ``person`` table.
    batch_persons
        Persons per batch; ``0`` (or at least the number of persons) = one batch.
    """
    if batch_persons <= 0:
        return [None]
    pid = person.person_id.cast("int64")
    ids = person.filter(pid.notnull()).select(_pid=pid).distinct().order_by("_pid")
    arr = ids.to_pyarrow()["_pid"].to_numpy()
    if len(arr) <= batch_persons:
        return [None]
    firsts = arr[::batch_persons]
    lasts = arr[batch_persons - 1 :: batch_persons]
    if len(lasts) < len(firsts):
        lasts = np.append(lasts, arr[-1])
    return [(int(a), int(b)) for a, b in zip(firsts, lasts, strict=True)]


def cohort_batches(con, tables: dict[str, ibis.Table], concepts: Concepts,
                   batch_persons: int) -> list[tuple[int, int] | None]:  # fmt: skip
    """``[(first, last person_id)]`` of each batch, ``batch_persons`` persons with a myeloma
    condition in each (the last: the rest); ``[None]``: one batch, no filter.

    The ranges tile ``person``'s ids from the smallest to the largest, so that each person
    (with or without myeloma) is read and counted in exactly one batch, while only persons
    with myeloma (:func:`aftercar.derive.omop.cohort.myeloma_persons`; those without are only
    counted) fill a batch.
    """
    if batch_persons <= 0:
        return [None]
    person = tables["person"]
    dx = myeloma_persons(con, tables, concepts)
    ids = dx.select(_pid=dx.person_id.cast("int64")).distinct().order_by("_pid")
    arr = ids.to_pyarrow()["_pid"].to_numpy()
    if len(arr) <= batch_persons:
        return [None]
    pid = person.person_id.cast("int64")
    span = person.aggregate(lo=pid.min(), hi=pid.max()).to_pyarrow().to_pylist()[0]
    return tiles(arr, int(span["lo"]), int(span["hi"]), batch_persons)


def tiles(ids: np.ndarray, lo: int, hi: int, batch_persons: int) -> list[tuple[int, int]]:
    """Ranges ``[(first, last)]`` that tile ``lo..hi``, each ending at every
    ``batch_persons``-th (>= 1) of the sorted ``ids`` (the last at ``hi``)."""
    ends = [int(e) for e in ids[batch_persons - 1 : -1 : batch_persons]] + [hi]
    return list(zip([lo] + [e + 1 for e in ends[:-1]], ends, strict=True))


def restrict(tables: dict[str, ibis.Table], first: int, last: int) -> dict[str, ibis.Table]:
    """Every table with a ``person_id`` filtered to ``first <= person_id <= last``."""
    return {name: t.filter(t.person_id.between(first, last)) if "person_id" in t.columns else t
            for name, t in tables.items()}  # fmt: skip


def batch_tables(con, tables: dict[str, ibis.Table], first: int,
                 last: int) -> dict[str, ibis.Table]:  # fmt: skip
    """:func:`restrict` as DuckDB views of fixed names (``_batch_<table>``), re-created for
    each batch: every batch's expressions are then the same, and are compiled once
    (:func:`aftercar.backends.duckdb.cache_compiled`); the bounds stay literals of the
    views' SQL, where DuckDB skips the row groups outside them. Other engines: the
    filtered tables."""
    kept = restrict(tables, first, last)
    if con.name != "duckdb":
        return kept
    out = {}
    for name, t in kept.items():
        if t is tables[name]:  # no person_id: read whole
            out[name] = t
            continue
        con.create_view(_batch_view(name), t, overwrite=True)
        out[name] = con.table(_batch_view(name))
    return out


def _batch_view(name: str) -> str:
    return f"_batch_{name}"


def _drop_batch_views(con, tables: dict[str, ibis.Table]) -> None:
    """Drop the views of :func:`batch_tables` (before a DuckDB file source is detached)."""
    if con.name == "duckdb":
        for name in tables:
            con.drop_view(_batch_view(name), force=True)


def engine(spill: Path):
    """An in-process DuckDB that spills to ``spill`` above :data:`ENGINE_MEMORY`."""
    return duckdb_engine(ENGINE_MEMORY, spill)


def _with(table: pa.Table, name: str, value: int, n_first: int | None = None) -> pa.Table:
    """``table`` + an int32 column ``name`` = ``value`` (the first ``n_first`` rows: 0)."""
    col = np.full(table.num_rows, value, dtype=np.int32)
    if n_first is not None:
        col[:n_first] = 0
    return table.append_column(name, pa.array(col))


def _append(parts: Parts, d: OmopDerivation, batch: int, episodes: bool) -> None:
    r = d.result
    parts.write("patients", cohort_arrow(r.patients, "patients"))
    parts.write("lines", cohort_arrow(r.lines, "lines"))
    for name, table in r.audit.items():
        parts.write(f"audit/{name}", table)
    parts.write("audit/attrition", _with(r.attrition, _PART, 1, d.n_excluded))
    if episodes:  # built while the outputs above are written
        episode, event = episode_tables(d)
        parts.write("episode", _with(episode, _BATCH, batch))
        parts.write("episode_event", _with(event, _BATCH, batch))
    parts.flush()  # written before the next batch: its engine needs the memory


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _path(p: Path | list[Path]) -> str:
    """A path (or a list of paths) as a DuckDB SQL literal."""
    if isinstance(p, list):
        return "[" + ", ".join(map(_path, p)) + "]"
    return "'" + str(p).replace("'", "''") + "'"


def _final_as_is(part: list[Path]) -> bool:
    """Whether the temporary Parquet ``part`` (one file) already is its output file: no
    internal column and no schema metadata (``_stream`` would copy it unchanged)."""
    schema = pq.read_schema(part[0])
    return len(part) == 1 and _PART not in schema.names and not schema.metadata


def _kept(part: list[Path]) -> pa.Schema:
    """The schema of ``part`` (its first file) without the internal columns and metadata."""
    return pa.schema([f for f in pq.read_schema(part[0]) if f.name != _PART]).remove_metadata()


def _sorted_sql(part: list[Path], keep: pa.Schema, keys: tuple[str, ...] | None,
                nullable: bool = False) -> str:  # fmt: skip
    """The rows of ``part`` sorted by ``keys`` (``None``: as stored, file after file, on a
    connection that preserves the insertion order, as :func:`_finish`'s does)."""
    cols = map(_nullable if nullable else _q, keep.names)
    order = "" if keys is None else f" ORDER BY {', '.join(map(_q, keys))}"
    return f"SELECT {', '.join(cols)} FROM read_parquet({_path(part)}){order}"


def _nullable(name: str, source: str | None = None) -> str:
    """``source`` (default: the column ``name``) as a column DuckDB writes as nullable.

    DuckDB (2.0) writes a Parquet column without nulls as REQUIRED (``not null``): the
    schema of a file would then depend on its data, and differ from the one-run files
    (pyarrow: always nullable). A ``CASE`` that can give NULL keeps it optional.
    """
    src = source or _q(name)
    return f"CASE WHEN {src} IS NULL THEN NULL ELSE {src} END AS {_q(name)}"


def _stream(con, part: list[Path], keys: tuple[str, ...] | None
            ) -> tuple[pa.Schema, Iterator[pa.Table]]:  # fmt: skip
    """The rows of the files ``part`` without the internal columns: as stored (file after
    file), or sorted by ``keys``."""
    keep = _kept(part)

    def rows() -> Iterator[pa.Table]:
        if keys is None:
            for file in part:
                for b in pq.ParquetFile(file).iter_batches(_ROWS, columns=keep.names):
                    yield pa.Table.from_batches([b]).cast(keep)
            return
        yield from _sql_rows(con, _sorted_sql(part, keep, keys), keep)

    return keep, rows()


def _copy_parquet(con, sql: str, path: Path, schema: pa.Schema) -> int | None:
    """Write the result of ``sql`` to the Parquet file ``path`` with DuckDB's own (parallel)
    writer; the number of rows, or ``None`` (nothing written) when the file would not have
    exactly ``schema`` (the caller then writes it through Arrow)."""
    if con.name != "duckdb":
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    n = con.con.execute(f"COPY ({sql}) TO {_path(path)} (FORMAT parquet)").fetchone()[0]
    if pq.read_schema(path).remove_metadata().equals(schema):
        return int(n)
    path.unlink()
    return None


class _Sink:
    """One output file (CSV as ``write_derivation`` writes it, or Parquet), appended to."""

    def __init__(self, path: Path, schema: pa.Schema, fmt: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.csv, self.rows = path, fmt != "parquet", 0
        empty = schema.empty_table()
        self.writer = pacsv.CSVWriter(path, neutralise_table(empty).schema) if self.csv \
            else pq.ParquetWriter(path, schema)  # fmt: skip
        self.write(empty)

    def write(self, table: pa.Table) -> None:
        if self.csv:
            append_csv(self.writer, neutralise_table(table))
        else:
            self.writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> Path:
        self.writer.close()
        return self.path


def _copy(con, part: list[Path], path: Path, fmt: str, keys, keep: bool = False) -> int:
    """Write output file ``path`` from its temporary files ``part`` (``keep``: they belong
    to batches a resumed run may read again, so they are copied, never moved)."""
    if keys is None and fmt == "parquet" and _final_as_is(part):
        path.parent.mkdir(parents=True, exist_ok=True)
        # the 22 M event rows per 100,000 persons: not re-encoded
        (shutil.copyfile if keep else shutil.move)(part[0], path)
        return pq.ParquetFile(path).metadata.num_rows
    if fmt == "parquet":  # sorted on disk, or read in order, and written by DuckDB
        keep = _kept(part)
        n = _copy_parquet(con, _sorted_sql(part, keep, keys, nullable=True), path, keep)
        if n is not None:
            return n
    schema, rows = _stream(con, part, keys)
    sink = _Sink(path, schema, fmt)
    try:
        for t in rows:
            sink.write(t)
    finally:
        sink.close()
    return sink.rows


def _sql_rows(con, sql: str, schema: pa.Schema) -> Iterator[pa.Table]:
    """The result of ``sql`` on the DuckDB behind ``con``, streamed (record batches)."""
    for b in arrow_reader(con.con.sql(sql), _ROWS):
        yield pa.Table.from_batches([b]).cast(schema)


def _number_episodes(con, part: list[Path], first: int) -> None:
    """``_episode_ids``: (batch, local id) -> the id a one-batch run gives, from ``first``.

    A one-batch run numbers the disease episodes by ``person_id``, then the line
    episodes by person and line number.
    """
    con.raw_sql(
        f"CREATE OR REPLACE TEMP TABLE _episode_ids AS SELECT {_BATCH}, episode_id AS _local, "
        f"CAST({first - 1} + row_number() OVER (ORDER BY episode_parent_id IS NOT NULL, "
        "person_id, episode_number) AS BIGINT) AS _global, "
        "episode_parent_id IS NOT NULL AS _line "
        f"FROM read_parquet({_path(part)})"
    )


def _line_offsets(con) -> dict[int, int] | None:
    """``{batch: global - local id}`` of the line episodes when that difference is the same
    for every line of a batch and each batch's global ids come after the batch before's
    (``None`` otherwise: the whole EPISODE_EVENT file is then joined to the ids and sorted).

    Both hold by construction: a batch numbers its lines from one id on, in ``person_id``
    and line order, as the whole run numbers them, and the batches are ascending
    ``person_id`` ranges, read in batch order. Each batch's EPISODE_EVENT rows, sorted by
    local episode id and event, are then in the order of the global ids as they are: the
    files are read in order, the ids shifted, instead of joined to the ids and sorted
    (208 million rows at 1,000,000 persons). Checked on the episode ids, not the events."""
    rows = con.con.execute(
        f"SELECT {_BATCH}, min(_global - _local), max(_global - _local), min(_global), "
        f"max(_global) FROM _episode_ids WHERE _line GROUP BY {_BATCH} ORDER BY {_BATCH}"
    ).fetchall()  # fmt: skip
    if any(lo != hi for _b, lo, hi, _first, _last in rows):
        return None
    if any(a[4] >= b[3] for a, b in itertools.pairwise(rows)):
        return None
    return {int(b): int(lo) for b, lo, _hi, _first, _last in rows}


def _shifted_events(part: list[Path], offsets: dict[int, int]) -> str:
    """EPISODE_EVENT with the global ids (:func:`_line_offsets`), in the order stored."""
    cases = " ".join(f"WHEN {b} THEN {o}" for b, o in sorted(offsets.items()))
    missing = "error('EPISODE_EVENT rows of a batch without line episodes')"
    shift = f"CASE {_BATCH} {cases} ELSE {missing} END" if offsets else missing
    cols = ", ".join(_nullable(n, src) for n, src in (
        ("episode_id", f"CAST(episode_id + {shift} AS BIGINT)"), ("event_id", "event_id"),
        ("episode_event_field_concept_id", "episode_event_field_concept_id")))  # fmt: skip
    return f"SELECT {cols} FROM read_parquet({_path(part)})"


def _episode_sql(con, parts: dict[str, list[Path]]) -> dict[str, str]:
    """``episode`` / ``episode_event`` with the ids of ``_episode_ids``, in id order
    (``episode_event`` read in order, shifted, when :func:`_line_offsets` allows)."""
    new = {"episode_id": "m._global", "episode_parent_id": "p._global"}
    cols = ", ".join(_nullable(f.name, new.get(f.name, "e." + f.name)) for f in EPISODE_SCHEMA)
    on = "ON {a}." + _BATCH + " = {t}." + _BATCH + " AND {a}._local = {t}.{c}"
    episode = (f"SELECT {cols} FROM read_parquet({_path(parts['episode'])}) e "
               f"JOIN _episode_ids m {on.format(a='m', t='e', c='episode_id')} "
               f"LEFT JOIN _episode_ids p {on.format(a='p', t='e', c='episode_parent_id')}"
               " ORDER BY 1")  # fmt: skip
    ev_cols = ", ".join(_nullable(n, s) for n, s in (("episode_id", "m._global"),
                        ("event_id", "v.event_id"), ("episode_event_field_concept_id",
                                                     "v.episode_event_field_concept_id")))
    event = (f"SELECT {ev_cols} "
             f"FROM read_parquet({_path(parts['episode_event'])}) v "
             f"JOIN _episode_ids m {on.format(a='m', t='v', c='episode_id')} "
             "ORDER BY 1, 2")  # fmt: skip
    offsets = _line_offsets(con)
    if offsets is not None:
        event = _shifted_events(parts["episode_event"], offsets)
    return {"episode": episode, "episode_event": event}


def _write_episodes(con, parts: dict[str, list[Path]], output: Path, fmt: str) -> list[Path]:
    """``OUT/episodes/episode`` and ``episode_event`` (ids from 1, as one run writes them)."""
    _number_episodes(con, parts["episode"], 1)
    ext = "parquet" if fmt == "parquet" else "csv"
    written = []
    for name, sql in _episode_sql(con, parts).items():
        schema = EPISODE_SCHEMA if name == "episode" else EVENT_SCHEMA
        path = output / "episodes" / f"{name}.{ext}"
        if fmt == "parquet" and _copy_parquet(con, sql, path, schema) is not None:
            written.append(path)
            continue
        sink = _Sink(path, schema, fmt)
        try:
            for t in _sql_rows(con, sql, schema):
                sink.write(t)
        finally:
            written.append(sink.close())
    return written


def _episodes_into_duckdb(parts: dict[str, list[Path]], database: Path, schema: str | None,
                          concepts: Concepts, spill: Path) -> None:  # fmt: skip
    """Append the episodes to the ``episode`` tables of the DuckDB file ``database``."""
    from aftercar.backends import connect
    from aftercar.derive.omop.write import create_episode_tables, first_episode_id

    con = connect("duckdb", database=database)
    try:
        con.raw_sql(f"SET memory_limit = '{ENGINE_MEMORY}'")
        con.raw_sql(f"SET temp_directory = {_path(spill)}")
        con.raw_sql("SET preserve_insertion_order = true")  # EPISODE_EVENT read in order
        _number_episodes(con, parts["episode"], first_episode_id(con, database, schema,
                                                                 concepts))  # fmt: skip
        create_episode_tables(con, schema)
        for name, sql in _episode_sql(con, parts).items():
            con.raw_sql(f"INSERT INTO {_q(schema or 'main')}.{name} BY NAME {sql}")
    finally:
        con.disconnect()


def _write_outputs(con, parts: dict[str, list[Path]], output: Path, fmt: str, sort: bool,
                   keep: bool = False):  # fmt: skip
    """The cohort, ``audit/*`` and the attrition from their temporary files."""
    ext = "parquet" if fmt == "parquet" else "csv"
    written, rows = [], {}
    if fmt == "xlsx":  # one workbook, written whole (xlsx holds at most ~1 million rows)
        cohort = {}
        for name in ("patients", "lines"):
            _schema, batches = _stream(con, parts[name], SORT_KEYS.get(name) if sort else None)
            cohort[name] = pa.concat_tables(list(batches))
            rows[name] = cohort[name].num_rows
        written += write_cohort(cohort["patients"], cohort["lines"], output, format="xlsx")
    for name, part in parts.items():
        if name.startswith("episode") or (fmt == "xlsx" and name in ("patients", "lines")):
            continue
        path = output / f"{name}.{ext}"
        rows[name] = _copy(con, part, path, fmt, SORT_KEYS.get(name) if sort else None, keep)
        written.append(path)
    return written, rows


def _add_steps(total: pa.Table | None, steps: pa.Table) -> pa.Table:
    if total is None:
        return steps
    summed = np.add(total["persons"].to_numpy(), steps["persons"].to_numpy())
    return total.set_column(1, "persons", pa.array(summed, pa.int64()))


@dataclass(frozen=True)
class _Run:
    """The options of one batched run."""

    source: str | Path
    schema: str | None
    concepts: Concepts
    rules: Rules
    batch_persons: int
    episodes: bool
    progress: Callable[[str], None]
    resume: bool = False
    engine: str = "duckdb"  # the Ibis backend's name: the checks and the reading depend on it


def _one_batch(con, tables: dict[str, ibis.Table], o: _Run, parts: Parts, i: int,
               ordered: bool = True) -> pa.Table:  # fmt: skip
    """Derive one batch into ``parts``; return its cohort attrition steps (``ordered``: its
    attrition by table and row; not needed when the final pass sorts several batches').

    A batch none of whose persons enters the cohort (persons without myeloma, say)
    only lists the persons it leaves out: the raw derivation is not run on nobody.
    """
    o.progress("mapping OMOP concepts to drugs, procedures and labs")
    om = map_tables(con, tables, o.concepts, o.rules)
    if not om.raw["patients"].count().to_pyarrow().as_py():
        parts.write("audit/attrition", _with(om.excluded.to_pyarrow(), _PART, 0))
        return cohort_steps(om, 0)
    d = derive_mapped(con, om, o.concepts, o.rules, o.progress, ordered_attrition=ordered)
    _append(parts, d, i, o.episodes)
    return d.cohort_steps


def _store(o: _Run, work: Path, batches: list, source: dict | None) -> BatchStore:
    """The batches' temporary files (reused from a stopped run of the same options and
    ``source`` (:func:`_source_id`) when ``o.resume``). ``order``: how a batch orders its
    rows (by ``person_id`` as a number since 2026-12-04; the final pass relies on it), so
    that the batches of a run whose code ordered them as text are refused, not mixed in."""
    run = {**(source or {}), "batch_persons": o.batch_persons, "episodes": o.episodes,
           "batches": batches, "order": "person_id"}  # fmt: skip
    return BatchStore(work, run, o.rules, o.concepts, o.resume)


def _run_batches(o: _Run, con, tables, batches: list, store: BatchStore) -> pa.Table:
    """Derive each batch not already done; the cohort steps summed over all batches."""
    steps = None
    for i, bounds in enumerate(batches):
        where = "" if bounds is None else f" (person_id {bounds[0]} to {bounds[1]})"
        done = store.done(i)
        if done is not None:
            o.progress(f"batch {i + 1} of {len(batches)}{where}: derived before, kept")
            steps = _add_steps(steps, done)
            continue
        o.progress(f"batch {i + 1} of {len(batches)}{where}")
        batch = tables if bounds is None else batch_tables(con, tables, *bounds)
        one = _one_batch(con, batch, o, store.parts(i), i, ordered=len(batches) == 1)
        store.finish(i, one)
        steps = _add_steps(steps, one)
    return steps


def _source_id(o: _Run) -> dict:
    """What identifies the source of a resumable run: its files' state (``files``: ``None``
    for a catalog schema, which has no files), the schema and the engine."""
    src = Path(o.source)
    files = src.exists()
    return {"source": str(src.resolve()) if files else str(o.source),
            "files": source_state(src) if files else None, "schema": o.schema,
            "engine": o.engine}  # fmt: skip


def _open(o: _Run, con, work: Path, source: dict | None) -> dict[str, ibis.Table]:
    """The source's tables; a resumed run does not check the rows of files that the stopped
    run checked (:func:`aftercar.derive.omop.parts.checked_before`), and says so. ``source``:
    :func:`_source_id` of a resumable run (else ``None``); a catalog schema is always checked."""
    ident = None if source is None or source["files"] is None \
        else dict(source, aftercar=__version__, concepts=concepts_digest(o.concepts))  # fmt: skip
    if ident is not None and checked_before(work, ident):
        o.progress("the rows of these source files were checked by the stopped run: "
                   "not read again for the checks")  # fmt: skip
        return open_source(con, o.source, o.schema, checked=True)
    tables = open_source(con, o.source, o.schema, scope=myeloma_scope(con, o.concepts))
    if ident is not None:
        mark_checked(work, ident)
    return tables


def _derive_batches(o: _Run, con, work: Path) -> tuple[BatchedRun, dict[str, list[Path]]]:
    """Derive batch after batch into temporary files under ``work``."""
    source = _source_id(o) if o.resume else None  # the files' state, read once
    tables = _open(o, con, work, source)
    try:
        batches = cohort_batches(con, tables, o.concepts, o.batch_persons)
        store = _store(o, work, batches, source)
        # the instance's vocabulary (LOINC labs, myeloma conditions, ingredients): read once
        o = replace(o, concepts=resolve_concepts(con, tables, o.concepts, o.rules))
        try:
            steps = _run_batches(o, con, tables, batches, store)
            if not store.has("patients"):  # nobody in the cohort: one run, as derive_omop
                store.close()
                store, batches = BatchStore(work / "whole", {}, o.rules, o.concepts, False), [None]
                d = derive_tables(con, tables, o.concepts, o.rules, o.progress)
                _append(store.parts(0), d, 0, o.episodes)
                steps = d.cohort_steps
            orphans = orphan_rows(tables).to_pyarrow()  # rows no batch reads
            if orphans.num_rows:
                store.parts(len(batches)).write("audit/attrition", _with(orphans, _PART, 1))
        finally:
            files = store.close()
    finally:
        _drop_batch_views(con, tables)
        close_source(con, o.source)
    return BatchedRun(steps=steps, batches=len(batches), orphans=orphans.num_rows), files


def _finish(o: _Run, run: BatchedRun, parts: dict[str, list[Path]], output: Path, fmt: str,
            work: Path) -> None:  # fmt: skip
    """Write every output file from the temporary ones (those of :data:`SORT_KEYS` sorted
    when there were batches; the others are in order as appended)."""
    with writing(output):  # a half-written folder is marked as such until done
        con = engine(work / "spill")
        try:  # the files read as stored are read in order (DuckDB: file after file)
            con.raw_sql("SET preserve_insertion_order = true")
            sort = run.batches > 1 or run.orphans > 0  # the orphans: among the other rows
            written, rows = _write_outputs(con, parts, output, fmt, sort, o.resume)
            ext = "parquet" if fmt == "parquet" else "csv"
            steps_path = output / "audit" / f"omop_cohort.{ext}"
            if ext == "parquet":
                pq.write_table(run.steps, steps_path)
            else:
                write_csv(run.steps, steps_path)
            written += [steps_path, *synthetic_marker(o.source, output)]
            if o.episodes:
                src = Path(o.source)
                if src.is_file():
                    _episodes_into_duckdb(parts, src, o.schema, o.concepts, work / "spill")
                written += _write_episodes(con, parts, output, fmt)
        finally:
            con.disconnect()
    run.patients, run.lines = rows.get("patients", 0), rows.get("lines", 0)
    run.unused, run.written = rows.get("audit/attrition", 0), written


def _say_held(o: _Run, held: Held, work: Path) -> None:
    """Say what the lock of ``work`` told (:func:`aftercar.derive.omop.parts.hold`)."""
    if not held.locked:
        o.progress("no file locks on this platform or file system: make sure no other run "
                   f"writes into {work}")  # fmt: skip
    elif held.previous is not None:
        o.progress(f"the run that held {work} (process {held.previous}) stopped without "
                   "finishing: its finished batches are taken up")  # fmt: skip


def _derive_and_write(o: _Run, con, output: Path, fmt: str, work: Path) -> BatchedRun:
    """Derive the batches into ``work``, then write the outputs; ``work`` is removed at the
    end, or (a stopped resumable run) all but its finished batches."""
    done = False
    try:
        own = engine(work / "spill") if con is None else None
        try:
            run, parts = _derive_batches(o, own if own is not None else con, work)
        finally:
            if own is not None:
                own.disconnect()
        o.progress("writing the outputs")
        _finish(o, run, parts, output, fmt, work)
        done = True
    finally:  # a stopped resumable run keeps its finished batches (not the spilled data)
        shutil.rmtree(work if done or not o.resume else work / "spill", ignore_errors=True)
    return run


_WORK_PREFIX = ".aftercar-batches-"
_YOUNG_SECONDS = 60


def _remove_left_behind(output: Path, say: Callable[[str], None]) -> None:
    """Remove the temporary batch folders that runs killed before their end left in
    ``output`` (``.aftercar-batches-*``, the batches' Parquet outputs: many GB on a large
    instance), and say so; a folder another running derivation holds is left (fuzzing
    round 5, H07: a later run kept them without a word)."""
    for old in sorted(output.glob(_WORK_PREFIX + "*")):
        # a folder made in the last minute may be a starting run's, not yet locked
        if not old.is_dir() or time.time() - old.stat().st_mtime < _YOUNG_SECONDS:
            continue
        try:
            with hold(old) as held:
                if not held.locked:  # no file locks here: whose it is cannot be known
                    continue
                size = sum(f.stat().st_size for f in old.rglob("*") if f.is_file())
        except InputError:
            continue  # in use by a running derivation
        shutil.rmtree(old, ignore_errors=True)
        if not old.exists():
            say(f"removed {old.name}, left by an interrupted run ({size / 1e9:.2f} GB)")


def derive_omop_batched(
    source: str | Path,
    output: str | Path,
    fmt: str = "csv",
    *,
    batch_persons: int = DEFAULT_BATCH_PERSONS,
    con=None,
    schema: str | None = None,
    concepts: str | Path | Concepts | None = None,
    rules: Rules | None = None,
    episodes: bool = False,
    progress: Callable[[str], None] | None = None,
    resume: bool = False,
) -> BatchedRun:
    """Derive the OMOP instance ``source`` in person batches and write it to ``output``.

    Writes what :func:`aftercar.derive.omop.write_omop_derivation` writes (the same
    rows, in the same order but for ``audit/events``) with the memory of one batch
    (module docstring).

    Parameters
    ----------
    source, schema, concepts, rules
        As for :func:`aftercar.derive.omop.derive_omop`.
    output
        The cohort folder (created).
    fmt
        ``"csv"``, ``"parquet"`` or ``"xlsx"`` (the cohort as a workbook, the audit as CSV).
    batch_persons
        Persons per batch (``0``: one batch).
    con
        An Ibis connection (default: an in-process DuckDB limited to
        :data:`ENGINE_MEMORY`, spilling to a temporary folder under ``output``).
    episodes
        Also write EPISODE / EPISODE_EVENT (``output/episodes/``; and into a DuckDB source).
    progress
        Called with a short description before each step of each batch.
    resume
        Keep each finished batch in ``output/.aftercar-batches/`` until the run ends, and
        take up the batches a stopped run of the same options left there
        (:mod:`aftercar.derive.omop.parts`); the folder is removed when the run succeeds.

    Raises
    ------
    CohortError
        Missing table or column, unusable rows (:func:`~aftercar.derive.omop.checks.check_rows`),
        unreadable myeloma measurements, or nobody in the cohort (raised after writing
        the outputs and the audit) (exit 2).
    InputError
        ``episodes`` into a DuckDB source whose ``episode`` table already holds derived
        lines: before anything is derived (exit 2); ``resume`` with the batches of a
        run of other options in ``output/.aftercar-batches/``, or while another run
        holds that folder (:func:`aftercar.derive.omop.parts.hold`) (exit 2).
    """
    rules = rules or load_rules()
    cmap = concepts if isinstance(concepts, Concepts) else load_concepts(concepts, rules)
    o = _Run(source, schema, cmap, rules, batch_persons, episodes,
             progress or (lambda _s: None), resume, getattr(con, "name", "duckdb"))  # fmt: skip
    if episodes and (con is None or hasattr(con, "attach")):  # engines that read DuckDB files
        check_episode_target(source, schema, cmap)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    if resume:
        with hold(output / RESUME_FOLDER) as held:  # refused while another run uses it
            _say_held(o, held, output / RESUME_FOLDER)
            run = _derive_and_write(o, con, output, fmt, output / RESUME_FOLDER)
    else:
        _remove_left_behind(output, o.progress)
        work = Path(tempfile.mkdtemp(prefix=_WORK_PREFIX, dir=output))
        with hold(work):  # so that a later run knows this folder is in use
            run = _derive_and_write(o, con, output, fmt, work)
    nobody = empty_cohort(run.steps, output)
    if nobody is not None:
        raise nobody
    return run


__all__ = ["DEFAULT_BATCH_PERSONS", "ENGINE_MEMORY", "SORT_KEYS", "BatchedRun", "batch_tables",
           "cohort_batches", "derive_omop_batched", "person_batches", "restrict",
           "tiles"]  # fmt: skip
