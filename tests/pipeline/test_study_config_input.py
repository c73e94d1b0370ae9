"""Study TOML read robustly (fuzzing round 2, finding 10, 2026-12-06).

``nan`` / ``inf`` passed the configuration check and failed mid-analysis naming no file or
key; a Latin-1 or UTF-16 file gave a bare UTF-8 decode error about "input files"; a UTF-8
byte-order mark (Windows Notepad) gave "Invalid statement"; range messages read "between
0.0 and None". Each is now checked when the file is loaded.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aftercar.config import load_config, read_toml
from aftercar.errors import ConfigError


def _study(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "study.toml"
    path.write_bytes(text.encode(encoding))
    return path


def _message(path: Path) -> str:
    with pytest.raises(ConfigError) as err:
        load_config(path)
    return str(err.value)


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [("[analysis]\nconf_level = nan\n", "analysis.conf_level", "nan"),
     ("[analysis]\nrmst_months = [inf]\n", "analysis.rmst_months", "[inf]"),
     ("[analysis]\nos_rates_months = [6.0, nan]\n", "analysis.os_rates_months", "[6.0, nan]"),
     ("[endpoints]\nearly_relapse_months = inf\n", "endpoints.early_relapse_months", "inf")],
)  # fmt: skip
def test_non_finite_numbers_are_refused_at_load(tmp_path, text, key, value):
    message = _message(_study(tmp_path, text))
    assert "study.toml" in message and key in message and f"(value: {value!r})" in message
    assert "finite number" in message


def test_a_range_with_one_bound_says_at_least(tmp_path):
    message = _message(_study(tmp_path, "[endpoints]\nearly_relapse_months = -1.0\n"))
    assert "None" not in message
    assert "at least 0.0" in message and "endpoints.early_relapse_months" in message


def test_a_utf8_byte_order_mark_is_read(tmp_path):
    cfg = load_config(_study(tmp_path, '\ufeff[study]\ntitle = "Café study"\n'))
    assert cfg.study.title == "Café study"


@pytest.mark.parametrize(("encoding", "what"), [("latin-1", "not UTF-8"),
                                                ("utf-16", "UTF-16")])  # fmt: skip
def test_a_file_not_in_utf8_is_named(tmp_path, encoding, what):
    message = _message(_study(tmp_path, '[study]\ntitle = "café"\n', encoding))
    assert "study.toml" in message and what in message and "save the file as UTF-8" in message
    assert "codec" not in message


def test_read_toml_names_the_file_and_the_syntax_error(tmp_path):
    path = _study(tmp_path, "[study\n")
    with pytest.raises(ConfigError) as err:
        read_toml(path, fix="compare with the defaults")
    assert str(path) in str(err.value) and "not valid TOML" in str(err.value)
    assert err.value.problems[0].rule == "config-syntax"


def test_cli_report_refuses_nan_before_the_analysis(tmp_path, capsys):
    from aftercar import cli

    path = _study(tmp_path, "[analysis]\nconf_level = nan\n")
    code = cli.main(["report", str(tmp_path / "absent"), "-o", str(tmp_path / "out"),
                     "--config", str(path)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "analysis.conf_level" in err and "Traceback" not in err
