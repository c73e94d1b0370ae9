"""The readable regimen text of a derived line reads back as exactly its drugs."""

from __future__ import annotations

import pytest

from aftercar.derive.raw.audit import regimen_texts
from aftercar.vocab import parse_regimen


@pytest.mark.parametrize(("drugs", "kind"), [
    ("daratumumab;dexamethasone;pomalidomide", "drug"),
    ("belantamab mafodotin", "drug"),
    ("ciltacabtagene autoleucel", "car_t"),
    ("unspecified gprc5d car t", "car_t"),
    ("unspecified bcma car t", "car_t"),
    ("mcarh109", "car_t"),
    ("melphalan", "transplant"),
    ("", "radiotherapy"),
    ("bortezomib;cisplatin;cyclophosphamide;dexamethasone;doxorubicin;etoposide;thalidomide",
     "drug"),
])  # fmt: skip
def test_regimen_text_round_trip(drugs, kind):
    (text,) = regimen_texts([drugs], [kind])
    parsed = parse_regimen(text)
    assert set(parsed.drugs) == {d for d in drugs.split(";") if d}
    assert not parsed.unrecognized
    if kind == "transplant":
        assert parsed.procedures == ("autologous stem cell transplant",)
    if kind == "radiotherapy":
        assert parsed.procedures == ("radiotherapy",)
