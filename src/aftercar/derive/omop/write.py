"""Write an OMOP derivation: the cohort and audit (as ``aftercar derive``), the cohort
attrition, and optionally EPISODE / EPISODE_EVENT as files or into the DuckDB source."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from aftercar.derive.omop.concepts import Concepts
from aftercar.derive.omop.derive import OmopDerivation
from aftercar.derive.omop.episodes import (
    DISEASE_SOURCE,
    EPISODE_SCHEMA,
    EVENT_SCHEMA,
    build_episodes,
)
from aftercar.derive.omop.source import table_names
from aftercar.derive.raw.write import write_derivation
from aftercar.errors import InputError
from aftercar.io.csv_out import write_csv
from aftercar.schema import PROVENANCE_FILE


def _write(table: pa.Table, path: Path) -> Path:
    if path.suffix == ".parquet":
        pq.write_table(table, path)
    else:
        write_csv(table, path)
    return path


def episode_tables(d: OmopDerivation, first_id: int = 1) -> tuple[pa.Table, pa.Table]:
    """``(episode, episode_event)`` of a derivation (see :mod:`.episodes`)."""
    return build_episodes(d.result.lines, d.result.audit["events"], d.diagnosis,
                          d.concepts.episode, first_id)  # fmt: skip


def _table(con, db: str, name: str) -> str | None:
    """The name ``db`` gives its table ``name`` (the OHDSI DDL creates ``EPISODE``)."""
    return table_names(con, db).get(name)


_INT64_MAX = 2**63 - 1


def _shape_problem(con, db: str, name: str, want: pa.Schema) -> str | None:
    """Why the existing table ``name`` of ``db`` cannot take aftercar's rows (a view, a
    CDM column missing, an id that is not a whole number), or ``None``."""
    t = con.table(name, database=db)
    kind = con.raw_sql(
        "SELECT table_type FROM information_schema.tables WHERE table_schema = ? AND "
        "table_name = ?", parameters=[db, name]).fetchall()  # fmt: skip
    if kind and kind[0][0] != "BASE TABLE":
        return f"{name} is a {kind[0][0].lower()}, not a table"
    have = {c.lower(): c for c in t.columns}
    missing = [f.name for f in want if f.name not in have]
    if missing:
        return f"{name} lacks the CDM column(s) {', '.join(missing)}"
    for col in ("episode_id", "person_id", "event_id"):
        if col in have and not t[have[col]].type().is_integer():
            return f"{name}.{col} is {t[have[col]].type()}, not a whole number"
    return None


def _episode_target_problem(con, db: str) -> str | None:
    for name, want in (("episode", EPISODE_SCHEMA), ("episode_event", EVENT_SCHEMA)):
        found = _table(con, db, name)
        if found is not None and (why := _shape_problem(con, db, found, want)) is not None:
            return why
    return None


def first_episode_id(con, database: Path, schema: str | None, concepts: Concepts) -> int:
    """The next free ``episode_id`` of a DuckDB file's ``episode`` table (1 without one).

    Raises
    ------
    InputError
        The tables cannot take the rows (a view, a CDM column missing, text ids, ids near
        the largest whole number), or ``episode`` already holds episodes aftercar wrote
        (derived lines, or its disease episodes): a second run would double them (fuzzing
        round 5, H02, H03).
    """
    db = schema or "main"
    if (why := _episode_target_problem(con, db)) is not None:
        raise InputError(
            f"{database}: {why}. Fix: give episode and episode_event the CDM 5.4 columns "
            "(the OHDSI DDL), or write the episodes as files only (without a DuckDB "
            "source).")  # fmt: skip
    name = _table(con, db, "episode")
    if name is None:
        return 1
    ep = con.table(name, database=db)
    c = concepts.episode
    mine = (ep.episode_type_concept_id == c["derived"]) & (
        (ep.episode_concept_id == c["line_of_therapy"])
        | ((ep.episode_concept_id == c["disease"])
           & (ep.episode_source_value == DISEASE_SOURCE)))  # fmt: skip
    if ep.filter(mine).count().to_pyarrow().as_py():
        raise InputError(
            f"{database}: the episode table already holds episodes aftercar derived (lines "
            "of therapy, episode_concept_id 32941, and disease episodes 32528 with source "
            f"value '{DISEASE_SOURCE}', both of type 32545). Fix: delete those rows and "
            "their episode_event rows first, or write the episodes as files only (without "
            "a DuckDB source).")  # fmt: skip
    top = int(ep.episode_id.max().fill_null(0).to_pyarrow().as_py())
    if top > _INT64_MAX - 10**12:
        raise InputError(
            f"{database}: the episode table's largest episode_id ({top}) leaves no room for "
            "new ids. Fix: renumber the existing episodes, or write the episodes as files "
            "only.")  # fmt: skip
    return top + 1


def check_episode_target(source: str | Path, schema: str | None, concepts: Concepts) -> None:
    """Before a derivation that writes EPISODE rows into its DuckDB source file: refuse
    a file whose ``episode`` table already holds derived lines (:func:`first_episode_id`),
    so that the refusal comes at once, not after the derivation. Other sources: nothing.

    Raises
    ------
    InputError
        As :func:`first_episode_id`.
    """
    from aftercar.backends import connect

    database = Path(source)
    if not database.is_file():
        return
    con = connect("duckdb", database=database)
    try:
        first_episode_id(con, database, schema, concepts)
    finally:
        con.disconnect()


def create_episode_tables(con, schema: str | None) -> None:
    """Create ``episode`` / ``episode_event`` (CDM 5.4 columns) where they are missing."""
    db = schema or "main"
    for name, schema_ in (("episode", EPISODE_SCHEMA), ("episode_event", EVENT_SCHEMA)):
        if _table(con, db, name) is None:
            con.create_table(name, schema=schema_, database=db)


def _into_duckdb(d: OmopDerivation, database: Path, schema: str | None) -> int:
    """Append the episodes to ``episode`` / ``episode_event`` of a DuckDB file."""
    from aftercar.backends import connect

    con = connect("duckdb", database=database)
    try:
        first = first_episode_id(con, database, schema, d.concepts)
        episode, event = episode_tables(d, first)
        create_episode_tables(con, schema)
        con.raw_sql("BEGIN TRANSACTION")  # both tables or neither
        try:
            for name, table in (("episode", episode), ("episode_event", event)):
                con.insert(_table(con, schema or "main", name), table, database=schema or "main")
        except Exception:
            con.raw_sql("ROLLBACK")
            raise
        con.raw_sql("COMMIT")
        return episode.num_rows
    finally:
        con.disconnect()


def synthetic_marker(source: str | Path | None, output: Path) -> list[Path]:
    """A cohort derived from a synthetic instance (its ``provenance.json``) is synthetic too."""
    marker = Path(source) / PROVENANCE_FILE if source is not None else None
    if marker is None or not marker.is_file():
        return []
    try:
        record = json.loads(marker.read_text("utf-8"))
    except ValueError:
        return []
    if not isinstance(record, dict) or record.get("synthetic") is not True:
        return []
    path = output / PROVENANCE_FILE
    path.write_text(json.dumps({**record, "derived_by": "aftercar derive --omop",
                                "derived_from": str(source)}, indent=2) + "\n", "utf-8")
    return [path]


def write_omop_derivation(
    d: OmopDerivation,
    output: str | Path,
    fmt: str = "csv",
    *,
    episodes: bool = False,
    source: str | Path | None = None,
    schema: str | None = None,
) -> list[Path]:
    """Write the cohort, ``audit/`` (+ ``omop_cohort``) and, with ``episodes``, the EPISODE rows.

    EPISODE and EPISODE_EVENT go to ``output/episodes/`` (CSV or Parquet) and, when
    ``source`` is a DuckDB file, are also appended to its ``episode`` and
    ``episode_event`` tables (refused when derived lines are already there).
    """
    output = Path(output)
    written = write_derivation(d.result, output, fmt)
    ext = "parquet" if fmt == "parquet" else "csv"
    written.append(_write(d.cohort_steps, output / "audit" / f"omop_cohort.{ext}"))
    written += synthetic_marker(source, output)
    if not episodes:
        return written
    src = Path(source) if source is not None else None
    if src is not None and src.is_file():
        _into_duckdb(d, src, schema)
    folder = output / "episodes"
    folder.mkdir(parents=True, exist_ok=True)
    episode, event = episode_tables(d)
    written.append(_write(episode, folder / f"episode.{ext}"))
    written.append(_write(event, folder / f"episode_event.{ext}"))
    return written


__all__ = ["create_episode_tables", "episode_tables", "first_episode_id", "synthetic_marker",
           "write_omop_derivation"]  # fmt: skip
