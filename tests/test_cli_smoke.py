"""The CLI entry point: version, usage errors and exit codes."""

from aftercar import __version__
from aftercar.cli import main


def test_version_prints_package_version(capsys):
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == __version__


def test_unknown_command_is_a_usage_error_with_exit_2():
    assert main(["no-such-command"]) == 2
