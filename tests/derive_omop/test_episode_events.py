"""EPISODE_EVENT of the derived lines (``episodes._line_events``): each line's distinct
drug-exposure rows, by episode id and row, whatever the events repeat (a drug exposure of
several ingredients is an event per ingredient)."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from aftercar.derive.omop.episodes import _distinct_sorted, _line_events

_FIELD = 1147094


def _events(rows: list[tuple[str, int, int, str]]) -> pa.Table:
    pid, line, row, table = zip(*rows, strict=True)
    return pa.table({"patient_id": list(pid), "line": pa.array(line, pa.int64()),
                     "row": pa.array(row, pa.int64()), "table": list(table),
                     "role": ["anti-myeloma drug"] * len(rows)})  # fmt: skip


def test_a_row_of_several_ingredients_is_one_episode_event_per_line():
    ev = _events([("7", 1, 30, "drug_exposure"), ("7", 1, 30, "drug_exposure"),  # 2 ingredients
                  ("7", 1, 10, "drug_exposure"), ("7", 2, 30, "drug_exposure"),  # in 2 lines
                  ("7", 2, 11, "procedure_occurrence"), ("7", 0, 5, "drug_exposure"),
                  ("8", 1, 20, "drug_exposure"), ("8", 1, 20, "drug_exposure")])  # fmt: skip
    keys = pa.table({"patient_id": ["7", "7", "8"], "line": pa.array([1, 2, 1], pa.int64()),
                     "episode_id": pa.array([101, 102, 103], pa.int64())})  # fmt: skip
    got = _line_events(ev, keys, _FIELD)
    assert got.to_pydict() == {"episode_id": [101, 101, 102, 103], "event_id": [10, 30, 30, 20],
                               "episode_event_field_concept_id": [_FIELD] * 4}  # fmt: skip


_ID = st.one_of(st.none(), st.integers(-2, 3))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_ID, _ID), max_size=30))
def test_distinct_sorted_keeps_each_sorted_row_once(pairs):
    pairs = sorted(pairs, key=lambda p: (p[0] is None, p[0] or 0, p[1] is None, p[1] or 0))
    j = pa.table({"episode_id": pa.array([p[0] for p in pairs], pa.int64()),
                  "event_id": pa.array([p[1] for p in pairs], pa.int64())})  # fmt: skip
    got = list(zip(*_distinct_sorted(j).to_pydict().values(), strict=True))
    assert got == list(dict.fromkeys(pairs))
