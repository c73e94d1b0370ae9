"""Figure helpers: hand-worked at-risk counts, thinning, ticks, sampling, sequences, SVG."""

from __future__ import annotations

import re

import matplotlib as mpl
import numpy as np
import pandas as pd
from reportkit import LINES, PATIENTS

from aftercar.report.figures import km, swimmer
from aftercar.report.figures._style import (
    CATEGORY_COLOURS,
    FigureOutput,
    category_colour,
    figure_style,
)
from aftercar.report.figures.categories import _ci_methods_text, _forest_rows, response_counts
from aftercar.report.figures.sequence import sequence_figure, sequence_table
from aftercar.stats import kaplan_meier


def _curve(time, event):
    return km._curve("g", kaplan_meier(np.asarray(time, float), np.asarray(event, bool)))


def test_at_risk_and_cumulative_events_at_ticks_hand_worked():
    # times 1 2 2 3 5 (events at 1, 2, 2, 5; censored at 3)
    curve = _curve([1, 2, 2, 3, 5], [1, 1, 1, 0, 1])
    risk, events = km.at_risk(curve, np.array([0.0, 1.0, 2.0, 2.5, 4.0, 5.0, 6.0]))
    # at risk at t = subjects with time >= t
    assert risk.tolist() == [5, 5, 4, 2, 1, 1, 0]
    # cumulative events with time <= t
    assert events.tolist() == [0, 1, 3, 3, 3, 4, 4]


def test_thin_steps_keeps_last_step_per_bin_and_leaves_small_curves_alone():
    t = np.linspace(0.01, 10, 50_000)
    keep = km.thin_steps(t, 10.0, 1000)
    assert len(keep) <= 1001 and keep[-1] == len(t) - 1
    assert np.all(np.diff(keep) > 0)
    assert km.thin_steps(t[:100], 10.0, 1000).tolist() == list(range(100))


def test_nice_ticks_at_most_nine_on_month_multiples():
    assert km.nice_ticks(30).tolist() == [0, 6, 12, 18, 24, 30]
    assert km.nice_ticks(5).tolist() == [0, 1, 2, 3, 4, 5]
    for tmax in (0.5, 7, 13, 61, 250, 900):
        ticks = km.nice_ticks(tmax)
        assert 1 <= len(ticks) <= 9 and ticks[0] == 0 and ticks[-1] <= tmax


def _svg_texts(fig) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", fig.svg)


def test_km_figure_suppresses_small_at_risk_and_event_counts():
    curve = {"All": kaplan_meier(np.arange(1.0, 13.0), np.ones(12, bool))}
    with figure_style(), mpl.rc_context({"svg.fonttype": "none"}):  # text as <text>
        plain = km.km_figure("os", curve)
        masked = km.km_figure("os", curve, k=5)
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
        km.km_figure("os", {"All": kaplan_meier(np.array([1.0, 2.0]), np.array([1, 0], bool))})
    assert mpl.rcParams["svg.fonttype"] == before["svg.fonttype"]
    assert mpl.rcParams["font.size"] == before["font.size"]


def test_swimmer_samples_large_cohorts_with_seed_and_says_so():
    n = 400
    pts = pd.DataFrame(
        {
            "patient_id": [f"Q{i}" for i in range(n)],
            "os_months": np.linspace(1, 40, n),
            "os_event": np.arange(n) % 2 == 0,
            "early_relapse": False,
            "car_t_product": "x",
            "n_lines": 1,
        }
    )
    sample, note = swimmer._sample(pts)
    again, _ = swimmer._sample(pts)
    assert len(sample) == swimmer.MAX_PATIENTS and sample.equals(again)
    assert "Random sample of 150 of 400 patients" in note
    assert np.all(np.diff(sample["os_months"].to_numpy()) >= 0)
    small, note_small = swimmer._sample(PATIENTS)
    assert len(small) == len(PATIENTS) and note_small == ""


def test_swimmer_segment_without_end_runs_to_next_line_or_follow_up():
    lines = LINES[LINES["patient_id"] == "P02"].copy()
    lines["end_months"] = np.nan
    pos = pd.Series([0], index=["P02"])
    follow = pd.Series([3.5], index=["P02"])
    seg = swimmer._segments(lines, pos, follow)
    assert seg["x1"].tolist() == [2.1, 3.5]


def test_sequence_table_one_category_per_patient_and_line():
    wide = sequence_table(LINES)
    assert wide.loc["P07"].tolist() == ["selinexor", "imid_pi", "bispecific"]
    assert wide.loc["P09"].tolist()[0] == "bispecific" and wide.loc["P09"].isna().sum() == 2


def test_sequence_figure_hides_small_ribbons_under_suppression():
    with figure_style():
        fig = sequence_figure(LINES, k=5)
    assert "ribbon(s) of fewer than 5 patients not drawn" in fig.caption


def test_response_counts_pool_scr_cr_and_missing_as_ne():
    counts = response_counts(LINES)
    assert counts.loc["bispecific"].sum() == 9
    assert counts.loc["bispecific", "sCR/CR"] == 3  # P05 sCR, P08 CR, P09 CR
    assert counts.loc["radiotherapy", "NE/missing"] == 1
    assert counts.loc["selinexor", "NE/missing"] == 1


def test_category_colours_are_distinct_and_stable_for_user_categories():
    assert len(set(CATEGORY_COLOURS.values())) == len(CATEGORY_COLOURS)
    assert category_colour("trial_tce") == category_colour("trial_tce")
    assert category_colour("car_t") == CATEGORY_COLOURS["car_t"]


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
    class Empty:  # aftercar.stats refuses empty input; an upstream group may still be empty
        table = pd.DataFrame(
            columns=["time", "n_risk", "n_event", "n_censor", "surv", "std_err", "lower", "upper"]
        )

        def median(self):
            return (None, None, None)

    empty = Empty()
    one = kaplan_meier(np.array([4.0]), np.array([True]))
    curve = km._curve("empty", empty)
    risk, events = km.at_risk(curve, np.array([0.0, 1.0]))
    assert risk.tolist() == [0, 0] and events.tolist() == [0, 0]
    with figure_style():
        fig = km.km_figure("os_by_product", {"none": empty, "one": one})
    assert fig.svg.lstrip().startswith("<?xml")


def test_lines_without_category_are_drawn_as_unclassified(monkeypatch):
    from dataclasses import replace

    from reportkit import build_input

    from aftercar.report.figures import _style, render_figures

    data = build_input()
    lines = data.lines.copy()
    lines.loc[0, "category"] = None
    monkeypatch.setitem(_style.RC, "svg.fonttype", "none")  # text as <text> to read it
    figs = render_figures(replace(data, lines=lines), results=data.results)
    texts = " ".join(_svg_texts(figs.figures["response_by_category"]))
    assert "Unclassified" in texts


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
    text = _ci_methods_text(_forest_rows(results))
    assert text == (
        "patient-clustered sandwich, logit scale; "
        "exact Clopper-Pearson for First salvage line (all)"
    )
    only_exact = {"by_category": {"car_t": {"orr": {**orr, "method": "exact"}}}}
    assert _ci_methods_text(_forest_rows(only_exact)) == "exact Clopper-Pearson"
