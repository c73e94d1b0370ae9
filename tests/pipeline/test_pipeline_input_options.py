"""The [input] section reaches the reader: several date formats, earliest date, age range."""

from __future__ import annotations

import pytest

from aftercar.config import config_from_dict
from aftercar.errors import ConfigError


def test_date_format_takes_a_string_or_a_list_and_bounds_are_typed():
    one = config_from_dict({"input": {"date_format": "%d/%m/%Y"}}).input.read_options()
    assert one["date_format"] == "%d/%m/%Y"
    many = config_from_dict({"input": {"date_format": ["%d/%m/%Y", "%d.%m.%Y"]}})
    opts = many.input.read_options()
    assert opts["date_format"] == ["%d/%m/%Y", "%d.%m.%Y"]
    assert opts["earliest_date"].isoformat() == "1990-01-01" and opts["age_range"] == (18, 100)


@pytest.mark.parametrize(
    ("values", "where"),
    [
        ({"date_format": [1, 2]}, "input.date_format"),
        ({"earliest_date": "01/01/1990"}, "input.earliest_date"),
        ({"age_range": [100.0, 18.0]}, "input.age_range"),
    ],
)
def test_bad_input_options_are_config_errors_naming_the_key(values, where):
    with pytest.raises(ConfigError, match=where):
        config_from_dict({"input": values})


def test_report_cli_refuses_an_implausible_age_range_before_reading(tmp_path, capsys):
    from aftercar.cli import main

    assert main(["report", "--demo", "-o", str(tmp_path / "o"), "--age-range", "90-20"]) == 2
    assert "--age-range" in capsys.readouterr().err


def test_a_toml_date_is_read_as_the_date_it_is(tmp_path):
    # fuzz round 8 (session 27): earliest_date = 2010-01-01 (a TOML date, no quotes) was
    # refused, quoting Python's 'datetime.date(2010, 1, 1)'
    import datetime as dt

    from aftercar.config import load_config

    toml = tmp_path / "study.toml"
    toml.write_text("[input]\nearliest_date = 2010-01-01\n")
    assert load_config(toml).input.earliest_date == "2010-01-01"
    assert config_from_dict({"input": {"earliest_date": dt.date(2011, 2, 3)}}).input \
        .earliest_date == "2011-02-03"  # fmt: skip


def test_a_table1_grouping_of_no_column_stops_before_the_analyses(tmp_path, capsys):
    # fuzz round 8 (session 27): found after ~9 s of analyses, naming neither file nor key
    from aftercar.cli import main

    toml = tmp_path / "study.toml"
    toml.write_text('[analysis]\ntable1_by = "hospital"\n')
    assert main(["report", "--demo", "-o", str(tmp_path / "r"), "--config", str(toml)]) == 2
    err = capsys.readouterr().err
    assert "Table 1 by 'hospital'" in err and "[analysis] table1_by of" in err
    assert "study.toml" in err and "analyses" not in err and "Traceback" not in err


def test_config_messages_for_a_folder_and_a_list_read_right(tmp_path):
    # fuzz round 8 (session 27): a folder was told to be "saved as UTF-8"; "a list of a numbers"
    from aftercar.config import load_config

    with pytest.raises(ConfigError, match="it is a folder, not a file"):
        load_config(tmp_path)
    with pytest.raises(ConfigError, match=r"must be a list of numbers \(value"):
        config_from_dict({"input": {"age_range": "18-100"}})
