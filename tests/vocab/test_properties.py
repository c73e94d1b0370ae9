"""Hypothesis properties: classify never raises and keeps one row per input; no word absent
from the vocabulary is ever read as a drug (issue 11)."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from aftercar.vocab import classify_regimens, default_taxonomy, default_vocabulary, parse_regimen
from aftercar.vocab.vocabulary import norm_key

WORDS = [
    "Dara",
    "KPd",
    "D",
    "d",
    "Tec",
    "cilta-cel",
    "ASCT",
    "40 mg",
    "on trial",
    "REGN 5458",
    "(",
    ")",
    "x4",
    "Foo",
    "CAR T",
    "BCMA",
    "weekly",
    "VDT-PACE",
    "ide",
    "cel",
    "-",
    "2nd",
    "Blenrep",
    "XRT",
    "dex",
    "Flu",
    "Cy",
    "?",
    "t(11;14)",
    "  ",
    "é",
    "→",
]
SEPARATORS = [" + ", "/", ", ", " and ", "-", " ", " with ", "&"]

regimen_like = st.lists(
    st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), min_size=1, max_size=6
).map(lambda parts: "".join(w + s for w, s in parts))
texts = st.lists(st.one_of(st.none(), st.text(max_size=40), regimen_like), max_size=25)

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(texts)
def test_classify_never_raises_and_keeps_one_row_per_input(values):
    table = classify_regimens(values)
    assert table.num_rows == len(values)
    assert table.column("text").to_pylist() == values
    names = set(default_taxonomy().names)
    for row in table.to_pylist():
        blank = row["text"] is None or not row["text"].strip()
        assert (row["category"] is None) == blank
        if blank:
            continue
        assert row["category"] in names
        drugs = [d for d in row["drugs"].split(";") if d]
        assert drugs == sorted(set(drugs))
        # default taxonomy: T-cell engaging exactly when the category is car_t or bispecific
        assert row["tce"] == (row["category"] in ("car_t", "bispecific"))


@FAST
@given(st.lists(regimen_like, min_size=1, max_size=10), st.integers(1, 5))
def test_repeats_give_identical_rows(values, times):
    once = classify_regimens(values).to_pylist()
    many = classify_regimens(values * times).to_pylist()
    assert many == once * times


# --- issue 11: tokenising cannot invent drugs ---------------------------------------------

VOCAB = default_vocabulary()
_LETTER_CODES = sorted(k for k in VOCAB.exact_codes if len(k) == 1)
_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _known_part(part: str) -> bool:
    """A part the vocabulary knows: a key (name, synonym, target, code) or an exact code."""
    return norm_key(part) in VOCAB.by_key or part in VOCAB.exact_codes


def _dosed(part: str) -> bool:
    """``part`` is a vocabulary word of 3+ letters with a dose glued on ("Dex40"; in
    capitals only with "mg"), which the parser reads as that agent."""
    m = re.fullmatch(r"([A-Za-z]{3,})[1-9]\d*(?:\.\d+)?(mg)?", part, re.IGNORECASE)
    if m is None or not _known_part(m.group(1)):
        return False
    return m.group(1).islower() or m.group(1).istitle() or m.group(2) is not None


def _cycled(part: str) -> bool:
    """``part`` is a regimen code of two or more drugs with 1-12 cycles glued on ("KRd12",
    "VRD6"), which the parser reads as that regimen."""
    m = re.fullmatch(r"([A-Za-z]{2,6})(1[0-2]|[1-9])", part)
    hit = VOCAB.by_key.get(norm_key(m.group(1))) if m else None
    return hit is not None and len(hit.names) > 1 and hit.how.startswith("regimen code")


def _absent(word: str) -> bool:
    """``word`` and each of its hyphen/space parts of 2+ characters are not in the vocabulary,
    nor a vocabulary word with a dose glued on (:func:`_dosed`), nor a whole word that is a
    regimen code with its cycles glued on (:func:`_cycled`; "A-BPD1" is a research code)."""
    parts = [p for p in word.replace(" ", "-").split("-") if p]
    if _dosed(word) or any(_dosed(p) for p in parts) or _cycled(word):
        return False
    return not _known_part(word) and not any(len(p) > 1 and _known_part(p) for p in parts)


# research-code-like words: letters and digits, optionally hyphenated ("KTX-1001", "C-CAR088")
codes = st.from_regex(r"[A-Za-z]{1,5}-?[A-Za-z]{0,3}[0-9]{1,5}[A-Za-z]?", fullmatch=True)


@_SETTINGS
@given(codes)
@example("A-BPD1")  # a regimen code with a cycle count, hyphen-glued to an unknown letter
@example("XY-KRd12")
def test_no_code_absent_from_the_vocabulary_is_read_as_a_drug(word):
    assume(_absent(word))
    parsed = parse_regimen(word)
    assert parsed.drugs == () and parsed.procedures == (), parsed.tokens
    assert parsed.corrections == ()  # words with digits are never corrected


@_SETTINGS
@given(codes, st.sampled_from([" + dex", " and dexamethasone", "/Pd", " (on trial)", ""]))
def test_an_unknown_code_beside_known_drugs_adds_no_drug(word, rest):
    assume(_absent(word))
    alone = set(parse_regimen(rest).drugs) if rest.strip() else set()
    assert set(parse_regimen(word + rest).drugs) == alone


words = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=12
)


@_SETTINGS
@given(words)
def test_an_absent_word_is_a_drug_only_as_documented_letter_codes_or_a_reported_correction(word):
    assume(_absent(word))
    parsed = parse_regimen(word)
    for token in parsed.tokens:
        if token.kind in ("drug", "regimen", "procedure"):
            assert token.how.startswith(("letter codes", "corrected from")), token
            if token.how.startswith("corrected from"):
                assert any(c.startswith(token.text) for c in parsed.corrections)
            else:  # a documented combination: at most 5 codes ending in dex/pred or a regimen
                last = token.how.removeprefix("letter codes ").split(" + ")[-1]
                assert last in VOCAB.exact_codes or last in VOCAB.final_caps


@_SETTINGS
@given(st.sampled_from(_LETTER_CODES), words, st.sampled_from([" ", "-"]))
def test_a_letter_code_next_to_an_unknown_word_is_never_a_drug(code, word, glue):
    assume(_absent(word) and parse_regimen(word).unrecognized == (word,) and len(word) > 2)
    texts = (f"{code}{glue}{word}", f"{word}{glue}{code}")
    # "B CMA" / "B-CMA" is the target BCMA spelt apart (keys ignore spaces and hyphens)
    assume(not any(_known_part(t) for t in texts))
    for text in texts:
        parsed = parse_regimen(text)
        assert parsed.drugs == (), (text, parsed.tokens)
