"""The drug vocabulary: drugs, procedures, regimen codes and reading rules.

Everything the regimen parser knows lives in data files under
``aftercar/data/`` (``drugs.csv``, ``regimen_codes.csv``,
``regimen_grammar.toml``); this module loads and checks them. A malformed file
raises :class:`~aftercar.errors.VocabularyError` naming the file, the row (as a
spreadsheet shows it, header = row 1) and a fix.

References
----------
REFERENCE.md section 4 (drug fact table, regimen acronyms, classification tips),
compiled from FDA/EMA labels and the trials named in each row's ``source``.
"""

from __future__ import annotations

import csv
import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from aftercar.errors import VocabularyError

DRUG_COLUMNS = (
    "name",
    "kind",
    "drug_class",
    "targets",
    "tce",
    "bcma_directed",
    "anti_myeloma",
    "synonyms",
    "source",
)
CODE_COLUMNS = ("code", "match", "drugs", "procedures", "source")
CODE_MATCHES = ("exact", "any_case", "final_all_caps")
KINDS = ("drug", "procedure")
_BOOLS = {"true": True, "false": False}
#: Words split at these characters inside a chunk (weak separators).
WORD_SPLIT = re.compile(r"[\s\-_.'\"*#()\[\]{}<>]+")


def norm_key(text: str) -> str:
    """Return the lookup key of ``text``: lower case, letters and digits only.

    ``"REGN 5458"``, ``"regn-5458"`` and ``"REGN5458"`` share the key ``"regn5458"``.
    """
    return re.sub(r"[^0-9a-z\u00b5\u03bc]", "", text.casefold())


@dataclass(frozen=True)
class Drug:
    """One agent or procedure of the vocabulary (a row of ``drugs.csv``)."""

    name: str
    kind: str
    drug_class: str
    targets: tuple[str, ...]
    tce: bool
    bcma_directed: bool
    anti_myeloma: bool
    source: str

    @property
    def unspecified(self) -> bool:
        """True for class mentions without a product (``"BCMA CAR T"``)."""
        return self.name.startswith("unspecified ")


@dataclass(frozen=True)
class Reading:
    """What a word or code means: the names it maps to and why."""

    names: tuple[str, ...]
    how: str


@dataclass(frozen=True)
class Annotation:
    """One annotation rule: a case-insensitive regex with its label."""

    label: str
    pattern: re.Pattern[str]
    why: str


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """Everything the regimen parser reads with (hashable by identity)."""

    drugs: dict[str, Drug]
    by_key: dict[str, Reading]
    exact_codes: dict[str, Reading]
    final_caps: dict[str, Reading]
    annotations: tuple[Annotation, ...]
    separators: re.Pattern[str]
    max_words: int
    sources: tuple[str, ...] = field(default=())

    def classes(self) -> set[str]:
        """Return the drug classes used in the vocabulary."""
        return {d.drug_class for d in self.drugs.values()}


def _data_path(name: str) -> Path:
    return Path(str(resources.files("aftercar") / "data" / name))


def _read_csv(path: Path, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = tuple(reader.fieldnames or ())
            missing = [c for c in columns if c not in header]
            if missing:
                raise VocabularyError(
                    f"{path}, row 1: missing column(s) {', '.join(missing)}. "
                    f"Fix: the header must contain {', '.join(columns)}."
                )
            rows = []
            for i, row in enumerate(reader, start=2):
                if None in row or any(v is None for v in row.values()):
                    raise VocabularyError(
                        f"{path}, row {i}: wrong number of fields. "
                        f"Fix: give exactly {len(header)} comma-separated fields "
                        "(quote values that contain commas)."
                    )
                rows.append((i, {k: (v or "").strip() for k, v in row.items()}))
            return rows
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise VocabularyError(f"{path}: cannot be read as UTF-8 CSV ({exc}).") from exc


def _bool(value: str, path: Path, row: int, column: str) -> bool:
    try:
        return _BOOLS[value.casefold()]
    except KeyError:
        raise VocabularyError(
            f"{path}, row {row}, column '{column}': {value!r} is not a boolean. "
            "Fix: write true or false."
        ) from None


def _split(value: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in value.split(";") if p.strip())


def _drug_from_row(row: dict[str, str], path: Path, i: int) -> Drug:
    name = row["name"]
    if not name or name != name.lower():
        raise VocabularyError(
            f"{path}, row {i}, column 'name': {name!r} must be a non-empty lower-case name. "
            "Fix: write the INN (or research code) in lower case."
        )
    if row["kind"] not in KINDS:
        raise VocabularyError(
            f"{path}, row {i}, column 'kind': {row['kind']!r} is not one of {KINDS}. "
            "Fix: write drug or procedure."
        )
    if not row["drug_class"] or not row["source"]:
        raise VocabularyError(
            f"{path}, row {i}: 'drug_class' and 'source' must not be empty. "
            "Fix: give the class and where the fact comes from."
        )
    return Drug(
        name=name,
        kind=row["kind"],
        drug_class=row["drug_class"],
        targets=tuple(t.upper() for t in _split(row["targets"])),
        tce=_bool(row["tce"], path, i, "tce"),
        bcma_directed=_bool(row["bcma_directed"], path, i, "bcma_directed"),
        anti_myeloma=_bool(row["anti_myeloma"], path, i, "anti_myeloma"),
        source=row["source"],
    )


def _add_key(table: dict[str, Reading], key: str, reading: Reading, where: str, words: str) -> None:
    if not key:
        raise VocabularyError(f"{where}: {words!r} has no letters or digits. Fix: remove it.")
    old = table.get(key)
    if old is not None and old.names != reading.names:
        raise VocabularyError(
            f"{where}: {words!r} already means {', '.join(old.names)} ({old.how}). "
            "Fix: remove one of the two entries or make the spelling distinct."
        )
    if old is None:
        table[key] = reading


def _load_drugs(path: Path) -> tuple[dict[str, Drug], dict[str, Reading], int]:
    drugs: dict[str, Drug] = {}
    by_key: dict[str, Reading] = {}
    max_words = 1
    for i, row in _read_csv(path, DRUG_COLUMNS):
        drug = _drug_from_row(row, path, i)
        if drug.name in drugs:
            raise VocabularyError(
                f"{path}, row {i}, column 'name': {drug.name!r} is listed twice. "
                "Fix: merge the two rows."
            )
        drugs[drug.name] = drug
        for words in (drug.name, *_split(row["synonyms"])):
            how = "name" if words == drug.name else f"synonym {words!r} of {drug.name}"
            _add_key(by_key, norm_key(words), Reading((drug.name,), how), f"{path}, row {i}", words)
            max_words = max(max_words, len([w for w in WORD_SPLIT.split(words) if w]))
    return drugs, by_key, max_words


def _code_names(row: dict[str, str], drugs: dict[str, Drug], path: Path, i: int) -> tuple:
    names = _split(row["drugs"]) + _split(row["procedures"])
    if not names:
        raise VocabularyError(
            f"{path}, row {i}: code {row['code']!r} maps to nothing. "
            "Fix: fill 'drugs' and/or 'procedures'."
        )
    unknown = [n for n in names if n not in drugs]
    if unknown:
        raise VocabularyError(
            f"{path}, row {i}: {', '.join(map(repr, unknown))} not in drugs.csv. "
            "Fix: use names from the 'name' column of drugs.csv or add the drug there."
        )
    return names


def _load_codes(
    path: Path, drugs: dict[str, Drug], by_key: dict[str, Reading]
) -> tuple[dict[str, Reading], dict[str, Reading]]:
    exact: dict[str, Reading] = {}
    final: dict[str, Reading] = {}
    for i, row in _read_csv(path, CODE_COLUMNS):
        code, match = row["code"], row["match"]
        if match not in CODE_MATCHES:
            raise VocabularyError(
                f"{path}, row {i}, column 'match': {match!r} is not one of {CODE_MATCHES}. "
                "Fix: use exact, any_case or final_all_caps."
            )
        names = _code_names(row, drugs, path, i)
        where = f"{path}, row {i}"
        if match == "final_all_caps":
            final[code] = Reading(names, f"final capital {code} of an all-capital code")
            continue
        how = f"regimen code {code}" if len(names) > 1 else f"letter code {code}"
        squeezed = re.sub(r"[\s\-]", "", code)
        _add_key(exact, squeezed, Reading(names, how), where, code)
        if match == "any_case":
            _add_key(by_key, norm_key(code), Reading(names, how), where, code)
            _add_key(exact, squeezed.upper(), Reading(names, how), where, code)
    return exact, final


def _load_grammar(path: Path) -> tuple[tuple[Annotation, ...], re.Pattern[str]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise VocabularyError(f"{path}: not valid TOML ({exc}). Fix: correct the syntax.") from exc
    seps = data.get("separators")
    if not isinstance(seps, list) or not all(isinstance(s, str) for s in seps):
        raise VocabularyError(f"{path}: 'separators' must be a list of regex strings.")
    annotations = []
    for n, entry in enumerate(data.get("annotation", []), start=1):
        if not isinstance(entry, dict) or not {"label", "pattern"} <= entry.keys():
            raise VocabularyError(
                f"{path}, [[annotation]] #{n}: needs 'label' and 'pattern'. Fix: add them."
            )
        try:
            pattern = re.compile(entry["pattern"], re.IGNORECASE)
        except re.error as exc:
            raise VocabularyError(
                f"{path}, [[annotation]] #{n} ({entry['label']}): bad regex ({exc}). "
                "Fix: correct the pattern."
            ) from exc
        annotations.append(Annotation(entry["label"], pattern, entry.get("why", "")))
    try:
        separators = re.compile("|".join(f"(?:{s})" for s in seps), re.IGNORECASE)
    except re.error as exc:
        raise VocabularyError(f"{path}: bad separator regex ({exc}).") from exc
    return tuple(annotations), separators


def load_vocabulary(
    drugs: str | Path | None = None,
    codes: str | Path | None = None,
    grammar: str | Path | None = None,
) -> Vocabulary:
    """Load and check the drug vocabulary.

    Parameters
    ----------
    drugs, codes, grammar
        Paths of ``drugs.csv``, ``regimen_codes.csv`` and
        ``regimen_grammar.toml``; ``None`` uses the files shipped with aftercar.

    Returns
    -------
    Vocabulary

    Raises
    ------
    VocabularyError
        A file is missing, malformed, or two entries claim the same spelling.
    """
    paths = tuple(
        Path(p) if p is not None else _data_path(default)
        for p, default in (
            (drugs, "drugs.csv"),
            (codes, "regimen_codes.csv"),
            (grammar, "regimen_grammar.toml"),
        )
    )
    drug_table, by_key, max_words = _load_drugs(paths[0])
    exact, final = _load_codes(paths[1], drug_table, by_key)
    annotations, separators = _load_grammar(paths[2])
    return Vocabulary(
        drugs=drug_table,
        by_key=by_key,
        exact_codes=exact,
        final_caps=final,
        annotations=annotations,
        separators=separators,
        max_words=max_words + 1,
        sources=tuple(str(p) for p in paths),
    )


@cache
def default_vocabulary() -> Vocabulary:
    """Return the vocabulary shipped with aftercar (loaded once)."""
    return load_vocabulary()
