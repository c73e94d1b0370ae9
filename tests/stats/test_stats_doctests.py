"""The docstring examples of the KM, log-rank, proportions and follow-up modules run."""

from __future__ import annotations

import doctest

import pytest

from aftercar.stats import fisher, followup, km, logrank, proportions


@pytest.mark.parametrize("module", [km, logrank, proportions, fisher, followup])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
