"""Bounded edit-distance correction of misspelt and truncated drug names.

A word the vocabulary does not know is corrected only when exactly one meaning
lies within the edit distance its length allows (``[corrections]`` of
``regimen_grammar.toml``): ``Bortezomide`` -> bortezomib, ``Lenalomide`` ->
lenalidomide, ``Ida-cel`` -> idecabtagene vicleucel; a truncation such as
``dexametha`` is corrected when it starts the spellings of one meaning only.
Words with digits (research codes) are never corrected. Candidates are found with
a deletion index (symmetric delete, as in SymSpell), so a lookup costs a few dict
probes, then confirmed with the optimal-string-alignment distance.

References
----------
Damerau FJ, Commun ACM 1964;7:171 (transpositions); Garbe W, SymSpell (2012,
symmetric delete spelling correction).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from aftercar.vocab.grammar import CorrectionRules
from aftercar.vocab.vocabulary import TARGET_KIND, Vocabulary, norm_key


@dataclass(frozen=True)
class Correction:
    """A corrected word: what was written, the spelling it was read as, its meaning."""

    written: str
    spelling: str
    names: tuple[str, ...]
    edits: int  # 0 for a truncation


def osa_distance(a: str, b: str) -> int:
    """Return the optimal-string-alignment (restricted Damerau-Levenshtein) distance."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[len(b)]


def _deletes(word: str, edits: int) -> set[str]:
    """``word`` and every string made from it by deleting up to ``edits`` letters."""
    out = {word}
    frontier = {word}
    for _ in range(min(edits, len(word) - 1)):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


@dataclass(frozen=True, eq=False)
class _Index:
    keys: dict[str, tuple[str, ...]]  # spelling key -> names
    deletes: dict[str, list[str]]
    rules: CorrectionRules
    prefixes: dict[str, dict[tuple[str, ...], str]]  # agent-key prefix -> meaning -> key
    longest: int = 0  # the longest key


@lru_cache(maxsize=8)
def _index(vocab: Vocabulary) -> _Index:
    rules = vocab.grammar.corrections if vocab.grammar else CorrectionRules()
    keys = {
        key: reading.names
        for key, reading in vocab.by_key.items()
        if key.isalpha()
        and len(key) >= rules.max_edits[-1][0]
        and all(vocab.drug(n).kind != TARGET_KIND for n in reading.names)
    }
    deletes: dict[str, list[str]] = {}
    for key in keys:
        for d in _deletes(key, rules.edits_for(len(key))):
            deletes.setdefault(d, []).append(key)
    prefixes: dict[str, dict[tuple[str, ...], str]] = {}
    for key, names in keys.items():
        if not all(vocab.drug(n).role in ("anti_myeloma", "steroid") for n in names):
            continue  # truncations are read for agents only
        for end in range(rules.min_truncation, len(key)):
            meanings = prefixes.setdefault(key[:end], {})
            if len(key) < len(meanings.get(names, key + "_")):
                meanings[names] = key  # the shortest spelling of each meaning
    return _Index(keys, deletes, rules, prefixes, max(map(len, keys), default=0))


def _near(key: str, index: _Index) -> tuple[int, set[tuple[str, ...]], str] | None:
    rules = index.rules
    allowed = rules.edits_for(len(key))
    if allowed == 0 or len(key) > index.longest + allowed:
        return None  # no key within reach (and the deletes of a long word grow as its square)
    seen: set[str] = set()
    for d in _deletes(key, allowed):
        seen.update(index.deletes.get(d, ()))
    best: dict[int, dict[tuple[str, ...], str]] = {}
    for cand in seen:
        if cand[0] != key[0]:
            continue
        dist = osa_distance(key, cand)
        if dist > allowed or dist == 0:
            continue
        if dist >= 2 and cand[: rules.prefix_for_two] != key[: rules.prefix_for_two]:
            continue
        best.setdefault(dist, {}).setdefault(index.keys[cand], cand)
    if not best:
        return None
    dist = min(best)
    return dist, set(best[dist]), next(iter(best[dist].values()))


def _truncation(key: str, index: _Index) -> tuple[set[tuple[str, ...]], str] | None:
    hits = index.prefixes.get(key)
    if not hits:
        return None
    spelling = min(hits.values(), key=len)
    if len(hits) == 1 and len(key) < index.rules.truncation_ratio * len(spelling):
        return None  # too short a start of one name to be read as it
    return set(hits), spelling


@lru_cache(maxsize=65536)
def near_key(key: str, vocab: Vocabulary) -> tuple[int, set[tuple[str, ...]], str] | None:
    """The closest vocabulary meanings of lookup key ``key`` (cached per key)."""
    return _near(key, _index(vocab))


@lru_cache(maxsize=65536)
def _correct_key(key: str, vocab: Vocabulary) -> tuple[str, tuple, int, str] | None:
    index = _index(vocab)
    near = near_key(key, vocab)
    if near is not None:
        dist, meanings, spelling = near
        if len(meanings) > 1:
            return ("ambiguous", tuple(sorted(meanings)), dist, spelling)
        return ("ok", next(iter(meanings)), dist, spelling)
    trunc = _truncation(key, index)
    if trunc is not None:
        meanings, spelling = trunc
        if len(meanings) > 1:
            return ("ambiguous", tuple(sorted(meanings)), 0, spelling)
        return ("ok", next(iter(meanings)), 0, spelling)
    return None


def correct(word: str, vocab: Vocabulary) -> Correction | tuple[tuple[str, ...], ...] | None:
    """Return the correction of an unknown ``word``, the rival meanings, or None.

    Parameters
    ----------
    word
        A word (or hyphen/space compound) the vocabulary does not know.
    vocab
        The vocabulary whose spellings are candidates.

    Returns
    -------
    Correction | tuple | None
        A :class:`Correction` when exactly one meaning is close enough; a tuple
        of the rival meanings (each a tuple of names) when several are equally
        close (the word stays unrecognized); None when nothing is close or the
        word holds digits.
    """
    key = norm_key(word)
    if not key.isalpha() or key in vocab.by_key or key in _index(vocab).rules.never:
        return None
    found = _correct_key(key, vocab)
    if found is None:
        return None
    status, meaning, edits, spelling = found
    if status == "ambiguous":
        return meaning
    return Correction(word, spelling, meaning, edits)
