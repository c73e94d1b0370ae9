"""Hypothesis properties of the endpoint derivations on random valid cohorts."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from aftercar.derive import EndpointRules

BASE = pd.Timestamp("2020-01-01")
CLASSES = pd.DataFrame(
    {
        "text": ["KRd", "teclistamab"],
        "drugs": ["", ""],
        "category": ["imid_pi", "bispecific"],
        "tce": [False, True],
        "bcma_directed": [False, True],
    }
)


@st.composite
def cohorts(draw):
    n = draw(st.integers(1, 6))
    patients, lines = [], []
    for i in range(n):
        index = BASE + pd.Timedelta(days=draw(st.integers(0, 300)))
        day = 0
        k = draw(st.integers(0, 4))
        for line in range(1, k + 1):
            day += draw(st.integers(0, 90))
            start = day
            gap = draw(st.integers(1, 120))
            prog = draw(st.one_of(st.none(), st.integers(0, gap)))
            lines.append(
                {
                    "patient_id": f"P{i}",
                    "line": line,
                    "regimen": draw(st.sampled_from(["KRd", "teclistamab"])),
                    "start_date": index + pd.Timedelta(days=start),
                    "end_date": index + pd.Timedelta(days=start + gap),
                    "best_response": draw(st.sampled_from(["CR", "PR", "SD", "PD", "NE", None])),
                    "progression_date": None
                    if prog is None
                    else index + pd.Timedelta(days=start + prog),
                }
            )
            day = start + gap
        end = index + pd.Timedelta(days=day + draw(st.integers(0, 200)))
        dead = draw(st.booleans())
        patients.append(
            {
                "patient_id": f"P{i}",
                "car_t_product": "ide-cel",
                "car_t_date": index - pd.Timedelta(days=draw(st.integers(1, 700))),
                "progression_date": index,
                "death_date": end if dead else pd.NaT,
                "last_followup_date": pd.NaT if dead else end,
            }
        )
    cols = [
        "patient_id",
        "line",
        "regimen",
        "start_date",
        "end_date",
        "best_response",
        "progression_date",
    ]
    frame = pd.DataFrame(lines, columns=cols)
    for c in ("start_date", "end_date", "progression_date"):
        frame[c] = pd.to_datetime(frame[c])
    return pd.DataFrame(patients), frame


def test_endpoint_times_non_negative_and_rows_kept(backend):
    @settings(max_examples=backend.examples(30), deadline=None)
    @given(cohorts(), st.sampled_from(["censor", "ignore"]))
    def check(cohort, rule):
        _times_non_negative_and_rows_kept(backend, cohort, rule)

    check()


def _times_non_negative_and_rows_kept(backend, cohort, rule):
    patients, lines = cohort
    out = backend.lines(patients, lines, CLASSES, rules=EndpointRules(pfs_next_line=rule))
    assert len(out) == len(lines)
    assert (out["pfs_months"] >= 0).all() and (out["ttnt_months"] >= 0).all()
    assert (out["start_months"] >= 0).all()
    pts = backend.patients(patients, out)
    assert (pts["os_months"] >= 0).all()
    assert pts["n_lines"].sum() == len(lines)
    # a progression on the line is always a PFS event at that date
    prog = out["progression_months"].notna().to_numpy()
    assert out["pfs_event"].to_numpy()[prog].all()
    np.testing.assert_allclose(
        (out["start_months"] + out["pfs_months"]).to_numpy()[prog],
        out["progression_months"].to_numpy()[prog],
    )


def test_censor_rule_pfs_never_beyond_next_treatment(backend):
    @settings(max_examples=backend.examples(30), deadline=None)
    @given(cohorts())
    def check(cohort):
        _censor_rule_pfs_never_beyond_next_treatment(backend, cohort)

    check()


def _censor_rule_pfs_never_beyond_next_treatment(backend, cohort):
    patients, lines = cohort
    out = backend.lines(patients, lines, CLASSES)
    assert (out["pfs_months"] <= out["ttnt_months"] + 1e-12).all()
    # without progression and with a next line, PFS is censored exactly at the next start
    nxt = out.groupby("patient_id")["start_months"].shift(-1)
    mask = out["progression_months"].isna() & nxt.notna()
    assert not out.loc[mask, "pfs_event"].any()
    np.testing.assert_allclose(
        (out["start_months"] + out["pfs_months"])[mask], nxt[mask], atol=1e-12
    )


def test_ignore_rule_pfs_at_least_censor_rule(backend):
    @settings(max_examples=backend.examples(20), deadline=None)
    @given(cohorts())
    def check(cohort):
        _ignore_rule_pfs_at_least_censor_rule(backend, cohort)

    check()


def _ignore_rule_pfs_at_least_censor_rule(backend, cohort):
    patients, lines = cohort
    censor = backend.lines(patients, lines, CLASSES)
    ignore = backend.lines(patients, lines, CLASSES, rules=EndpointRules(pfs_next_line="ignore"))
    assert (ignore["pfs_months"] >= censor["pfs_months"] - 1e-12).all()
    assert (ignore["pfs_event"] >= censor["pfs_event"]).all()
