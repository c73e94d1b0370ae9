"""The final pass of a batched OMOP derivation: every output file written from the batches'
temporary Parquet parts (:func:`aftercar.derive.omop.batched.derive_omop_batched`, step 3
of :mod:`aftercar.derive.omop.batched`).

The cohort and ``audit/*`` files are copied (a file as it is), read in order (the batches'
rows are in the order of a one-batch run as appended) or sorted by DuckDB
(:data:`SORT_KEYS`, on disk beyond the engine's memory), and written by DuckDB's Parquet
writer or streamed to CSV / Parquet (:class:`_Sink`); EPISODE ids are numbered over the
whole cohort, as one run numbers them (:func:`_number_episodes`, :func:`_episode_sql`;
EPISODE_EVENT read in order with each batch's ids shifted: :func:`_line_offsets`).
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from aftercar.backends.duckdb import arrow_reader, quoted
from aftercar.derive.omop.episodes import EPISODE_SCHEMA, EVENT_SCHEMA
from aftercar.io import neutralise_table, write_cohort
from aftercar.io.csv_out import append_csv

_ROWS = 1 << 17  # rows per record batch when streaming a file out
_PART = "_part"  # attrition: 0 = the cohort's exclusions, 1 = the derivation's rows
_BATCH = "_batch"  # episodes: the batch whose local episode ids a row carries
#: Output (path under OUT without extension) -> the sort keys of a one-batch run, for the
#: outputs whose batches' rows are not already in that order when appended (the outputs
#: ordered by person are: :mod:`aftercar.derive.omop.batched`, step 3).
SORT_KEYS: dict[str, tuple[str, ...]] = {
    "audit/attrition": (_PART, "table", "row"),
}


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
    connection that preserves the insertion order, as that of
    :func:`aftercar.derive.omop.batched._finish` does)."""
    cols = map(_nullable if nullable else quoted, keep.names)
    order = "" if keys is None else f" ORDER BY {', '.join(map(quoted, keys))}"
    return f"SELECT {', '.join(cols)} FROM read_parquet({_path(part)}){order}"


def _nullable(name: str, source: str | None = None) -> str:
    """``source`` (default: the column ``name``) as a column DuckDB writes as nullable.

    DuckDB (2.0) writes a Parquet column without nulls as REQUIRED (``not null``): the
    schema of a file would then depend on its data, and differ from the one-run files
    (pyarrow: always nullable). A ``CASE`` that can give NULL keeps it optional.
    """
    src = source or quoted(name)
    return f"CASE WHEN {src} IS NULL THEN NULL ELSE {src} END AS {quoted(name)}"


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


__all__ = ["SORT_KEYS"]
