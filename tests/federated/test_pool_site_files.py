"""``aftercar pool`` with site files it must refuse or take (fuzz round 2, items 2 and 7):
a hand-edited or corrupt site summary is refused naming the file, key and value (exit 2,
no traceback); a site with fewer patients than ``--suppress-below`` K is pooled."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from aftercar.cli import main
from aftercar.federated.validate import event_table_problem, length_problem, schema_problem
from aftercar.report.margins import SUPPRESSED, Margins, marker
from aftercar.simulate import write_simulated

#: One pooling pass (categorical Cox covariates only), as in test_pool_cli.
CATEGORICAL_TOML = (
    '[analysis]\ncox_covariates = ["early_relapse", "extramedullary_disease", "ecog"]\n'
)


@pytest.fixture(scope="module")
def site_files(summaries, tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("sites")
    paths = []
    for s in summaries[:2]:
        path = folder / f"{s['site']}.json"
        path.write_text(json.dumps(s), encoding="utf-8")
        paths.append(path)
    return paths


def _edited(tmp_path: Path, source: Path, keys: tuple, value) -> Path:
    data = json.loads(source.read_text())
    node = data
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    path = tmp_path / f"edited-{source.name}"
    path.write_text(json.dumps(data), encoding="utf-8")  # NaN written as NaN
    return path


# --------------------------------------------------------------------------
# Item 7: edited or corrupt site files
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "value", "where", "shown", "expected"),
    [
        (("cohort", "patients"), math.nan, "key cohort.patients", "value NaN", "a whole number"),
        (("cohort", "patients"), "20", "key cohort.patients", 'value "20"', "a whole number"),
        (("cohort", "patients"), -20, "key cohort.patients", "value -20", "at least 0"),
        (("cohort", "patients"), 20.5, "key cohort.patients", "value 20.5", "a whole number"),
        # fuzz round 7 (session 26): a 400-digit integer overflowed the float check
        (("cohort", "patients"), 10**400, "key cohort.patients", "value 1000000000",
         "a whole number"),
        (("cohort",), [], "key cohort,", "value []", "expected an object"),
        (("time_unit",), "months", "key time_unit", 'value "months"', 'expected "days"'),
        (
            ("table1", "rows", "sex", "levels", "F"),
            -3,
            "key table1.rows.sex.levels.F",
            "value -3",
            "at least 0",
        ),
        (
            ("survival", "os", "all", "events"),
            [1, "x"],
            "key survival.os.all.events[1]",
            'value "x"',
            "a whole number",
        ),
        (
            ("response", "first_salvage", "all", "orr", "responders"),
            True,
            "key response.first_salvage.all.orr.responders",
            "value true",
            "a whole number",
        ),
    ],
)
def test_pool_refuses_an_edited_site_file_naming_file_key_and_value(
    site_files, tmp_path, capsys, keys, value, where, shown, expected
):
    bad = _edited(tmp_path, site_files[1], keys, value)
    code = main(["pool", str(site_files[0]), str(bad), "-o", str(tmp_path / "out")])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2, err
    assert f"{bad.name}: not a valid site summary ({where}" in err
    assert shown in err and expected in err and "Fix:" in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_pool_refuses_an_event_table_whose_lists_differ_in_length(site_files, tmp_path, capsys):
    data = json.loads(site_files[1].read_text())
    table = data["survival"]["os"]["all"]
    table["events"] = table["events"][:-1]
    bad = tmp_path / "uneven.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    assert main(["pool", str(site_files[0]), str(bad), "-o", str(tmp_path / "out")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "uneven.json: not a valid site summary (key survival.os.all," in err
    assert "of one length" in err and "Traceback" not in err


def test_every_site_file_aftercar_writes_follows_the_schema(summaries, summaries_k5):
    for summary in [*summaries, *summaries_k5]:
        assert schema_problem(summary) is None
        assert length_problem(summary) is None
        assert event_table_problem(summary) is None


def _os_edit(kind: str):
    def edit(t: dict) -> None:
        if kind == "risk_x10":
            t["n_risk"][0] *= 10
        elif kind == "reversed":
            for key in ("time", "n_risk", "events"):
                t[key].reverse()
        elif kind == "events_gt_risk":
            t["events"][0] = t["n_risk"][0] + 100
        elif kind == "risk_up":
            t["n_risk"][1] = t["n_risk"][0] + 1
        elif kind == "huge_day":
            t["time"][-1] = 10**9
        elif kind == "empty":
            for key in ("time", "n_risk", "events"):
                t[key] = []
    return edit


@pytest.mark.parametrize(("kind", "where", "expected"), [
    ("risk_x10", "survival.os.all.n_risk[0]", "at most the site's count"),
    ("reversed", "survival.os.all.time[1]", "a day after the day before"),
    ("events_gt_risk", "survival.os.all.events[0]", "at most the number at risk"),
    ("risk_up", "survival.os.all.n_risk[1]", "at most the number at risk the day before"),
    ("huge_day", "survival.os.all.time[", "a day from 0 to 54,787"),
    ("empty", "survival.os.all.time", "(it is empty)"),
])  # fmt: skip
def test_pool_refuses_an_event_table_no_site_can_hold(site_files, tmp_path, capsys, kind,
                                                     where, expected):  # fmt: skip
    """Fuzzing round 4 (G01): these passed the schema and were pooled silently (an OS of
    285 patients from 60; a median moved), stopped pool with a traceback or ran for half
    an hour."""
    data = json.loads(site_files[1].read_text())
    _os_edit(kind)(data["survival"]["os"]["all"])
    bad = tmp_path / "edited.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    assert main(["pool", str(site_files[0]), str(bad), "-o", str(tmp_path / "out")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"edited.json: not a valid site summary (key {where}" in err, err
    assert expected in err and "Traceback" not in err and not (tmp_path / "out").exists()


# --------------------------------------------------------------------------
# Item 2: a site with fewer patients than K
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_site_pool(tmp_path_factory):
    """A 40-patient site without disclosure control and a 3-patient site under
    ``--suppress-below 11`` (its N and every count withheld), pooled."""
    root = tmp_path_factory.mktemp("small")
    toml = root / "study.toml"
    toml.write_text(CATEGORICAL_TOML, encoding="utf-8")
    files = []
    for name, size, extra in (("Big", 40, []), ("Tiny", 3, ["--suppress-below", "11"])):
        params = {"baseline": {"sites": [name], "site_probs": [1.0]}}
        write_simulated(size, root / name, seed=size, params=params)
        out = root / f"{name}.json"
        args = ["site-summary", str(root / name), "-o", str(out), "--config", str(toml)]
        assert main([*args, *extra]) == 0
        files.append(out)
    report = root / "pooled"
    code = main(["pool", *map(str, files), "-o", str(report), "--config", str(toml)])
    return code, report, files


def test_a_site_smaller_than_k_is_pooled_with_its_cells_suppressed(small_site_pool):
    code, report, files = small_site_pool
    assert json.loads(files[1].read_text())["table1"]["patients"] is None  # withheld
    assert code == 0  # was: TypeError in report/margins.py (float(None))
    wide = json.loads((report / "results.json").read_text())["table1_wide"]
    heads = [g["group"] for g in wide["groups"]]
    assert heads == ["Overall (N=withheld)", "Big (N=40)", "Tiny (N=<11)"]
    patients = wide["rows"][0]
    assert patients["characteristic"] == "Patients"
    assert patients["Tiny (N=<11)"] == "<11" and patients["Overall (N=withheld)"] == "withheld"
    for row in wide["rows"][1:]:  # the tiny site's counts: 0 or withheld, never a number
        assert row["Tiny (N=<11)"] in ("0", "withheld", "NA"), row


def test_a_single_site_smaller_than_k_is_pooled(tmp_path):
    folder = tmp_path / "One"
    write_simulated(1, folder, seed=3, params={"baseline": {"sites": ["One"], "site_probs": [1.0]}})
    site = tmp_path / "one.json"
    assert main(["site-summary", str(folder), "-o", str(site), "--suppress-below", "2"]) == 0
    assert main(["pool", str(site), "-o", str(tmp_path / "pooled")]) == 0
    wide = json.loads((tmp_path / "pooled" / "results.json").read_text())["table1_wide"]
    assert [g["group"] for g in wide["groups"]] == ["Overall (N=<2)", "One (N=<2)"]


def test_margins_take_a_cell_of_unknown_value_as_any_value():
    """A cell already hidden upstream (``None``) is neither hidden again nor re-shown,
    and it does not make the other cells of its margin look determined."""
    m = Margins(5)
    m.cell("a", 3)
    m.cell("b", 20)
    m.cell("total", None)
    m.margin(["a", "b"], "total")
    states = m.solve()
    assert "total" not in states  # left as printed
    assert states["a"] == marker(5) and states["b"] == "shown"
    m = Margins(5)
    m.cell("a", 3)
    m.cell("b", 20)
    m.cell("c", None)
    m.cell("total", 30)
    m.margin(["a", "b", "c"], "total")
    states = m.solve()
    assert states["a"] == marker(5) and states["b"] == "shown" and "c" not in states
    assert SUPPRESSED not in states.values()
