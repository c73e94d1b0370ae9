"""``aftercar benchmark ...`` commands: output, files written and exit codes."""

import json
from importlib import resources
from pathlib import Path

import pandas as pd

from aftercar.cli import main

DEMO = str(resources.files("aftercar.data").joinpath("demo"))


def test_list_shows_every_registered_benchmark(capsys):
    assert main(["benchmark", "list"]) == 0
    out = capsys.readouterr().out
    assert "van_oekelen_2023" in out and "reyes_2024" in out and "mouhieddine_2023" in out


def test_show_prints_citation_and_endpoints(capsys):
    assert main(["benchmark", "show", "van_oekelen_2023", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["endpoints"]["os"]["median"] == 17.9
    assert data["doi"] == "10.1182/blood.2022017848"


def test_show_unknown_name_exits_2_and_lists_names(capsys):
    assert main(["benchmark", "show", "nope"]) == 2
    err = capsys.readouterr().err
    assert "Unknown benchmark 'nope'" in err and "van_oekelen_2023" in err
    assert "Traceback" not in err


def test_design_simon_json_has_exact_keys(capsys):
    args = ["benchmark", "design", "simon", "--p0", "0.2", "--p1", "0.4", "--alpha", "0.05",
            "--power", "0.8", "--json"]  # fmt: skip
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"optimal", "minimax"}
    assert set(data["optimal"]) == {"r1", "n1", "r", "n", "en0", "pet0"}
    # Simon (1989) Table 1, alpha=.05 beta=.20, p0=.20 p1=.40
    assert [data["optimal"][k] for k in ("r1", "n1", "r", "n")] == [3, 13, 12, 43]
    assert [data["minimax"][k] for k in ("r1", "n1", "r", "n")] == [4, 18, 10, 33]


def test_design_simon_table_and_bad_input(capsys):
    assert main(["benchmark", "design", "simon", "--p0", "0.434", "--p1", "0.65"]) == 0
    assert "optimal" in capsys.readouterr().out
    assert main(["benchmark", "design", "simon", "--p0", "0.7", "--p1", "0.65"]) == 2
    assert "must be larger than p0" in capsys.readouterr().err


def test_design_survival(capsys):
    args = ["benchmark", "design", "survival", "--median0", "17.9", "--median1", "27",
            "--accrual", "24", "--followup", "12", "--json"]  # fmt: skip
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["n"] > 0 and data["achieved_power"] >= 0.8


def test_reconstruct_writes_ipd_and_accuracy(tmp_path, capsys):
    curve = tmp_path / "curve.csv"
    curve.write_text("time,survival\n" + "".join(f"{t},{100 - 10 * t}\n" for t in range(1, 11)))
    risk = tmp_path / "risk.csv"
    risk.write_text("time,n_risk\n0,10\n5,6\n")
    out = tmp_path / "ipd.csv"
    args = ["benchmark", "reconstruct", str(curve), "--at-risk", str(risk), "-o", str(out),
            "--total-events", "10"]  # fmt: skip
    assert main(args) == 0
    ipd = pd.read_csv(out)
    assert list(ipd.columns) == ["time", "event"] and ipd["event"].sum() == 10
    acc = json.loads((tmp_path / "ipd_accuracy.json").read_text())
    assert acc["max_abs_diff"] < 1e-9


def test_reconstruct_bad_curve_exits_2_naming_row(tmp_path, capsys):
    curve = tmp_path / "curve.csv"
    curve.write_text("time,survival\n0,1\n2,0.8\n1,0.7\n")
    risk = tmp_path / "risk.csv"
    risk.write_text("time,n_risk\n0,10\n")
    code = main(["benchmark", "reconstruct", str(curve), "--at-risk", str(risk), "-o",
                 str(tmp_path / "x.csv")])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "row 4" in err and "'time'" in err and "Fix" in err and "Traceback" not in err


def test_reconstruct_missing_file_exits_2(tmp_path, capsys):
    code = main(["benchmark", "reconstruct", str(tmp_path / "none.csv"), "--at-risk",
                 str(tmp_path / "r.csv"), "-o", str(tmp_path / "x.csv")])  # fmt: skip
    assert code == 2


def test_compare_summary_responders(tmp_path, capsys):
    args = ["benchmark", "compare", "--against", "van_oekelen_2023", "--responders", "20",
            "--n", "30", "-o", str(tmp_path)]  # fmt: skip
    assert main(args) == 0
    data = json.loads((tmp_path / "comparison.json").read_text())
    (only,) = data["comparisons"]
    assert only["endpoint"] == "orr1" and only["responders"] == 20
    assert (tmp_path / "comparison.html").exists()


def test_compare_withholds_an_endpoint_with_a_small_count_under_suppression(tmp_path, capsys):
    """--suppress-below K (or [report] suppress_below of --config): an endpoint whose counts
    (responders, non-responders, n) include 1..K-1 is withheld with a note, since its rate
    times n gives them back (privacy probe, 2026-12-06); the others are shared as they are."""
    small = ["benchmark", "compare", "--against", "van_oekelen_2023", "--responders", "3",
             "--n", "30"]  # fmt: skip
    assert main([*small, "-o", str(tmp_path / "a"), "--suppress-below", "5"]) == 0
    data = json.loads((tmp_path / "a" / "comparison.json").read_text())
    assert data["comparisons"] == []
    assert any("orr1: withheld under disclosure control" in n for n in data["notes"])
    out = capsys.readouterr().out
    assert "3/30" not in out and "withheld" in out
    toml = tmp_path / "k.toml"
    toml.write_text("[report]\nsuppress_below = 5\n")
    assert main([*small, "-o", str(tmp_path / "b"), "--config", str(toml)]) == 0
    assert json.loads((tmp_path / "b" / "comparison.json").read_text())["comparisons"] == []
    big = ["benchmark", "compare", "--against", "van_oekelen_2023", "--responders", "20",
           "--n", "30", "-o", str(tmp_path / "c"), "--suppress-below", "5"]  # fmt: skip
    assert main(big) == 0
    (only,) = json.loads((tmp_path / "c" / "comparison.json").read_text())["comparisons"]
    assert only["responders"] == 20


def _compare_km(tmp_path, scale: int) -> Path:
    """``benchmark compare --km`` of an IPD table of 29 times (``scale`` x 1..29); its
    output folder."""
    km = tmp_path / "km.csv"
    km.write_text("time,event\n" + "".join(f"{scale * t},{t % 3 != 0:d}\n" for t in range(1, 30)))
    args = ["benchmark", "compare", "--km", str(km), "--against", "van_oekelen_2023",
            "-o", str(tmp_path / "out")]  # fmt: skip
    assert main(args) == 0
    return tmp_path / "out"


def test_compare_km_ipd_summary(tmp_path):
    assert (_compare_km(tmp_path, 1) / "km_overlay_os.png").exists()


def test_compare_demo_cohort(tmp_path, capsys):
    args = ["benchmark", "compare", DEMO, "--against", "van_oekelen_2023", "-o", str(tmp_path),
            "--endpoint", "os", "--endpoint", "orr1"]  # fmt: skip
    assert main(args) == 0
    data = json.loads((tmp_path / "comparison.json").read_text())
    assert [c["endpoint"] for c in data["comparisons"]] == ["os", "orr1"]


def test_compare_without_input_or_with_unknown_benchmark_exits_2(tmp_path, capsys):
    assert main(["benchmark", "compare", "-o", str(tmp_path)]) == 2
    assert "Nothing to compare" in capsys.readouterr().err
    args = ["benchmark", "compare", "--responders", "3", "--n", "9", "--against", "x",
            "-o", str(tmp_path)]  # fmt: skip
    assert main(args) == 2
    assert "Unknown benchmark" in capsys.readouterr().err
    assert main(["benchmark", "compare", "--responders", "3", "-o", str(tmp_path)]) == 2


def test_compare_missing_cohort_folder_exits_2(tmp_path, capsys):
    assert main(["benchmark", "compare", str(tmp_path / "nope"), "-o", str(tmp_path)]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_help_lists_subcommands(capsys):
    assert main(["benchmark", "--help"]) == 0
    out = capsys.readouterr().out
    for cmd in ("list", "show", "compare", "reconstruct", "design"):
        assert cmd in out
    assert Path(DEMO).exists()


def test_compare_with_maic_writes_the_adjusted_section(tmp_path, capsys):
    args = ["benchmark", "compare", DEMO, "--against", "mouhieddine_2023", "-o", str(tmp_path),
            "--endpoint", "os", "--maic", "--n-boot", "150"]  # fmt: skip
    assert main(args) == 0
    data = json.loads((tmp_path / "comparison.json").read_text())
    assert data["maic"]["n"] == 79 and data["maic"]["ess"] > 1
    assert any("not matched" in n for n in data["notes"])
    assert "Matching-adjusted" in (tmp_path / "comparison.html").read_text()
    assert main(["benchmark", "compare", "--responders", "3", "--n", "9", "--maic",
                 "-o", str(tmp_path)]) == 2  # fmt: skip
    assert "--maic needs a cohort" in capsys.readouterr().err


def test_compare_bad_km_files_exit_2_naming_row_and_column(tmp_path, capsys):
    bad = tmp_path / "ipd.csv"
    bad.write_text("time,event\n1,1\n2,3\n")
    assert main(["benchmark", "compare", "--km", str(bad), "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "row 3" in err and "'event'" in err and "not 0 or 1" in err
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert main(["benchmark", "compare", "--km", str(empty), "-o", str(tmp_path)]) == 2
    assert "cannot be read as CSV" in capsys.readouterr().err


def test_summary_rate_uses_the_benchmarks_own_rate_endpoint(tmp_path, capsys):
    args = ["benchmark", "compare", "--responders", "10", "--n", "20", "--against",
            "talquetamab_prior_tcr_2025", "-o", str(tmp_path)]  # fmt: skip
    assert main(args) == 0
    (only,) = json.loads((tmp_path / "comparison.json").read_text())["comparisons"]
    assert only["endpoint"] == "orr" and only["benchmark_rate"] == 0.67
    assert main([*args, "--endpoint", "pfs"]) == 2
    assert "not a rate endpoint" in capsys.readouterr().err


def test_nothing_comparable_exits_2_listing_the_benchmark_endpoints(tmp_path, capsys):
    assert main(["benchmark", "compare", DEMO, "--against", "tcr_center_2024", "-o",
                 str(tmp_path)]) == 2  # fmt: skip
    assert "os_car_t" in capsys.readouterr().err


def test_compare_one_sided_alternative_and_status_column(tmp_path, capsys):
    km = Path(__file__).parent / "data" / "kj1_final.csv"  # columns time, status
    base = ["benchmark", "compare", "--km", str(km), "-o", str(tmp_path)]
    assert main([*base, "--alternative", "greater"]) == 0
    (os_,) = json.loads((tmp_path / "comparison.json").read_text())["comparisons"]
    osl = os_["one_sample_logrank"]
    assert osl["alternative"] == "greater" and osl["observed"] == 18
    assert main([*base, "--alternative", "sideways"]) == 2
    assert "--alternative 'sideways'" in capsys.readouterr().err


def test_compare_a_cohort_without_salvage_lines_compares_os_only(tmp_path, capsys):
    """fuzz2 #9: ``benchmark compare`` of a valid cohort whose lines table has a header
    only exited 2 with "time and event must be 1-d arrays ..."; now exit 0, OS
    compared, PFS1 and ORR1 skipped with their reasons in comparison.json."""
    cohort = tmp_path / "cohort"
    cohort.mkdir()
    demo = Path(DEMO)
    pts = pd.read_csv(demo / "synthetic_demo_patients.csv", dtype=str)
    pts.to_csv(cohort / "patients.csv", index=False)
    header = (demo / "synthetic_demo_lines.csv").read_text(encoding="utf-8").splitlines()[0]
    (cohort / "lines.csv").write_text(header + "\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["benchmark", "compare", str(cohort), "-o", str(out)]) == 0
    assert "Traceback" not in capsys.readouterr().err
    data = json.loads((out / "comparison.json").read_text())
    assert [c["endpoint"] for c in data["comparisons"]] == ["os"]
    notes = " | ".join(data["notes"])
    assert "pfs1: no patient with a first salvage line (no PFS time); not compared" in notes
    assert "orr1: no evaluable patients; not compared" in notes
    assert "no salvage line" in notes


def test_the_first_line_orr_is_withheld_when_its_not_evaluable_count_is_small():
    """Fuzzing round 4 (G04): the report hid ORR1's evaluable count (its first-line total
    less it gives the 1 not-evaluable line back); compare showed 9/19 of those 20 lines."""
    from dataclasses import replace

    from aftercar.benchmark.compare import Comparison, compare_rate
    from aftercar.benchmark.disclosure import shared_comparison
    from aftercar.benchmark.registry import get_benchmark

    rate = compare_rate(9, 19, 0.434, endpoint="orr1")
    comp = Comparison(get_benchmark("van_oekelen_2023"), "cohort", (rate,),
                      margins=(("orr1", 1),))  # fmt: skip
    assert shared_comparison(comp, 5).results == ()
    assert shared_comparison(replace(comp, margins=(("orr1", 0),)), 5).results == (rate,)
    assert shared_comparison(replace(comp, margins=(("orr1", 6),)), 5).results == (rate,)


def test_km_times_in_days_get_a_note(tmp_path):
    """Fuzzing round 4 (G10e): IPD in days was compared as months ("median 532 mo")."""
    out = _compare_km(tmp_path, 30)
    notes = json.loads((out / "comparison.json").read_text())["notes"]
    assert any("are they in days or weeks?" in n for n in notes)
