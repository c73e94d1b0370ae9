"""Data-driven regimen cases (tests/vocab/cases.csv): drugs, category and flags per text.

Each row names the edge it covers in its ``why`` column; every cause of issue 11
(unknown agents, non-drug words split into letter codes, misspellings,
annotations read as therapy, targets not linked to class words, letter codes
overriding named drugs, non-therapy rows, sequences) has rows whose ``why``
starts with "issue 11". Drug sets are compared as sets (the output order is
checked separately: sorted).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from aftercar.vocab import classify_regimens, classify_text

CASES_FILE = Path(__file__).with_name("cases.csv")


def _load() -> list[dict[str, str]]:
    with CASES_FILE.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


CASES = _load()


def _set(value: str) -> set[str]:
    return {p for p in value.split(";") if p}


ISSUE_11_CAUSES = (
    "unknown agents",
    "codes with digits",
    "non-drug splits",
    "misspellings",
    "annotations",
    "targets",
    "a letter code must not override",
    "AHCT",
    "non-therapy",
    "sequences",
)


def test_the_case_table_is_large_and_unique():
    texts = [c["text"] for c in CASES]
    assert len(texts) >= 300
    assert len(set(texts)) == len(texts)
    assert all(c["why"] for c in CASES)


@pytest.mark.parametrize("cause", ISSUE_11_CAUSES)
def test_every_cause_of_issue_11_has_cases(cause):
    assert sum(c["why"].startswith("issue 11") and cause in c["why"] for c in CASES) >= 1


@pytest.mark.parametrize("case", CASES, ids=[c["text"] for c in CASES])
def test_regimen_case(case):
    got = classify_text(case["text"])
    assert _set(got.drugs) == _set(case["drugs"]), case["why"]
    assert _set(got.procedures) == _set(case["procedures"]), case["why"]
    assert got.category == case["category"], case["why"]
    assert got.tce is (case["tce"] == "true"), case["why"]
    assert got.bcma_directed is (case["bcma_directed"] == "true"), case["why"]
    assert got.targets == case["targets"], case["why"]
    assert got.unrecognized == case["unrecognized"], case["why"]
    assert got.sequence is (case["sequence"] == "true"), case["why"]
    assert got.corrections == case["corrections"], case["why"]


def test_table_output_matches_the_cases_and_drugs_are_sorted():
    table = classify_regimens([c["text"] for c in CASES]).to_pylist()
    for row, case in zip(table, CASES, strict=True):
        assert row["text"] == case["text"]
        drugs = row["drugs"].split(";") if row["drugs"] else []
        assert drugs == sorted(_set(case["drugs"]))
        assert row["category"] == case["category"]
