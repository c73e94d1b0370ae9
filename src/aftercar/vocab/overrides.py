"""Per-study overrides: regimen texts the parser cannot know.

An override file maps an exact regimen text (compared case-insensitively, with
runs of spaces collapsed) to drugs and/or procedures and/or a category, e.g. a
blinded trial ("Study XYZ-123 arm B" -> ``etentamig``, category ``bispecific``).
CSV columns: ``text`` (required), ``drugs``, ``procedures``, ``targets``
(``;``-separated), ``category``, ``tce``, ``bcma_directed`` (true/false),
``note``. TOML: one ``[[override]]`` table per text with the same keys (lists
or ``;``-separated strings).
"""

from __future__ import annotations

import csv
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from aftercar.errors import VocabularyError
from aftercar.schema import Col
from aftercar.vocab.taxonomy import Taxonomy
from aftercar.vocab.vocabulary import Vocabulary, default_vocabulary, norm_key

_KEYS = (
    "text",
    Col.DRUGS,
    "procedures",
    "targets",
    Col.CATEGORY,
    Col.TCE,
    Col.BCMA_DIRECTED,
    "note",
)
_BOOLS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def override_key(text: str) -> str:
    """Return the key overrides are matched on (case-folded, spaces collapsed)."""
    return re.sub(r"\s+", " ", str(text)).strip().casefold()


@dataclass(frozen=True)
class Override:
    """One override row; ``None`` fields are taken from the parser."""

    text: str
    drugs: tuple[str, ...] | None
    procedures: tuple[str, ...] | None
    category: str | None
    tce: bool | None
    bcma_directed: bool | None
    targets: tuple[str, ...] | None
    where: str


@dataclass(frozen=True, eq=False)
class Overrides:
    """Overrides by :func:`override_key`, with the file they came from."""

    entries: dict[str, Override]
    source: str

    def get(self, text: str) -> Override | None:
        """Return the override for ``text`` or None."""
        return self.entries.get(override_key(text))

    def check(self, taxonomy: Taxonomy) -> None:
        """Raise VocabularyError if an override names a category not in ``taxonomy``."""
        for o in self.entries.values():
            if o.category is not None and o.category not in taxonomy.names:
                raise VocabularyError(
                    f"{o.where}, column 'category': {o.category!r} is not a category of "
                    f"{taxonomy.source}. Fix: use one of {', '.join(taxonomy.names)}."
                )


def _list(value: object, where: str, column: str) -> tuple[str, ...] | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return tuple(p.strip() for p in value.split(";") if p.strip())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(v.strip() for v in value if v.strip())
    raise VocabularyError(
        f"{where}, column '{column}': {value!r} is not a list. "
        "Fix: write names separated by ';' (or a TOML list of strings)."
    )


def _bool(value: object, where: str, column: str) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().casefold() in _BOOLS:
        return _BOOLS[value.strip().casefold()]
    raise VocabularyError(
        f"{where}, column '{column}': {value!r} is not a boolean. Fix: write true or false."
    )


def _resolve(names: tuple[str, ...] | None, kind: str, where: str, vocab: Vocabulary):
    if names is None:
        return None, False
    out, unknown = [], False
    for name in names:
        hit = vocab.by_key.get(norm_key(name))
        known = hit is not None and len(hit.names) >= 1
        if known and all(vocab.drugs[n].kind == kind for n in hit.names):
            out += hit.names
        elif kind == "procedure":
            raise VocabularyError(
                f"{where}, column 'procedures': {name!r} is not a known procedure. "
                "Fix: use a procedure name of drugs.csv (e.g. autologous stem cell transplant)."
            )
        else:
            out.append(name.strip().lower())
            unknown = True
    return tuple(sorted(set(out))), unknown


def _override(row: dict, where: str, vocab: Vocabulary) -> Override:
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        raise VocabularyError(f"{where}, column 'text': empty. Fix: give the regimen text.")
    drugs, unknown = _resolve(_list(row.get(Col.DRUGS), where, Col.DRUGS), "drug", where, vocab)
    procs, _ = _resolve(
        _list(row.get("procedures"), where, "procedures"), "procedure", where, vocab
    )
    category = row.get(Col.CATEGORY) or None
    if drugs is None and procs is None and category is None:
        raise VocabularyError(
            f"{where}: override for {text!r} gives neither drugs, procedures nor category. "
            "Fix: fill at least one of them."
        )
    if unknown and category is None:
        raise VocabularyError(
            f"{where}, column 'drugs': {', '.join(drugs or ())} include names not in the "
            "vocabulary, so the category cannot be derived. Fix: give a category (and tce, "
            "bcma_directed, targets) or use vocabulary names."
        )
    targets = _list(row.get("targets"), where, "targets")
    return Override(
        text=text,
        drugs=drugs,
        procedures=procs,
        category=str(category) if category is not None else None,
        tce=_bool(row.get(Col.TCE), where, Col.TCE),
        bcma_directed=_bool(row.get(Col.BCMA_DIRECTED), where, Col.BCMA_DIRECTED),
        targets=tuple(t.upper() for t in targets) if targets is not None else None,
        where=where,
    )


def _rows_csv(path: Path) -> list[tuple[str, dict]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        if "text" not in header:
            raise VocabularyError(
                f"{path}, row 1: no 'text' column (columns: {', '.join(header)}). "
                f"Fix: name the regimen column 'text'; optional columns: {', '.join(_KEYS[1:])}."
            )
        extra = [c for c in header if c not in _KEYS]
        if extra:
            raise VocabularyError(
                f"{path}, row 1: unknown column(s) {', '.join(extra)}. "
                f"Fix: use only {', '.join(_KEYS)}."
            )
        return [(f"{path}, row {i}", row) for i, row in enumerate(reader, start=2)]


def _rows_toml(path: Path) -> list[tuple[str, dict]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise VocabularyError(f"{path}: not valid TOML ({exc}). Fix: correct the syntax.") from exc
    entries = data.get("override")
    if not isinstance(entries, list) or set(data) != {"override"}:
        raise VocabularyError(
            f"{path}: expected only [[override]] tables. "
            'Fix: write [[override]] text = "..." drugs = ["..."] category = "...".'
        )
    rows = []
    for n, entry in enumerate(entries, start=1):
        where = f"{path}, [[override]] #{n}"
        extra = sorted(set(entry) - set(_KEYS))
        if extra:
            raise VocabularyError(f"{where}: unknown key(s) {extra}. Fix: use only {_KEYS}.")
        rows.append((where, entry))
    return rows


def load_overrides(path: str | Path, *, vocabulary: Vocabulary | None = None) -> Overrides:
    """Load a per-study override file (CSV or TOML).

    Parameters
    ----------
    path
        ``.csv`` or ``.toml`` file (format in the module docstring).
    vocabulary
        Vocabulary used to resolve drug names (brands and codes allowed).

    Raises
    ------
    VocabularyError
        Missing file, unknown columns, empty text, bad booleans, unknown
        procedures, unknown drugs without a category, or one text given twice.
    """
    vocab = vocabulary if vocabulary is not None else default_vocabulary()
    path = Path(path)
    if not path.is_file():
        raise VocabularyError(f"{path}: override file not found. Fix: check the path.")
    try:
        rows = _rows_toml(path) if path.suffix.lower() == ".toml" else _rows_csv(path)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise VocabularyError(f"{path}: cannot be read ({exc}).") from exc
    entries: dict[str, Override] = {}
    for where, row in rows:
        if None in row:
            raise VocabularyError(f"{where}: too many fields. Fix: quote values with commas.")
        o = _override(row, where, vocab)
        key = override_key(o.text)
        if key in entries:
            raise VocabularyError(
                f"{where}: {o.text!r} is already overridden at {entries[key].where}. "
                "Fix: keep one of the two."
            )
        entries[key] = o
    return Overrides(entries, str(path))
