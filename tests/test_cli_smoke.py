"""The CLI entry point: version, usage errors and exit codes."""

import pytest

from aftercar import __version__
from aftercar.cli import main


def test_version_prints_package_version(capsys):
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == __version__


def test_unknown_command_is_a_usage_error_with_exit_2():
    assert main(["no-such-command"]) == 2


def test_error_messages_keep_square_brackets(capsys, tmp_path):
    # rich would read "[nope]" as a markup tag and drop it from the message.
    cfg = tmp_path / "study.toml"
    cfg.write_text("[nope]\nx = 1\n")
    assert main(["report", "--demo", "-o", str(tmp_path / "out"), "--config", str(cfg)]) == 2
    assert "unknown section [nope]" in capsys.readouterr().err


def test_validate_shows_cell_values_with_brackets_as_written(capsys, tmp_path):
    import pandas as pd

    from aftercar.simulate import demo_cohort_path

    demo = demo_cohort_path()
    patients = pd.read_csv(next(demo.glob("*patients.csv")), dtype=str)
    lines = pd.read_csv(next(demo.glob("*lines.csv")), dtype=str)
    lines.loc[0, "best_response"] = "[bold]PR[/]"
    patients.to_csv(tmp_path / "patients.csv", index=False)
    lines.to_csv(tmp_path / "lines.csv", index=False)
    assert main(["validate", str(tmp_path)]) == 2
    assert "[bold]PR[/]" in capsys.readouterr().out


def test_explain_shows_regimen_text_with_brackets_as_written(capsys):
    assert main(["regimens", "explain", "[x] Dara-KPd"]) == 0
    assert "[x] Dara-KPd" in capsys.readouterr().out


def test_an_existing_file_as_the_output_folder_is_exit_2_naming_it(capsys, tmp_path):
    """Fuzzing round 3 (2026-12-06): a traceback (FileExistsError) after deriving."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    for args in (["simulate", "--patients", "3", "-o", str(afile)],
                 ["derive", str(tmp_path), "-o", str(afile)],
                 ["benchmark", "compare", str(tmp_path), "--endpoint", "os", "-o", str(afile)]):
        assert main(args) == 2, args
        assert f"{afile}: is a file, not a folder" in capsys.readouterr().err


def test_a_cohort_aftercar_did_not_write_is_not_replaced_without_force(capsys, tmp_path):
    """Fuzzing round 3 (F11): derive and simulate replaced a clinician's patients.csv and
    lines.csv without a word (report refuses the same without --force)."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "patients.csv").write_text("patient_id\nP1\n")
    (mine / "lines.csv").write_text("patient_id,line\nP1,1\n")
    for args in (["simulate", "--patients", "3", "-o", str(mine)],
                 ["derive", str(tmp_path / "raw"), "-o", str(mine)]):
        assert main(args) == 2, args
        assert "holds a cohort aftercar did not write" in " ".join(
            capsys.readouterr().err.split())
    assert (mine / "patients.csv").read_text() == "patient_id\nP1\n"
    assert main(["simulate", "--patients", "3", "-o", str(mine), "--force"]) == 0
    assert main(["simulate", "--patients", "3", "-o", str(mine)]) == 0  # aftercar's now


def test_a_folder_as_the_output_file_is_exit_2(capsys, tmp_path):
    texts = tmp_path / "in.csv"
    texts.write_text("regimen\nKRd\n")
    assert main(["regimens", "classify", str(texts), "-o", str(tmp_path)]) == 2
    assert "is a folder, not a file" in capsys.readouterr().err


def test_a_derive_interrupted_while_writing_leaves_a_folder_readers_refuse(capsys, tmp_path):
    # fuzzing round 6 (I03): a re-derive killed part-way left the new patients.csv beside
    # the previous run's audit/, and validate / report read the mix without a word
    from aftercar.derive.raw.write import writing
    from aftercar.schema import WRITING_FILE

    raw, out = tmp_path / "raw", tmp_path / "out"
    assert main(["simulate", "--patients", "6", "--seed", "2", "--raw", "-o", str(tmp_path)]) == 0
    assert main(["derive", str(raw), "-o", str(out)]) == 0
    assert not (out / WRITING_FILE).exists()
    try:
        with writing(out):
            raise KeyboardInterrupt  # the kill, while the files are being written
    except KeyboardInterrupt:
        pass
    capsys.readouterr()
    assert main(["validate", str(out)]) == 2
    assert "interrupted while writing" in capsys.readouterr().out
    assert main(["derive", str(raw), "-o", str(out)]) == 0  # run again: replaced, readable
    assert not (out / WRITING_FILE).exists() and main(["validate", str(out)]) == 0


def test_a_refused_derive_leaves_the_previous_folder_readable(capsys, tmp_path):
    # review (2026-12-06): a derive refused before writing (an aftercar error inside the
    # writing block) left the mark, and the intact previous cohort was refused
    from aftercar.derive.raw.write import writing
    from aftercar.errors import InputError
    from aftercar.schema import WRITING_FILE

    out = tmp_path / "out"
    try:
        with writing(out):
            raise InputError("refused before writing")
    except InputError:
        pass
    assert not (out / WRITING_FILE).exists()


def _engine_error(name: str, text: str) -> BaseException:
    """An exception of the class name an engine raises (matched by name, not imported)."""
    return type(name, (Exception,), {})(text)


@pytest.mark.parametrize(("name", "text", "fix"), [
    ("IOException", 'IO Error: Could not set lock on file "x.duckdb": Conflicting lock is held',
     "close the program that has the DuckDB file open"),
    ("InvalidInputException", "Invalid Input Error: No magic bytes found at end of file "
     "'person.parquet'\nLINE 1: ... READ_PARQUET(['person.parquet']) ^^^",
     "the Parquet file is damaged or not Parquet"),
    ("ConversionException", "Conversion Error: Type UINT64 with value 18446744073709551000 "
     "can't be cast\nLINE 1: SELECT CAST(x AS BIGINT)", "signed 64-bit integers"),
    ("ConversionException", "Conversion Error: Could not convert string 'x' to INT32",
     "give each table as a UTF-8")])  # fmt: skip
def test_an_engine_read_error_gets_its_own_fix_without_the_query(name, text, fix):
    """A locked DuckDB file or a damaged Parquet file was told to be saved as CSV, with the
    engine's SQL quoted (fuzzing, 2026-12-07)."""
    from aftercar.cli import unreadable_input

    got = unreadable_input(_engine_error(name, text))
    assert fix in got and "LINE 1" not in got and "SELECT" not in got
