"""docs/data-format.md cannot drift from dictionary.csv or the rule list."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from aftercar.io.checks import RULES, rules_markdown
from aftercar.io.dictionary import load_dictionary, markdown_table, response_synonyms

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-format.md"


def _block(name: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(rf"<!-- {name} -->\n(.*?)\n<!-- /{name} -->", text, re.S)
    assert match, f"marker {name} missing from {DOC}"
    return match.group(1)


@pytest.mark.parametrize("table", ["patients", "lines"])
def test_column_tables_match_the_dictionary(table):
    assert _block(f"dictionary:{table}") == markdown_table(table)


def test_rule_table_matches_rules():
    assert _block("rules") == rules_markdown()
    assert len(RULES) == len(rules_markdown().splitlines()) - 2


def test_dictionary_is_well_formed():
    specs = load_dictionary()
    names = [(s.table, s.name) for s in specs]
    assert len(names) == len(set(names))
    for s in specs:
        assert s.description.strip(), s.name
        if s.type == "response":
            assert s.allowed_values == ("sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE")


def test_every_response_code_has_its_own_abbreviation():
    syn = response_synonyms()
    for code in ("sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE"):
        assert syn[code.lower()] == code
