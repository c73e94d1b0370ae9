"""Parser, taxonomy, overrides and table API of aftercar.vocab (hand-worked micro cases)."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from aftercar.errors import VocabularyError
from aftercar.vocab import (
    COLUMNS,
    classify_regimens,
    classify_text,
    load_overrides,
    load_taxonomy,
    load_vocabulary,
    parse_regimen,
    suggest,
    unrecognized_problems,
)

DATA = Path(str(resources.files("aftercar") / "data"))
CONTRACT = (
    "text",
    "drugs",
    "procedures",
    "category",
    "tce",
    "bcma_directed",
    "targets",
    "unrecognized",
)


# --- parser -------------------------------------------------------------------------------


def test_tokens_say_how_each_piece_was_read_in_reading_order():
    parsed = parse_regimen("Dara-KPd 40 mg weekly (on trial)")
    assert [(t.text, t.kind) for t in parsed.tokens] == [
        ("Dara", "drug"),
        ("KPd", "regimen"),
        ("40 mg", "annotation"),
        ("weekly", "annotation"),
        ("on trial", "annotation"),
    ]
    assert parsed.tokens[1].names == ("carfilzomib", "pomalidomide", "dexamethasone")
    assert "KPd" in parsed.tokens[1].how
    assert parsed.annotations == ("dose: 40 mg", "schedule: weekly", "trial: on trial")


def test_letter_decomposition_is_explained_code_by_code():
    token = parse_regimen("VenDd").tokens[0]
    assert token.kind == "regimen"
    assert token.how == "letter codes Ven + D + d"


def test_case_rules_upper_d_daratumumab_lower_d_dexamethasone():
    assert parse_regimen("D").drugs == ("daratumumab",)
    assert parse_regimen("d").drugs == ("dexamethasone",)
    assert parse_regimen("DD").drugs == ("daratumumab", "dexamethasone")


def test_all_lower_case_doublet_is_not_guessed():
    parsed = parse_regimen("kd")
    assert parsed.drugs == ()
    assert parsed.unrecognized == ("kd",)


def test_procedures_are_not_drugs():
    parsed = parse_regimen("Mel200 + ASCT")
    assert parsed.drugs == ("melphalan",)
    assert parsed.procedures == ("autologous stem cell transplant",)


def test_unknown_words_are_reported_never_dropped():
    parsed = parse_regimen("Dara + Zorblatinib + dex")
    assert parsed.unrecognized == ("Zorblatinib",)
    assert parsed.drugs == ("daratumumab", "dexamethasone")


def test_class_mention_is_kept_without_a_product_and_dropped_with_one():
    assert parse_regimen("BCMA CAR T").drugs == ("unspecified bcma car t",)
    assert parse_regimen("BCMA CAR T: cilta-cel").drugs == ("ciltacabtagene autoleucel",)
    # a GPRC5D product does not cover a BCMA class mention
    assert parse_regimen("BCMA CAR T + arlo-cel").drugs == (
        "arlocabtagene autoleucel",
        "unspecified bcma car t",
    )


def _write_vocab(tmp_path: Path, drugs_extra: str = "", codes: str | None = None) -> Path:
    drugs = (DATA / "drugs.csv").read_text(encoding="utf-8") + drugs_extra
    (tmp_path / "drugs.csv").write_text(drugs, encoding="utf-8")
    (tmp_path / "codes.csv").write_text(
        codes if codes is not None else (DATA / "regimen_codes.csv").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    shutil.copy(DATA / "regimen_grammar.toml", tmp_path / "grammar.toml")
    shutil.copy(DATA / "targets.csv", tmp_path / "targets.csv")
    return tmp_path


def _load(d: Path):
    return load_vocabulary(d / "drugs.csv", d / "codes.csv", d / "grammar.toml", d / "targets.csv")


def test_equally_short_decompositions_with_different_meanings_are_ambiguous(tmp_path):
    codes = (
        "code,match,drugs,procedures,source\n"
        "Q,exact,bortezomib,,test\n"
        "QW,exact,carfilzomib,,test\n"
        "Wz,exact,lenalidomide,,test\n"
        "z,exact,dexamethasone,,test\n"
    )
    d = _write_vocab(tmp_path, codes=codes)
    vocab = _load(d)
    parsed = parse_regimen("QWz", vocabulary=vocab)  # QW + z  or  Q + Wz
    assert parsed.drugs == ()
    assert parsed.tokens[0].how == "letter codes can be read more than one way"


# --- malformed vocabulary files ---------------------------------------------------------


def test_bad_boolean_in_drugs_csv_names_file_row_and_fix(tmp_path):
    d = _write_vocab(tmp_path, "zzzumab,drug,anti_cd38,CD38,maybe,false,true,anti_myeloma,,z,t\n")
    row = len((d / "drugs.csv").read_text(encoding="utf-8").splitlines())  # header = row 1
    with pytest.raises(VocabularyError, match=rf"drugs.csv, row {row}, column 'tce'.*Fix: write"):
        _load(d)


def test_spelling_claimed_by_two_drugs_is_an_error(tmp_path):
    row = "zzzumab,drug,anti_cd38,CD38,false,false,true,anti_myeloma,,Darzalex,test\n"
    d = _write_vocab(tmp_path, row)
    with pytest.raises(VocabularyError, match="'Darzalex' already means daratumumab"):
        _load(d)


def test_code_naming_an_unknown_drug_is_an_error(tmp_path):
    codes = "code,match,drugs,procedures,source\nZ,exact,zorblatinib,,test\n"
    d = _write_vocab(tmp_path, codes=codes)
    with pytest.raises(VocabularyError, match=r"codes.csv, row 2: 'zorblatinib' not in drugs"):
        _load(d)


def _with_annotation(tmp_path, *entries: tuple[str, str, str]):
    """A vocabulary folder whose grammar.toml ends with one [[annotation]] per ``(label,
    pattern, extra TOML lines)``."""
    d = _write_vocab(tmp_path)
    with (d / "grammar.toml").open("a", encoding="utf-8") as fh:
        for label, pattern, extra in entries:
            fh.write(f"\n[[annotation]]\nlabel = \"{label}\"\npattern = '{pattern}'\n{extra}\n")
    return d


def test_bad_annotation_regex_is_an_error(tmp_path):
    d = _with_annotation(tmp_path, ("broken", "(unclosed", ""))
    with pytest.raises(VocabularyError, match=r"broken.*bad regex"):
        _load(d)


def test_a_formulation_of_unknown_drugs_is_an_error(tmp_path):
    d = _write_vocab(tmp_path)
    text = (d / "grammar.toml").read_text(encoding="utf-8")
    text = text.replace('excipients = { hyaluronidase = "daratumumab" }',
                        'excipients = { hyaluronidase = "daratumumabb" }')  # fmt: skip
    (d / "grammar.toml").write_text(text, encoding="utf-8")
    with pytest.raises(VocabularyError, match=r"\[formulations\].*'daratumumabb' not in drugs"):
        _load(d)


@pytest.mark.parametrize(("entry", "message"), [
    ('implies = "radiotherapyy"', r"#\d+ \(gray\): 'radiotherapyy' not in drugs.csv"),
    ('reads = { "unspecified stem cell transplant" = "allo sct" }',
     r"#\d+ \(gray\): 'allo sct' not in drugs.csv"),
    ("implies = 3", r"\(gray\).*'implies' must be a therapy name"),
    ('reads = ["radiotherapy"]', r"'reads' must map therapy names"),
    ('drops = ["dexamethasonee"]', r"#\d+ \(gray\): 'dexamethasonee' not in drugs.csv"),
    ('drops = "dexamethasone"', r"'drops' must be a list of therapy names"),
])
def test_an_annotation_implying_an_unknown_therapy_is_an_error(tmp_path, entry, message):
    d = _with_annotation(tmp_path, ("gray", "grey", entry))
    with pytest.raises(VocabularyError, match=message):
        _load(d)


def test_an_annotation_gives_its_step_the_therapy_it_implies(tmp_path):
    d = _with_annotation(tmp_path, ("gray", r"\bgrey\b", 'implies = "radiotherapy"'))
    vocab = _load(d)
    assert parse_regimen("grey to L4", vocabulary=vocab).procedures == ("radiotherapy",)
    assert parse_regimen("KRd; grey", vocabulary=vocab).procedures == ("radiotherapy",)


def test_vocabulary_has_at_least_70_agents_each_with_a_source():
    vocab = load_vocabulary()
    assert len(vocab.drugs) >= 70
    assert all(d.source for d in vocab.drugs.values())


# --- taxonomy ----------------------------------------------------------------------------


def _taxonomy(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "taxonomy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_custom_taxonomy_changes_the_precedence(tmp_path):
    default = (DATA / "taxonomy.toml").read_text(encoding="utf-8")
    swapped = default.replace('  "bispecific",\n', "").replace(
        '  "anti_cd38",\n', '  "anti_cd38",\n  "bispecific",\n'
    )
    tax = load_taxonomy(_taxonomy(tmp_path, swapped))
    assert classify_text("Tec-Dara").category == "bispecific"
    assert classify_text("Tec-Dara", taxonomy=tax).category == "anti_cd38"
    assert classify_text("Tec alone", taxonomy=tax).category == "bispecific"


def test_taxonomy_with_tce_category_by_drug_names(tmp_path):
    tax = load_taxonomy(
        _taxonomy(
            tmp_path,
            (
                'default = "non_tce"\nprecedence = ["tce"]\n'
                '[categories.tce]\nclasses = ["car_t", "bispecific", "trispecific"]\n'
                'drugs = ["belantamab mafodotin"]\n'
            ),
        )
    )
    table = classify_regimens(["Tec", "Blenrep", "KRd"], taxonomy=tax)
    assert table.column("category").to_pylist() == ["tce", "tce", "non_tce"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('precedence = ["x"]\n[categories.x]\nclasses = ["nonsense"]\n', "unknown class"),
        ('precedence = ["x"]\n', r"have no \[categories"),
        ("precedence = []\n", "non-empty list"),
        ('precedence = ["x"]\n[categories.x]\ndrugs = ["zorblatinib"]\n', "unknown drug name"),
        ('precedence = ["x"]\n[categories.x]\nclases = ["car_t"]\n', "unknown key"),
        ('precedence = ["x", "x"]\n[categories.x]\n', "twice"),
        ('default = "x"\nprecedence = ["x"]\n[categories.x]\n', "not in precedence"),
        ("precedence = [\n", "not a valid TOML"),
    ],
)
def test_malformed_taxonomy_raises_vocabulary_error_with_fix(tmp_path, text, message):
    with pytest.raises(VocabularyError, match=message) as info:
        load_taxonomy(_taxonomy(tmp_path, text))
    assert "taxonomy.toml" in str(info.value)
    assert "Fix:" in str(info.value)


def test_missing_taxonomy_file(tmp_path):
    with pytest.raises(VocabularyError, match="not found"):
        load_taxonomy(tmp_path / "nope.toml")


# --- overrides ---------------------------------------------------------------------------


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "overrides.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_override_maps_unknown_text_to_drugs_and_category(tmp_path):
    path = _csv(
        tmp_path,
        (
            "text,drugs,category,note\n"
            "Study XYZ arm B,ABBV-383,,blinded trial unblinded by sponsor\n"
            "Protocol 17-123,zorblatinib,other,new oral agent\n"
        ),
    )
    ovr = load_overrides(path)
    row = classify_text("study xyz  ARM b", overrides=ovr)  # case and spaces ignored
    assert (row.drugs, row.category, row.tce, row.bcma_directed) == (
        "etentamig",
        "bispecific",
        True,
        True,
    )
    assert row.unrecognized == ""
    assert row.mapped_by.startswith("override (") and "row 2" in row.mapped_by
    other = classify_text("Protocol 17-123", overrides=ovr)
    assert (other.drugs, other.category, other.tce) == ("zorblatinib", "other", False)


def test_toml_override_with_flags(tmp_path):
    path = tmp_path / "ovr.toml"
    path.write_text(
        '[[override]]\ntext = "CAR-T #2 (academic)"\ndrugs = ["mystery-cel"]\n'
        'category = "car_t"\ntce = true\nbcma_directed = true\ntargets = ["BCMA"]\n',
        encoding="utf-8",
    )
    row = classify_text("CAR-T #2 (academic)", overrides=load_overrides(path))
    assert (row.drugs, row.category, row.tce, row.bcma_directed, row.targets) == (
        "mystery-cel",
        "car_t",
        True,
        True,
        "BCMA",
    )


def test_override_category_only_keeps_parsed_drugs(tmp_path):
    path = _csv(tmp_path, "text,category\nKCd,imid_pi\n")
    row = classify_text("KCd", overrides=load_overrides(path))
    assert row.drugs == "carfilzomib;cyclophosphamide;dexamethasone"
    assert row.category == "imid_pi"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("regimen,drugs\nx,dara\n", r"row 1: no 'text' column"),
        ("text,drugs,colour\nx,dara,red\n", "unknown column"),
        ("text,drugs\n,dara\n", r"row 2, column 'text': empty"),
        ("text,drugs\nx,\n", "neither drugs, procedures nor category"),
        ("text,drugs\nx,zorblatinib\n", r"row 2, column 'drugs'.*give a category"),
        ("text,procedures\nx,tonsillectomy\n", "not a known procedure"),
        ("text,drugs,tce\nx,dara,perhaps\n", "not a boolean"),
        ("text,drugs\nx,dara\nX,isa\n", "already overridden at"),
    ],
)
def test_malformed_override_file(tmp_path, text, message):
    with pytest.raises(VocabularyError, match=message):
        load_overrides(_csv(tmp_path, text))


def test_override_category_must_exist_in_the_taxonomy(tmp_path):
    path = _csv(tmp_path, "text,category\nKCd,chemo\n")
    with pytest.raises(VocabularyError, match=r"row 2, column 'category': 'chemo'"):
        classify_regimens(["KCd"], overrides=path)


# --- table API ---------------------------------------------------------------------------


def test_contract_columns_come_first_in_order():
    table = classify_regimens(["KRd"])
    assert tuple(table.column_names[: len(CONTRACT)]) == CONTRACT
    assert tuple(table.column_names) == COLUMNS
    assert table.schema.field("tce").type == pa.bool_()


def test_one_row_per_input_in_order_with_repeats_and_nulls():
    texts = ["KRd", None, "Tec", "KRd", "", "Tec", None]
    table = classify_regimens(texts)
    assert table.num_rows == len(texts)
    assert table.column("text").to_pylist() == texts
    assert table.column("category").to_pylist() == [
        "imid_pi",
        None,
        "bispecific",
        "imid_pi",
        None,
        "bispecific",
        None,
    ]
    assert table.column("tce").to_pylist() == [False, None, True, False, None, True, None]


@pytest.mark.parametrize(
    "make",
    [
        lambda t: pd.Series(t, dtype="string"),
        lambda t: pd.Series(t, dtype=object),
        lambda t: pa.chunked_array([t[:2], t[2:]]),
        lambda t: pa.array(t).dictionary_encode(),
        tuple,
    ],
    ids=["pandas-string", "pandas-object", "chunked", "dictionary", "tuple"],
)
def test_accepts_pandas_and_arrow_inputs(make):
    texts = ["Dara-KPd", None, "ASCT"]
    table = classify_regimens(make(texts))
    assert table.column("category").to_pylist() == ["anti_cd38", None, "transplant"]


def test_empty_input_gives_empty_table():
    table = classify_regimens([])
    assert table.num_rows == 0
    assert tuple(table.column_names) == COLUMNS


# --- unrecognized problems ---------------------------------------------------------------


def test_unrecognized_problems_name_row_column_text_words_and_fix(tmp_path):
    texts = ["KRd", "Dara + Zorblatinib", None, "Dara + Zorblatinib", "Foo"]
    problems = unrecognized_problems(texts, [2, 3, 4, 5, 6], file="lines.csv")
    assert [p.row for p in problems] == [3, 5, 6]
    p = problems[0]
    assert (p.file, p.column, p.value, p.severity, p.rule) == (
        "lines.csv",
        "regimen",
        "Dara + Zorblatinib",
        "warning",
        "regimen-unrecognized",
    )
    assert "Zorblatinib" in p.message
    assert p.hint == "add an override or correct the spelling"
    ovr = load_overrides(_csv(tmp_path, "text,drugs,category\nFoo,zorblatinib,other\n"))
    assert [
        p.row for p in unrecognized_problems(texts, [2, 3, 4, 5, 6], file="x", overrides=ovr)
    ] == [3, 5]


def test_mixed_types_and_missing_markers_never_raise():
    table = classify_regimens(["KRd", 5, None, float("nan"), pd.NA])
    assert table.column("category").to_pylist() == ["imid_pi", "other", None, None, None]
    assert table.column("unrecognized").to_pylist()[1] == "5"


def test_close_misspelling_is_applied_and_reported_as_a_correction():
    # issue 11 changed the rule of issue 3: an unambiguous close misspelling is read
    # (and reported), no longer only suggested
    assert suggest("daratumunab") == "daratumumab"
    assert suggest("Zorblatinib") is None
    assert suggest("Foo") is None  # too short to suggest
    parsed = parse_regimen("daratumunab")
    assert parsed.drugs == ("daratumumab",)
    assert parsed.corrections == ("daratumunab -> daratumumab",)
    (problem,) = unrecognized_problems(["daratumunab + Pd"], [7], file="lines.csv")
    assert problem.rule == "regimen-corrected"
    assert "'daratumunab' read as daratumumab" in problem.message


def test_parsed_regimen_to_frame_lists_tokens():
    frame = parse_regimen("Tec-Dara step-up").to_frame()
    assert list(frame.columns) == ["text", "kind", "names", "how"]
    assert frame["names"].tolist() == ["teclistamab;daratumumab", "dosing"]
    assert frame["kind"].tolist() == ["regimen", "annotation"]


def test_classify_text_refuses_an_override_category_unknown_to_the_taxonomy(tmp_path):
    ovr = load_overrides(_csv(tmp_path, "text,category\nKCd,chemo\n"))
    assert classify_text("KRd", overrides=ovr).category == "imid_pi"  # other texts unaffected
    with pytest.raises(VocabularyError, match="'chemo' is not a category"):
        classify_text("KCd", overrides=ovr)


def test_a_word_longer_than_every_name_is_never_compared(monkeypatch):
    # fuzz round 7 (session 26): 'Dara-KPd' x 300 glued into one word made the deletes of
    # that word (their number grows as its length squared) take 3.7 GB in validate
    from aftercar.vocab import corrections
    from aftercar.vocab.problems import suggest

    def refuse(word, edits):
        raise AssertionError(f"deletes of a {len(word)}-letter word")

    assert suggest("daratumunab") == "daratumumab"  # the index is built before the patch
    monkeypatch.setattr(corrections, "_deletes", refuse)
    corrections.near_key.cache_clear()
    assert suggest("darakpd" * 300) is None


def test_two_acting_annotations_may_not_share_a_label(tmp_path):
    # session 26: what an annotation implies is looked up by its label, so a second one of
    # the same label silently replaced the first (an autologous PCS transplant read allogeneic)
    d = _with_annotation(tmp_path, *[("tint", rf"\b{word}\b", f'implies = "{therapy}"')
                                     for word, therapy in (("grey", "radiotherapy"),
                                                           ("gray", "apheresis"))])
    with pytest.raises(VocabularyError, match="label 'tint' of an annotation with implies"):
        _load(d)


def test_an_acting_annotation_shares_its_label_with_no_other(tmp_path):
    # a review of session 26: the liposomal annotation shared 'formulation' with the
    # hyaluronidase one, which then turned doxorubicin beside SC daratumumab into PLD
    d = _with_annotation(tmp_path, ("formulation", r"\bgrey\b", 'implies = "radiotherapy"'))
    with pytest.raises(VocabularyError, match="label 'formulation' of an annotation"):
        _load(d)


@pytest.mark.parametrize(("replace", "message"), [
    ('therapy = "no treatment"', r"\[alone\] therapy: 'no treatmentt' not in drugs.csv"),
    ("pattern = '\\b(?:declined|refused)\\b(?!\\s+by\\b)'", r"\[alone\] pattern: bad regex"),
    ('label = "not given"', r"\[alone\]: needs the texts 'label', 'pattern' and 'therapy'"),
])
def test_a_bad_alone_table_is_an_error(tmp_path, replace, message):
    """``[alone]`` (what a text naming only refused therapy reads as) is checked like the
    annotations: its therapy a name of drugs.csv, its pattern a regex, every key a text."""
    d = _write_vocab(tmp_path)
    text = (d / "grammar.toml").read_text(encoding="utf-8")
    assert replace in text
    bad = {'therapy = "no treatment"': 'therapy = "no treatmentt"',
           "pattern = '\\b(?:declined|refused)\\b(?!\\s+by\\b)'": "pattern = '(unclosed'",
           'label = "not given"': "label = 3"}[replace]
    (d / "grammar.toml").write_text(text.replace(replace, bad, 1), encoding="utf-8")
    with pytest.raises(VocabularyError, match=message):
        _load(d)


def test_only_a_refusal_reads_as_no_treatment():
    """A text whose only therapy is refused is no treatment; one whose therapy was not
    given for another reason reads nothing; other therapy beside a refusal stays alone
    (session 28, a twelfth probe of real regimen strings)."""
    from aftercar.vocab import parse_regimen

    assert parse_regimen("Talvey declined").procedures == ("no treatment",)
    assert parse_regimen("Talquetamab: patient refused").procedures == ("no treatment",)
    none = parse_regimen("Teclistamab not given (ICU admission)")
    assert (none.drugs, none.procedures) == ((), ())
    pd = parse_regimen("Pd (cilta-cel declined)")
    assert (pd.drugs, pd.procedures) == (("dexamethasone", "pomalidomide"), ())


def test_a_text_longer_than_max_text_length_is_read_in_part_and_says_so():
    """A pasted note of 50,000 characters is read up to max_text_length (2,000) and the rest
    named unrecognized, in well under a second (fuzz round 9, session 28: minutes)."""
    import time

    from aftercar.vocab import parse_regimen

    start = time.perf_counter()
    got = parse_regimen("DPd " * 12500)
    assert time.perf_counter() - start < 5  # generous: a guard against the quadratic read
    assert got.drugs == ("daratumumab", "dexamethasone", "pomalidomide")
    assert got.unrecognized[-1] == "(the 48001 characters after the first 1999 not read)"
    assert got.text == "DPd " * 12500


@pytest.mark.parametrize("value", ["0", '"long"', "true"])
def test_a_bad_max_text_length_is_an_error(tmp_path, value):
    d = _write_vocab(tmp_path)
    text = (d / "grammar.toml").read_text(encoding="utf-8")
    text = text.replace("max_text_length = 2000", f"max_text_length = {value}")
    (d / "grammar.toml").write_text(text, encoding="utf-8")
    with pytest.raises(VocabularyError, match="max_text_length: must be a whole number"):
        _load(d)
