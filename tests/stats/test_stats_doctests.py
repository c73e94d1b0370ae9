"""The docstring examples of the KM, log-rank, proportions and follow-up modules run."""

from __future__ import annotations

import doctest
import importlib

import pytest

from aftercar.stats import competing, fisher, followup, km, logrank, proportions

rmst = importlib.import_module("aftercar.stats.rmst")  # the package attribute is the function
conc = importlib.import_module("aftercar.stats.concordance")


@pytest.mark.parametrize(
    "module", [km, logrank, proportions, fisher, followup, rmst, competing, conc]
)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
