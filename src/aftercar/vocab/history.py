"""Therapy named as earlier therapy in a regimen text ("Tec (prior BCMA CAR T)", "Tal; h/o
Dara-Pd, KRd", "Elranatamab; prior BCMA-directed therapy: ide-cel").

:func:`history_chunks` marks, among the tokens :mod:`aftercar.vocab.parser` read, the
therapy that a ``history`` annotation word names as earlier therapy, by the rules of
docs/vocabulary.md (rule 13): a history word scopes forward within its chunk, else over its
parenthesis, the chunk before one, or the next chunk; a list runs on over its joins (``, +
& /`` and "and") up to a status or note word, across steps when "now" follows; a phrase
naming only a class or target takes its list after a colon or in brackets. Moved out of
the parser in session 27 (the parser had grown past 700 lines).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from aftercar.schema import Col
from aftercar.vocab.regimen import Token
from aftercar.vocab.vocabulary import TARGET_KIND

#: What joins the items of one list of earlier therapy, and the words that end it.
_LIST_JOIN = re.compile(r"\s*(?:,|\+|&|/|\band\b)\s*", re.IGNORECASE)
#: Joins of a history list that runs on to "now" across steps ("Hx: VRd -> ASCT -> Len
#: maint; now Dara-Pd"; a sixth probe of real regimen strings, 2026-12-06).
_AND = re.compile(r"\s*,?\s*(?:\band\b|&)\s*", re.IGNORECASE)
_STEP_JOIN = re.compile(r"[\s()\[\]]*(?:,|;|\+|&|/|\band\b|-+>|=+>|\u2192|\u21d2|>|\bthen\b)?"
                        r"[\s()\[\]]*", re.IGNORECASE)  # fmt: skip
_LIST_STOPS = (("status",), ("note",), ("sequence",))
_THERAPY_KINDS = ("drug", "procedure", Col.REGIMEN, TARGET_KIND)


@dataclass
class Chunk:
    """A piece of the text between separators: its offset, text and sequence step."""

    offset: int
    text: str
    step: int
    tokens: list[tuple[int, Token]] = field(default_factory=list)


def _chunk_of(offset: int, chunks: list[Chunk]) -> int:
    index = 0
    for i, chunk in enumerate(chunks):
        if chunk.offset <= offset:
            index = i
    return index


def _groups(blanked: str, chunks: list[Chunk]) -> list[int | None]:
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
#: progressed on Len; started DKd" is DKd alone; "starting", "start", "initiated",
#: "commenced" since a twelfth probe, session 28: "Refractory to dara/pom/carf; starting
#: Tecvayli" is teclistamab alone).
_CURRENT = re.compile(r"now|current(?:ly)?|start(?:ed|ing)?|initiated|commenced", re.IGNORECASE)


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


def history_chunks(found: list[tuple[int, Token]], chunks: list[Chunk], blanked: str) -> list:
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


__all__ = ["Chunk", "history_chunks"]
