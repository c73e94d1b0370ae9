"""``simulate --params`` and ``--seed``: values that cannot be simulated are named.

Fuzzing round 2 (2026-12-06, findings 6 and 13): ``--seed -1``, ``chunk_size = 0`` and
``sites = []`` crashed with a traceback; ``cutoff_date = "1900-01-01"`` was ignored (dates
in 2017-2021 were written), ``no_salvage_prob = -0.5`` was accepted, and a formula-like
``id_prefix`` was written into patients.csv as a live formula. Each is now an error (exit
code 2) naming the file, the key and the value.
"""

from __future__ import annotations

import pytest

from aftercar.cli import main
from aftercar.errors import ConfigError, InputError
from aftercar.simulate import iter_chunks, load_params, simulate_cohort


def _toml(tmp_path, text: str, encoding: str = "utf-8"):
    path = tmp_path / "p.toml"
    path.write_bytes(text.encode(encoding))
    return path


def _message(tmp_path, text: str) -> str:
    with pytest.raises(ConfigError) as err:
        load_params(_toml(tmp_path, text))
    return str(err.value)


@pytest.mark.parametrize(
    ("text", "key", "value", "why"),
    [("[cohort]\nchunk_size = 0\n", "cohort.chunk_size", "0", "must be above 0"),
     ("[baseline]\nsites = []\n", "baseline.sites", "[]", "non-empty list"),
     ('[cohort]\ncutoff_date = "1900-01-01"\n', "cohort.cutoff_date", '"1900-01-01"',
      "must be after baseline.car_t_end"),
     ('[cohort]\ncutoff_date = "someday"\n', "cohort.cutoff_date", '"someday"',
      "is not a date"),
     ("[cohort]\nno_salvage_prob = -0.5\n", "cohort.no_salvage_prob", "-0.5",
      "must not be negative"),
     ("[course]\ncontinue_prob = 1.5\n", "course.continue_prob", "1.5", "from 0 to 1"),
     ('[cohort]\nid_prefix = "=HYPERLINK(\\"x\\")"\n', "cohort.id_prefix",
      '"=HYPERLINK(\\"x\\")"', "formula"),
     ('[baseline]\nsites = ["A", "B", "C"]\n', "baseline.site_probs", "[0.55, 0.45]",
      "one value for each of baseline.sites"),
     ("[cohort]\nchunk_size = 10.5\n", "cohort.chunk_size", "10.5", "expected a whole number"),
     ("[cohort]\nchunk_size = true\n", "cohort.chunk_size", "true", "expected a whole number"),
     ("[course]\ncontinue_prob = nan\n", "course.continue_prob", "nan", "finite"),
     ("[baseline]\niss_probs = [0.5, 0.5]\n", "baseline.iss_probs", "[0.5, 0.5]",
      "a list of 3 values"),
     ("[course]\ngap_min_days = 40\n", "course.gap_max_days", "35", "gap_min_days"),
     ("[course]\nlost_hazard_per_month = 0.0\n", "course.lost_hazard_per_month", "0.0",
      "must be above 0"),
     ("[arms.other]\norr = 1.0\n", "arms.other.orr", "1.0", "below 1"),
     ("[cohort]\nlast_contact_max_days = 100000000000000000000\n",
      "cohort.last_contact_max_days", "100000000000000000000", "at most")],
)  # fmt: skip
def test_a_value_that_cannot_be_simulated_is_named(tmp_path, text, key, value, why):
    message = _message(tmp_path, text)
    assert "p.toml" in message and key in message and why in message
    assert f"(value: {value!r})" in message and "Fix:" in message


def test_every_problem_is_listed_at_once(tmp_path):
    message = _message(tmp_path, "[cohort]\nchunk_size = 0\nno_salvage_prob = -1.0\n"
                                 "typo = 1\n")  # fmt: skip
    assert "cohort.typo" in message  # the unknown key is named first (kinds before meanings)
    message = _message(tmp_path, "[cohort]\nchunk_size = 0\nno_salvage_prob = -1.0\n")
    assert "cohort.chunk_size" in message and "cohort.no_salvage_prob" in message


def test_sound_values_are_used(tmp_path):
    p = load_params(_toml(tmp_path, "\ufeff[cohort]\nchunk_size = 7\nno_salvage_prob = 1\n"
                                    '[baseline]\nsites = ["A", "B", "C"]\n'
                                    "site_probs = [1, 1, 2]\n"
                                    "[raw]\nserum_g_per_l_prob = [0.1, 0.2, 0.3]\n"))  # fmt: skip
    assert p.section("cohort")["chunk_size"] == 7
    assert p.section("cohort")["no_salvage_prob"] == 1.0
    assert p.section("baseline")["site_probs"] == [1.0, 1.0, 2.0]
    cohort = simulate_cohort(20, seed=1, params=p)
    assert set(cohort.patients["site"].to_pylist()) <= {"A", "B", "C"}


def test_a_latin1_params_file_is_named(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_params(_toml(tmp_path, '[baseline]\nsites = ["Zürich", "Bern"]\n', "latin-1"))
    assert "p.toml" in str(err.value) and "not UTF-8" in str(err.value)


def test_a_mapping_is_checked_as_a_file_is():
    with pytest.raises(ConfigError, match=r"cohort\.chunk_size"):
        load_params({"cohort": {"chunk_size": 0}})


@pytest.mark.parametrize("seed", [-1, 1.5, True])
def test_a_negative_or_non_integer_seed_is_an_input_error(seed):
    with pytest.raises(InputError, match="seed must be a whole number of 0 or more"):
        next(iter_chunks(3, seed=seed))


@pytest.mark.parametrize(
    ("args", "needle"),
    [(["--seed", "-1"], "--seed must be a whole number of 0 or more, got -1"),
     (["--params", "chunk0"], "cohort.chunk_size"),
     (["--params", "sites"], "baseline.sites"),
     (["--params", "cutoff"], "cohort.cutoff_date")],
)  # fmt: skip
def test_cli_exit_code_2_without_traceback(tmp_path, capsys, args, needle):
    texts = {"chunk0": "[cohort]\nchunk_size = 0\n", "sites": "[baseline]\nsites = []\n",
             "cutoff": '[cohort]\ncutoff_date = "1900-01-01"\n'}  # fmt: skip
    if args[0] == "--params":
        args = ["--params", str(_toml(tmp_path, texts[args[1]]))]
    code = main(["simulate", "-o", str(tmp_path / "o"), "--patients", "3", *args])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and "Traceback" not in err
    assert not (tmp_path / "o" / "patients.csv").exists()


def test_raw_records_need_one_g_per_l_share_for_each_site(tmp_path, capsys):
    # curated cohorts do not use the share, so three sites are fine without it
    path = _toml(tmp_path, '[baseline]\nsites = ["A", "B", "C"]\nsite_probs = [1, 1, 1]\n')
    assert main(["simulate", "-o", str(tmp_path / "c"), "--patients", "3", "--params",
                 str(path)]) == 0  # fmt: skip
    code = main(["simulate", "-o", str(tmp_path / "r"), "--patients", "3", "--raw",
                 "--params", str(path)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "raw.serum_g_per_l_prob" in err and "p.toml" in err
    assert "Traceback" not in err and not (tmp_path / "r").exists()
