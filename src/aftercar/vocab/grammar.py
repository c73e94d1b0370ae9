"""The reading rules of ``regimen_grammar.toml``: annotations, separators, limits.

Everything here is data (see the comments in the TOML file and
``docs/vocabulary.md``); this module only loads and checks it. A malformed file
raises :class:`~aftercar.errors.VocabularyError` naming the file, the entry and a fix.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from aftercar.errors import VocabularyError

#: Separator kinds: a plain list separator, "A then B" and "A after B".
SEPARATOR_KINDS = ("plain", "sequence", "reverse")
_SEPARATOR_KEYS = {
    "plain": "separators",
    "sequence": "sequence_separators",
    "reverse": "reverse_sequence_separators",
}


@dataclass(frozen=True)
class Annotation:
    """One annotation rule: a case-insensitive regex with its label.

    ``implies``: a therapy (a name of ``drugs.csv``) the annotated words give their step
    ("30 Gy/10 fx": radiotherapy); ``reads``: therapies of the step read as others when the
    words are there ("MUD SCT": an unspecified transplant is allogeneic); ``drops``:
    therapies the words take out of their step ("KRd w/o dex": no dexamethasone);
    ``sequence``: the words separate two steps in time, as a sequence separator does
    ("Elrexfio discontinued, started Talvey"), where their own words are annotations
    (the separators are read after the annotations are taken out). A ``sequence``
    pattern may hold a group ``(?P<keep>...)``: the words it matches are read as usual
    (the step before the separator, "D/C Revlimid, start Pd"), the separator follows them.
    """

    label: str
    pattern: re.Pattern[str]
    why: str
    implies: str | None = None
    reads: tuple[tuple[str, str], ...] = ()
    drops: tuple[str, ...] = ()
    sequence: bool = False


@dataclass(frozen=True)
class Alone:
    """``[alone]``: a text whose only readings are annotations labelled ``label`` whose words
    match ``pattern`` reads as ``therapy`` (a name of ``drugs.csv``)."""

    label: str
    pattern: re.Pattern[str]
    therapy: str


@dataclass(frozen=True)
class LetterCodeRules:
    """When a word may be read as a combination of letter codes."""

    max_pieces: int = 5
    final_names: tuple[str, ...] = ("dexamethasone", "prednisone")
    weak_length: int = 2


@dataclass(frozen=True)
class CorrectionRules:
    """Bounded edit-distance correction of misspellings and truncations."""

    max_edits: tuple[tuple[int, int], ...] = ((9, 2), (5, 1))
    prefix_for_two: int = 3
    min_truncation: int = 6
    truncation_ratio: float = 0.6
    never: frozenset[str] = frozenset()

    def edits_for(self, length: int) -> int:
        """Return the largest edit distance allowed for a word of ``length`` letters."""
        for minimum, edits in self.max_edits:
            if length >= minimum:
                return edits
        return 0


@dataclass(frozen=True)
class Grammar:
    """Annotations, separators and limits of the regimen reader."""

    annotations: tuple[Annotation, ...]
    separators: re.Pattern[str]
    letter_codes: LetterCodeRules
    corrections: CorrectionRules
    class_mentions: dict[str, str]
    combined: re.Pattern[str] | None = None  # all annotations, one pass (group a<N> = rule N)
    formulations: dict[str, str] | None = None  # excipient -> its drug ([formulations])
    alone: Alone | None = None  # what a text naming only not-given therapy reads as ([alone])
    max_text_length: int = 2000  # characters read of one text (max_text_length)


def _fail(path: Path, where: str, what: str, fix: str) -> VocabularyError:
    return VocabularyError(f"{path}, {where}: {what}. Fix: {fix}.")


def _regex_list(data: dict, key: str, path: Path, required: bool) -> list[str]:
    value = data.get(key, None if required else [])
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise _fail(path, key, "must be a list of regex strings", f"write {key} = ['...']")
    return value


def _separators(data: dict, path: Path) -> re.Pattern[str]:
    parts = []
    for kind in ("sequence", "reverse", "plain"):  # sequence first: '->' before '-'
        key = _SEPARATOR_KEYS[kind]
        regexes = _regex_list(data, key, path, required=kind == "plain")
        if regexes:
            parts.append(f"(?P<{kind}>" + "|".join(f"(?:{s})" for s in regexes) + ")")
    try:  # no separator starts inside a word: skip such positions at once (speed)
        return re.compile(r"(?:(?<!\w)|(?!\w))(?:" + "|".join(parts) + ")", re.IGNORECASE)
    except re.error as exc:
        raise _fail(path, "separators", f"bad regex ({exc})", "correct the pattern") from exc


def _annotations(data: dict, path: Path) -> tuple[Annotation, ...]:
    out = []
    for n, entry in enumerate(data.get("annotation", []), start=1):
        where = f"[[annotation]] #{n}"
        if not isinstance(entry, dict) or not {"label", "pattern"} <= entry.keys():
            raise _fail(path, where, "needs 'label' and 'pattern'", "add them")
        try:
            pattern = re.compile(entry["pattern"], re.IGNORECASE)
        except re.error as exc:
            raise _fail(
                path, f"{where} ({entry['label']})", f"bad regex ({exc})", "correct the pattern"
            ) from exc
        words = _therapy_words(entry, path, f"{where} ({entry['label']})")
        sequence = entry.get("sequence", False)
        if not isinstance(sequence, bool):
            raise _fail(path, f"{where} ({entry['label']})", "'sequence' must be true or false",
                        "write sequence = true")  # fmt: skip
        out.append(Annotation(entry["label"], pattern, entry.get("why", ""), *words,
                              sequence=sequence))  # fmt: skip
    # what an annotation says of its step is looked up by its label (assemble._annotated):
    # an acting label is one annotation's only
    labels = [a.label for a in out]
    acting = {a.label for a in out if a.implies or a.reads or a.drops}
    twice = sorted(x for x in acting if labels.count(x) > 1)
    if twice:
        raise _fail(path, "[[annotation]]", f"label {twice[0]!r} of an annotation with "
                    "implies, reads or drops is used by another annotation",
                    "give the annotation with implies, reads or drops its own label")
    return tuple(out)


def _therapy_words(entry: dict, path: Path, where: str) -> tuple[str | None, tuple, tuple]:
    """An annotation's ``implies`` (a name), ``reads`` (``{name = name}``) and ``drops``
    (names), checked as types here; as names of ``drugs.csv`` when the vocabulary is
    loaded."""
    implies, reads = entry.get("implies"), entry.get("reads", {})
    drops = entry.get("drops", [])
    if not isinstance(drops, list) or not all(isinstance(v, str) for v in drops):
        raise _fail(path, where, "'drops' must be a list of therapy names",
                    'write drops = ["dexamethasone"]')  # fmt: skip
    if implies is not None and not isinstance(implies, str):
        raise _fail(path, where, "'implies' must be a therapy name",
                    'write implies = "radiotherapy"')  # fmt: skip
    if not isinstance(reads, dict) or not all(isinstance(v, str) for v in reads.values()):
        raise _fail(path, where, "'reads' must map therapy names to therapy names",
                    'write reads = { "unspecified stem cell transplant" = "allogeneic stem cell '
                    'transplant" }')  # fmt: skip
    return implies, tuple(sorted(reads.items())), tuple(drops)


def _combine(annotations: tuple[Annotation, ...]) -> re.Pattern[str]:
    """One alternation of all annotation rules, in file order (leftmost match, first rule wins)."""
    parts = [f"(?P<a{i}>{a.pattern.pattern.replace('(?P<keep>', f'(?P<keep{i}>')})"
             for i, a in enumerate(annotations)]  # fmt: skip
    if not parts:
        return re.compile("(?!)")
    # No annotation starts inside a word: skip such positions at once (a speed guard
    # that keeps every match; checked by the case table).
    return re.compile(r"(?:(?<!\w)|(?!\w))(?:" + "|".join(parts) + ")", re.IGNORECASE)


def _table(data: dict, key: str, path: Path) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise _fail(path, f"[{key}]", "is not a table", f"write [{key}] with its keys")
    return value


def _name_map(data: dict, table: str, key: str, path: Path) -> dict[str, str]:
    """``[table] key``: a map of names to names (empty when absent)."""
    value = _table(data, table, path).get(key, {})
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise _fail(path, f"[{table}] {key}", "must map names to names",
                    f'write {key} = {{ hyaluronidase = "daratumumab" }}')  # fmt: skip
    return dict(value)


def _positive_int(data: dict, key: str, default: int, path: Path) -> int:
    value = data.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise _fail(path, key, "must be a whole number of at least 1", f"write {key} = {default}")
    return value


def _alone(data: dict, path: Path) -> Alone | None:
    spec = _table(data, "alone", path)
    if not spec:
        return None
    if not all(isinstance(spec.get(k), str) for k in ("label", "pattern", "therapy")):
        raise _fail(path, "[alone]", "needs the texts 'label', 'pattern' and 'therapy'",
                    'write label = "not given", pattern = "\\bdeclined\\b", therapy = '
                    '"no treatment"')  # fmt: skip
    try:
        pattern = re.compile(spec["pattern"], re.IGNORECASE)
    except re.error as exc:
        raise _fail(path, "[alone] pattern", f"bad regex ({exc})", "correct the pattern") from exc
    return Alone(spec["label"], pattern, spec["therapy"])


def _letter_rules(data: dict, path: Path) -> LetterCodeRules:
    spec = _table(data, "letter_codes", path)
    default = LetterCodeRules()
    try:
        return LetterCodeRules(
            max_pieces=int(spec.get("max_pieces", default.max_pieces)),
            final_names=tuple(str(n) for n in spec.get("final_names", default.final_names)),
            weak_length=int(spec.get("weak_length", default.weak_length)),
        )
    except (TypeError, ValueError) as exc:
        raise _fail(
            path, "[letter_codes]", f"bad value ({exc})", "use integers and a list"
        ) from exc


def _correction_rules(data: dict, path: Path) -> CorrectionRules:
    spec = _table(data, "corrections", path)
    default = CorrectionRules()
    try:
        edits = tuple((int(a), int(b)) for a, b in spec.get("max_edits", default.max_edits))
        return CorrectionRules(
            max_edits=tuple(sorted(edits, reverse=True)),
            prefix_for_two=int(spec.get("prefix_for_two", default.prefix_for_two)),
            min_truncation=int(spec.get("min_truncation", default.min_truncation)),
            truncation_ratio=float(spec.get("truncation_ratio", default.truncation_ratio)),
            never=frozenset(str(w).casefold() for w in spec.get("never", ())),
        )
    except (TypeError, ValueError) as exc:
        raise _fail(
            path, "[corrections]", f"bad value ({exc})", "write max_edits = [[9, 2], [5, 1]]"
        ) from exc


def load_grammar(path: Path) -> Grammar:
    """Load and check ``regimen_grammar.toml`` (see the comments in that file)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise VocabularyError(f"{path}: not valid TOML ({exc}). Fix: correct the syntax.") from exc
    mentions = _table(data, "targets", path).get("class_mentions", {})
    if not isinstance(mentions, dict) or not all(isinstance(v, str) for v in mentions.values()):
        raise _fail(
            path,
            "[targets] class_mentions",
            "must map drug classes to labels",
            'write class_mentions = { car_t = "car t" }',
        )
    annotations = _annotations(data, path)
    return Grammar(
        formulations=_name_map(data, "formulations", "excipients", path),
        alone=_alone(data, path),
        max_text_length=_positive_int(data, "max_text_length", 2000, path),
        annotations=annotations,
        combined=_combine(annotations),
        separators=_separators(data, path),
        letter_codes=_letter_rules(data, path),
        corrections=_correction_rules(data, path),
        class_mentions=dict(mentions),
    )
