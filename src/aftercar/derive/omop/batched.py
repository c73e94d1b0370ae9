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
   one-batch run (:mod:`aftercar.derive.omop.final_pass`): ``patients`` by ``person_id``
   (as a number), ``lines`` and the line audit by person and line, the assessments by
   person, line and date, as each batch wrote them (the batches are ascending
   ``person_id`` ranges, so their rows are in order as appended,
   :func:`aftercar.derive.raw.audit.ordered`: no sort); the attrition by table and row,
   the cohort's exclusions first (sorted by DuckDB, on disk beyond :data:`ENGINE_MEMORY`;
   the batches of a run of several leave theirs unsorted); the cohort attrition steps
   (``audit/omop_cohort``) are summed over the batches; EPISODE ids are numbered over the
   whole cohort, as one run numbers them (EPISODE_EVENT, in that order batch after batch,
   is read in order with each batch's ids shifted:
   :func:`aftercar.derive.omop.final_pass._line_offsets`).

Every person's records are in the batch of that person, and the derivation is per
person, so the rows are those of a one-batch run (``tests/derive_omop/test_batched.py``).
Only the order of ``audit/events``, which no run defines, is the batches' order.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from aftercar import __version__
from aftercar.backends.duckdb import engine as duckdb_engine
from aftercar.backends.duckdb import quoted
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
from aftercar.derive.omop.final_pass import (
    _BATCH,
    _PART,
    SORT_KEYS,
    _episode_sql,
    _number_episodes,
    _path,
    _write_episodes,  # looked up here by _finish (tests patch it here)
    _write_outputs,
)
from aftercar.derive.omop.final_pass import _copy as _copy  # re-exported
from aftercar.derive.omop.final_pass import _line_offsets as _line_offsets  # re-exported
from aftercar.derive.omop.final_pass import _shifted_events as _shifted_events  # re-exported
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
from aftercar.derive.omop.source import (
    close_source,
    named_by_file,
    open_source,
    table_labels,
)
from aftercar.derive.omop.write import check_episode_target, episode_tables, synthetic_marker
from aftercar.derive.raw.rules import Rules, load_rules
from aftercar.derive.raw.write import writing
from aftercar.errors import CohortError, InputError
from aftercar.io import cohort_arrow
from aftercar.io.csv_out import write_csv

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
    unit_conflicts
        Measurement rows whose ``unit_source_value`` names another unit than their
        ``unit_concept_id`` (``audit/unit_conflicts``; read in the concept's unit).
    assessments
        Rows of ``audit/assessments`` (IMWG assessments; -1: not counted).
    """

    steps: pa.Table
    patients: int = 0
    lines: int = 0
    unused: int = 0
    batches: int = 0
    written: list[Path] = field(default_factory=list)
    orphans: int = 0
    unit_conflicts: int = 0
    assessments: int = -1


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
            con.raw_sql(f"INSERT INTO {quoted(schema or 'main')}.{name} BY NAME {sql}")
    finally:
        con.disconnect()


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
    except CohortError as err:  # the mapped rows' checks name tables: name their files
        named_by_file(err, table_labels(o.source, tables))
        raise
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
    run.unit_conflicts = rows.get("audit/unit_conflicts", 0)
    run.assessments = rows.get("audit/assessments", 0)


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
