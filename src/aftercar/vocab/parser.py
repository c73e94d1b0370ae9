"""Read one free-text regimen name into drugs, procedures and annotations.

The rules (all tables live in data files, see :mod:`aftercar.vocab.vocabulary`):

1. Annotations first: every annotation regex of ``regimen_grammar.toml`` is
   found in the whole text and removed ("40 mg", "C1D1", "on trial",
   "maintenance", "2nd"), so they can never be read as drugs.
2. The remainder is split into chunks at the strong separators
   (``+ / , & ; and with then ...``) and at parentheses.
3. Inside a chunk the words (split at spaces and hyphens) are matched greedily,
   longest first: the concatenated words are looked up case-sensitively among
   the regimen and letter codes (``KPd``, ``D``, ``d``, ``DT-PACE``) and then
   case-insensitively (letters and digits only) among drug names, brands,
   research codes, synonyms and misspellings (``REGN 5458`` = ``regn-5458``).
   So ``ide-cel`` and ``DT-PACE`` stay whole while ``Tec-Dara`` and
   ``Dara-KPd`` split into their parts.
4. A single word still unmatched is decomposed into letter codes with their
   case rules (``IsaPd`` = Isa + P + d; upper ``D`` daratumumab, lower ``d``
   dexamethasone; a final capital ``D`` of an all-capital code is
   dexamethasone, as in ``VRD``). The decomposition with the fewest codes wins;
   if two decompositions tie with different meanings the word is ambiguous.
5. Anything else is *unrecognized* and reported, never guessed.

References
----------
Issue 3 (letter-code case rules); REFERENCE.md section 4 (regimen acronyms).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from aftercar.vocab.vocabulary import Reading, Vocabulary, default_vocabulary, norm_key

_DASHES = re.compile(r"[\u2010-\u2015\u2212\ufe58\ufe63\uff0d]")
_BRACKETS = re.compile(r"[()\[\]{}]")
_MAX_SEGMENT_WORD = 14
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_WORD = re.compile(r"[^\s\-_.'\"*#()\[\]{}<>]+")


@dataclass(frozen=True)
class Token:
    """One piece of a regimen text and how it was read.

    Attributes
    ----------
    text
        The piece as written.
    kind
        ``"drug"``, ``"procedure"``, ``"regimen"`` (a code for several
        agents), ``"annotation"`` or ``"unrecognized"``.
    names
        The drug/procedure names it maps to, or the annotation label.
    how
        Why it was read that way (e.g. ``"letter code K"``).
    """

    text: str
    kind: str
    names: tuple[str, ...]
    how: str


@dataclass(frozen=True)
class ParsedRegimen:
    """A regimen text read into its parts.

    Attributes
    ----------
    text
        The input text.
    drugs
        Agent names (INN, or research code without an INN), sorted, unique.
    procedures
        Procedure names (transplant, radiotherapy...), sorted, unique.
    annotations
        Annotation pieces as ``"label: text"`` in reading order.
    unrecognized
        Words that were not understood, in reading order.
    tokens
        Every piece with how it was read.
    """

    text: str
    drugs: tuple[str, ...]
    procedures: tuple[str, ...]
    annotations: tuple[str, ...]
    unrecognized: tuple[str, ...]
    tokens: tuple[Token, ...]

    def to_frame(self):
        """Return the tokens as a pandas DataFrame ``text, kind, names, how``."""
        import pandas as pd

        rows = [(t.text, t.kind, ";".join(t.names), t.how) for t in self.tokens]
        return pd.DataFrame(rows, columns=["text", "kind", "names", "how"])


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = _DASHES.sub("-", text).replace("\u00d7", " x ")
    return text


def _take_annotations(text: str, vocab: Vocabulary) -> tuple[str, list[tuple[int, Token]]]:
    found: list[tuple[int, Token]] = []
    for ann in vocab.annotations:

        def _cut(m: re.Match[str], ann=ann) -> str:
            piece = m.group(0).strip(" -")
            if piece:
                found.append((m.start(), Token(piece, "annotation", (ann.label,), ann.why)))
            return " " * len(m.group(0))  # a weak separator; keeps offsets

        text = ann.pattern.sub(_cut, text)
    return text, found


def _lookup(words: list[str], vocab: Vocabulary) -> Reading | None:
    raw = "".join(words)
    hit = vocab.exact_codes.get(raw)
    if hit is not None:
        return hit
    return vocab.by_key.get(norm_key(raw))


def _segment(word: str, vocab: Vocabulary) -> list[Reading] | str | None:
    """Split ``word`` into letter codes; ``None`` if impossible, ``"ambiguous"``."""
    if not word.isalpha() or len(word) > _MAX_SEGMENT_WORD:
        return None
    all_caps = len(word) >= 2 and word.isupper()
    n = len(word)
    # best[i] = list of candidate segmentations (as reading lists) of word[:i]
    best: list[list[list[Reading]] | None] = [None] * (n + 1)
    best[0] = [[]]
    for end in range(1, n + 1):
        options: list[list[Reading]] = []
        for start in range(end):
            if best[start] is None:
                continue
            piece = word[start:end]
            reading = vocab.exact_codes.get(piece)
            if all_caps and end == n and piece in vocab.final_caps and start > 0:
                reading = vocab.final_caps[piece]
            if reading is None:
                continue
            options += [[*seq, reading] for seq in best[start]]
        if options:
            fewest = min(len(o) for o in options)
            best[end] = [o for o in options if len(o) == fewest]
    if best[n] is None:
        return None
    meanings = {tuple(sorted({x for r in seq for x in r.names})) for seq in best[n]}
    return best[n][0] if len(meanings) == 1 else "ambiguous"


def _kind(names: tuple[str, ...], vocab: Vocabulary) -> str:
    if len(names) > 1:
        return "regimen"
    return vocab.drugs[names[0]].kind


def _read_chunk(
    words: list[tuple[int, int, str]], text: str, vocab: Vocabulary
) -> list[tuple[int, Token]]:
    """Read the words of one chunk greedily; adjacent unknown words form one piece."""
    tokens: list[tuple[int, Token]] = []
    texts = [w for _, _, w in words]
    i = 0
    while i < len(words):
        for j in range(min(len(words), i + vocab.max_words), i, -1):
            hit = _lookup(texts[i:j], vocab)
            if hit is not None:
                piece = text[words[i][0] : words[j - 1][1]]
                tokens.append((words[i][0], Token(piece, _kind(hit.names, vocab), *_rest(hit))))
                i = j
                break
        else:
            token = _read_word(texts[i], vocab)
            last = tokens[-1][1] if tokens else None
            joins = token.kind == "unrecognized" or token.names == ("number",)
            if joins and last is not None and last.kind == "unrecognized":
                start = tokens[-1][0]
                tokens[-1] = (start, Token(text[start : words[i][1]], last.kind, (), last.how))
            else:
                tokens.append((words[i][0], token))
            i += 1
    return tokens


def _rest(hit: Reading) -> tuple[tuple[str, ...], str]:
    return hit.names, hit.how


def _read_word(word: str, vocab: Vocabulary) -> Token:
    if _NUMBER.fullmatch(word):
        return Token(
            word, "annotation", ("number",), "a bare number (dose or count) is never a drug"
        )
    seg = _segment(word, vocab)
    if seg is None:
        return Token(word, "unrecognized", (), "not a known drug, code or annotation")
    if seg == "ambiguous":
        return Token(word, "unrecognized", (), "letter codes can be read more than one way")
    names = tuple(dict.fromkeys(x for r in seg for x in r.names))
    how = "letter codes " + " + ".join(r.how.split()[-1] for r in seg)
    return Token(word, _kind(names, vocab), names, how)


def _chunks(text: str, vocab: Vocabulary) -> list[tuple[int, str]]:
    """Split at the strong separators, keeping each chunk's offset."""
    chunks, pos = [], 0
    for m in vocab.separators.finditer(text):
        chunks.append((pos, text[pos : m.start()]))
        pos = m.end()
    chunks.append((pos, text[pos:]))
    return chunks


def _tokens(text: str, vocab: Vocabulary) -> list[Token]:
    text, found = _take_annotations(_normalise(text), vocab)
    text = _BRACKETS.sub(",", text)
    for offset, chunk in _chunks(text, vocab):
        words = [(offset + m.start(), offset + m.end(), m.group(0)) for m in _WORD.finditer(chunk)]
        found += _read_chunk(words, text, vocab)
    return [t for _, t in sorted(found, key=lambda p: p[0])]


def _drop_unspecified(names: set[str], vocab: Vocabulary) -> set[str]:
    """Drop class mentions ("CAR T") covered by a named agent of that class."""
    named = [vocab.drugs[n] for n in names if not vocab.drugs[n].unspecified]
    keep = set()
    for n in names:
        d = vocab.drugs[n]
        covered = d.unspecified and any(
            o.drug_class == d.drug_class and set(d.targets) <= set(o.targets) for o in named
        )
        if not covered:
            keep.add(n)
    return keep


def _assemble(text: str, tokens: list[Token], vocab: Vocabulary) -> ParsedRegimen:
    names = {n for t in tokens if t.kind in ("drug", "procedure", "regimen") for n in t.names}
    names = _drop_unspecified(names, vocab)
    if not names:  # a number means something only next to a drug
        tokens = [_number_unrecognized(t) for t in tokens]
    drugs = tuple(sorted(n for n in names if vocab.drugs[n].kind == "drug"))
    procedures = tuple(sorted(n for n in names if vocab.drugs[n].kind == "procedure"))
    return ParsedRegimen(
        text=text,
        drugs=drugs,
        procedures=procedures,
        annotations=tuple(f"{t.names[0]}: {t.text}" for t in tokens if t.kind == "annotation"),
        unrecognized=tuple(t.text for t in tokens if t.kind == "unrecognized"),
        tokens=tuple(tokens),
    )


def _number_unrecognized(token: Token) -> Token:
    if token.kind == "annotation" and token.names == ("number",):
        return Token(token.text, "unrecognized", (), "a bare number without any drug")
    return token


@lru_cache(maxsize=65536)
def _parse_cached(text: str, vocab: Vocabulary) -> ParsedRegimen:
    return _assemble(text, _tokens(text, vocab), vocab)


def parse_regimen(text: str, *, vocabulary: Vocabulary | None = None) -> ParsedRegimen:
    """Read a free-text regimen name into drugs, procedures and annotations.

    Parameters
    ----------
    text
        A regimen as written, e.g. ``"Dara-KPd"``, ``"Tec + dara (step-up)"``,
        ``"REGN5458 on trial"``, ``"cilta-cel (2nd CAR T)"``.
    vocabulary
        The vocabulary to read with; ``None`` uses the shipped one.

    Returns
    -------
    ParsedRegimen
        ``drugs`` are INN generic names in lower case (an investigational agent
        without an INN by its research code); procedures are not drugs;
        annotations are kept; anything not understood is in ``unrecognized``.

    References
    ----------
    Issue 3; REFERENCE.md section 4 (drug table and regimen acronyms).
    """
    vocab = vocabulary if vocabulary is not None else default_vocabulary()
    return _parse_cached(str(text), vocab)
