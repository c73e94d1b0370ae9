"""Micro-cohorts (hand-worked) in the curated Cohort shape, shared by derive and pipeline tests."""

from __future__ import annotations

import pandas as pd


def _d(text: str | None) -> pd.Timestamp:
    return pd.Timestamp(text) if text else pd.NaT


def micro_patients() -> pd.DataFrame:
    """Four patients, index (post-CAR-T progression) 2021-01-01 for all.

    P1 dies 2021-07-01 (181 d); P2 has no salvage line, alive at 2022-01-01
    (365 d); P3 alive at 2021-12-01 (334 d); P4 dies 2021-04-01 (90 d).
    """
    return pd.DataFrame(
        {
            "patient_id": ["P1", "P2", "P3", "P4"],
            "car_t_product": ["ide-cel", "cilta-cel", "ide-cel", "cilta-cel"],
            "car_t_date": [_d("2020-09-01"), _d("2020-01-01"), _d("2020-08-01"), _d(None)],
            "progression_date": [_d("2021-01-01")] * 4,
            "death_date": [_d("2021-07-01"), _d(None), _d(None), _d("2021-04-01")],
            "last_followup_date": [_d("2021-07-01"), _d("2022-01-01"), _d("2021-12-01"), _d(None)],
            "source_row": [2, 3, 4, 5],
        }
    )


def micro_lines() -> pd.DataFrame:
    """P1: line 1 (PR, no progression) then line 2 (NE, progression 2021-05-11).

    P3: line 1 teclistamab from day 31 (CR, no progression). P4: line 1 teclistamab
    on the index day, best response not assessed.
    """
    return pd.DataFrame(
        {
            "patient_id": ["P1", "P1", "P3", "P4"],
            "line": [1, 2, 1, 1],
            "regimen": ["KPd", "DCEP", "teclistamab", "teclistamab"],
            "start_date": [_d("2021-01-11"), _d("2021-03-12"), _d("2021-02-01"), _d("2021-01-01")],
            "end_date": [_d("2021-03-11"), _d("2021-05-11"), _d(None), _d("2021-03-31")],
            "best_response": ["PR", "NE", "CR", None],
            "progression_date": [_d(None), _d("2021-05-11"), _d(None), _d(None)],
            "source_row": [2, 3, 4, 5],
        }
    )


def micro_classified() -> pd.DataFrame:
    """What ``aftercar.vocab.classify_regimens`` returns for the micro regimens."""
    return pd.DataFrame(
        {
            "text": ["KPd", "DCEP", "teclistamab"],
            "drugs": [
                "carfilzomib;dexamethasone;pomalidomide",
                "cisplatin;cyclophosphamide;dexamethasone;etoposide",
                "teclistamab",
            ],
            "category": ["imid_pi", "alkylator", "bispecific"],
            "tce": [False, False, True],
            "bcma_directed": [False, False, True],
        }
    )
