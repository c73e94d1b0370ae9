"""Therapy categories and their precedence, read from a TOML taxonomy.

A regimen gets exactly one category: the first category of ``precedence`` that
one of its anti-myeloma agents or procedures selects (by drug class, drug name
or procedure name), else ``default``. Supportive agents never select. The
default taxonomy (``aftercar/data/taxonomy.toml``) documents why its order is
what it is; a study can pass its own file.

References
----------
Van Oekelen O et al., Blood 2023;141(7):756-765 (T-cell-engaging therapy vs the
rest); REFERENCE.md section 1.2 (probable salvage categories) and section 4
(classification tips).
"""

from __future__ import annotations

import tomllib
import zlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from aftercar.errors import VocabularyError
from aftercar.vocab.vocabulary import Drug, Vocabulary, default_vocabulary

_SELECTORS = ("classes", "drugs", "procedures")
_CATEGORY_KEYS = {"label", "short", "colour", "description", *_SELECTORS}

#: Colours of categories whose taxonomy gives none (a stable hash of the name picks one).
FALLBACK_COLOURS: tuple[str, ...] = (
    "#1B9E77",
    "#7570B3",
    "#E7298A",
    "#66A61E",
    "#A6761D",
    "#E6AB02",
    "#666666",
    "#1F78B4",
    "#B2DF8A",
    "#FB9A99",
)


@dataclass(frozen=True)
class Category:
    """One therapy category and what selects it."""

    name: str
    label: str
    classes: frozenset[str]
    drugs: frozenset[str]
    procedures: frozenset[str]
    short: str = ""
    colour: str = ""

    def selects(self, drug: Drug) -> bool:
        """Return True when ``drug`` puts a regimen in this category."""
        return (
            drug.drug_class in self.classes
            or drug.name in self.drugs
            or drug.name in self.procedures
        )


@dataclass(frozen=True, eq=False)
class Taxonomy:
    """Categories, their precedence and the default category."""

    precedence: tuple[str, ...]
    default: str
    categories: dict[str, Category]
    source: str

    @property
    def names(self) -> tuple[str, ...]:
        """All category names, in precedence order, default last."""
        return (*self.precedence, self.default)

    def styles(self) -> tuple[Category, ...]:
        """Every category in precedence order, default last (labels and colours for display)."""
        return tuple(self.categories[n] for n in self.names if n in self.categories)

    def categorize(self, drugs: list[Drug]) -> str:
        """Return the category of a regimen made of ``drugs``."""
        active = [d for d in drugs if d.anti_myeloma]
        for name in self.precedence:
            category = self.categories[name]
            if any(category.selects(d) for d in active):
                return name
        return self.default


def _fail(path: str, where: str, what: str, fix: str) -> VocabularyError:
    return VocabularyError(f"{path}, {where}: {what}. Fix: {fix}.")


def _strings(value: object, path: str, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(path, where, "must be a list of strings", 'write e.g. ["car_t"]')
    return frozenset(value)


def _category(name: str, spec: object, path: str, vocab: Vocabulary) -> Category:
    where = f"[categories.{name}]"
    if not isinstance(spec, dict):
        raise _fail(path, where, "is not a table", "write [categories.NAME] with keys")
    unknown = set(spec) - _CATEGORY_KEYS
    if unknown:
        raise _fail(
            path, where, f"unknown key(s) {sorted(unknown)}", f"use only {sorted(_CATEGORY_KEYS)}"
        )
    sel = {k: _strings(spec.get(k, []), path, f"{where} {k}") for k in _SELECTORS}
    bad = sorted(sel["classes"] - vocab.classes())
    if bad:
        raise _fail(
            path,
            f"{where} classes",
            f"unknown class(es) {bad}",
            f"use drug_class values of drugs.csv: {sorted(vocab.classes())}",
        )
    kinds = {"drugs": "drug", "procedures": "procedure"}
    for key, kind in kinds.items():
        bad = sorted(n for n in sel[key] if getattr(vocab.drugs.get(n), "kind", None) != kind)
        if bad:
            raise _fail(
                path,
                f"{where} {key}",
                f"unknown {kind} name(s) {bad}",
                f"use {kind} names from the 'name' column of drugs.csv",
            )
    label = str(spec.get("label", name))
    colour = (
        str(spec.get("colour", ""))
        or FALLBACK_COLOURS[zlib.crc32(name.encode()) % len(FALLBACK_COLOURS)]
    )
    return Category(
        name,
        label,
        sel["classes"],
        sel["drugs"],
        sel["procedures"],
        short=str(spec.get("short", "")) or label,
        colour=colour,
    )


def _parse(data: dict, path: str, vocab: Vocabulary) -> Taxonomy:
    unknown = set(data) - {"default", "precedence", "categories"}
    if unknown:
        raise _fail(
            path,
            "top level",
            f"unknown key(s) {sorted(unknown)}",
            "use only default, precedence and [categories.*]",
        )
    precedence = data.get("precedence")
    if (
        not isinstance(precedence, list)
        or not precedence
        or not all(isinstance(p, str) for p in precedence)
    ):
        raise _fail(
            path,
            "precedence",
            "must be a non-empty list of category names",
            'write precedence = ["car_t", "bispecific", ...]',
        )
    if len(set(precedence)) != len(precedence):
        raise _fail(path, "precedence", "lists a category twice", "list each category once")
    default = data.get("default", "other")
    if not isinstance(default, str) or default in precedence:
        raise _fail(
            path,
            "default",
            f"{default!r} must be a name not in precedence",
            'write default = "other"',
        )
    specs = data.get("categories", {})
    if not isinstance(specs, dict):
        raise _fail(path, "categories", "is not a table", "write [categories.NAME] tables")
    missing = [p for p in precedence if p not in specs]
    if missing:
        raise _fail(
            path,
            "precedence",
            f"category(ies) {missing} have no [categories.*] table",
            "add a table for each category in precedence",
        )
    extra = sorted(set(specs) - set(precedence) - {default})
    if extra:
        raise _fail(
            path,
            "categories",
            f"{extra} are not in precedence",
            "add them to precedence or remove them",
        )
    cats = {n: _category(n, specs[n], path, vocab) for n in precedence}
    spec = specs.get(default, {})
    cats[default] = _category(
        default, {k: v for k, v in spec.items() if k not in _SELECTORS}, path, vocab
    )
    return Taxonomy(tuple(precedence), default, cats, path)


def load_taxonomy(
    path: str | Path | None = None, *, vocabulary: Vocabulary | None = None
) -> Taxonomy:
    """Load a therapy taxonomy from TOML.

    Parameters
    ----------
    path
        A TOML file with ``precedence`` (list of category names, first wins),
        ``default`` (category when nothing selects) and one
        ``[categories.NAME]`` table per category with ``classes``, ``drugs``
        and/or ``procedures`` lists. ``None`` loads the shipped default.
    vocabulary
        Vocabulary whose classes and names the taxonomy may use.

    Raises
    ------
    VocabularyError
        The file is missing, not TOML, or names unknown classes/drugs.
    """
    vocab = vocabulary if vocabulary is not None else default_vocabulary()
    if path is None:
        path = Path(str(resources.files("aftercar") / "data" / "taxonomy.toml"))
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise VocabularyError(f"{path}: taxonomy file not found. Fix: check the path.") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise VocabularyError(
            f"{path}: not a valid TOML taxonomy ({exc}). Fix: correct the syntax."
        ) from exc
    return _parse(data, str(path), vocab)


@cache
def default_taxonomy() -> Taxonomy:
    """Return the taxonomy shipped with aftercar (loaded once)."""
    return load_taxonomy()
