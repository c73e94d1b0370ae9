"""A site's local concepts TOML: every text must be one the derivation reads."""

from __future__ import annotations

import pytest

from aftercar.derive.omop.concepts import load_concepts, shipped
from aftercar.derive.raw.classify import drug_lookup, procedure_lookup
from aftercar.derive.raw.rules import load_rules
from aftercar.errors import ConfigError


@pytest.mark.parametrize(
    ("section", "text"),
    [
        ("ingredients", "notadrug"),
        ("ingredients", "knee surgery"),
        ("procedures", "knee arthroscopy"),
        ("procedures", "teclistamab"),
    ],
)
def test_a_local_text_read_as_nothing_is_refused(tmp_path, section, text):
    toml = tmp_path / "local.toml"
    toml.write_text(f'[{section}]\n2000000001 = "{text}"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_concepts(toml, load_rules())
    msg = str(err.value)
    assert f"{section}.2000000001" in msg and text in msg
    assert "not a drug name" in msg if section == "ingredients" else "not a procedure" in msg


def test_local_drugs_and_procedures_the_derivation_reads_are_taken(tmp_path):
    toml = tmp_path / "local.toml"
    toml.write_text(
        '[ingredients]\n2000000001 = "forimtamig"\n2000000002 = "Tec-Dara"\n'
        '[procedures]\n2000000301 = "XRT to T-spine"\n',
        encoding="utf-8",
    )
    c = load_concepts(toml, load_rules())
    assert 2000000001 in c.table("ingredients")["concept_id"].to_pylist()
    assert 2000000301 in c.table("procedures")["concept_id"].to_pylist()


def test_every_shipped_drug_and_procedure_text_is_read():
    rules = load_rules()
    drugs = drug_lookup(list(shipped("ingredients").values()), rules)
    assert "unrecognised" not in drugs["role"].to_pylist()
    procs = procedure_lookup(list(shipped("procedures").values()))
    assert "unrecognised" not in procs["kind"].to_pylist()


def test_a_local_id_beyond_64_bits_is_named(tmp_path):
    toml = tmp_path / "local.toml"
    toml.write_text('[ingredients]\n99999999999999999999999 = "talquetamab"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_concepts(toml, load_rules())
    assert "99999999999999999999999" in str(err.value) and "64-bit" in str(err.value)
