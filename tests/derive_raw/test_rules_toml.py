"""``derive --rules``: every user value is checked against its default's kind and meaning.

Fuzzing round 2 (2026-12-06, findings 3, 10 and 11): mistyped values (30.5 or true for a
number of days, a three-item ``[from, to]`` pair, an unclosed regex) crashed mid-derivation
with a traceback, and impossible ones (a 150% reduction, swapped ratio bounds, an unknown
drug class or drug) were accepted without a word. Each is now a ``ConfigError`` (exit 2)
naming the file, the key and the value, with a fix written as TOML.
"""

from __future__ import annotations

import importlib
from importlib import resources

import pytest

from aftercar.derive.raw.rules import load_rules
from aftercar.errors import ConfigError


def _rules(tmp_path, text: str, encoding: str = "utf-8"):
    f = tmp_path / "rules.toml"
    f.write_bytes(text.encode(encoding))
    return f


def _error(tmp_path, text: str) -> str:
    f = _rules(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_rules(f)
    return str(err.value)


@pytest.mark.parametrize(
    ("text", "key", "value", "why"),
    [("[lines]\nregimen_window_days = 30.5\n", "lines.regimen_window_days", "30.5",
      "whole number"),
     ("[lines]\nregimen_window_days = true\n", "lines.regimen_window_days", "true",
      "expected a whole number"),
     ("[car_t]\nlymphodepletion_days = [-7, 0, 3]\n", "car_t.lymphodepletion_days",
      "[-7, 0, 3]", "[from, to]"),
     ("[car_t]\nlymphodepletion_days = [-7.5, 0]\n", "car_t.lymphodepletion_days",
      "[-7.5, 0]", "[from, to]"),
     ('[steroids]\npremedication_pattern = "pre-?med(("\n', "steroids.premedication_pattern",
      '"pre-?med(("', "not a valid regular expression"),
     # a regex the engine runs: DuckDB's RE2 has no look-around (it failed mid-run)
     ('[steroids]\npremedication_pattern = "(?<!no )pre-?med"\n',
      "steroids.premedication_pattern", '"(?<!no )pre-?med"',
      "the database engine cannot run this regular expression"),
     ('[values]\nbelow_limit_pattern = "(?=<)<"\n', "values.below_limit_pattern", '"(?=<)<"',
      "the database engine cannot run this regular expression"),
     ('[administrations]\nnot_given_pattern = "held(?!, given)"\n',
      "administrations.not_given_pattern", '"held(?!, given)"',
      "the database engine cannot run this regular expression"),
     ('[transplant]\nmobilisation_pattern = "(?P<m>mobilis)"\n',
      "transplant.mobilisation_pattern", '"(?P<m>mobilis)"', "Spark's Java regex"),
     ('[administrations]\nnot_given_pattern = "x*"\n', "administrations.not_given_pattern",
      '"x*"', "matches every text"),
     ('[values]\nabsent_m_protein = ["negative", 0]\n', "values.absent_m_protein",
      '["negative", 0]', "list of texts"),
     ('[units]\nserum = { "g/dL" = "one" }\n', "units.serum", '{ "g/dL" = "one" }',
      "unit = factor"),
     ('[units]\nserum = { "g/dL" = 0.0 }\n', "units.serum", '{ "g/dL" = 0.0 }', "above 0"),
     ("[lines]\naddition_exception_classes = \"imid\"\n", "lines.addition_exception_classes",
      '"imid"', "expected a list")],
)  # fmt: skip
def test_a_mistyped_rule_is_named(tmp_path, text, key, value, why):
    message = _error(tmp_path, text)
    assert "rules.toml" in message and key in message and why in message
    assert f"(value: {value!r})" in message
    assert "Fix:" in message


@pytest.mark.parametrize(
    ("text", "key", "why"),
    [("[response]\nvgpr_reduction = 1.5\n", "response.vgpr_reduction", "from 0 to 1"),
     ("[response]\ncr_marrow_pct = 150.0\n", "response.cr_marrow_pct", "from 0 to 100"),
     ("[measurable]\nflc_ratio_low = 2.0\nflc_ratio_high = 0.1\n", "measurable.flc_ratio_low",
      "must be below measurable.flc_ratio_high"),
     ("[measurable]\nflc_ratio_high = 0.2\n", "measurable.flc_ratio_high",
      "must be below measurable.flc_ratio_high"),
     ("[response]\nmr_reduction = 0.6\n", "response.mr_reduction",
      "must be at most response.pr_reduction"),
     ('[lines]\naddition_exception_classes = ["unicorns"]\n', "lines.addition_exception_classes",
      "'unicorns': not a drug class of drugs.csv"),
     ('[car_t]\nlymphodepletion_ingredients = ["notadrug"]\n',
      "car_t.lymphodepletion_ingredients", "'notadrug': not a drug name of drugs.csv"),
     ('[transplant]\nconditioning_ingredients = ["Melphalan"]\n',
      "transplant.conditioning_ingredients", "did you mean 'melphalan'?"),
     ('[transplant]\nallo_conditioning_ingredients = ["flu"]\n',
      "transplant.allo_conditioning_ingredients", "not a drug name of drugs.csv"),
     ('[transplant]\nmobilisation_ingredients = ["Cyclophosphamide"]\n',
      "transplant.mobilisation_ingredients", "did you mean 'cyclophosphamide'?"),
     # fuzz round 7 (session 26): accepted and silently without effect
     ("[response]\nconfirmations = 5\n", "response.confirmations", "only 2 is implemented"),
     ("[response]\nconfirmations = 0\n", "response.confirmations", "only 2 is implemented"),
     # a review of session 27: 0 made every positive serum value an error
     ("[plausible]\nserum_m = 0\n", "plausible.serum_m", "from 1.0 to"),
     ("[plausible]\nmarrow_pc = 150.0\n", "plausible.marrow_pc", "from 0 to 100")],
)  # fmt: skip
def test_an_impossible_or_unknown_rule_is_named(tmp_path, text, key, why):
    message = _error(tmp_path, text)
    assert key in message and why in message


def test_a_yes_no_fix_is_valid_toml(tmp_path):
    message = _error(tmp_path, '[lines]\nnew_line_after_progression = "yes"\n')
    assert "write true or false" in message
    assert "True" not in message


def test_every_default_value_passes_the_checks(tmp_path):
    text = "\n".join(resources.files("aftercar.data").joinpath(name).read_text("utf-8")
                     for name in ("lot_rules.toml", "imwg_rules.toml"))  # fmt: skip
    rules = load_rules(_rules(tmp_path, text))
    assert rules.get("lines", "regimen_window_days") == 30
    assert rules.get("car_t", "lymphodepletion_days") == [-7, 0]


def test_sound_overrides_are_used(tmp_path):
    f = _rules(tmp_path, "[response]\nvgpr_reduction = 1\n[car_t]\n"
                         'lymphodepletion_ingredients = ["fludarabine"]\n')  # fmt: skip
    rules = load_rules(f)
    assert rules.get("response", "vgpr_reduction") == 1.0
    assert isinstance(rules.get("response", "vgpr_reduction"), float)
    assert rules.get("car_t", "lymphodepletion_ingredients") == ["fludarabine"]


def test_a_byte_order_mark_is_read(tmp_path):
    rules = load_rules(_rules(tmp_path, "\ufeff[lines]\nregimen_window_days = 28\n"))
    assert rules.get("lines", "regimen_window_days") == 28


def test_a_latin1_rules_file_is_named(tmp_path):
    f = _rules(tmp_path, '[values]\nabsent_m_protein = ["négatif"]\n', "latin-1")
    with pytest.raises(ConfigError) as err:
        load_rules(f)
    assert "rules.toml" in str(err.value) and "not UTF-8" in str(err.value)


def test_cli_exit_code_2_without_traceback(tmp_path, capsys):
    from aftercar import cli

    if not any(c.name == "derive" for c in cli.app.registered_commands):
        importlib.import_module("aftercar.cli.derive").register(cli.app)
    f = _rules(tmp_path, "[lines]\nregimen_window_days = 30.5\n")
    (tmp_path / "raw").mkdir()
    code = cli.main(["derive", str(tmp_path / "raw"), "-o", str(tmp_path / "o"), "--rules",
                     str(f)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert "lines.regimen_window_days" in err and "30.5" in err and "Traceback" not in err
