"""``aftercar site-summary`` and ``aftercar pool`` from the command line: validation of the
site files (exit 2 naming the file), the Cox rounds, and the pooled report in Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from aftercar.cli import main
from aftercar.simulate import write_simulated

CHROMIUM = shutil.which("chromium") or shutil.which("/usr/bin/chromium")


@pytest.fixture(scope="module")
def site_files(summaries, tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("sites")
    paths = []
    for s in summaries[:3]:
        path = folder / f"{s['site']}.json"
        path.write_text(json.dumps(s), encoding="utf-8")
        paths.append(path)
    return paths


def _bad(tmp_path: Path, source: Path, **change) -> Path:
    data = json.loads(source.read_text())
    data |= change
    path = tmp_path / f"bad-{source.name}"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema_version": 99}, "schema version 99"),
        ({"config_hash": "0" * 64}, "study configuration hash 000000000000"),
        ({"format": "something-else"}, "is not an aftercar site summary"),
        ({"site": "Alpha"}, "site 'Alpha' is also"),
        ({"site": " ALPHA "}, "differ only in case or spaces"),  # fuzzing round 4 (G06)
    ],
)
def test_pool_refuses_an_invalid_site_file_naming_it(site_files, tmp_path, capsys, change, message):
    bad = _bad(tmp_path, site_files[1], **change)
    code = main(["pool", str(site_files[0]), str(bad), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert str(bad.name) in err.replace("\n", "") and message in err.replace("\n", "")
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_one_synthetic_site_makes_the_pooled_report_synthetic(site_files, tmp_path):
    """Fuzzing round 4 (G06): a real site pooled with a simulated one said "Synthetic
    data: no"; a site of another aftercar version was pooled without a note."""
    real = _bad(tmp_path, site_files[0], synthetic=False)
    (tmp_path / "s").mkdir()
    sim = _bad(tmp_path / "s", site_files[1], synthetic=True, aftercar_version="9.9.9")
    assert main(["pool", str(real), str(sim), "-o", str(tmp_path / "out")]) == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["meta"]["synthetic"] is True
    assert any(n.startswith("Synthetic data: site(s)") for n in results["notes"])
    assert any("another aftercar version" in n and "9.9.9" in n for n in results["notes"])


def test_pool_refuses_a_file_that_is_not_json(site_files, tmp_path, capsys):
    bad = tmp_path / "broken.json"
    bad.write_text("{not json", encoding="utf-8")
    assert main(["pool", str(site_files[0]), str(bad), "-o", str(tmp_path / "out")]) == 2
    assert "broken.json: not a JSON file" in capsys.readouterr().err.replace("\n", "")


def test_pool_refuses_sites_run_with_another_config(site_files, tmp_path, capsys):
    toml = tmp_path / "study.toml"
    toml.write_text("[endpoints]\nearly_relapse_months = 12.0\n", encoding="utf-8")
    args = ["pool", *map(str, site_files), "--config", str(toml), "-o", str(tmp_path / "o")]
    assert main(args) == 2
    assert "differs from --config" in capsys.readouterr().err.replace("\n", "")


def _chromium(html: Path, tmp: Path, *extra: str) -> str:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", f"--user-data-dir={tmp / 'profile'}",
           *extra, html.resolve().as_uri()]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


#: A study whose Cox model of OS has categorical covariates only (one pooling pass).
CATEGORICAL_TOML = (
    '[analysis]\ncox_covariates = ["early_relapse", "extramedullary_disease", "ecog"]\n'
)


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """Two single-site cohorts through ``site-summary`` and one ``pool`` into the report."""
    root = tmp_path_factory.mktemp("cli")
    toml = root / "study.toml"
    toml.write_text(CATEGORICAL_TOML, encoding="utf-8")
    files = []
    for name, seed in (("North", 11), ("South", 12)):
        params = {"baseline": {"sites": [name], "site_probs": [1.0]}}
        write_simulated(40, root / name, seed=seed, params=params)
        out = root / f"{name}.json"
        assert main(["site-summary", str(root / name), "-o", str(out), "--config", str(toml)]) == 0
        files.append(out)
    report = root / "pooled"
    assert main(["pool", *map(str, files), "-o", str(report), "--config", str(toml)]) == 0
    return root, report


def test_site_summary_answers_a_cox_round_from_the_command_line(sites, summaries, tmp_path):
    from aftercar.config import load_config
    from aftercar.federated import models
    from aftercar.federated.summary import answer_round

    config = load_config()
    proposal = models.first_proposal(summaries[:2], config.analysis, config.config_hash(), [])
    coefs = tmp_path / "cox_round.json"
    coefs.write_text(json.dumps(proposal), encoding="utf-8")
    folder = tmp_path / "North"
    write_simulated(
        30, folder, seed=7, params={"baseline": {"sites": ["North"], "site_probs": [1.0]}}
    )
    answer = tmp_path / "answer.json"
    assert main(["site-summary", str(folder), "--cox-round", str(coefs), "-o", str(answer)]) == 0
    got = json.loads(answer.read_text())
    assert got["format"] == "aftercar-cox-answer" and got["site"] == "North"
    assert len(got["score"]) == len(proposal["terms"]) and got["n"] <= 30
    assert "SYN-" not in answer.read_text()
    from aftercar.federated.summary import summarise_cohort

    _, derived = summarise_cohort(folder, config)
    want = answer_round(derived, proposal, "North")
    assert got["loglik"] == pytest.approx(want["loglik"], abs=1e-10)


def test_a_cox_round_for_another_study_is_refused(tmp_path, capsys):
    folder = tmp_path / "West"
    write_simulated(
        20, folder, seed=8, params={"baseline": {"sites": ["West"], "site_probs": [1.0]}}
    )
    coefs = tmp_path / "cox_round.json"
    coefs.write_text(json.dumps({"format": "aftercar-cox-round", "config_hash": "x"}), "utf-8")
    args = ["site-summary", str(folder), "--cox-round", str(coefs), "-o", str(tmp_path / "a.json")]
    assert main(args) == 2
    assert "made for another study configuration" in capsys.readouterr().err.replace("\n", "")


def test_site_summary_writes_the_file_and_the_page_showing_it(cli_run):
    root, _ = cli_run
    page = (root / "North-summary.html").read_text()
    data = json.loads((root / "North.json").read_text())
    assert data["site"] == "North" and "What leaves this site" in page
    assert "SYN-" not in page and "SYN-" not in json.dumps(data)


def test_the_pooled_report_has_a_site_column_and_site_stratified_analyses(cli_run):
    root, report = cli_run
    results = json.loads((report / "results.json").read_text())
    assert results["cox_os"]["model"] is not None and results["cox_os"]["strata"] == "site"
    assert not (root / "pooled.cox_round.json").exists()  # categorical: no rounds needed
    assert [g["n"] for g in results["table1_wide"]["groups"]] == [80, 40, 40]
    assert results["os_from_progression"]["by_product"]["logrank"]["strata"] == "site"


def test_the_robust_round_from_the_command_line_gives_clustered_line_models(cli_run):
    root, report = cli_run
    coefs = root / "pooled.robust_round.json"
    first = json.loads((report / "results.json").read_text())
    assert first["all_lines"]["pfs_cox_tce"]["model"]["terms"][0]["robust_se"] is None
    files = [root / "North.json", root / "South.json", coefs]
    toml = ["--config", str(root / "study.toml")]
    for name in ("North", "South"):
        out = root / f"{name}-robust.json"
        args = ["site-summary", str(root / name), "--cox-round", str(coefs), "-o", str(out)]
        assert main([*args, *toml]) == 0
        assert "SYN-" not in out.read_text()
        files.append(out)
    again = root / "again"
    assert main(["pool", *map(str, files), "-o", str(again), *toml]) == 0
    results = json.loads((again / "results.json").read_text())
    for key in ("pfs_cox_tce", "pfs_cox_by_category"):
        block = results["all_lines"][key]
        assert "clustered by patient" in block["method"]
        assert all(t["robust_se"] > 0 for t in block["model"]["terms"])
    assert not (root / "again.robust_round.json").exists()


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium (/usr/bin/chromium) absent")
def test_the_pooled_report_renders_in_chromium(cli_run, tmp_path):
    _, report = cli_run
    dom = _chromium(report / "report.html", tmp_path, "--dump-dom")
    drawn = set(re.findall(r'<svg id="fig-([\w-]+)"', dom))
    assert {"os", "os_by_relapse_timing", "os_by_product", "first_salvage_pfs"} <= drawn
    assert "North (N=40)" in dom and "South (N=40)" in dom
    assert "SYNTHETIC" in dom.upper()


#: results.json blocks of ``aftercar report`` that the pooled study fills in the same shape
#: (first_salvage, all_lines: in part; tce, attrition, input, table1: not pooled).
SAME_SHAPE = ("cohort", "os_from_progression", "by_category", "cox_os", "endpoints", "meta",
              "notes", "figures", "table1_wide")  # fmt: skip


def test_pooled_results_have_the_shape_of_aftercar_report(cli_run):
    from importlib import resources

    import jsonschema

    _, report = cli_run
    results = json.loads((report / "results.json").read_text())
    schema = json.loads(
        resources.files("aftercar").joinpath("data/results.schema.json").read_text()
    )
    for key in SAME_SHAPE:
        jsonschema.validate(results[key], {"$defs": schema["$defs"], **schema["properties"][key]})


def test_pool_refuses_answers_without_their_coefficients_file(site_files, tmp_path, capsys):
    answer = tmp_path / "answer.json"
    data = json.loads(site_files[0].read_text())
    answer.write_text(json.dumps({"format": "aftercar-cox-answer", "schema_version": 1,
                                  "config_hash": data["config_hash"]}), "utf-8")  # fmt: skip
    assert main(["pool", *map(str, site_files), str(answer), "-o", str(tmp_path / "o")]) == 2
    assert "answer.json: a Cox round answer without" in capsys.readouterr().err.replace("\n", "")


def test_site_summary_cannot_lower_the_studys_suppression(cli_run, tmp_path, capsys):
    # a review of session 27: the floor was checked by `report` only; the site summary is
    # the file that leaves the site
    root, _ = cli_run
    toml = tmp_path / "study.toml"
    toml.write_text("[report]\nsuppress_below = 11\n", encoding="utf-8")
    out = tmp_path / "s.json"
    args = ["site-summary", str(root / "North"), "-o", str(out), "--config", str(toml)]
    assert main([*args, "--suppress-below", "3"]) == 2
    assert "cannot be lowered" in capsys.readouterr().err and not out.exists()
    assert main(args) == 0
    assert json.loads(out.read_text())["disclosure"]["suppress_below"] == 11
