"""The demo cohort through the full pipeline: Chromium render, schema, disclosure control."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pandas as pd
import pytest
from reportkit import CHROMIUM, assert_rendered

from aftercar.report import write_report
from aftercar.report.disclosure import is_count_key

FIGURES = {
    "os",
    "os_by_relapse_timing",
    "os_by_product",
    "first_salvage_pfs",
    "pfs_by_category",
    "os_tce_landmark",
    "forest_orr",
    "response_by_category",
    "treatment_sequence",
    "swimmer",
    "first_salvage_competing_risks",
}


@pytest.fixture(scope="module")
def demo_k5(demo_input, tmp_path_factory):
    return write_report(demo_input, tmp_path_factory.mktemp("demo5"), suppress_below=5)


def _schema():
    text = resources.files("aftercar").joinpath("data/results.schema.json").read_text()
    return json.loads(text)


def _leaks(obj, k, under=False):
    if isinstance(obj, dict):
        return [
            x
            for key, v in obj.items()
            for x in _leaks(v, k, is_count_key(key) and not isinstance(v, dict))
        ]
    if isinstance(obj, list):
        return [x for v in obj for x in _leaks(v, k, under and not isinstance(v, dict))]
    is_num = isinstance(obj, int | float) and not isinstance(obj, bool)
    return [obj] if under and is_num and 0 < obj < k else []


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium (/usr/bin/chromium) absent")
def test_demo_report_renders_in_chromium_with_every_figure(demo, tmp_path):
    assert set(demo.figures) == FIGURES
    assert_rendered(demo.html, tmp_path, FIGURES)


def test_demo_results_validate_against_schema_with_and_without_suppression(demo, demo_k5):
    schema = _schema()
    for paths in (demo, demo_k5):
        jsonschema.validate(json.loads(paths.results_json.read_text()), schema)


def test_demo_suppressed_outputs_hold_no_small_count(demo_k5):
    results = json.loads(demo_k5.results_json.read_text())
    assert _leaks(results, 5) == []
    for name, path in demo_k5.tables.items():
        table = pd.read_csv(path)
        for col in (c for c in table.columns if is_count_key(c)):
            values = pd.to_numeric(table[col], errors="coerce")
            assert not ((values > 0) & (values < 5)).any(), (name, col)
    html = demo_k5.html.read_text()
    assert "&lt;5" in html and '<svg id="fig-swimmer"' not in html


def test_demo_headline_numbers_match_results(demo):
    results = json.loads(demo.results_json.read_text())
    html = demo.html.read_text()
    orr = results["first_salvage"]["orr"]
    assert f"{orr['responders']}/{orr['n']}" in html
    assert f"{100 * orr['estimate']:.1f}%" in html
    assert f"{results['os_from_progression']['median_months']:.1f} (" in html


def test_demo_html_is_self_contained_with_unique_ids(demo):
    import re

    html = demo.html.read_text()
    assert "http" not in html.lower()
    assert not re.search(r"<(link|img|iframe|object|embed)\b", html, re.I)
    assert not re.search(r"<script[^>]*src", html)
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
