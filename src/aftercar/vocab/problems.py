"""Warnings about regimen texts, computed once per distinct text.

Five rules, each a warning naming the file, the row, the column and the text:

- ``regimen-unrecognized``: words the vocabulary does not know (with a
  suggestion when one is close);
- ``regimen-corrected``: a misspelling read as a vocabulary spelling
  ("'Bortezomide' read as bortezomib");
- ``regimen-sequence``: several lines written in one cell ("Tec -> Tal");
- ``regimen-no-therapy``: a row that is not a line of therapy (hospice,
  observation...), from the taxonomy's ``therapy = false`` categories;
- ``regimen-no-drug``: a text from which nothing is read: no drug, no
  procedure, no unknown word and no trial wording ("NA", "?", "-", "TBD"). The
  row is still a line of therapy, of category ``other``; the warning says so.

Messages are built per distinct text and then given to every row holding it
(dictionary encoding), so a million rows cost what their distinct texts cost.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aftercar.errors import Problem
from aftercar.schema import Col
from aftercar.vocab.classify import _as_array, classify_regimens
from aftercar.vocab.corrections import near_key
from aftercar.vocab.overrides import Overrides
from aftercar.vocab.taxonomy import Taxonomy, default_taxonomy
from aftercar.vocab.vocabulary import Vocabulary, default_vocabulary, norm_key

#: Every rule this module can report.
RULES = ("regimen-unrecognized", "regimen-corrected", "regimen-sequence", "regimen-no-therapy",
         "regimen-no-drug")  # fmt: skip
_HINTS = {
    "regimen-unrecognized": "add an override or correct the spelling",
    "regimen-corrected": "check the correction; fix the spelling or add an override if it is wrong",
    "regimen-sequence": "write one line of therapy per row (with its own start date)",
    "regimen-no-therapy": "this row is not a line of therapy; it is left out of the lines",
    "regimen-no-drug": "write the regimen given; if it is not known, the row still counts as a "
    "line (category other)",
}


def suggest(word: str, vocabulary: Vocabulary | None = None) -> str | None:
    """Return the vocabulary name(s) closest to ``word``, if close enough.

    Uses the edit-distance rules of ``[corrections]`` (words of 6+ letters, no
    digits), e.g. ``"daratumunab"`` -> ``"daratumumab"``; rival meanings are
    joined with " or ". Such a word is read as the correction by the parser when
    the meaning is unique; a suggestion is only shown, never applied.
    """
    vocab = vocabulary if vocabulary is not None else default_vocabulary()
    key = norm_key(word)
    if not key.isalpha():
        return None
    near = near_key(key, vocab)
    if near is None:
        return None
    return " or ".join(sorted("+".join(m) for m in near[1]))


def _unrecognized_message(words: list[str], vocab: Vocabulary) -> str:
    parts = []
    for word in words:
        guess = suggest(word, vocab)
        parts.append(f"{word} (did you mean {guess}?)" if guess else word)
    return "regimen has unrecognized word(s): " + ", ".join(parts)


def _corrected_message(corrections: str) -> str:
    parts = []
    for item in corrections.split(";"):
        written, _, names = item.partition(" -> ")
        parts.append(f"{written!r} read as {names}")
    return "regimen has misspelt word(s): " + ", ".join(parts)


def _messages(row: dict, rules: set[str], non_therapy: set[str], vocab) -> list[tuple[str, str]]:
    out = []
    if "regimen-unrecognized" in rules and row["unrecognized"]:
        words = row["unrecognized"].split(";")
        out.append(("regimen-unrecognized", _unrecognized_message(words, vocab)))
    if "regimen-corrected" in rules and row["corrections"]:
        out.append(("regimen-corrected", _corrected_message(row["corrections"])))
    if "regimen-sequence" in rules and row["sequence"]:
        out.append(
            (
                "regimen-sequence",
                f"several lines of therapy in one cell ({row['sequence_steps']}); "
                "they are read as one combination",
            )
        )
    if "regimen-no-therapy" in rules and row[Col.CATEGORY] in non_therapy:
        out.append(
            (
                "regimen-no-therapy",
                f"not a line of therapy (category {row[Col.CATEGORY]}: "
                f"{row['procedures'] or row[Col.DRUGS]})",
            )
        )
    if "regimen-no-drug" in rules and _reads_nothing(row):
        read = row["annotations"] or "nothing"
        out.append(("regimen-no-drug", f"no drug or procedure is read from the regimen "
                    f"(read: {read}); it is analysed as a line of category {row[Col.CATEGORY]}"))
    return out


def _reads_nothing(row: dict) -> bool:
    """No drug, procedure, unknown word or trial wording in a classified text."""
    empty = not (row[Col.DRUGS] or row["procedures"] or row["unrecognized"])
    return empty and "trial:" not in (row["annotations"] or "")


def _per_text(table: pa.Table) -> tuple[list[dict], np.ndarray]:
    """First row of each distinct text, and each row's distinct-text code (-1 = null)."""
    encoded = pc.dictionary_encode(table.column("text").combine_chunks())
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    valid = np.flatnonzero(codes >= 0)
    _, first = np.unique(codes[valid], return_index=True)
    rows = table.take(pa.array(valid[first])).to_pylist()
    return rows, codes


def regimen_problems(
    texts: Sequence[str | None] | pa.Array | pa.ChunkedArray,
    rows: Sequence[int | None],
    *,
    file: str | None,
    column: str = Col.REGIMEN,
    rules: Sequence[str] = RULES,
    overrides: Overrides | None = None,
    taxonomy: Taxonomy | None = None,
    vocabulary: Vocabulary | None = None,
    classified: pa.Table | None = None,
    max_per_rule: int | None = None,
) -> list[Problem]:
    """Return the regimen warnings of ``texts`` (one per row and rule), in row order.

    Parameters
    ----------
    texts
        Regimen texts, one per row (nulls allowed).
    rows
        Spreadsheet row numbers (header = row 1), aligned with ``texts``.
    file, column
        File and column names to put in each problem.
    rules
        Which of :data:`RULES` to report (default: all five).
    overrides, taxonomy, vocabulary
        As for :func:`~aftercar.vocab.classify_regimens`; an overridden text is
        understood and gives no unrecognized/corrected warning.
    classified
        The table :func:`~aftercar.vocab.classify_regimens` returned for the
        same ``texts`` (saves classifying them again).
    max_per_rule
        Keep only the first rows of each rule (e.g. for a printed summary; see
        :func:`count_regimen_problems` for the totals). ``None`` keeps all.

    Returns
    -------
    list of Problem
        ``severity="warning"``; ``rule`` one of :data:`RULES`.
    """
    vocab = vocabulary if vocabulary is not None else default_vocabulary()
    tax = taxonomy if taxonomy is not None else default_taxonomy()
    table = classified
    if table is None:
        table = classify_regimens(
            _as_array(texts), taxonomy=tax, overrides=overrides, vocabulary=vocab
        )
    firsts, codes = _per_text(table)
    wanted, non_therapy = set(rules), set(tax.non_therapy)
    found = {i: m for i, r in enumerate(firsts) if (m := _messages(r, wanted, non_therapy, vocab))}
    if not found:
        return []
    where = (file, list(rows), column)
    out: list[tuple[int, int, Problem]] = []
    for order, rule in enumerate(RULES):
        mine = {code: m for code, found_ in found.items() for r, m in found_ if r == rule}
        if mine:
            out += _rule_problems(rule, order, mine, firsts, codes, where, max_per_rule)
    return [p for _, _, p in sorted(out, key=lambda item: item[:2])]


def _rule_problems(rule, order, mine, firsts, codes, where, limit) -> list:
    """The (row index, rule order, Problem) of the first ``limit`` rows of one rule."""
    file, row_list, column = where
    wanted = np.fromiter(mine, dtype=np.int64, count=len(mine))
    hits = np.flatnonzero(np.isin(codes, wanted))[:limit]
    return [
        (k, order, Problem(file, row_list[k], column, firsts[c]["text"], mine[c], _HINTS[rule],
                           "warning", rule))
        for k, c in zip(hits.tolist(), codes[hits].tolist(), strict=True)
    ]  # fmt: skip


def count_regimen_problems(
    classified: pa.Table, *, taxonomy: Taxonomy | None = None, rules: Sequence[str] = RULES
) -> dict[str, int]:
    """Count the rows each rule of :func:`regimen_problems` would warn about (vectorised).

    ``classified`` is the table of :func:`~aftercar.vocab.classify_regimens`.
    """
    tax = taxonomy if taxonomy is not None else default_taxonomy()
    masks = {
        "regimen-unrecognized": pc.not_equal(classified["unrecognized"], ""),
        "regimen-corrected": pc.not_equal(classified["corrections"], ""),
        "regimen-sequence": classified["sequence"],
        "regimen-no-therapy": pc.is_in(
            classified[Col.CATEGORY], value_set=pa.array(tax.non_therapy, pa.string())
        ),
        "regimen-no-drug": _reads_nothing_mask(classified),
    }
    return {rule: pc.sum(pc.fill_null(masks[rule], False)).as_py() or 0 for rule in rules}


def _reads_nothing_mask(classified: pa.Table) -> pa.ChunkedArray:
    """Vectorised :func:`_reads_nothing`."""
    empty = [pc.equal(pc.fill_null(classified[c], ""), "")
             for c in (Col.DRUGS, "procedures", "unrecognized")]  # fmt: skip
    trial = pc.match_substring(pc.fill_null(classified["annotations"], ""), "trial:")
    text = pc.is_valid(classified["text"])  # an empty cell is ``required_value``, not this
    return pc.and_(pc.and_(pc.and_(empty[0], empty[1]), pc.and_(empty[2], pc.invert(trial))), text)


def unrecognized_problems(
    texts: Sequence[str | None] | pa.Array | pa.ChunkedArray,
    rows: Sequence[int | None],
    *,
    file: str | None,
    column: str = Col.REGIMEN,
    overrides: Overrides | None = None,
    vocabulary: Vocabulary | None = None,
) -> list[Problem]:
    """Return the warnings about words of ``texts``: unrecognized and corrected.

    The validate command calls this function. A text with unknown words gives a
    ``regimen-unrecognized`` warning (with a suggestion when one is close); a
    text whose misspelling was read as a vocabulary spelling gives a
    ``regimen-corrected`` warning naming the correction. Texts with an override
    give none. See :func:`regimen_problems` for all five rules.
    """
    return regimen_problems(
        texts,
        rows,
        file=file,
        column=column,
        rules=("regimen-unrecognized", "regimen-corrected"),
        overrides=overrides,
        vocabulary=vocabulary,
    )
