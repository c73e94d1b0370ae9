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
