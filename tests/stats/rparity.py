"""The R-parity bar shared by the statistics tests: 1e-6 relative or 1e-9 absolute."""

from __future__ import annotations

import numpy as np

RTOL = 1e-6
ATOL = 1e-9


def num(values) -> np.ndarray:
    """R's JSON values as floats, ``None`` (R's NA) as NaN."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def assert_r_close(got, expected) -> None:
    """Assert ``got`` equals R's ``expected`` within the parity bar (NA matches NaN)."""
    np.testing.assert_allclose(
        np.asarray(got, dtype=float), num(expected), rtol=RTOL, atol=ATOL, equal_nan=True
    )
