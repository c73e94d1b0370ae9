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
from dataclasses import dataclass, field
from functools import lru_cache

from aftercar.schema import Col
from aftercar.vocab.assemble import assemble
from aftercar.vocab.corrections import Correction, correct
from aftercar.vocab.grammar import LetterCodeRules
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
#: What joins the items of one list of earlier therapy, and the words that end it.
_LIST_JOIN = re.compile(r"\s*(?:,|\+|&|/|\band\b)\s*", re.IGNORECASE)
#: Joins of a history list that runs on to "now" across steps ("Hx: VRd -> ASCT -> Len
#: maint; now Dara-Pd"; a sixth probe of real regimen strings, 2026-12-06).
_AND = re.compile(r"\s*,?\s*(?:\band\b|&)\s*", re.IGNORECASE)
_STEP_JOIN = re.compile(r"[\s()\[\]]*(?:,|;|\+|&|/|\band\b|-+>|=+>|\u2192|\u21d2|>|\bthen\b)?"
                        r"[\s()\[\]]*", re.IGNORECASE)  # fmt: skip
_LIST_STOPS = (("status",), ("note",), ("sequence",))
_BIOLOGIC = ("mab", "cel", "ase", "cept", "stim", "alfa", "mig", "leucel", "dotin", "tansine")
_CODE_HOWS = ("letter code", "regimen code", "final capital")
_THERAPY_KINDS = ("drug", "procedure", Col.REGIMEN, TARGET_KIND)


@dataclass
class _Chunk:
    offset: int
    text: str
    step: int
    tokens: list[tuple[int, Token]] = field(default_factory=list)


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
            ann = rules[int(m.lastgroup[1:])] if m.lastgroup else rules[0]
            found.append((m.start(), Token(piece, "annotation", (ann.label,), ann.why)))
        return " " * len(m.group(0))  # a weak separator; keeps offsets

    return combined.sub(_cut, text), tuple(found)


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


def _chunks(text: str, vocab: Vocabulary) -> tuple[list[_Chunk], list[int]]:
    """Split at the separators: chunks with offset and step, and the steps in time order.

    Steps are numbered in reading order; "A after B" puts B first in time.
    """
    chunks, pos, step, order = [], 0, 0, [0]
    for m in vocab.separators.finditer(text):
        chunks.append(_Chunk(pos, text[pos : m.start()], step))
        if m.lastgroup == "sequence":
            step += 1
            order.append(step)
        elif m.lastgroup == "reverse":
            step += 1
            order.insert(order.index(step - 1), step)
        pos = m.end()
    chunks.append(_Chunk(pos, text[pos:], step))
    return chunks, order


def _step_of(offset: int, chunks: list[_Chunk]) -> int:
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
    found = _history_chunks(sorted(found, key=lambda p: p[0]), chunks, blanked)
    tokens = [
        Token(t.text, t.kind, t.names, t.how, _step_of(offset, chunks)) for offset, t in found
    ]
    return tokens, blanked, order


def _chunk_of(offset: int, chunks: list[_Chunk]) -> int:
    index = 0
    for i, chunk in enumerate(chunks):
        if chunk.offset <= offset:
            index = i
    return index


def _groups(blanked: str, chunks: list[_Chunk]) -> list[int | None]:
    """The parenthesis group (offset of its opening bracket) of each chunk, or None."""
    opened: list[int] = []
    group_at: dict[int, int | None] = {}
    for i, ch in enumerate(blanked):
        if ch in "([{":
            opened.append(i)
        elif ch in ")]}" and opened:
            opened.pop()
        group_at[i] = opened[-1] if opened else None
    return [group_at.get(c.offset) if c.offset < len(blanked) else None for c in chunks]


def _history_targets(i: int, chunks, groups, therapy: set[int]) -> set[int]:
    """Chunks whose therapy a history word in chunk ``i`` marks as earlier therapy, when
    no therapy follows the word in its own chunk (:func:`_history_marks`)."""
    if i in therapy:
        return {i}  # "Dara-Pd failed"
    group = groups[i]
    if group is not None:
        inside = {j for j, g in enumerate(groups) if g == group and j in therapy}
        if inside:
            return inside  # "(prior: Dara-Pd)"
        before = [j for j in range(i) if groups[j] is None and chunks[j].offset < group]
        return {before[-1]} & therapy if before else set()  # "Dara-Pd (prior)"
    return _next_chunk(i, chunks, therapy)  # "prior: Dara-Pd"


def _next_chunk(i: int, chunks, therapy: set[int]) -> set[int]:
    """The chunk after chunk ``i`` in the same step, if it names therapy."""
    after = [j for j in range(i + 1, len(chunks)) if chunks[j].step == chunks[i].step]
    return {after[0]} & therapy if after else set()


def _history_marks(k: int, found: list[tuple[int, Token]], where: list[int], chunks, groups,
                   therapy: set[int], blanked: str) -> set[int]:  # fmt: skip
    """Indices into ``found`` of the therapy that the history word ``found[k]`` marks.

    The word scopes forward within its chunk: "Tec s/p cilta-cel" and "Talquetamab h/o
    ide-cel" mark only the product after it (a bare "post", history only before a CAR T,
    marks that one product: "post-CAR-T Tec" is teclistamab). With no therapy after it in
    the chunk, words after it carry the phrase on into the next chunk ("Elranatamab in
    patient previously treated with ide-cel": ide-cel); a word that ends its chunk refers
    to its own chunk ("Dara-Pd failed"), its parenthesis ("(prior: Dara-Pd)") or the chunk
    before one ("Dara-Pd (prior)"), else to the next chunk ("prior: KRd; now Tec")."""
    offset, word = found[k]
    i = where[k]
    kinds = [(j, c) for j, (c, (_, t)) in enumerate(zip(where, found, strict=True))
             if t.kind in _THERAPY_KINDS]  # fmt: skip
    ahead = sorted((found[j][0], j) for j, c in kinds if c == i and found[j][0] > offset)
    if ahead:  # a bare "post" (only before a CAR T) marks that CAR T alone
        if word.text.lower().startswith("post"):
            return {ahead[0][1]}
        # a transplant named after current therapy in one phrase is part of its line
        # (induction, transplant and maintenance are one line): "Len maintenance s/p ASCT"
        current = any(c == i and found[j][0] < offset for j, c in kinds)
        # a list runs on only after current therapy or inside a parenthesis: in "s/p ASCT,
        # Len maintenance" or "prior Tec, Tal" the last item is the current therapy
        now = _current_after(offset, found)
        listed = _listed_after(i, chunks, groups, blanked, _stops(found, offset), steps=now)
        if not (current or now or groups[i] is not None or any(c < i for _j, c in kinds)):
            listed = _closed(listed, chunks, blanked, therapy)
        ahead += [(found[j][0], j) for j, c in kinds if c in listed]
        if _LIST_HEADING.match(word.text) and all(_generic(found[j][1]) for _o, j in ahead):
            named = _named_list(i, chunks, groups, blanked, therapy, _stops(found, offset))
            listed = [j for j, c in kinds if c in named]
            # products, not the class's abbreviation ("a proteasome inhibitor (PI)")
            if not all(_generic(found[j][1]) for j in listed):
                ahead += [(found[j][0], j) for j in listed]
        return {j for _o, j in ahead if not (current and _transplant(found[j][1]))}
    chunk = chunks[i]
    rest = blanked[offset + len(word.text) : chunk.offset + len(chunk.text)]
    targets = _next_chunk(i, chunks, therapy) if groups[i] is None and rest.strip() else set()
    if targets and groups[min(targets)] is not None:  # "≥3 prior lines (PI, IMiD, anti-CD38)"
        targets = {j for j, g in enumerate(groups) if g == groups[min(targets)]} & therapy
    if not targets:
        targets = _history_targets(i, chunks, groups, therapy)
    # "Prior: VRd, ASCT, DPd. Current: Tec" runs on to "now" across steps; after the current
    # therapy, "Tec; prior: DRd, KPd" over its list only (a ninth probe of real regimen
    # strings, session 26: only the first item was marked), never on to a later step ("Kd;
    # prior: VRd; then Tec": teclistamab is current, a review of that change)
    now = _current_after(offset, found)
    if targets and (now or (groups[i] is None and any(c < i for _j, c in kinds))):
        targets |= _listed_after(max(targets), chunks, groups, blanked, _stops(found, offset),
                                 steps=now)  # fmt: skip
    return {j for j, c in kinds if c in targets}


def _generic(token: Token) -> bool:
    """A class or a target named without its product ("BCMA CAR-T", "anti-BCMA", "ADC")."""
    return token.kind == TARGET_KIND or all(n.startswith("unspecified ") for n in token.names)


#: What opens the list a class names ("prior BCMA CAR-T: ide-cel", "prior ADC (bela)").
_OPENS_LIST = re.compile(r"\s*[:(\[]\s*")
#: History words that head a list of earlier therapy ("prior BCMA CAR-T: ide-cel"), unlike
#: those of a situation the current therapy follows ("Relapsed after BCMA CAR-T:
#: Talquetamab"; a review of session 27).
_LIST_HEADING = re.compile(r"prior|previous|pre-?treated|history|hx|h/o|exposed|past",
                           re.IGNORECASE)  # fmt: skip


def _named_list(i: int, chunks, groups, blanked: str, therapy: set[int],
                stops: list[int]) -> set[int]:  # fmt: skip
    """The chunks of the list that follows chunk ``i`` after a colon or in brackets, when
    the history phrase of chunk ``i`` names only a class or target: "Elranatamab; prior
    BCMA-directed therapy: ide-cel", "Linvo; prior ADC (bela)" (an eleventh probe of real
    regimen strings, session 27: the products were read as current therapy, a bispecific
    line as a CAR-T line). Not across a status or note word ("prior BCMA CAR-T: now Tal")."""
    if i + 1 >= len(chunks) or chunks[i + 1].step != chunks[i].step:
        return set()
    end = chunks[i].offset + len(chunks[i].text)
    nxt = chunks[i + 1]
    if not _OPENS_LIST.fullmatch(blanked[end : nxt.offset]) or i + 1 not in therapy:
        return set()
    if any(nxt.offset <= o < nxt.offset + len(nxt.text) for o in stops):
        return set()
    first = {i + 1}
    if groups[i + 1] is not None and groups[i + 1] != groups[i]:
        first = {j for j, g in enumerate(groups) if g == groups[i + 1]}
    named = first | _listed_after(max(first), chunks, groups, blanked, stops)
    # a list that would leave no current therapy is the therapy itself
    return named if therapy - named - {i} else set()


#: Words naming the current therapy after a history list ("now", "current"; "started" since
#: an eighth probe of real regimen strings, session 26: "History of VRd/ASCT/R-maint;
#: progressed on Len; started DKd" is DKd alone).
_CURRENT = re.compile(r"now|current(?:ly)?|started", re.IGNORECASE)


def _current_after(offset: int, found: list[tuple[int, Token]]) -> bool:
    """Whether a word naming the current therapy ("now", "current") follows ``offset``, with
    therapy after it: a history list then runs on up to it ("Hx of VRd/ASCT; now Dara-Kd";
    a fifth probe of real regimen strings, 2026-12-06), where otherwise its last item is
    the current one ("s/p ASCT, len maintenance, now in CR": lenalidomide is current)."""
    now = [o for o, t in found if o > offset and t.kind == "annotation"
           and t.names[:1] == ("status",) and _CURRENT.fullmatch(t.text.strip())]  # fmt: skip
    return bool(now) and any(o > now[0] and t.kind in _THERAPY_KINDS for o, t in found)


def _stops(found: list[tuple[int, Token]], after: int) -> list[int]:
    """Offsets of the words after ``after`` that end a history list ("s/p Tec, now Tal");
    a note before the history word does not ("Elranatamab in patient refractory to dara,
    pom and carfilzomib": all three are earlier therapy; an eighth probe of real regimen
    strings, session 26)."""
    return [o for o, t in found
            if o > after and t.kind == "annotation" and t.names[:1] in _LIST_STOPS]  # fmt: skip


def _closed(listed: set[int], chunks, blanked: str, therapy: set[int]) -> set[int]:
    """The items of a list of earlier therapy up to the one after its "and": "Refractory to
    len, pom, bortezomib, carfilzomib and dara; Tec" names five earlier drugs and "After
    failure of len and bortezomib, dara was given" two, where "prior Tec, Tal" names the
    current one last (an eighth probe of real regimen strings, session 26). Only when
    therapy follows the list: in "prior Tec and Tal" the last item is the current one."""
    for j in sorted(listed):
        sep = blanked[chunks[j - 1].offset + len(chunks[j - 1].text) : chunks[j].offset]
        if _AND.fullmatch(sep):
            return {k for k in listed if k <= j} if any(t > j for t in therapy) else set()
    return set()


def _listed_after(i: int, chunks, groups, blanked: str, stops: list[int],
                  steps: bool = False) -> set[int]:  # fmt: skip
    """The chunks after chunk ``i`` that go on with its list ("Tal s/p Tec and cilta-cel",
    "Elranatamab; h/o Dara-Pd, KRd", "Tal (prior Tec, cilta-cel)"): in its step and
    parenthesis, each joined to the one before by ``, + & /`` or "and", up to one with a
    status or note word ("s/p Tec, now Tal"); with ``steps`` (a "now" follows) also
    across sequence arrows and semicolons ("Hx: VRd -> ASCT -> R maint; now Dara-Pd")."""
    out: set[int] = set()
    join = _STEP_JOIN if steps else _LIST_JOIN
    for j in range(i + 1, len(chunks)):
        before, chunk = chunks[j - 1], chunks[j]
        sep = blanked[before.offset + len(before.text) : chunk.offset]
        end = chunk.offset + len(chunk.text)
        if (((chunk.step != chunks[i].step or groups[j] != groups[i]) and not steps)
                or not join.fullmatch(sep)
                or any(before.offset <= o < end for o in stops)):  # fmt: skip
            break
        out.add(j)
    return out


def _transplant(token: Token) -> bool:
    return token.kind == "procedure" and any("transplant" in n for n in token.names)


def _history_chunks(found: list[tuple[int, Token]], chunks: list[_Chunk], blanked: str) -> list:
    """Therapy named as history ("Tec (prior BCMA CAR T)") is not part of the regimen.

    Applies only when some therapy of the text is not marked as history.
    """
    where = [_chunk_of(offset, chunks) for offset, _ in found]
    history = [k for k, (_, t) in enumerate(found) if t.names == ("history",)]
    therapy = {c for c, (_, t) in zip(where, found, strict=True) if t.kind in _THERAPY_KINDS}
    if not history:
        return found
    groups = _groups(blanked, chunks)
    marked = set().union(*(_history_marks(k, found, where, chunks, groups, therapy, blanked)
                           for k in history))  # fmt: skip
    kept = {j for j, (_, t) in enumerate(found) if t.kind in _THERAPY_KINDS} - marked
    if not marked or not kept:
        return found
    return [(offset, _as_history(t) if j in marked else t) for j, (offset, t) in enumerate(found)]


def _as_history(token: Token) -> Token:
    why = f"earlier therapy named as history ({'; '.join(token.names)}), not part of this regimen"
    return Token(token.text, "annotation", ("history",), why, token.step)


@lru_cache(maxsize=65536)
def _parse_cached(text: str, vocab: Vocabulary) -> ParsedRegimen:
    tokens, blanked, order = tokenise(text, vocab)
    return assemble(text, tokens, blanked, order, vocab)


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
