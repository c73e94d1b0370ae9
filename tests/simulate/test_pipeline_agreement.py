"""The calibration metrics agree with the pipeline's own derivation and vocabulary.

The calibration is only meaningful if the figures it tunes are the ones aftercar's
report computes: PFS per line and OS from ``aftercar.derive``, TCE status from
``aftercar.vocab``. This checks they coincide on a simulated cohort.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from aftercar.derive import derive_lines, derive_patients
from aftercar.simulate import load_params
from aftercar.simulate.metrics import line_pfs, os_from_relapse
from aftercar.vocab import classify_regimens


def test_every_regimen_text_is_classified_as_its_truth_by_the_vocabulary():
    # The simulator takes category and flags from aftercar.vocab; this independent
    # table (written by hand for each simulated regimen text) keeps the vocabulary honest.
    truth = pd.read_csv(Path(__file__).parent / "regimen_truth.csv", keep_default_na=False)
    reg = load_params().regimens
    assert list(reg.text) == truth["text"].tolist()
    assert list(reg.category) == truth["category"].tolist()
    assert reg.tce.tolist() == truth["tce"].astype(bool).tolist()
    assert reg.bcma.tolist() == truth["bcma_directed"].astype(bool).tolist()


def test_pfs_os_and_tce_equal_the_derive_stage(cohort_5k):
    p, ln = cohort_5k.patients, cohort_5k.lines
    classified = classify_regimens(pd.unique(ln["regimen"].to_numpy(zero_copy_only=False)))
    derived = derive_lines(p, ln, classified)
    t, e = line_pfs(p, ln)
    assert np.allclose(derived["pfs_months"].to_numpy(float), t, atol=1e-9)
    assert (derived["pfs_event"].to_numpy(bool) == e).all()
    assert (derived["tce"].to_numpy(bool) == cohort_5k.truth["tce"].to_numpy()).all()
    pts = derive_patients(p, derived)
    os_t, os_e = os_from_relapse(p)
    assert np.allclose(pts["os_months"].to_numpy(float), os_t, atol=1e-9)
    assert (pts["os_event"].to_numpy(bool) == os_e).all()
