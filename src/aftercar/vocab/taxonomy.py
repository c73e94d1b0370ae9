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

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from aftercar.errors import VocabularyError
from aftercar.schema import Col
from aftercar.vocab.vocabulary import Drug, Vocabulary, default_vocabulary

_SELECTORS = ("classes", Col.DRUGS, "procedures")
_CATEGORY_KEYS = {"label", "colour", "description", "therapy", *_SELECTORS}
_COLOUR = re.compile(r"#[0-9A-Fa-f]{6}")
#: Colours given to categories of a custom taxonomy that name none (Okabe-Ito, then greys).
FALLBACK_COLOURS = (
    "#0072B2",
    "#56B4E9",
    "#CC79A7",
    "#D55E00",
    "#E69F00",
    "#F0E442",
    "#009E73",
    "#8C6D31",
    "#999999",
    "#6A3D9A",
    "#4D4D4D",
    "#BBBBBB",
)
#: Name of the pseudo-category of rows without a category (blank regimen text).
UNCLASSIFIED = "unclassified"


@dataclass(frozen=True)
class Category:
    """One therapy category and what selects it."""

    name: str
    label: str
    classes: frozenset[str]
    drugs: frozenset[str]
    procedures: frozenset[str]
    colour: str = "#BBBBBB"
    therapy: bool = True

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
    unclassified: Category = field(
        default_factory=lambda: Category(
            UNCLASSIFIED, "Unclassified", frozenset(), frozenset(), frozenset(), "#E0E0E0"
        )
    )

    @property
    def names(self) -> tuple[str, ...]:
        """All category names, in precedence order, default last."""
        return (*self.precedence, self.default)

    @property
    def labels(self) -> dict[str, str]:
        """Display label of every category (and of ``unclassified``), in order."""
        cats = [*(self.categories[n] for n in self.names), self.unclassified]
        return {c.name: c.label for c in cats}

    @property
    def colours(self) -> dict[str, str]:
        """``#RRGGBB`` colour of every category (and of ``unclassified``), in order."""
        cats = [*(self.categories[n] for n in self.names), self.unclassified]
        return {c.name: c.colour for c in cats}

    @property
    def non_therapy(self) -> tuple[str, ...]:
        """Categories that are not a line of therapy (``therapy = false``: no_therapy)."""
        return tuple(n for n in self.names if not self.categories[n].therapy)

    def categorize(self, drugs: list[Drug]) -> str:
        """Return the category of a regimen made of ``drugs``.

        A therapy category is selected by an anti-myeloma agent only; a category
        with ``therapy = false`` (no_therapy) is selected by any of its agents or
        procedures, and only when the regimen has no anti-myeloma agent at all.
        """
        active = [d for d in drugs if d.anti_myeloma]
        for name in self.precedence:
            category = self.categories[name]
            pool = active if category.therapy else ([] if active else drugs)
            if any(category.selects(d) for d in pool):
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
    kinds = {Col.DRUGS: "drug", "procedures": "procedure"}
    for key, kind in kinds.items():
        bad = sorted(n for n in sel[key] if getattr(vocab.drugs.get(n), "kind", None) != kind)
        if bad:
            raise _fail(
                path,
                f"{where} {key}",
                f"unknown {kind} name(s) {bad}",
                f"use {kind} names from the 'name' column of drugs.csv",
            )
    return Category(
        name,
        str(spec.get("label", name)),
        sel["classes"],
        sel[Col.DRUGS],
        sel["procedures"],
        _colour(spec, path, where),
        _therapy(spec, path, where),
    )


def _colour(spec: dict, path: str, where: str) -> str:
    colour = spec.get("colour", "")
    if colour and not (isinstance(colour, str) and _COLOUR.fullmatch(colour)):
        raise _fail(path, f"{where} colour", f"{colour!r} is not #RRGGBB", 'write "#0072B2"')
    return str(colour)


def _therapy(spec: dict, path: str, where: str) -> bool:
    value = spec.get("therapy", True)
    if not isinstance(value, bool):
        raise _fail(path, f"{where} therapy", f"{value!r} is not a boolean", "write true or false")
    return value


def _fill_colours(cats: dict[str, Category]) -> dict[str, Category]:
    """Give categories without a colour one of FALLBACK_COLOURS (by position)."""
    out = {}
    for i, (name, cat) in enumerate(cats.items()):
        colour = cat.colour or FALLBACK_COLOURS[i % len(FALLBACK_COLOURS)]
        out[name] = dataclasses.replace(cat, colour=colour)
    return out


def _unclassified(data: dict, path: str) -> Category:
    spec = data.get(UNCLASSIFIED, {})
    if not isinstance(spec, dict) or set(spec) - {"label", "colour", "description"}:
        raise _fail(path, f"[{UNCLASSIFIED}]", "may only have label and colour", "fix the table")
    return Category(
        UNCLASSIFIED,
        str(spec.get("label", "Unclassified")),
        frozenset(),
        frozenset(),
        frozenset(),
        _colour(spec, path, f"[{UNCLASSIFIED}]") or "#E0E0E0",
    )


def _parse(data: dict, path: str, vocab: Vocabulary) -> Taxonomy:
    unknown = set(data) - {"default", "precedence", "categories", UNCLASSIFIED}
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
    cats[default] = _default_category(default, specs.get(default, {}), path)
    return Taxonomy(
        tuple(precedence), default, _fill_colours(cats), path, _unclassified(data, path)
    )


def _default_category(name: str, spec: object, path: str) -> Category:
    spec = spec if isinstance(spec, dict) else {}
    colour = _colour(spec, path, f"[categories.{name}]")
    empty: frozenset[str] = frozenset()
    return Category(name, str(spec.get("label", name)), empty, empty, empty, colour)


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
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
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
