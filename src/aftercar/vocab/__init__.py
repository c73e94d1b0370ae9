"""aftercar.vocab: free-text regimen names to drugs, targets and therapy categories.

Public API
----------
parse_regimen(text) -> ParsedRegimen
    Read one regimen text into drugs, procedures, annotations, corrections,
    sequence steps and unrecognized words.
classify_regimens(texts, *, taxonomy=None, overrides=None) -> pyarrow.Table
    One row per text: text, drugs, procedures, category, tce, bcma_directed,
    targets, unrecognized (+ annotations, drug_classes, anti_myeloma, mapped_by,
    corrections, sequence, sequence_steps).
drug_roles(texts) -> pyarrow.Table
    For raw drug/order texts: ingredients, role and the anti_myeloma flag
    (anti-myeloma agent vs supportive/premedication drug).
car_t_products(texts) -> pyarrow.Table
    CAR-T product texts ("Ide-cel", "Abecma", "bb2121") to one canonical product.
regimen_problems(texts, rows, *, file) -> list[Problem]
    Warnings: unrecognized words, corrected misspellings, sequences in one cell,
    rows that are not therapy. unrecognized_problems gives the first two (validate).
product_problems(texts, rows, *, file) -> list[Problem]
    Warnings for a CAR-T product column: unknown products, merged spellings.
load_taxonomy(path), load_overrides(path), load_vocabulary(...)
    Read (and check) a taxonomy TOML, an override CSV/TOML, the vocabulary files.

The vocabulary, targets, letter codes, reading rules and the taxonomy are data
files in ``aftercar/data/``; see ``docs/vocabulary.md``.
"""

from aftercar.vocab.classify import (
    COLUMNS,
    CONTRACT_COLUMNS,
    Classification,
    classify_regimens,
    classify_text,
)
from aftercar.vocab.corrections import Correction, correct
from aftercar.vocab.overrides import Override, Overrides, load_overrides
from aftercar.vocab.parser import ParsedRegimen, Token, parse_regimen
from aftercar.vocab.problems import (
    RULES,
    count_regimen_problems,
    regimen_problems,
    suggest,
    unrecognized_problems,
)
from aftercar.vocab.roles import car_t_products, drug_roles, product_problems
from aftercar.vocab.taxonomy import Category, Taxonomy, default_taxonomy, load_taxonomy
from aftercar.vocab.vocabulary import (
    ROLES,
    Drug,
    Vocabulary,
    default_vocabulary,
    load_vocabulary,
)

__all__ = [
    "COLUMNS",
    "CONTRACT_COLUMNS",
    "ROLES",
    "RULES",
    "Category",
    "Classification",
    "Correction",
    "Drug",
    "Override",
    "Overrides",
    "ParsedRegimen",
    "Taxonomy",
    "Token",
    "Vocabulary",
    "car_t_products",
    "classify_regimens",
    "classify_text",
    "correct",
    "count_regimen_problems",
    "default_taxonomy",
    "default_vocabulary",
    "drug_roles",
    "load_overrides",
    "load_taxonomy",
    "load_vocabulary",
    "parse_regimen",
    "product_problems",
    "regimen_problems",
    "suggest",
    "unrecognized_problems",
]
