"""aftercar.vocab: free-text regimen names to drugs, targets and therapy categories.

Public API
----------
parse_regimen(text) -> ParsedRegimen
    Read one regimen text into drugs, procedures, annotations, unrecognized words.
classify_regimens(texts, *, taxonomy=None, overrides=None) -> pyarrow.Table
    One row per text: text, drugs, procedures, category, tce, bcma_directed,
    targets, unrecognized (+ annotations, drug_classes, anti_myeloma, mapped_by).
load_taxonomy(path), load_overrides(path), load_vocabulary(...)
    Read (and check) a taxonomy TOML, an override CSV/TOML, the vocabulary files.
unrecognized_problems(texts, rows, *, file) -> list[Problem]
    Warnings for the validate command.

The vocabulary, the letter codes and the taxonomy are data files in
``aftercar/data/``; see ``docs/vocabulary.md``.
"""

from aftercar.vocab.classify import (
    COLUMNS,
    CONTRACT_COLUMNS,
    Classification,
    classify_regimens,
    classify_text,
    suggest,
    unrecognized_problems,
)
from aftercar.vocab.overrides import Override, Overrides, load_overrides
from aftercar.vocab.parser import ParsedRegimen, Token, parse_regimen
from aftercar.vocab.taxonomy import Category, Taxonomy, default_taxonomy, load_taxonomy
from aftercar.vocab.vocabulary import Drug, Vocabulary, default_vocabulary, load_vocabulary

__all__ = [
    "COLUMNS",
    "CONTRACT_COLUMNS",
    "Category",
    "Classification",
    "Drug",
    "Override",
    "Overrides",
    "ParsedRegimen",
    "Taxonomy",
    "Token",
    "Vocabulary",
    "classify_regimens",
    "classify_text",
    "default_taxonomy",
    "default_vocabulary",
    "load_overrides",
    "load_taxonomy",
    "load_vocabulary",
    "parse_regimen",
    "suggest",
    "unrecognized_problems",
]
