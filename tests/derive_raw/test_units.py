"""Unit texts are matched as written, else in lower case, never to two factors."""

from __future__ import annotations

from aftercar.derive.raw.labs import case_folded


def test_a_unit_is_also_matched_in_lower_case():
    out = case_folded({("serum", "g/dL"): 1.0, ("serum", "g/L"): 0.1})
    assert out[("serum", "g/dl")] == 1.0 and out[("serum", "g/l")] == 0.1
    assert out[("serum", "g/dL")] == 1.0


def test_units_differing_only_in_case_with_other_factors_match_exactly_only():
    out = case_folded({("x", "Mu"): 1.0, ("x", "MU"): 1e6})
    assert ("x", "mu") not in out
    assert out[("x", "Mu")] == 1.0 and out[("x", "MU")] == 1e6
