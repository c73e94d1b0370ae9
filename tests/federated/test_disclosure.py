"""What leaves a site: no patient id, no date, no count from 1 to K-1 under --suppress-below K;
and what the coarsening costs the pooled estimates."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from fedkit import pooled

from aftercar.errors import InputError
from aftercar.federated import aggregate as agg
from aftercar.federated.html import render_summary_html
from aftercar.federated.summary import COUNT_KEYS, site_summary
from aftercar.schema import Col

K = 5
DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}")


def _counts(node, under=False):
    """Every number under a count key (lists included)."""
    if isinstance(node, dict):
        return [c for key, v in node.items() for c in _counts(v, key in COUNT_KEYS)]
    if isinstance(node, list):
        return [c for v in node for c in _counts(v, under)]
    is_num = isinstance(node, int | float) and not isinstance(node, bool)
    return [node] if under and is_num else []


def test_suppressed_site_files_hold_no_count_from_1_to_k_minus_1(summaries_k5):
    for summary in summaries_k5:
        counts = _counts(summary)
        assert len(counts) > 100
        assert [c for c in counts if 0 < c < K] == [], summary["site"]


def test_unsuppressed_site_files_do_hold_small_counts(summaries):
    assert any(0 < c < K for c in _counts(summaries[0]))


@pytest.mark.parametrize("which", ["exact", "k5"])
def test_site_files_hold_no_patient_id_and_no_date(sites, summaries, summaries_k5, which):
    files = summaries if which == "exact" else summaries_k5
    for site, summary in zip(sites, files, strict=True):
        text = json.dumps(summary)
        ids = site.derived.patients[Col.PATIENT_ID].astype(str)
        assert not [i for i in ids if i in text]
        assert not DATE.search(text)
        html = render_summary_html(summary)
        assert not [i for i in ids if i in html] and not DATE.search(html)


def test_site_summary_refuses_a_label_that_is_a_patient_id(sites, config):
    site = sites[0]
    lines = site.derived.lines.copy()
    lines.loc[lines.index[:8], Col.CATEGORY] = site.derived.patients[Col.PATIENT_ID].iloc[0]
    with pytest.raises(InputError, match="refused to write: the summary would hold patient"):
        site_summary(
            replace(site.derived, lines=lines),
            site=site.name,
            rules=config.endpoints,
            options=config.analysis,
            config_hash=config.config_hash(),
        )


def test_the_page_shows_every_value_of_the_file(summaries_k5):
    summary = summaries_k5[0]
    page = render_summary_html(summary)
    os_table = summary["survival"]["os"]["all"]
    for value in (summary["config_hash"], *map(str, os_table["n_risk"][:5])):
        assert f"{value}" in page
    assert "every count is 0 or at least 5" in page


def test_coarsening_keeps_every_row_and_event_within_its_bin():
    table = {"time": [3, 5, 8, 9, 14, 20, 31], "events": [1, 2, 0, 3, 1, 4, 2],
             "censored": [0, 1, 2, 0, 1, 0, 6]}  # fmt: skip
    shared, record = agg.coarsen(table, 5)
    assert [e for e in shared["events"] if 0 < e < 5] == []
    assert min(shared["n_risk"]) >= 5 and record["bins_after"] < record["bins_before"]
    t, e = agg.expand(shared)
    assert len(t) == 23 and e.sum() == 13
    # bins of >= 5 events: days 3-9 (6 events at their mean day 7); days 14-31 (the
    # tail of 2 events joins: 7 events at mean day 22.3 -> 22); bins of >= 5
    # censorings: days 3-31 (the tail of 6 joins the 4 before: 10 censorings at their
    # mean day 22.1 -> 22), so no count of censorings between listed days is 1 to 4
    assert shared == {"time": [7, 22], "n_risk": [23, 17], "events": [6, 7]}


def test_a_group_with_fewer_than_k_events_is_withheld_whole():
    shared, record = agg.coarsen({"time": [1, 2, 3], "events": [1, 1, 0],
                                  "censored": [3, 2, 9]}, 5)  # fmt: skip
    assert shared == {"suppressed": True} and record["suppressed"]


def test_suppression_changes_pooled_estimates_little(summaries, summaries_k5, config):
    """The pooled OS median and 12-month OS move by less than a month and 5 points."""
    exact = pooled(summaries, config).results["os_from_progression"]
    coarse = pooled(summaries_k5, config).results["os_from_progression"]
    assert exact["n"] == coarse["n"] and exact["events"] == coarse["events"]
    assert coarse["median_months"] != exact["median_months"]
    assert abs(coarse["median_months"] - exact["median_months"]) < 1.0
    rate = {r["months"]: r["surv"] for r in exact["rates"]}[12.0]
    coarse_rate = {r["months"]: r["surv"] for r in coarse["rates"]}[12.0]
    assert abs(coarse_rate - rate) < 0.05


def test_site_files_validate_against_the_published_schema(summaries, summaries_k5):
    from importlib import resources

    import jsonschema

    text = resources.files("aftercar").joinpath("data/site_summary.schema.json").read_text()
    schema = json.loads(text)
    for summary in (*summaries, *summaries_k5):
        jsonschema.validate(json.loads(json.dumps(summary)), schema)
