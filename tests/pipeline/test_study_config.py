"""StudyConfig: documented defaults, every problem reported at once, stable hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from aftercar.config import config_from_dict, default_config_text, load_config
from aftercar.errors import ConfigError


def test_defaults_load_and_hash_is_stable():
    a, b = load_config(), load_config()
    assert a.config_hash() == b.config_hash()
    assert a.get("endpoints", "pfs_next_line") == "censor"
    assert a.get("endpoints", "early_relapse_months") == 6.0
    assert a.to_dict()["analysis"]["landmark_months"] == [3.0, 6.0]


def test_hash_changes_with_any_value():
    base = load_config()
    assert base.replace("analysis", conf_level=0.9).config_hash() != base.config_hash()


def test_integer_given_for_float_is_accepted_and_normalised():
    cfg = config_from_dict({"endpoints": {"early_relapse_months": 6}})
    assert cfg.config_hash() == load_config().config_hash()


def test_every_problem_reported_at_once():
    bad = {
        "endpoints": {"pfs_next_line": "drop", "early_relapse_months": "six"},
        "analysis": {"conf_level": 2.0, "typo_key": 1},
        "nonsense": {},
    }
    with pytest.raises(ConfigError) as info:
        config_from_dict(bad, source="study.toml")
    rules = sorted(p.rule for p in info.value.problems)
    assert rules == [
        "config-choice",
        "config-range",
        "config-type",
        "config-unknown",
        "config-unknown",
    ]
    text = str(info.value)
    assert "5 problem(s)" in text and "analysis.typo_key" in text and "[nonsense]" in text
    assert all(p.file == "study.toml" for p in info.value.problems)


def test_bad_response_code_and_negative_landmark():
    with pytest.raises(ConfigError) as info:
        config_from_dict(
            {"endpoints": {"responders": ["PR", "XR"]}, "analysis": {"landmark_months": [-3.0]}}
        )
    assert {p.column for p in info.value.problems} == {
        "endpoints.responders",
        "analysis.landmark_months",
    }


@pytest.mark.parametrize("codes", [["PR", "PD"], ["sCR", "CR", "VGPR", "PR", "NE"]])
def test_progression_or_not_evaluable_is_never_a_response(codes):
    # fuzzing round 6 (I04): every code as responders gave ORR 100% on every line
    with pytest.raises(ConfigError) as info:
        config_from_dict({"endpoints": {"responders": codes}})
    (p,) = info.value.problems
    assert p.column == "endpoints.responders" and "100%" in p.message


def test_responders_are_read_in_any_case_as_the_data_files_are():
    # fuzz round 7 (session 26): lower-case codes were refused, without saying case mattered
    cfg = config_from_dict({"endpoints": {"responders": ["scr", "cr", "CR", " vgpr"]}})
    assert list(cfg.get("endpoints", "responders")) == ["sCR", "CR", "VGPR"]


def test_toml_file_overrides_defaults(tmp_path: Path):
    path = tmp_path / "study.toml"
    path.write_text('[endpoints]\npfs_next_line = "ignore"\n[report]\nsuppress_below = 5\n')
    cfg = load_config(path)
    assert cfg.get("endpoints", "pfs_next_line") == "ignore"
    assert cfg.get("report", "suppress_below") == 5
    assert cfg.get("analysis", "km_conf_type") == "log-log"
    assert cfg.source == str(path)


def test_invalid_toml_and_missing_file_are_config_errors(tmp_path: Path):
    path = tmp_path / "study.toml"
    path.write_text("[endpoints\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.toml")


def test_defaults_file_documents_every_key():
    text = default_config_text()
    for section, values in load_config().to_dict().items():
        assert f"[{section}]" in text
        for key in values:
            assert f"\n{key} =" in text, key


def test_the_hash_covers_the_content_of_the_files_the_config_names(tmp_path):
    """Fuzzing round 4 (G02): two sites with the same study.toml text but different
    overrides files shared a hash, so `pool` mixed two classifications silently."""
    hashes = []
    for site, category in (("a", "other"), ("b", "imid_pi")):
        folder = tmp_path / site
        folder.mkdir()
        (folder / "study.toml").write_text('[vocabulary]\noverrides = "overrides.csv"\n')
        (folder / "overrides.csv").write_text(f"text,category\nKPd,{category}\n")
        hashes.append(load_config(folder / "study.toml").config_hash())
    assert hashes[0] != hashes[1]
    (tmp_path / "b" / "overrides.csv").write_text("text,category\nKPd,other\n")
    assert load_config(tmp_path / "b" / "study.toml").config_hash() == hashes[0]
