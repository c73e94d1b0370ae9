"""Read one free-text regimen name into drugs, procedures and annotations.

The rules (all tables live in data files, see :mod:`aftercar.vocab.vocabulary`
and ``regimen_grammar.toml``):

1. Annotations first: every annotation regex is found in the whole text and
   removed ("40 mg", "C1D1", "on trial", "maintenance", "(transplant-eligible)",
   "RRMM"), so they can never be read as drugs.
2. The remainder is split into chunks at the separators (``+ / , & ; and with``)
   and at parentheses; "->", "then", "followed by" (and "after", reversed) also
   separate *steps* of a sequence written in one cell.
3. Inside a chunk the words (split at spaces and hyphens) are matched greedily,
   longest first, case-sensitively among the regimen and letter codes (``KPd``,
   ``D``, ``d``, ``DT-PACE``) and then case-insensitively (letters and digits
   only, accents folded) among drug names, brands, research codes, synonyms and
   target words (``REGN 5458`` = ``regn-5458``; ``BCMA``).
4. A word still unmatched is read as letter codes only when it is a documented
   combination (``[letter_codes]``: at most 5 codes ending in a dexamethasone
   code or a named regimen code: ``DVRd``, ``VenDd``); ``PBSCT`` or ``PET`` are
   never split. A short letter code (``T``, ``C``) next to an unknown word of the
   same chunk becomes part of that unknown piece ("T cells", "C-CAR088").
5. A word still unknown is corrected when exactly one vocabulary meaning is
   within the allowed edit distance (:mod:`aftercar.vocab.corrections`); the
   correction is reported. Anything else is *unrecognized* and reported, never
   guessed.
6. Target words join the class words of their step (:mod:`aftercar.vocab.assemble`).

References
----------
Issue 3 (letter-code case rules); issue 11 (real-world text); REFERENCE.md
section 4 (regimen acronyms).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from functools import lru_cache

from aftercar.schema import Col
from aftercar.vocab.assemble import assemble
from aftercar.vocab.corrections import Correction, correct
from aftercar.vocab.grammar import Annotation, LetterCodeRules
from aftercar.vocab.history import Chunk, history_chunks
from aftercar.vocab.regimen import ParsedRegimen, Token
from aftercar.vocab.vocabulary import (
    TARGET_KIND,
    Reading,
    Vocabulary,
    default_vocabulary,
    norm_key,
)

_DASHES = re.compile(r"[\u2010-\u2015\u2212\ufe58\ufe63\uff0d]")
_BRACKETS = re.compile(r"[()\[\]{}]")
_MAX_SEGMENT_WORD = 14
_MAX_CORRECTION_WORDS = 3
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_WORD = re.compile(r"[^\s\-_.'\"*#()\[\]{}<>]+")
_SUFFIX = re.compile(r"[a-z]{4}")
_PLUS = re.compile(r"\s\+\s")
#: A drug name with its dose glued to it ("Dex40", "Pom4", "Len10", "MEL100mg"): 3+ letters
#: then a number not starting with 0 (mg optional); letters in lower case or capitalised,
#: in capitals only with "mg" ("CTX110" is a CAR T, not cyclophosphamide 110); research
#: codes ("REGN5458") are read as their own entries.
_GLUED_DOSE = re.compile(r"([A-Za-z]{3,})([1-9]\d*(?:\.\d+)?)(?:mg)?", re.IGNORECASE)
_AGENT_ROLES = ("anti_myeloma", "steroid")
_BIOLOGIC = ("mab", "cel", "ase", "cept", "stim", "alfa", "mig", "leucel", "dotin", "tansine")
_CODE_HOWS = ("letter code", "regimen code", "final capital")


#: A hyphen between a one- or two-letter code and a phase-of-care word ("R-maint",
#: "Rd-maintenance") joins two words, not the pieces of a code ("B-D0"): read as a space (an
#: eighth probe of real regimen strings, session 26: "R-maint" was left unrecognised).
_PHASE_HYPHEN = re.compile(r"(?<=\b[A-Za-z]{1})-(?=(?:maint(?:enance)?|consol(?:idation)?)\b)"
                           r"|(?<=\b[A-Za-z]{2})-(?=(?:maint(?:enance)?|consol(?:idation)?)\b)",
                           re.IGNORECASE)  # fmt: skip


#: A Greek letter standing alone after a hyphen or space ("IFN-\u03b1", "kappa FLC" as
#: "\u03ba FLC") is its Latin name: lookup keys keep Greek letters since session 26, and
#: "interferon-\u03b1" left "\u03b1" unrecognised (a review of that change).
_GREEK_NAMES = {"\u03b1": "alpha", "\u03b2": "beta", "\u03b3": "gamma", "\u03ba": "kappa",
                "\u03bb": "lambda"}  # fmt: skip
_GREEK_LETTER = re.compile(r"(?<=[-\s])[\u03b1\u03b2\u03b3\u03ba\u03bb](?!\w)", re.IGNORECASE)


def _normalise(text: str) -> str:
    # a trade mark sign is no letter: NFKC would glue "TM" onto the brand ("ABECMA™")
    text = unicodedata.normalize("NFKC", text.replace("\u2122", " ").replace("\u2120", " "))
    text = _DASHES.sub("-", text).replace("\u00d7", " x ")
    text = _GREEK_LETTER.sub(lambda m: _GREEK_NAMES[m.group(0).lower()], text)
    return _PHASE_HYPHEN.sub(" ", text)


def _take_annotations(text: str, vocab: Vocabulary) -> tuple[str, list[tuple[int, Token]]]:
    """Find every annotation (one pass of all rules, leftmost first) and blank it out.

    No annotation spans " + ", so each "+"-separated piece is annotated once and
    reused by every text that contains it (the pieces of real regimens repeat).
    """
    parts: list[str] = []
    found: list[tuple[int, Token]] = []
    pos = 0
    for m in [*_PLUS.finditer(text), None]:
        end = m.start() if m is not None else len(text)
        blanked, tokens = _annotate_piece(text[pos:end], vocab)
        parts.append(blanked)
        found += [(pos + offset, token) for offset, token in tokens]
        if m is not None:
            parts.append(m.group(0))
            pos = m.end()
    return "".join(parts), found


#: What an annotation with ``sequence = true`` leaves in the text: a sequence separator of
#: ``regimen_grammar.toml`` (``-+>``), padded to the annotation's length (offsets kept).
_SEQUENCE_MARK = " -> "


@lru_cache(maxsize=65536)
def _annotate_piece(text: str, vocab: Vocabulary) -> tuple[str, tuple[tuple[int, Token], ...]]:
    found: list[tuple[int, Token]] = []
    combined = vocab.grammar.combined if vocab.grammar else None
    if combined is None:
        return text, ()
    rules = vocab.annotations

    def _cut(m: re.Match[str]) -> str:
        at, piece = m.start(), m.group(0).strip(" -")
        glued = at >= 2 and m.string[at - 1] == "-" and m.string[at - 2].isalnum()
        if glued and any(c.isdigit() for c in piece):
            return m.group(0)  # "BBD-D0", "XY-C12": part of a research code, not a cycle
        if piece:
            n = int(m.lastgroup[1:]) if m.lastgroup else 0
            ann = rules[n]
            keep = f"keep{n}"
            if ann.sequence and keep in m.re.groupindex and m.group(keep) is not None:
                return _kept(m, keep, ann, found, vocab)
            found.append((m.start(), Token(piece, "annotation", (ann.label,), ann.why)))
            if ann.sequence:  # a sequence separator the separators then read ("->")
                return _SEQUENCE_MARK.ljust(len(m.group(0)))
        return " " * len(m.group(0))  # a weak separator; keeps offsets

    return combined.sub(_cut, text), tuple(found)


def _kept(
    m: re.Match[str], keep: str, ann: Annotation, found: list[tuple[int, Token]], vocab: Vocabulary
) -> str:
    """A sequence annotation around kept words ("D/C Revlimid, start"): its own words are
    blanked, the kept words annotated and read as usual, the separator put after them."""
    start, end = m.span(keep)
    before, after = m.string[m.start() : start], m.string[end : m.end()]
    piece = f"{before.strip()} ... {after.strip()}".strip(" -")
    found.append((m.start(), Token(piece, "annotation", (ann.label,), ann.why)))
    blanked, tokens = _annotate_piece(m.group(keep), vocab)
    found.extend((start + offset, token) for offset, token in tokens)
    return " " * len(before) + blanked + _SEQUENCE_MARK.ljust(len(after))


def _lookup(words: list[str], vocab: Vocabulary) -> Reading | None:
    raw = "".join(words)
    hit = vocab.exact_codes.get(raw)
    if hit is not None:
        return hit
    return vocab.by_key.get(norm_key(raw))


def _rules(vocab: Vocabulary) -> LetterCodeRules:
    return vocab.grammar.letter_codes if vocab.grammar else LetterCodeRules()


def _segment(word: str, vocab: Vocabulary) -> list[tuple[str, Reading]] | str | None:
    """Split ``word`` into (piece, reading) letter codes; None if impossible, or "ambiguous"."""
    if not word.isalpha() or len(word) > _MAX_SEGMENT_WORD:
        return None
    all_caps = len(word) >= 2 and word.isupper()
    n = len(word)
    # best[i] = the candidate segmentations of word[:i] with the fewest codes
    best: list[list[list[tuple[str, Reading]]] | None] = [None] * (n + 1)
    best[0] = [[]]
    for end in range(1, n + 1):
        options: list[list[tuple[str, Reading]]] = []
        for start in range(end):
            if best[start] is None:
                continue
            piece = word[start:end]
            reading = vocab.exact_codes.get(piece)
            if end == n and piece in vocab.final_caps and start > 0 \
                    and (all_caps or word[start - 1].isupper()):  # fmt: skip
                reading = vocab.final_caps[piece]  # "VRD", and "DaraRD": an all-capital tail
            if reading is not None:
                options += [[*seq, (piece, reading)] for seq in best[start]]
        if options:
            fewest = min(len(o) for o in options)
            best[end] = [o for o in options if len(o) == fewest]
    if best[n] is None:
        return None
    meanings = {tuple(sorted({x for _, r in seq for x in r.names})) for seq in best[n]}
    return best[n][0] if len(meanings) == 1 else "ambiguous"


def _documented(seq: list[tuple[str, Reading]], rules: LetterCodeRules) -> bool:
    """A documented combination: few codes, the last a dex/pred or named regimen code."""
    last = seq[-1][1].names
    return len(seq) <= rules.max_pieces and (len(last) > 1 or last[0] in rules.final_names)


def _kind(names: tuple[str, ...], vocab: Vocabulary) -> str:
    if len(names) > 1:
        return Col.REGIMEN
    return vocab.drug(names[0]).kind


def _unknown(word: str, why: str = "not a known drug, code or annotation") -> Token:
    return Token(word, "unrecognized", (), why)


def _read_word(word: str, vocab: Vocabulary) -> Token:
    if _NUMBER.fullmatch(word):
        return Token(
            word, "annotation", ("number",), "a bare number (dose or count) is never a drug"
        )
    glued = _glued_dose(word, vocab) or _glued_cycles(word, vocab)
    if glued is not None:
        return glued
    seg = _segment(word, vocab)
    if seg is None:
        return _unknown(word)
    if seg == "ambiguous":
        return _unknown(word, "letter codes can be read more than one way")
    if not _documented(seg, _rules(vocab)):
        return _unknown(word, "not a documented combination of letter codes")
    names = tuple(dict.fromkeys(x for _, r in seg for x in r.names))
    how = "letter codes " + " + ".join(piece for piece, _ in seg)
    return Token(word, _kind(names, vocab), names, how)


def _dose_case(letters: str, word: str) -> bool:
    """Letters written as a drug name is ("dex", "Dex"), or in capitals before "mg"."""
    return letters.islower() or letters.istitle() or word.lower().endswith("mg")


def _glued_dose(word: str, vocab: Vocabulary) -> Token | None:
    """One agent named with its dose glued on ("Dex40" = dexamethasone), else ``None``."""
    m = _GLUED_DOSE.fullmatch(word)
    if m and not _dose_case(m.group(1), word):
        return None  # "CTX110", "dEX1": a code, not a dose ("MEL100mg" is)
    hit = vocab.by_key.get(norm_key(m.group(1))) if m else None
    if hit is None or len(hit.names) != 1:
        return None
    drug = vocab.drug(hit.names[0])
    if drug.kind != "drug" or drug.role not in _AGENT_ROLES:
        return None
    return Token(word, "drug", hit.names, f"{hit.how}, dose {m.group(2)} glued to it")


#: A regimen code with its number of cycles glued to it ("KRd12", "VRd6", "VTD4": trial
#: arm names such as FORTE's KRd12, Gay et al. Lancet Oncol 2021;22:1705).
_GLUED_CYCLES = re.compile(r"([A-Za-z]{2,6})(1[0-2]|[1-9])")
_CYCLES_HOW = " cycles glued to it"


def _glued_cycles(word: str, vocab: Vocabulary) -> Token | None:
    """A code of ``regimen_codes.csv`` naming two or more drugs with 1-12 glued to it,
    else ``None`` ("CD3" is no code: its letters are not a listed regimen)."""
    m = _GLUED_CYCLES.fullmatch(word)
    hit = vocab.by_key.get(norm_key(m.group(1))) if m else None
    if hit is None or len(hit.names) < 2 or not hit.how.startswith("regimen code"):
        return None
    return Token(word, Col.REGIMEN, hit.names, f"{hit.how}, {m.group(2)}{_CYCLES_HOW}")


def _try_correction(
    words: list[tuple[int, int, str]], i: int, text: str, vocab: Vocabulary
) -> tuple[int, Token] | None:
    """Correct the longest unknown span starting at word ``i`` (1-3 words)."""
    texts = [w for _, _, w in words]
    last = i + 1
    while (
        last < min(len(words), i + _MAX_CORRECTION_WORDS) and _lookup([texts[last]], vocab) is None
    ):
        last += 1
    for j in range(last, i, -1):
        found = correct("".join(texts[i:j]), vocab)
        if found is None:
            continue
        piece = text[words[i][0] : words[j - 1][1]]
        if isinstance(found, Correction):
            how = f"corrected from {piece!r} (spelling {found.spelling})"
            return j, Token(piece, _kind(found.names, vocab), found.names, how)
        if j == i + 1:
            rivals = " or ".join("+".join(m) for m in found)
            return j, _unknown(piece, f"misspelling that could be {rivals}")
    return None


def _suffix(word: str, start: int, text: str, tokens: list[tuple[int, Token]], vocab) -> bool:
    """A 4-letter FDA suffix glued to a biologic (``teclistamab-cqyv``)."""
    if not _SUFFIX.fullmatch(word) or not tokens or start == 0 or text[start - 1] != "-":
        return False
    prev = tokens[-1][1]
    named = prev.how.startswith(("name", "synonym", "corrected"))
    return named and prev.kind == "drug" and any(n.endswith(_BIOLOGIC) for n in prev.names)


def _read_chunk(
    words: list[tuple[int, int, str]], text: str, vocab: Vocabulary, cuts: tuple[int, ...] = ()
) -> list[tuple[int, Token]]:
    """Read the words of one chunk greedily; adjacent unknown words form one piece. No
    entry of several words spans a cut (where an annotation was taken out: "Tal s/p Tec"
    is not the entry "Tal Tec")."""
    tokens: list[tuple[int, Token]] = []
    texts = [w for _, _, w in words]
    i = 0
    while i < len(words):
        for j in range(min(len(words), i + vocab.max_words), i, -1):
            if j > i + 1 and any(words[i][1] <= c < words[j - 1][0] for c in cuts):
                continue
            hit = _lookup(texts[i:j], vocab)
            if hit is not None:
                piece = text[words[i][0] : words[j - 1][1]]
                tokens.append((words[i][0], Token(piece, _kind(hit.names, vocab), *_rest(hit))))
                i = j
                break
        else:
            i = _read_unmatched(words, i, text, vocab, tokens)
    return _merge_weak(tokens, text, _rules(vocab).weak_length)


@lru_cache(maxsize=65536)
def _read_chunk_text(chunk: str, vocab: Vocabulary,
                     cuts: tuple[int, ...] = ()) -> tuple[tuple[int, Token], ...]:  # fmt: skip
    """Read one chunk (offsets within the chunk; ``cuts``: those of the annotations taken
    out of it); chunks repeat across texts, so cached."""
    words = [(m.start(), m.end(), m.group(0)) for m in _WORD.finditer(chunk)]
    return tuple(_read_chunk(words, chunk, vocab, cuts))


def _read_unmatched(words, i: int, text: str, vocab: Vocabulary, tokens: list) -> int:
    start, end, word = words[i]
    token = _read_word(word, vocab)
    if token.kind == "unrecognized" and token.how.startswith("not a known"):
        if _suffix(word, start, text, tokens, vocab):
            tokens.append((start, Token(word, "annotation", ("fda-suffix",), "FDA suffix")))
            return i + 1
        fixed = _try_correction(words, i, text, vocab)
        if fixed is not None:
            j, token = fixed
            if token.kind != "unrecognized":
                tokens.append((start, token))
                return j
    _append_joined(tokens, start, end, token, text)
    return i + 1


def _append_joined(tokens: list, start: int, end: int, token: Token, text: str) -> None:
    last = tokens[-1][1] if tokens else None
    joins = token.kind == "unrecognized" or token.names == ("number",)
    if joins and last is not None and last.kind == "unrecognized":
        first = tokens[-1][0]
        tokens[-1] = (first, Token(text[first:end], last.kind, (), last.how))
    else:
        tokens.append((start, token))


def _weak(token: Token, limit: int) -> bool:
    """A short single letter code ("T", "Cy"), never a documented combination of codes
    ("Rd", "Kd": "Rd continuous" is lenalidomide + dexamethasone)."""
    short = len(token.text.replace("-", "").replace(" ", "")) <= limit
    combination = token.how.startswith("letter codes ")
    return (short and token.kind in ("drug", Col.REGIMEN) and not combination
            and token.how.startswith(_CODE_HOWS))  # fmt: skip


def _glued_number(prev: tuple[int, Token], start: int, token: Token, text: str) -> bool:
    """A number glued by a hyphen to a letter code ("T-12", "BBD-0") makes an unknown code."""
    end = prev[0] + len(prev[1].text)
    code = prev[1].kind in ("drug", Col.REGIMEN) and prev[1].how.startswith(_CODE_HOWS)
    return token.names == ("number",) and code and text[end:start] == "-"


def _glued(first: tuple[int, Token], start: int, text: str) -> bool:
    end = first[0] + len(first[1].text)
    return text[end:start] == "-"


def _joins(prev: tuple[int, Token], start: int, token: Token, text: str, limit: int) -> bool:
    """Whether ``token`` and the piece before it form one unknown piece.

    One of them is unknown and the other a short letter code ("T cells"), or a
    letter-code or glued-cycles reading glued to it by a hyphen ("BBD-A0", "A-BPD1").
    """
    pair = (prev[1], token)
    if not any(t.kind == "unrecognized" for t in pair):
        return False
    other = prev[1] if token.kind == "unrecognized" else token
    if other.kind == "unrecognized" or _weak(other, limit):
        return True
    coded = other.how.startswith("letter codes") or other.how.endswith(_CYCLES_HOW)
    return coded and _glued(prev, start, text)


def _merge_weak(tokens: list[tuple[int, Token]], text: str, limit: int) -> list[tuple[int, Token]]:
    """Short letter codes next to an unknown word are part of it ("T cells", "T-12")."""
    out: list[tuple[int, Token]] = []
    for start, token in tokens:
        end = start + len(token.text)
        if _weak(token, limit) and text[end : end + 2] == "- ":  # "B-D0": glued to a removed piece
            token = _unknown(token.text, "letter code glued to a code-like piece")
        if out and _glued_number(out[-1], start, token, text):
            token = _unknown(token.text)
        if out and _joins(out[-1], start, token, text, limit):
            first = out[-1][0]
            piece = text[first : start + len(token.text)]
            out[-1] = (first, _unknown(piece, "unknown word with a letter code beside it"))
        else:
            out.append((start, token))
    return out


def _rest(hit: Reading) -> tuple[tuple[str, ...], str]:
    return hit.names, hit.how


def _chunks(text: str, vocab: Vocabulary) -> tuple[list[Chunk], list[int]]:
    """Split at the separators: chunks with offset and step, and the steps in time order.

    Steps are numbered in reading order; "A after B" puts B first in time.
    """
    chunks, pos, step, order = [], 0, 0, [0]
    for m in vocab.separators.finditer(text):
        chunks.append(Chunk(pos, text[pos : m.start()], step))
        if m.lastgroup == "sequence":
            step += 1
            order.append(step)
        elif m.lastgroup == "reverse":
            step += 1
            order.insert(order.index(step - 1), step)
        pos = m.end()
    chunks.append(Chunk(pos, text[pos:], step))
    return chunks, order


def _step_of(offset: int, chunks: list[Chunk]) -> int:
    step = 0
    for chunk in chunks:
        if chunk.offset <= offset:
            step = chunk.step
    return step


def _whole_entry(text: str, vocab: Vocabulary) -> Token | None:
    """``text`` read whole as one name or synonym of ``drugs.csv`` (``"no active
    treatment"``, ``"watch and wait"``, ``"stem cell rescue"``), else ``None``: an entry
    written alone is that entry, before annotation rules ("treatment", "myeloma") or
    separators ("and", "/") cut it into words that mean nothing alone."""
    norm = _normalise(text).strip()
    read = _read_chunk_text(norm, vocab)
    if len(read) != 1 or read[0][0] or read[0][1].text != norm:
        return None
    token = read[0][1]
    entry = token.how == "name" or token.how.startswith("synonym ")
    return token if entry and token.kind in ("drug", "procedure") else None


def tokenise(text: str, vocab: Vocabulary) -> tuple[list[Token], str, list[int]]:
    """Return the tokens of ``text`` in reading order, the blanked text and the step order.

    The blanked text is the normalised text with annotations replaced by spaces
    (used to see whether a letter code is explained by drug names nearby). A text that
    is one entry of the vocabulary as written is that entry (:func:`_whole_entry`).
    """
    whole = _whole_entry(text, vocab)
    if whole is not None:
        return [whole], _normalise(text), [0]
    blanked, found = _take_annotations(_normalise(text), vocab)
    split = _BRACKETS.sub(",", blanked)
    chunks, order = _chunks(split, vocab)
    taken = [offset for offset, _t in found]
    for chunk in chunks:
        end = chunk.offset + len(chunk.text)
        cuts = tuple(o - chunk.offset for o in taken if chunk.offset <= o < end)
        found += [(chunk.offset + at, token)
                  for at, token in _read_chunk_text(chunk.text, vocab, cuts)]  # fmt: skip
    found = history_chunks(sorted(found, key=lambda p: p[0]), chunks, blanked)
    tokens = [
        Token(t.text, t.kind, t.names, t.how, _step_of(offset, chunks)) for offset, t in found
    ]
    return tokens, blanked, order


@lru_cache(maxsize=65536)
def _parse_cached(text: str, vocab: Vocabulary) -> ParsedRegimen:
    limit = vocab.grammar.max_text_length if vocab.grammar else len(text)
    if len(text) > limit:
        return _parse_long(text, limit, vocab)
    tokens, blanked, order = tokenise(text, vocab)
    return assemble(text, tokens, blanked, order, vocab)


def _parse_long(text: str, limit: int, vocab: Vocabulary) -> ParsedRegimen:
    """A text longer than ``max_text_length`` (regimen_grammar.toml): its first ``limit``
    characters are read and the rest is named unrecognized, so a pasted note cannot stall
    a run (fuzz round 9, session 28: 50,000 characters took minutes, the reading growing
    with the square of the words)."""
    cut = text.rfind(" ", limit // 2, limit + 1)  # at a space: no word read in part
    cut = cut if cut > 0 else limit
    head = text[:cut]
    tokens, blanked, order = tokenise(head, vocab)
    step = tokens[-1].step if tokens else 0
    rest = Token(f"(the {len(text) - cut} characters after the first {cut} not read)",
                 "unrecognized", (), "text longer than max_text_length of "
                 "regimen_grammar.toml", step)  # fmt: skip
    parsed = assemble(head, [*tokens, rest], blanked, order, vocab)
    return replace(parsed, text=text)


def parse_regimen(text: str, *, vocabulary: Vocabulary | None = None) -> ParsedRegimen:
    """Read a free-text regimen name into drugs, procedures and annotations.

    Parameters
    ----------
    text
        A regimen as written, e.g. ``"Dara-KPd"``, ``"Tec + dara (step-up)"``,
        ``"REGN5458 on trial"``, ``"cilta-cel (2nd CAR T)"``, ``"Tec -> Tal"``.
    vocabulary
        The vocabulary to read with; ``None`` uses the shipped one.

    Returns
    -------
    ParsedRegimen
        ``drugs`` are INN generic names in lower case (an investigational agent
        without an INN by its research code); procedures are not drugs;
        annotations are kept; corrected misspellings are listed in
        ``corrections``; anything not understood is in ``unrecognized``.

    References
    ----------
    Issues 3 and 11; REFERENCE.md section 4 (drug table and regimen acronyms).
    """
    vocab = vocabulary if vocabulary is not None else default_vocabulary()
    return _parse_cached(str(text), vocab)


__all__ = ["TARGET_KIND", "ParsedRegimen", "Token", "parse_regimen", "tokenise"]
