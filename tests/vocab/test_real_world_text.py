"""Issue 11: the vocabulary at the scale of real text - data, roles, products, taxonomy,
corrections, sequences and warnings computed once per distinct text."""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

import pyarrow as pa
import pytest

from aftercar.errors import VocabularyError
from aftercar.vocab import (
    RULES,
    car_t_products,
    classify_regimens,
    classify_text,
    correct,
    count_regimen_problems,
    default_taxonomy,
    default_vocabulary,
    drug_roles,
    load_taxonomy,
    load_vocabulary,
    parse_regimen,
    product_problems,
    regimen_problems,
)
from aftercar.vocab import problems as problems_module

DATA = Path(str(resources.files("aftercar") / "data"))


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# --- data files ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["drugs.csv", "targets.csv", "regimen_codes.csv"])
def test_every_vocabulary_entry_has_a_source(name):
    rows = _rows(name)
    assert rows
    missing = [r for r in rows if not r["source"].strip()]
    assert not missing


def test_the_vocabulary_covers_the_agents_of_myeloma_trials_and_practice():
    vocab = default_vocabulary()
    drugs = [d for d in vocab.drugs.values() if d.kind == "drug"]
    assert len(drugs) >= 250
    for name in (
        "dasatinib",
        "siltuximab",
        "nirogacestat",
        "romidepsin",
        "regn5459",
        "hpn217",
        "descartes-08",
        "ct071",
        "oricar-017",
        "ucartcs1a",
        "medi2228",
        "cc-99712",
    ):
        assert name in vocab.drugs, name  # fmt: skip
    # every named T-cell engager and ADC says what it targets
    untargeted = [
        d.name
        for d in drugs
        if d.drug_class in ("car_t", "bispecific", "trispecific", "adc")
        and not d.unspecified
        and not d.targets
    ]
    assert untargeted == []


def test_role_must_agree_with_anti_myeloma(tmp_path):
    text = (DATA / "drugs.csv").read_text(encoding="utf-8")
    text += "zzzumab,drug,anti_cd38,CD38,false,false,true,supportive,,zzz,test\n"
    (tmp_path / "drugs.csv").write_text(text, encoding="utf-8")
    with pytest.raises(VocabularyError, match=r"column 'role'.*Fix: anti_myeloma is true"):
        load_vocabulary(tmp_path / "drugs.csv")


def test_a_target_without_a_source_is_refused(tmp_path):
    (tmp_path / "targets.csv").write_text("target,role,synonyms,source\nXYZ,tumour,XYZ,\n")
    with pytest.raises(VocabularyError, match=r"targets.csv, row 2.*source"):
        load_vocabulary(targets=tmp_path / "targets.csv")


# --- drug roles (for derivation from raw administrations) ---------------------------------


def test_drug_roles_tell_anti_myeloma_agents_from_supportive_drugs():
    texts = [
        "DARZALEX FASPRO 1800 mg SC",
        "daratumumab and hyaluronidase-fihj",
        "zoledronic acid (ZOMETA) 4 mg IV",
        "dexamethasone 16 mg IV (premed)",
        "acetaminophen 650 mg PO",
        "fludarabine 30 mg/m2 IV",
        "acyclovir 400 mg PO BID",
        "IVIG (PRIVIGEN) 0.4 g/kg IV",
        "Zorblatinib 10 mg",
        None,
    ]
    got = drug_roles(texts).to_pylist()
    assert [r["text"] for r in got] == texts
    assert [r["role"] for r in got] == [
        "anti_myeloma", "anti_myeloma", "supportive", "steroid", "premedication",
        "lymphodepletion", "supportive", "supportive", None, None,
    ]  # fmt: skip
    assert [r["anti_myeloma"] for r in got] == [
        True, True, False, True, False, False, False, False, None, None,
    ]  # fmt: skip
    assert got[1]["ingredients"] == "daratumumab"  # the SC formulation is daratumumab
    assert got[8]["known"] is False and got[8]["unrecognized"] == "Zorblatinib"


# --- CAR-T products ------------------------------------------------------------------------


def test_car_t_product_spellings_merge_to_one_canonical_product():
    ide = ["ide-cel", "Ide-cel", "Abecma", "idecabtagene vicleucel", "bb2121", "IDE-CEL"]
    cilta = ["cilta-cel", "Carvykti", "JNJ-4528", "JNJ-68284528", "LCAR-B38M", "ciltacel"]
    got = car_t_products(ide + cilta)
    assert set(got.column("product").to_pylist()[: len(ide)]) == {"idecabtagene vicleucel"}
    assert set(got.column("product").to_pylist()[len(ide) :]) == {"ciltacabtagene autoleucel"}
    assert got.column("label").to_pylist()[0] == "ide-cel"
    assert all(got.column("known").to_pylist())


def test_unknown_and_corrected_products_are_flagged():
    got = car_t_products(["Ida-cel", "CAR T", "Zorbacel", "ide-cel + cilta-cel", None]).to_pylist()
    assert got[0]["product"] == "idecabtagene vicleucel" and "read as" in got[0]["message"]
    assert [r["known"] for r in got] == [True, False, False, False, None]
    assert "no product" in got[1]["message"]
    assert "not a known CAR-T product" in got[2]["message"]
    assert "several" in got[3]["message"]


def test_product_problems_name_unknown_rows_and_merged_spellings():
    texts = ["ide-cel", "Abecma", "cilta-cel", "Zorbacel", "Ide-cel"]
    found = product_problems(texts, [2, 3, 4, 5, 6], file="patients.csv")
    merged = [p for p in found if p.rule == "car-t-product-merged"]
    unknown = [p for p in found if p.rule == "car-t-product-unknown"]
    assert [(p.row, p.value) for p in unknown] == [(5, "Zorbacel")]
    assert len(merged) == 1 and merged[0].row == 2
    assert "'ide-cel', 'Abecma', 'Ide-cel'" in merged[0].message
    assert all(p.column == "car_t_product" and p.severity == "warning" for p in found)


# --- taxonomy: no_therapy, labels and colours -----------------------------------------------

COLOURS = {
    "car_t": ("CAR T", "#0072B2"),
    "bispecific": ("Bispecific", "#56B4E9"),
    "adc": ("ADC", "#CC79A7"),
    "alkylator": ("Alkylator", "#D55E00"),
    "selinexor": ("Selinexor", "#E69F00"),
    "venetoclax": ("Venetoclax", "#F0E442"),
    "anti_cd38": ("Anti-CD38", "#009E73"),
    "imid_pi": ("IMiD/PI", "#8C6D31"),
    "radiotherapy": ("Radiotherapy", "#999999"),
    "transplant": ("Transplant", "#6A3D9A"),
    "other": ("Other", "#BBBBBB"),
    "unclassified": ("Unclassified", "#E0E0E0"),
}


def test_every_category_has_its_label_and_colour():
    tax = default_taxonomy()
    for name, (label, colour) in COLOURS.items():
        assert tax.labels[name] == label
        assert tax.colours[name] == colour
    assert set(tax.labels) == set(tax.colours) == {*tax.names, "unclassified"}
    assert tax.labels["no_therapy"] == "No therapy"
    assert tax.non_therapy == ("no_therapy",)
    assert len(set(tax.colours.values())) == len(tax.colours)


def test_no_therapy_applies_only_without_anti_myeloma_agents():
    assert classify_text("hospice").category == "no_therapy"
    assert classify_text("Zometa").category == "no_therapy"
    assert classify_text("Dex + hospice").category == "other"
    assert classify_text("Tec + IVIG").category == "bispecific"


def test_custom_taxonomy_without_colours_gets_distinct_fallback_colours(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text('precedence = ["tce"]\n[categories.tce]\nclasses = ["car_t"]\n')
    tax = load_taxonomy(path)
    assert tax.colours["tce"] != tax.colours["other"]
    assert tax.labels["tce"] == "tce"


@pytest.mark.parametrize(
    ("spec", "message"),
    [('colour = "blue"', "is not #RRGGBB"), ('therapy = "no"', "is not a boolean")],
)
def test_bad_colour_or_therapy_flag_is_refused(tmp_path, spec, message):
    path = tmp_path / "t.toml"
    path.write_text(f'precedence = ["x"]\n[categories.x]\nclasses = ["car_t"]\n{spec}\n')
    with pytest.raises(VocabularyError, match=message):
        load_taxonomy(path)


# --- corrections and sequences --------------------------------------------------------------


def test_research_codes_are_never_corrected():
    assert correct("REGN5459", default_vocabulary()) is None
    assert parse_regimen("REGN5459").drugs == ("regn5459",)
    assert parse_regimen("REGN5457").drugs == ()


def test_equally_close_meanings_stay_unrecognized():
    parsed = parse_regimen("auloSCT")  # one letter from autoSCT and from alloSCT
    assert parsed.procedures == ()
    assert parsed.unrecognized == ("auloSCT",)
    assert "could be" in parsed.tokens[0].how


def test_sequence_steps_are_in_time_order():
    row = classify_text("cilta-cel after Tec")
    assert row.sequence is True
    assert row.sequence_steps == "teclistamab -> ciltacabtagene autoleucel"
    assert classify_text("KRd then R maintenance").sequence is False
    assert classify_text("KRd").sequence_steps == ""


# --- warnings ------------------------------------------------------------------------------


def test_regimen_problems_give_each_rule_with_its_row():
    texts = ["Bortezomide + dex", "Tec -> Tal", "hospice", "Dara + Zorblatinib", "KRd", None, "NA"]
    found = regimen_problems(texts, [2, 3, 4, 5, 6, 7, 8], file="lines.csv")
    assert [(p.row, p.rule) for p in found] == [
        (2, "regimen-corrected"),
        (3, "regimen-sequence"),
        (4, "regimen-no-therapy"),
        (5, "regimen-unrecognized"),
        (8, "regimen-no-drug"),
    ]
    assert "'Bortezomide' read as bortezomib" in found[0].message
    assert "teclistamab -> talquetamab" in found[1].message
    assert {p.rule for p in found} == set(RULES)


def test_suggestions_are_computed_once_per_distinct_text(monkeypatch):
    calls: list[str] = []
    real = problems_module.suggest

    def counting(word, vocabulary=None):
        calls.append(word)
        return real(word, vocabulary)

    monkeypatch.setattr(problems_module, "suggest", counting)
    texts = pa.array(["Dara + Zorblatinib", "KRd + Qwertab"] * 5000 + ["KRd"] * 1000)
    found = regimen_problems(texts, list(range(2, len(texts) + 2)), file="x.csv")
    assert len(found) == 10000
    assert sorted(calls) == ["Qwertab", "Zorblatinib"]


def test_classification_table_has_the_new_columns_after_the_contract():
    table = classify_regimens(["Tec -> Tal", "Bortezomide"])
    assert table.column_names[-3:] == ["corrections", "sequence", "sequence_steps"]
    assert table.column("sequence").to_pylist() == [True, False]
    assert table.column("corrections").to_pylist() == ["", "Bortezomide -> bortezomib"]


def test_every_drug_form_of_the_raw_simulator_is_a_known_anti_myeloma_agent():
    forms = [f for row in _rows("simulation_drugs.csv") for f in row["forms"].split("|")]
    got = drug_roles(forms).to_pylist()
    assert [r["text"] for r in got if not r["known"] or r["unrecognized"]] == []
    assert all(r["anti_myeloma"] for r in got)


def test_a_printed_summary_keeps_the_first_rows_and_counts_them_all():
    from aftercar.vocab import count_regimen_problems

    texts = ["Dara + Zorblatinib"] * 50 + ["hospice"] * 3 + ["KRd"]
    rows = list(range(2, len(texts) + 2))
    table = classify_regimens(texts)
    first = regimen_problems(texts, rows, file="x.csv", classified=table, max_per_rule=5)
    assert [p.row for p in first if p.rule == "regimen-unrecognized"] == [2, 3, 4, 5, 6]
    assert [p.row for p in first if p.rule == "regimen-no-therapy"] == [52, 53, 54]
    assert count_regimen_problems(table) == {
        "regimen-unrecognized": 50,
        "regimen-corrected": 0,
        "regimen-sequence": 0,
        "regimen-no-therapy": 3,
        "regimen-no-drug": 0,
    }


@pytest.mark.parametrize("text", ["NA", "N/A", "?", "-", "TBD", "unknown", "to be determined"])
def test_a_placeholder_regimen_reads_as_nothing_and_says_so(text):
    found = regimen_problems(
        [text, "Dara TBD", "clinical trial", "XRT"], [2, 3, 4, 5], file="l.csv"
    )
    assert [(p.row, p.rule) for p in found] == [(2, "regimen-no-drug")]
    assert (
        "no drug or procedure is read" in found[0].message and "category other" in found[0].message
    )
    table = classify_regimens([text, None])
    assert table["drugs"].to_pylist() == ["", ""]  # 'TBD' is never the letter code T-B-D
    assert count_regimen_problems(table)["regimen-no-drug"] == 1  # the empty cell is not counted
