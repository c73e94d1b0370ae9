"""Every name and synonym of ``drugs.csv``, written alone, is read as its own entry.

A review (2026-12-05) classified each synonym alone and found 16 that were not:
annotation rules and separators cut them before the vocabulary saw them whole ("no
active treatment" -> "no active" unrecognized, a row that could count as a line;
"stem cell rescue", "IV fluids", "awaiting clinical trial", "Emend IV" read as aprepitant).
"""

from __future__ import annotations

import csv
from importlib import resources

from aftercar.vocab import classify_regimens


def test_every_synonym_alone_is_its_entry():
    text = resources.files("aftercar.data").joinpath("drugs.csv").read_text("utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    pairs = [(s, r["name"]) for r in rows
             for s in [r["name"], *filter(None, r["synonyms"].split(";"))]]  # fmt: skip
    assert len(pairs) > 1000
    got = classify_regimens([s for s, _ in pairs]).to_pylist()
    wrong = []
    for (synonym, name), r in zip(pairs, got, strict=True):
        read = set(filter(None, (r["drugs"] or "").split(";"))) | set(
            filter(None, (r["procedures"] or "").split(";")))  # fmt: skip
        if read != {name} or r["unrecognized"]:
            wrong.append((synonym, name, sorted(read), r["unrecognized"]))
    assert wrong == []
