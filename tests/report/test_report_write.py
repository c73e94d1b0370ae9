"""write_report end to end on the micro-cohort: files, sections, figures, disclosure."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pandas as pd
import pytest
from reportkit import LINES, build_input

from aftercar.errors import InputError
from aftercar.report import write_report
from aftercar.report.html import SECTIONS

FIGURES = (
    "os",
    "os_by_relapse_timing",
    "first_salvage_pfs",
    "forest_orr",
    "response_by_category",
    "treatment_sequence",
    "swimmer",
)


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    out = tmp_path_factory.mktemp("plain")
    steps = []
    paths = write_report(build_input(), out, progress=lambda s, d, t: steps.append((s, d, t)))
    return paths, steps


@pytest.fixture(scope="module")
def suppressed(tmp_path_factory):
    out = tmp_path_factory.mktemp("suppressed")
    return write_report(build_input(), out, suppress_below=5)


def test_every_output_file_is_written(plain):
    paths, _ = plain
    for f in paths.all_files():
        assert f.is_file() and f.stat().st_size > 0, f
    assert set(paths.figures) == set(FIGURES)
    assert set(paths.tables) == {
        "table1",
        "response_by_category",
        "regimen_mapping",
        "attrition",
        "tce_time_dependent_cox",
    }
    for svg, png in paths.figures.values():
        assert svg.read_text().lstrip().startswith("<?xml")
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_progress_callback_sees_every_step_in_order(plain):
    _, steps = plain
    assert [d for _, d, _ in steps] == list(range(len(steps)))
    assert steps[-1][0] == "done" and steps[-1][1] == steps[-1][2]


def test_html_has_every_section_and_every_figure_inline(plain):
    paths, _ = plain
    html = paths.html.read_text()
    for sid, heading in SECTIONS:
        assert f'<section id="{sid}">' in html, sid
        assert heading.split(".")[0] in html
    for key in FIGURES:
        assert html.count(f'<svg id="fig-{key}"') == 1, key
    assert "SYNTHETIC DATA" in html
    # headline numbers beside the index study
    assert "17.9 (14.0–NE)" in html and "54.5% (23.4%–83.2%); 6/11" in html
    # the regimen mapping lists every distinct regimen text
    for text in LINES["regimen"].unique():
        assert text in html
    # extra table lands in the TCE section, Cox results in the Cox section
    tce = html[html.index('<section id="tce">') : html.index('<section id="cox">')]
    assert "table-tce_time_dependent_cox" in tce
    # result keys appear in the appendix only, with their results.json path
    cox = html[html.index('<section id="cox">') : html.index('<section id="regimens">')]
    assert "early_relapse" not in cox
    appendix = html[html.index('<section id="appendix">') :]
    assert "cox.terms.early_relapse.hazard_ratio" in appendix


def test_html_is_self_contained_without_network_references(plain):
    paths, _ = plain
    html = paths.html.read_text()
    assert "http" not in html.lower()
    assert not re.search(r"<(link|img|iframe|object|embed)\b", html, re.I)
    # one inline script (the appendix search), no external one
    assert len(re.findall(r"<script>", html)) == 1 and not re.search(r"<script[^>]*src", html)
    assert not re.search(r"url\(\s*['\"]?(?!#)", html)
    assert not re.search(r"(src|href)\s*=\s*['\"](?!#)", html)
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "duplicate element ids across inline SVGs"


def test_synthetic_banner_only_when_synthetic(tmp_path):
    data = build_input(synthetic=False)
    paths = write_report(replace(data, figures=replace(data.figures, curves={})), tmp_path)
    html = paths.html.read_text()
    assert "SYNTHETIC DATA" not in html
    assert "Figure not shown (Overall survival from post-CAR-T progression)" in html


def test_results_json_is_strict_and_complete(plain):
    paths, _ = plain
    text = paths.results_json.read_text()
    assert "NaN" not in text and "Infinity" not in text
    results = json.loads(text)
    assert results["os_from_progression"]["ci95"][1] is None  # not estimable -> null
    assert results["first_salvage"]["orr"] == {
        "responders": 6,
        "n": 11,
        "estimate": 6 / 11,
        "ci95": [0.2338, 0.8325],
    }


def test_manifest_has_meta_and_hash_of_every_output(plain):
    import hashlib

    paths, _ = plain
    manifest = json.loads(paths.manifest.read_text())
    assert manifest["config_hash"] == "abc123" and manifest["disclosure"]["suppress_below"] is None
    listed = {o["path"]: o["sha256"] for o in manifest["outputs"]}
    assert "report.html" in listed and "figures/swimmer.svg" in listed
    for rel, digest in listed.items():
        assert hashlib.sha256((paths.outdir / rel).read_bytes()).hexdigest() == digest


def _small_ints_under_counts(obj, k, under=False):
    from aftercar.report.disclosure import is_count_key

    if isinstance(obj, dict):
        return [
            x for key, v in obj.items() for x in _small_ints_under_counts(v, k, is_count_key(key))
        ]
    if isinstance(obj, list):
        return [x for v in obj for x in _small_ints_under_counts(v, k, under)]
    return (
        [obj]
        if under and isinstance(obj, int) and not isinstance(obj, bool) and 0 < obj < k
        else []
    )


def test_suppression_in_json(suppressed):
    results = json.loads(suppressed.results_json.read_text())
    assert _small_ints_under_counts(results, 5) == []
    alk = results["by_category"]["alkylator"]
    assert alk["lines"] == "<5" and alk["orr"]["responders"] == "<5"
    assert alk["orr"]["estimate"] == "suppressed" and alk["pfs"]["events"] == "<5"
    assert results["by_category"]["bispecific"]["lines"] == 9
    assert json.loads(suppressed.manifest.read_text())["disclosure"]["suppress_below"] == 5


def test_suppression_in_csv(suppressed):
    resp = pd.read_csv(suppressed.tables["response_by_category"])
    assert resp["lines"].tolist() == ["9", "<5", "<5"]
    assert resp["orr"].tolist()[1:] == ["suppressed", "suppressed"]
    t1 = pd.read_csv(suppressed.tables["table1"])
    assert "5 (41.7%)" in t1["value"].tolist()  # 5 is not below K=5
    att = pd.read_csv(suppressed.tables["attrition"])
    assert att["patients"].tolist() == ["13", "<5", "12"]


def test_suppression_in_html_and_figures(suppressed):
    html = suppressed.html.read_text()
    assert "&lt;5" in html
    assert "counts of 1–4 shown as &lt;5" in html
    assert '<svg id="fig-swimmer"' not in html  # individual-level figure left out
    assert "left out under disclosure control" in html
    cats = html[html.index('<section id="categories">') : html.index('<section id="patterns">')]
    table = cats[cats.index('id="table-response_by_category"') :]
    table = table[: table.index("</table>")]
    rows = [re.findall(r"<td[^>]*>([^<]*)</td>", r) for r in table.split("<tr>")[2:]]
    counts = [row[1].split(" ")[0] for row in rows] + [row[2] for row in rows]  # lines, eval.
    assert counts == ["9", "&lt;5", "&lt;5", "9", "&lt;5", "&lt;5"]
    assert [row[3].split(" ")[0] for row in rows[1:]] == ["suppressed", "suppressed"]
    assert all(row[3].endswith("&lt;5/&lt;5 a") for row in rows[1:])  # responders/evaluable
    # the headline table shows the suppressed first-salvage numbers as they are in JSON
    assert "n=12, events=suppressed" in html  # 2 censored: events = 12 - 2


def test_figures_drawn_at_exact_sizes_are_left_out_under_suppression(suppressed, tmp_path):
    """Bars, bands and curve steps drawn at their exact sizes give suppressed counts back
    (a probe of every shared output, 2026-12-06): they are left out, as the swimmer plot."""
    html = suppressed.html.read_text()
    figures = suppressed.html.parent / "figures"
    for key in ("response_by_category", "treatment_sequence", "swimmer"):
        assert f'<svg id="fig-{key}"' not in html
        assert not (figures / f"{key}.svg").exists() and not (figures / f"{key}.png").exists()
    shown = write_report(build_input(), tmp_path)
    assert '<svg id="fig-response_by_category"' in shown.html.read_text()


def test_unrenderable_input_is_reported_by_name(tmp_path):
    data = build_input()
    bad = replace(data, figures={"os": None}, tables={"t": [1, 2]})
    with pytest.raises(InputError, match=r"figures must be .*tables\['t'\] must be a pandas"):
        write_report(bad, tmp_path)


@pytest.mark.parametrize("k", [0, -1, 2.5])
def test_bad_threshold_is_an_input_error(tmp_path, k):
    with pytest.raises(InputError, match="positive integer"):
        write_report(build_input(), tmp_path, suppress_below=k)


def test_rerun_with_suppression_removes_stale_individual_level_outputs(tmp_path):
    data = build_input()
    write_report(data, tmp_path)
    assert (tmp_path / "figures" / "swimmer.png").exists()
    (tmp_path / "notes.txt").write_text("user file")  # not ours: left alone
    paths = write_report(replace(data, tables={}), tmp_path, suppress_below=20, force=True)
    assert not (tmp_path / "figures" / "swimmer.png").exists()
    assert not (tmp_path / "figures" / "swimmer.svg").exists()
    assert list((tmp_path / "tables").iterdir()) == []
    assert (tmp_path / "notes.txt").exists()
    manifest = json.loads(paths.manifest.read_text())
    assert manifest["inputs"][0]["rows"] == "<20"  # 13 input rows
    listed = {o["path"] for o in manifest["outputs"]}
    on_disk = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert on_disk - listed == {"notes.txt", "manifest.json"}
