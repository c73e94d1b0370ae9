"""Derived lines of therapy -> OMOP EPISODE and EPISODE_EVENT rows (Oncology extension).

* one disease episode per patient (``episode_concept_id`` 32528 "Disease First
  Occurrence", from the first myeloma condition, object = that condition concept);
* one episode per salvage line (32941 "Cancer Drug Treatment"), ``episode_number`` =
  the line number (1 = first line after the index progression),
  ``episode_parent_id`` = the patient's disease episode, ``episode_source_value`` =
  the regimen (cut to 50 characters, the CDM field size), object concept 0 (no
  HemOnc regimen concept is derived);
* ``episode_type_concept_id`` 32545 "Episode algorithmically derived from EHR";
* EPISODE_EVENT: every drug exposure of a line (``event_id`` = ``drug_exposure_id``,
  ``episode_event_field_concept_id`` 1147094), from the derivation's audit.

Built in Arrow from the derived tables (one row per line; no per-row Python); the
EPISODE_EVENT rows (millions) by an in-process DuckDB over the Arrow events.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aftercar.backends.duckdb import arrow_reader, scratch
from aftercar.schema import Col

#: The CDM 5.4 EPISODE columns, in order, with their Arrow types.
EPISODE_SCHEMA = pa.schema([
    ("episode_id", pa.int64()), ("person_id", pa.int64()), ("episode_concept_id", pa.int32()),
    ("episode_start_date", pa.date32()), ("episode_start_datetime", pa.timestamp("us")),
    ("episode_end_date", pa.date32()), ("episode_end_datetime", pa.timestamp("us")),
    ("episode_parent_id", pa.int64()), ("episode_number", pa.int32()),
    ("episode_object_concept_id", pa.int32()), ("episode_type_concept_id", pa.int32()),
    ("episode_source_value", pa.string()), ("episode_source_concept_id", pa.int32()),
])  # fmt: skip
EVENT_SCHEMA = pa.schema([("episode_id", pa.int64()), ("event_id", pa.int64()),
                          ("episode_event_field_concept_id", pa.int32())])  # fmt: skip
_SOURCE_VALUE_SIZE = 50
#: ``episode_source_value`` of the disease episodes aftercar writes: it tells them from the
#: disease episodes of other tools (a second run refuses only aftercar's own; review).
DISEASE_SOURCE = "multiple myeloma (aftercar)"


def _const(n: int, value, typ: pa.DataType) -> pa.Array:
    """``value`` (of type ``typ``) ``n`` times (millions of EPISODE_EVENT rows: in C++)."""
    return pa.repeat(pa.scalar(value, typ), n)


def _episodes(n: int, cols: dict) -> pa.Table:
    out = {}
    for f in EPISODE_SCHEMA:
        v = cols.get(f.name)
        out[f.name] = v.cast(f.type) if isinstance(v, pa.Array | pa.ChunkedArray) \
            else _const(n, v, f.type)  # fmt: skip
    return pa.table(out, schema=EPISODE_SCHEMA)


#: EPISODE_EVENT of the events (``ev``) and the lines' episode ids (``k``): each line's
#: drug-exposure rows, by episode id and row (a row of several ingredients more than once:
#: the repeats are next to each other, :func:`_distinct_sorted`).
_EVENTS_SQL = (
    'SELECT k.episode_id, ev."row" AS event_id FROM ev JOIN k '
    f'ON ev."{Col.PATIENT_ID}" = k."{Col.PATIENT_ID}" AND ev."{Col.LINE}" = k."{Col.LINE}" '
    f"WHERE ev.\"table\" = 'drug_exposure' AND ev.\"{Col.LINE}\" > 0 ORDER BY 1, 2"
)
#: Memory the DuckDB of :func:`_line_events` may hold before it spills to its own temporary
#: folder (beside the batch's engine, limited to ``batched.ENGINE_MEMORY``).
_MEMORY = "2500MB"


def _line_events(events: pa.Table, keys: pa.Table, field_concept: int) -> pa.Table:
    """EPISODE_EVENT: each line's distinct drug-exposure rows, by episode id and row.

    The events of 50,000 persons are some 11 million rows, a row counted once per
    ingredient: joined to their line's ``episode_id`` (events of no line, which the
    derivation does not make, are left out), deduplicated and sorted by an in-process
    DuckDB reading the Arrow tables in place, in parallel (1.8 s where Arrow's join and
    two-key sort took 3.5 s), spilling to a temporary folder of its own (never into the
    working directory, DuckDB's default) beyond :data:`_MEMORY`.
    """
    with scratch(_MEMORY) as con:
        con.register("ev", events.select([Col.PATIENT_ID, Col.LINE, "row", "table"]))
        con.register("k", keys)
        j = _distinct_sorted(arrow_reader(con.sql(_EVENTS_SQL)).read_all())
    n = j.num_rows
    return pa.table({"episode_id": j["episode_id"].cast(pa.int64()),
                     "event_id": j["event_id"].cast(pa.int64()),
                     "episode_event_field_concept_id": _const(n, field_concept, pa.int32())},
                    schema=EVENT_SCHEMA)  # fmt: skip


def _distinct_sorted(j: pa.Table) -> pa.Table:
    """``j`` (``episode_id, event_id``, sorted by both) without its repeated rows: each row
    is kept when it differs from the one before. A comparison of neighbours, where DuckDB's
    DISTINCT hashed every row (about 1 s of the 10 million of a batch of 50,000 persons);
    NULLs (no source lets an id be empty) compare as equal to each other."""
    if j.num_rows < 2:
        return j
    a, b = (pc.fill_null(j[c], -1).to_numpy() for c in ("episode_id", "event_id"))
    keep = np.ones(len(a), dtype=bool)
    keep[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    nulls = [pc.is_null(j[c]).to_numpy(zero_copy_only=False) for c in ("episode_id", "event_id")]
    for m in nulls:  # a NULL and a -1 are not the same id
        keep[1:] |= m[1:] != m[:-1]
    return j if keep.all() else j.filter(pa.array(keep))


def build_episodes(lines: pa.Table, events: pa.Table, diagnosis: pa.Table, concepts: dict,
                   first_id: int = 1) -> tuple[pa.Table, pa.Table]:  # fmt: skip
    """Return ``(episode, episode_event)`` for the derived ``lines``.

    Parameters
    ----------
    lines
        Derived lines (``patient_id`` = person_id as text, ``line``, dates, ``regimen``).
    events
        The audit's ``events`` (``table``, ``row`` = OMOP row id, ``patient_id``, ``line``).
    diagnosis
        ``patient_id, diagnosis_date, condition_concept_id`` of the cohort's patients.
    concepts
        ``data/omop/episodes.toml`` (concept ids).
    first_id
        The first ``episode_id`` to use (ids run on from there).
    """
    pats = pc.unique(lines[Col.PATIENT_ID])
    dx = diagnosis.filter(pc.is_in(diagnosis[Col.PATIENT_ID], value_set=pats))
    dx = dx.take(pc.sort_indices(pc.cast(dx[Col.PATIENT_ID], pa.int64())))  # by person_id
    nd, nl = dx.num_rows, lines.num_rows
    d_ids = pa.array(range(first_id, first_id + nd), pa.int64())
    disease = _episodes(nd, {
        "episode_id": d_ids, "person_id": dx[Col.PATIENT_ID].cast(pa.int64()),
        "episode_concept_id": concepts["disease"], "episode_start_date": dx["diagnosis_date"],
        "episode_object_concept_id": dx["condition_concept_id"],
        "episode_type_concept_id": concepts["derived"], "episode_source_value": DISEASE_SOURCE,
    })  # fmt: skip
    parent = pc.take(d_ids, pc.index_in(lines[Col.PATIENT_ID], value_set=dx[Col.PATIENT_ID]))
    l_ids = pa.array(range(first_id + nd, first_id + nd + nl), pa.int64())
    regimen = pc.utf8_slice_codeunits(lines[Col.REGIMEN], 0, _SOURCE_VALUE_SIZE)
    line_ep = _episodes(nl, {
        "episode_id": l_ids, "person_id": lines[Col.PATIENT_ID].cast(pa.int64()),
        "episode_concept_id": concepts["line_of_therapy"],
        "episode_start_date": lines[Col.START_DATE],
        "episode_end_date": lines[Col.END_DATE],
        "episode_parent_id": parent,
        "episode_number": lines[Col.LINE], "episode_object_concept_id": concepts["no_object"],
        "episode_type_concept_id": concepts["derived"], "episode_source_value": regimen,
    })  # fmt: skip
    keys = pa.table({Col.PATIENT_ID: lines[Col.PATIENT_ID], Col.LINE: lines[Col.LINE],
                     "episode_id": l_ids})  # fmt: skip
    event = _line_events(events, keys, concepts["drug_exposure_field"])
    return pa.concat_tables([disease, line_ep]), event


__all__ = ["DISEASE_SOURCE", "EPISODE_SCHEMA", "EVENT_SCHEMA", "build_episodes"]
