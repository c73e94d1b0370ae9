"""Invariants of the raw derivation on random records (hypothesis).

One hypothesis example is a whole random cohort (derived once: the derivation is
set-based, so many patients cost about as much as one).
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from raw_cases import RawBuilder, d

from aftercar.derive.raw.derive import derive_raw

TEXTS = ("KYPROLIS 56 mg/m2 IV", "POMALYST 4 mg PO", "DARZALEX FASPRO 1800 mg SC",
         "VELCADE 1.3 mg/m2 SC", "dexamethasone 40 mg PO", "XPOVIO 100 mg PO",
         "TECVAYLI 1.5 mg/kg SC", "acyclovir 400 mg PO BID", "CYTOXAN 400 mg/m2 IV",
         "dexamethasone 16 mg IV (premed)", "Tec-Dara 1 mg SC")  # fmt: skip
CODES = {"sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE", None}
#: Texts of anti-myeloma drugs (cyclophosphamide is lymphodepletion on days -7..0 of a CAR T).
ANTI = {"KYPROLIS 56 mg/m2 IV", "POMALYST 4 mg PO", "DARZALEX FASPRO 1800 mg SC",
        "VELCADE 1.3 mg/m2 SC", "XPOVIO 100 mg PO", "TECVAYLI 1.5 mg/kg SC",
        "CYTOXAN 400 mg/m2 IV", "Tec-Dara 1 mg SC", "cyclophosphamide 300 mg/m2 IV"}

course = st.tuples(st.sampled_from(TEXTS), st.integers(-60, 900), st.integers(1, 12),
                   st.sampled_from([1, 7, 14, 28]))  # fmt: skip
serum = st.lists(st.tuples(st.integers(1, 1000), st.floats(0, 8, allow_nan=False)), max_size=25)
patient = st.tuples(st.lists(course, min_size=0, max_size=6), serum,
                    st.lists(st.integers(1, 900), max_size=2))  # fmt: skip


def _cohort(patients) -> RawBuilder:
    b = RawBuilder()
    for i, (courses, labs, cart) in enumerate(patients):
        pid = b.patient(f"P{i:03d}")
        for text, start, n, step in courses:
            b.drug(pid, text, [start + step * k for k in range(n)])
        b.serum(pid, {day: round(v, 2) for day, v in dict(labs).items()})
        for day in cart:
            b.procedure(pid, day - 30, "apheresis (leukapheresis)")
            b.procedure(pid, day, "CAR-T cell infusion")
            b.drug(pid, "cyclophosphamide 300 mg/m2 IV", [day - 4, day - 3])
    return b


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(patient, min_size=1, max_size=25))
def test_invariants(patients):
    b = _cohort(patients)
    out = derive_raw(b.tables())
    _anti_myeloma_rows_are_in_one_line(b, patients, out)
    lines = defaultdict(list)
    for r in out.lines.to_pylist():
        lines[r["patient_id"]].append(r)
        assert r["best_response"] in CODES
        assert r["start_date"] <= r["end_date"]
        assert r["progression_date"] is None or r["progression_date"] >= r["start_date"]
        assert r["start_date"] > d(0)
    for rows in lines.values():
        rows.sort(key=lambda r: r["line"])
        assert [r["line"] for r in rows] == list(range(1, len(rows) + 1))
        for a, nxt in itertools.pairwise(rows):
            assert a["end_date"] < nxt["start_date"]  # lines do not overlap
    used = Counter((r["table"], r["row"]) for r in out.audit["events"].to_pylist())
    per_row_lines = defaultdict(set)
    for r in out.audit["events"].to_pylist():
        per_row_lines[(r["table"], r["row"])].add(r["line"])
    listed = {(r["table"], r["row"]) for r in out.attrition.to_pylist()}
    for row in range(2, len(b.adm) + 2):
        key = ("administrations", row)
        assert (key in used) != (key in listed), key  # used or listed, never both or neither
        if key in used:
            assert len(per_row_lines[key]) == 1  # one line (or the index CAR T = line 0)
    _labs_are_assessed_or_listed(b, out, listed)


def _labs_are_assessed_or_listed(b: RawBuilder, out, listed: set) -> None:
    """Every lab row is in an assessment (its visit or its baseline) or in the attrition,
    never both (a patient without an index progression had its index assessments' rows in
    both until 2026-12-07; one left out before the index had assessments at all)."""
    seen = {int(x) for r in out.audit["assessments"].to_pylist()
            for c in ("lab_rows", "baseline_rows") for x in (r[c] or "").split()}  # fmt: skip
    for row in b.tables()["labs"]["row"].to_pylist():
        assert (row in seen) != (("labs", row) in listed), row


def _anti_myeloma_rows_are_in_one_line(b: RawBuilder, patients, out) -> None:
    """Every anti-myeloma administration on or after the index date is in exactly one line."""
    index = {r["patient_id"]: r["progression_date"] for r in out.patients.to_pylist()}
    lines = defaultdict(set)
    for r in out.audit["events"].to_pylist():
        if r["table"] == "administrations":
            lines[r["row"]].add(r["line"])
    infusions = {f"P{i:03d}": [d(x) for x in cart] for i, (_c, _l, cart) in enumerate(patients)}
    for row, a in enumerate(b.adm, start=2):
        pid, day = a["patient_id"], a["date"]
        lympho = a["drug"].startswith(("cyclophosphamide", "CYTOXAN")) and any(
            -7 <= (day - inf).days <= 0 for inf in [*infusions[pid], d(0)]
        )
        if a["drug"] not in ANTI or lympho or index.get(pid) is None or day < index[pid]:
            continue
        if day > d(1500):  # after the last follow-up
            continue
        assert len(lines[row]) == 1, (row, a, lines[row])
