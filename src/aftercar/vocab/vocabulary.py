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
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from aftercar.errors import VocabularyError
from aftercar.schema import Col
from aftercar.vocab.grammar import Annotation, Grammar, load_grammar

DRUG_COLUMNS = (
    "name",
    "kind",
    "drug_class",
    "targets",
    Col.TCE,
    Col.BCMA_DIRECTED,
    "anti_myeloma",
    "role",
    "short_name",
    "synonyms",
    "source",
)
TARGET_COLUMNS = ("target", "role", "synonyms", "source")
#: Roles of drugs.csv; the first two are anti-myeloma (``anti_myeloma = true``).
ROLES = ("anti_myeloma", "steroid", "lymphodepletion", "premedication", "supportive", "non_therapy")
_ANTI_MYELOMA_ROLES = ("anti_myeloma", "steroid")
TARGET_ROLES = ("tumour", "effector")
CODE_COLUMNS = ("code", "match", Col.DRUGS, "procedures", "source")
CODE_MATCHES = ("exact", "any_case", "final_all_caps")
KINDS = ("drug", "procedure")
#: Pseudo-kind of the target words of targets.csv (never a drug of a regimen).
TARGET_KIND = "target"
_BOOLS = {"true": True, "false": False}
#: Words split at these characters inside a chunk (weak separators).
WORD_SPLIT = re.compile(r"[\s\-_.'\"*#()\[\]{}<>]+")


#: What a lookup key drops: all but letters and digits of any script (names in Japanese,
#: Chinese or Cyrillic are keys of their own since session 26; underscores are no letters).
_NOT_KEY = re.compile(r"[^\w\u00b5\u03bc]|_")


def norm_key(text: str) -> str:
    """Return the lookup key of ``text``: lower case, accents folded, letters and digits (of
    any script) only.

    ``"REGN 5458"``, ``"regn-5458"`` and ``"REGN5458"`` share the key ``"regn5458"``;
    ``"Dexaméthasone"`` has the key of ``"dexamethasone"``.
    """
    if not text.isascii():
        text = "".join(
            c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
        )
    return _NOT_KEY.sub("", text.casefold())


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
    role: str = "anti_myeloma"
    short_name: str = ""

    @property
    def label(self) -> str:
        """Short display name (``"ide-cel"``), else the name."""
        return self.short_name or self.name

    @property
    def unspecified(self) -> bool:
        """True for class mentions without a product (``"BCMA CAR T"``)."""
        return self.name.startswith("unspecified ")


@dataclass(frozen=True)
class Reading:
    """What a word or code means: the names it maps to and why."""

    names: tuple[str, ...]
    how: str


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
    grammar: Grammar | None = None
    target_roles: dict[str, str] = field(default_factory=dict)
    _made: dict[str, Drug] = field(default_factory=dict, repr=False)

    def classes(self) -> set[str]:
        """Return the drug classes used in the vocabulary (drugs.csv)."""
        return {d.drug_class for d in self.drugs.values() if d.kind != TARGET_KIND}

    def drug(self, name: str) -> Drug:
        """Return the entry called ``name``, including class mentions made from targets.

        ``"unspecified bcma/gprc5d car t"`` is made on first use from the class
        mention ``"unspecified car t"`` and the targets BCMA and GPRC5D.
        """
        found = self.drugs.get(name) or self._made.get(name)
        if found is None:
            raise KeyError(name)
        return found

    def knows(self, name: str) -> bool:
        """Return True when :meth:`drug` can resolve ``name``."""
        return name in self.drugs or name in self._made

    def targeted_mention(self, base: Drug | None, targets: tuple[str, ...]) -> Drug:
        """Return the class mention ``base`` aimed at ``targets`` (made once, then reused).

        ``base=None`` gives an "unspecified <targets>-directed agent" (not TCE).
        """
        label = "/".join(t.lower() for t in targets)
        if base is None:
            name = f"unspecified {label}-directed agent"
            template = Drug(
                name,
                "drug",
                "targeted_unspecified",
                (),
                False,
                False,
                True,
                "issue 11: target words without a class word",
                "anti_myeloma",
            )
        else:
            word = (self.grammar.class_mentions if self.grammar else {}).get(base.drug_class)
            name = f"unspecified {label} {word or base.drug_class}"
            template = base
        if name in self.drugs:
            return self.drugs[name]
        if name not in self._made:
            self._made[name] = Drug(
                name=name,
                kind=template.kind,
                drug_class=template.drug_class,
                targets=targets,
                tce=template.tce,
                bcma_directed="BCMA" in targets,
                anti_myeloma=True,
                source=f"{template.source}; targets read from the text",
                role="anti_myeloma",
            )
        return self._made[name]


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
    anti = _bool(row["anti_myeloma"], path, i, "anti_myeloma")
    role = row["role"] or ("anti_myeloma" if anti else "supportive")
    if role not in ROLES or anti != (role in _ANTI_MYELOMA_ROLES):
        raise VocabularyError(
            f"{path}, row {i}, column 'role': {role!r} must be one of {ROLES} and agree "
            f"with anti_myeloma={str(anti).lower()}. Fix: anti_myeloma is true exactly for "
            f"the roles {_ANTI_MYELOMA_ROLES}."
        )
    return Drug(
        name=name,
        kind=row["kind"],
        drug_class=row["drug_class"],
        targets=tuple(t.upper() for t in _split(row["targets"])),
        tce=_bool(row[Col.TCE], path, i, Col.TCE),
        bcma_directed=_bool(row[Col.BCMA_DIRECTED], path, i, Col.BCMA_DIRECTED),
        anti_myeloma=anti,
        source=row["source"],
        role=role,
        short_name=row["short_name"],
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
    names = _split(row[Col.DRUGS]) + _split(row["procedures"])
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


def _check_formulations(rules: Grammar, drugs: dict[str, Drug], path: Path) -> None:
    """Every name of ``[formulations] excipients``, of ``[alone] labels`` and of the
    annotations' ``implies`` and ``reads`` is a drug (or procedure) of drugs.csv."""
    for where, pairs in (("[formulations] excipients", (rules.formulations or {}).items()),
                         ("[alone] therapy", [((), rules.alone.therapy)] if rules.alone else [])):
        unknown = sorted({n for pair in pairs for n in pair if n and n not in drugs})
        if unknown:
            raise VocabularyError(
                f"{path}, {where}: {', '.join(map(repr, unknown))} not in "
                "drugs.csv. Fix: use names from the 'name' column of drugs.csv.")  # fmt: skip
    for n, a in enumerate(rules.annotations, start=1):
        names = (([a.implies] if a.implies else []) + [x for pair in a.reads for x in pair]
                 + list(a.drops))  # fmt: skip
        unknown = sorted({x for x in names if x not in drugs})
        if unknown:
            raise VocabularyError(
                f"{path}, [[annotation]] #{n} ({a.label}): {', '.join(map(repr, unknown))} "
                "not in drugs.csv. Fix: use names from the 'name' column of drugs.csv."
            )


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


def _load_targets(path: Path, drugs: dict[str, Drug], by_key: dict[str, Reading]) -> dict[str, str]:
    roles: dict[str, str] = {}
    for i, row in _read_csv(path, TARGET_COLUMNS):
        target, role = row["target"].upper(), row["role"]
        if not target or role not in TARGET_ROLES or not row["source"]:
            raise VocabularyError(
                f"{path}, row {i}: target {target!r} needs a role in {TARGET_ROLES} and a "
                "source. Fix: fill the target, role and source columns."
            )
        name = f"target {target.lower()}"
        drugs[name] = Drug(
            name,
            TARGET_KIND,
            "target",
            (target,),
            False,
            target == "BCMA",
            False,
            row["source"],
            "supportive",
        )
        roles[target] = role
        reading = Reading((name,), f"target {target}")
        for words in _split(row["synonyms"]) or (target,):
            _add_key(by_key, norm_key(words), reading, f"{path}, row {i}", words)
            anti = norm_key("anti " + words)
            if anti not in by_key:  # "anti-BCMA" = BCMA unless a drug claims it (anti-CD38)
                by_key[anti] = reading
    return roles


def load_vocabulary(
    drugs: str | Path | None = None,
    codes: str | Path | None = None,
    grammar: str | Path | None = None,
    targets: str | Path | None = None,
) -> Vocabulary:
    """Load and check the drug vocabulary.

    Parameters
    ----------
    drugs, codes, grammar, targets
        Paths of ``drugs.csv``, ``regimen_codes.csv``, ``regimen_grammar.toml``
        and ``targets.csv``; ``None`` uses the files shipped with aftercar.

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
            (targets, "targets.csv"),
        )
    )
    drug_table, by_key, max_words = _load_drugs(paths[0])
    exact, final = _load_codes(paths[1], drug_table, by_key)
    rules = load_grammar(paths[2])
    _check_formulations(rules, drug_table, paths[2])
    roles = _load_targets(paths[3], drug_table, by_key)
    return Vocabulary(
        drugs=drug_table,
        by_key=by_key,
        exact_codes=exact,
        final_caps=final,
        annotations=rules.annotations,
        separators=rules.separators,
        max_words=max_words + 1,
        sources=tuple(str(p) for p in paths),
        grammar=rules,
        target_roles=roles,
    )


@cache
def default_vocabulary() -> Vocabulary:
    """Return the vocabulary shipped with aftercar (loaded once)."""
    return load_vocabulary()
