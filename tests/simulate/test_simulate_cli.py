"""``aftercar simulate``: curated files, byte-identical reruns, errors exit 2."""

from __future__ import annotations

import hashlib

from aftercar.cli import main
from aftercar.io import read_cohort


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*.*"))}


def test_same_seed_gives_byte_identical_csv(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["simulate", "--patients", "120", "--seed", "9", "-o", str(a)]) == 0
    assert main(["simulate", "--patients", "120", "--seed", "9", "-o", str(b)]) == 0
    assert _digest(a) == _digest(b)
    assert set(_digest(a)) == {"patients.csv", "lines.csv", "provenance.json"}
    cohort = read_cohort(a)
    assert cohort.patients.num_rows == 120


def test_parquet_in_several_chunks_is_byte_identical_and_readable(tmp_path):
    params = tmp_path / "p.toml"
    params.write_text("[cohort]\nchunk_size = 100\n", encoding="utf-8")
    args = ["simulate", "--patients", "250", "--seed", "2", "--format", "parquet",
            "--params", str(params)]  # fmt: skip
    assert main([*args, "-o", str(tmp_path / "a")]) == 0
    assert main([*args, "-o", str(tmp_path / "b")]) == 0
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    cohort = read_cohort(tmp_path / "a")
    assert cohort.patients.num_rows == 250
    assert cohort.patients["patient_id"][249].as_py() == "SYN-0000250"


def test_xlsx_workbook_is_valid(tmp_path):
    out = tmp_path / "x"
    assert (
        main(["simulate", "--patients", "30", "--seed", "1", "--format", "xlsx", "-o", str(out)])
        == 0
    )
    assert read_cohort(out / "cohort.xlsx").patients.num_rows == 30


def test_unknown_format_exits_2_without_traceback(tmp_path, capsys):
    assert main(["simulate", "--patients", "5", "--format", "sav", "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--format must be one of csv, parquet, xlsx" in err and "Traceback" not in err


def test_bad_params_file_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[course]\nno_such_key = 1\n", encoding="utf-8")
    code = main(["simulate", "--patients", "5", "--params", str(bad), "-o", str(tmp_path / "o")])
    assert code == 2
    assert "unknown simulation parameter 'course.no_such_key'" in capsys.readouterr().err
