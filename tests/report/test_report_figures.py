"""Figure helpers: hand-worked at-risk counts, thinning, ticks, sampling, sequences, SVG."""

from __future__ import annotations

import re

import matplotlib as mpl
import numpy as np
from reportkit import LINES

from aftercar.analysis import figures as F
from aftercar.report.figures import km
from aftercar.report.figures._style import FigureOutput, Palette, figure_style
from aftercar.report.figures.categories import _ci_methods_text, _forest_rows
from aftercar.report.figures.sequence import sequence_figure
from aftercar.report.model import CategoryStyle
from aftercar.stats import kaplan_meier

PALETTE = Palette.of(
    (
        CategoryStyle("car_t", "CAR T", "#0072B2"),
        CategoryStyle("imid_pi", "IMiD/PI", "#8C6D31"),
        CategoryStyle("bispecific", "Bispecific", "#56B4E9"),
    )
)


def _km_fig(key, groups):
    return F.curve_figure(key, {g: F.curve(g, fit) for g, fit in groups.items()})


def test_thin_steps_keeps_last_step_per_bin_and_leaves_small_curves_alone():
    t = np.linspace(0.01, 10, 50_000)
    keep = km.thin_steps(t, 10.0, 1000)
    assert len(keep) <= 1001 and keep[-1] == len(t) - 1
    assert np.all(np.diff(keep) > 0)
    assert km.thin_steps(t[:100], 10.0, 1000).tolist() == list(range(100))


def _svg_texts(fig) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", fig.svg)


def test_km_figure_suppresses_small_at_risk_and_event_counts():
    curve = {"All": kaplan_meier(np.arange(1.0, 13.0), np.ones(12, bool))}
    with figure_style(), mpl.rc_context({"svg.fonttype": "none"}):  # text as <text>
        plain = km.km_figure(_km_fig("os", curve), PALETTE)
        masked = km.km_figure(_km_fig("os", curve), PALETTE, k=5)
    # ticks 0, 2, ..., 12: at risk 12 11 9 7 5 3 1; cumulative events 0 2 4 6 8 10 12
    texts = _svg_texts(plain)
    for value in ("12", "11", "9", "7", "5", "3", "1", "0", "2", "4", "6", "8", "10"):
        assert value in texts
    masked_texts = _svg_texts(masked)
    assert masked_texts.count("&lt;5") == 4  # at risk 3, 1; events 2, 4
    assert "n=12" in " ".join(masked_texts)


def test_style_context_does_not_leak_into_global_rcparams():
    before = dict(mpl.rcParams)
    with figure_style():
        fit = kaplan_meier(np.array([1.0, 2.0]), np.array([1, 0], bool))
        km.km_figure(_km_fig("os", {"All": fit}), PALETTE)
    assert mpl.rcParams["svg.fonttype"] == before["svg.fonttype"]
    assert mpl.rcParams["font.size"] == before["font.size"]


def test_sequence_figure_hides_small_ribbons_under_suppression():
    with figure_style():
        fig = sequence_figure(F.sequence(LINES), PALETTE, k=5)
    assert "ribbon(s) of fewer than 5 patients not drawn" in fig.caption


def test_category_colours_come_from_the_taxonomy_and_are_stable_for_others():
    from reportkit import build_input

    palette = Palette.of(build_input().categories)
    colours = [s.colour for s in build_input().categories]
    assert len(set(colours)) == len(colours)
    assert palette.colour("trial_tce") == palette.colour("trial_tce")
    assert palette.colour("car_t") == "#0072B2" and palette.label("car_t") == "CAR T"
    assert palette.label("trial_tce") == "trial tce"


def test_inline_svg_prefixes_ids_and_drops_namespaces_and_prolog():
    svg = (
        '<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "x" "http://www.w3.org/x.dtd">\n'
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'version="1.1"><metadata><rdf:RDF/></metadata><defs><path id="g1"/></defs>'
        '<use xlink:href="#g1"/><g clip-path="url(#c1)"/><clipPath id="c1"/></svg>'
    )
    inline = FigureOutput("os", "T <x>", "c", svg, b"").inline_svg()
    assert inline.startswith('<svg id="fig-os" role="img" aria-label="T x"')
    assert "http" not in inline and "metadata" not in inline
    assert re.findall(r'id="([^"]+)"', inline) == ["fig-os", "os-g1", "os-c1"]
    assert 'href="#os-g1"' in inline and "url(#os-c1)" in inline


def test_km_figure_survives_an_empty_group_and_a_single_subject():
    empty = F.Curve("none", *(np.array([]) for _ in range(7)), (None, None, None), 0.0, 0.0)
    one = F.curve("one", kaplan_meier(np.array([4.0]), np.array([True])))
    fig_data = F.curve_figure("os_by_product", {"none": empty, "one": one})
    with figure_style():
        fig = km.km_figure(fig_data, PALETTE)
    assert fig.svg.lstrip().startswith("<?xml")


def test_lines_without_category_are_drawn_as_unclassified(monkeypatch):
    from dataclasses import replace

    from reportkit import build_input

    from aftercar.report.figures import _style, render_figures

    data = build_input()
    lines = LINES.copy()
    lines.loc[0, "category"] = None
    figures = replace(data.figures, response_bars=F.response_bars(lines))
    monkeypatch.setitem(_style.RC, "svg.fonttype", "none")  # text as <text> to read it
    figs = render_figures(replace(data, figures=figures), results=data.results)
    texts = " ".join(_svg_texts(figs.figures["response_by_category"]))
    assert "Unclassified" in texts  # the taxonomy's label of rows without a category


def test_forest_caption_names_each_interval_method_it_draws():
    # Category rows pool all lines (patient-clustered CI); first-salvage and first-TCE
    # rows are one line per patient (exact CI): the caption must not call them all exact.
    orr = {"responders": 3, "n": 10, "estimate": 0.3, "ci95": [0.1, 0.6]}
    results = {
        "by_category": {
            "car_t": {"orr": {**orr, "method": "patient-clustered"}},
            "imid_pi": {"orr": {**orr, "method": "patient-clustered"}},
        },
        "first_salvage": {"orr": {**orr, "method": "exact"}},
    }
    text = _ci_methods_text(_forest_rows(results, PALETTE))
    assert text == (
        "patient-clustered sandwich, logit scale; "
        "exact Clopper-Pearson for First salvage line (all)"
    )
    only_exact = {"by_category": {"car_t": {"orr": {**orr, "method": "exact"}}}}
    assert _ci_methods_text(_forest_rows(only_exact, PALETTE)) == "exact Clopper-Pearson"
