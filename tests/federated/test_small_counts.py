"""No count from 1 to K-1 is derivable from a site's shared files under --suppress-below K:
the Cox round answers (term sums, censored complete cases) and the site summary's
margins (Table 1 levels, not-evaluable lines, censorings between event-table bins)."""

from __future__ import annotations

import numpy as np
import pytest
from fedkit import assert_close, newton, pooled

from aftercar.errors import InputError
from aftercar.federated import aggregate as agg
from aftercar.federated import cox, models
from aftercar.federated.summary import answer_round
from aftercar.schema import Col

K = 5


def _small(c) -> bool:
    return c is not None and 0 < c < K


# --------------------------------------------------------------------------
# Defect 3: the Cox round answers
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def proposal(summaries, config):
    return models.first_proposal(summaries, config.analysis, config.config_hash(), [])


def test_a_suppressed_round_answer_holds_no_term_sums(sites, proposal):
    answer = answer_round(sites[0].derived, proposal, sites[0].name, K)
    assert "term_sums" not in answer and "term_squares" not in answer
    assert answer["term_constant"] == [None] * len(proposal["terms"])
    assert not _small(answer["n"] - answer["events"]) and not _small(answer["events"])
    exact = answer_round(sites[0].derived, proposal, sites[0].name)
    assert len(exact["term_sums"]) == len(proposal["terms"])


def test_a_round_is_refused_when_a_yes_no_term_has_1_to_k_minus_1_patients(sites, proposal):
    with pytest.raises(InputError, match=r"--suppress-below 5 .*one value of triple_class"):
        answer_round(sites[1].derived, proposal, sites[1].name, K)


@pytest.mark.parametrize(
    "events, why",
    [([True] * 7 + [False], "censored complete cases"), ([True] * 2 + [False] * 6, "events")],
)
def test_a_round_is_refused_when_censored_or_events_are_1_to_k_minus_1(events, why):
    x = np.arange(8.0).reshape(8, 1)
    with pytest.raises(InputError, match=f"--suppress-below 5.*{why}"):
        cox.check_round(8, np.array(events), x, ["age"], K)
    with pytest.raises(InputError, match="excluded as incomplete"):
        cox.check_round(12, np.array([True] * 5 + [False] * 5), np.arange(10.0)[:, None],
                        ["age"], K)  # fmt: skip
    cox.check_round(15, np.array([True] * 5 + [False] * 5), np.arange(10.0)[:, None], ["a"], K)


def test_newton_rounds_under_suppression_give_the_exact_fit(sites, summaries, config):
    chosen = [sites[i] for i in (0, 2, 3)]
    sums = [summaries[i] for i in (0, 2, 3)]
    exact, _ = newton(chosen, sums, config)
    coarse, _ = newton(chosen, sums, config, k=K)
    got, want = coarse["model"]["terms"], exact["model"]["terms"]
    assert [t["term"] for t in got] == [t["term"] for t in want]
    assert_close([t["coef"] for t in got], [t["coef"] for t in want])
    assert_close([t["se"] for t in got], [t["se"] for t in want])
    assert_close(coarse["model"]["loglik"], exact["model"]["loglik"])


def test_constant_terms_are_found_without_sums(sites, proposal):
    """A term constant at every site is dropped from term_constant alone."""
    answers = [answer_round(s.derived, proposal, s.name, K) for s in (sites[0], sites[2])]
    for a in answers:
        a["term_constant"][0] = 1.0
    assert models._constant_terms(proposal, answers) == [0]


# --------------------------------------------------------------------------
# Defect 4: complementary suppression in the site summary
# --------------------------------------------------------------------------


def test_no_table1_level_is_recoverable_by_subtraction(summaries_k5):
    for s in summaries_k5:
        patients = s["table1"]["patients"]
        for name, row in s["table1"]["rows"].items():
            cells = [*row.get("levels", {}).values()] if "levels" in row else [row["n"]]
            cells.append(row["missing"])
            hidden = [c for c in cells if c is None]
            assert len(hidden) != 1, (s["site"], name)
            if row.get("kind") == "continuous" and row["n"] is None:
                assert row["sketch"].get("suppressed"), (s["site"], name)
        assert patients is not None


def _response_cells(node):
    if isinstance(node, dict):
        if "lines" in node and "orr" in node:
            yield node
        for v in node.values():
            yield from _response_cells(v)


def test_no_not_evaluable_or_non_responder_count_is_recoverable(summaries_k5):
    seen = 0
    for s in summaries_k5:
        for cell in _response_cells(s["response"]):
            for flag in ("orr", Col.VGPR_OR_BETTER, Col.CR_OR_BETTER):
                b = cell[flag]
                known = [cell["lines"], b["n"], b["not_evaluable"]]
                assert sum(v is None for v in known) != 1, (s["site"], flag)
                if b["n"] is not None and b["responders"] is not None:
                    assert not _small(b["n"] - b["responders"]), (s["site"], flag)
                    seen += 1
    assert seen > 20


def test_no_censoring_count_between_bins_is_1_to_k_minus_1(summaries_k5):
    tables = 0
    for s in summaries_k5:
        for groups in s["survival"].values():
            for table in groups.values():
                if table.get("suppressed"):
                    continue
                risk, ev = np.asarray(table["n_risk"]), np.asarray(table["events"])
                cens = risk - ev - np.r_[risk[1:], 0]
                assert not ((cens > 0) & (cens < K)).any(), (s["site"], cens)
                tables += 1
    assert tables > 20


def test_coarsening_withholds_a_group_with_1_to_k_minus_1_censorings():
    shared, rec = agg.coarsen({"time": [1, 2, 3], "events": [3, 3, 0], "censored": [0, 0, 1]}, K)
    assert shared == {"suppressed": True} and rec["suppressed"]


def test_sketch_edges_are_not_the_minimum_and_maximum():
    sk = agg.sketch(np.arange(10.0), 1.0, K)
    assert sk["low"] == sk["high"] == [2.0, 7.0] and sk["count"] == [5, 5]


def test_the_pooled_table1_shows_withheld_cells_as_withheld(summaries_k5, config):
    table = pooled(summaries_k5, config).tables["table1_wide"]
    cells = table.drop(columns=["characteristic", "level"]).to_numpy().ravel().tolist()
    assert "withheld" in cells
    assert not [c for c in cells if isinstance(c, str) and c.startswith("<")]


def test_a_site_of_fewer_than_k_patients_withholds_its_table1_rows_whole(sites):
    """A site of 1 to K-1 patients shares no Table 1 count, estimate or level name: the
    zeros and the levels present of a 2-patient site told both patients' records (fuzz
    round 9, session 28)."""
    from aftercar.federated.summary import _table1

    patients = sites[0].derived.patients.head(2)
    t = _table1(patients, 12.0, K)
    assert t["patients"] is None
    for name, row in t["rows"].items():
        assert row.get("levels", {}) == {} and row["missing"] is None, name
        assert "median" not in row and row.get("n") is None, name
