"""Hypothesis properties: classify never raises and keeps one row per input."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aftercar.vocab import classify_regimens, default_taxonomy

WORDS = [
    "Dara",
    "KPd",
    "D",
    "d",
    "Tec",
    "cilta-cel",
    "ASCT",
    "40 mg",
    "on trial",
    "REGN 5458",
    "(",
    ")",
    "x4",
    "Foo",
    "CAR T",
    "BCMA",
    "weekly",
    "VDT-PACE",
    "ide",
    "cel",
    "-",
    "2nd",
    "Blenrep",
    "XRT",
    "dex",
    "Flu",
    "Cy",
    "?",
    "t(11;14)",
    "  ",
    "é",
    "→",
]
SEPARATORS = [" + ", "/", ", ", " and ", "-", " ", " with ", "&"]

regimen_like = st.lists(
    st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), min_size=1, max_size=6
).map(lambda parts: "".join(w + s for w, s in parts))
texts = st.lists(st.one_of(st.none(), st.text(max_size=40), regimen_like), max_size=25)

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(texts)
def test_classify_never_raises_and_keeps_one_row_per_input(values):
    table = classify_regimens(values)
    assert table.num_rows == len(values)
    assert table.column("text").to_pylist() == values
    names = set(default_taxonomy().names)
    for row in table.to_pylist():
        blank = row["text"] is None or not row["text"].strip()
        assert (row["category"] is None) == blank
        if blank:
            continue
        assert row["category"] in names
        drugs = [d for d in row["drugs"].split(";") if d]
        assert drugs == sorted(set(drugs))
        # default taxonomy: T-cell engaging exactly when the category is car_t or bispecific
        assert row["tce"] == (row["category"] in ("car_t", "bispecific"))


@FAST
@given(st.lists(regimen_like, min_size=1, max_size=10), st.integers(1, 5))
def test_repeats_give_identical_rows(values, times):
    once = classify_regimens(values).to_pylist()
    many = classify_regimens(values * times).to_pylist()
    assert many == once * times
