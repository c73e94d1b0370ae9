"""Issue 12 item 2: order text -> ingredient and role, through the vocabulary stage."""

from __future__ import annotations

import pytest

from aftercar.derive.raw.classify import drug_lookup
from aftercar.derive.raw.rules import load_rules


@pytest.mark.parametrize(("text", "expected"), [
    # doses, routes, units and schedules around the name
    ("bortezomib 1.3 mg/m2 SC", {("bortezomib", "anchor")}),
    ("pomalidomide 4 mg capsule PO daily", {("pomalidomide", "anchor")}),
    # brands, with or without the generic name
    ("Kyprolis (carfilzomib) 56 mg/m2 IV", {("carfilzomib", "anchor")}),
    ("ELREXFIO 76 mg SC", {("elranatamab", "anchor")}),
    ("SARCLISA 10 mg/kg", {("isatuximab", "anchor")}),
    # salts and USAN suffixes
    ("lenalidomide hydrochloride 25 mg PO", {("lenalidomide", "anchor")}),
    ("teclistamab-cqyv 1.5 mg/kg SC", {("teclistamab", "anchor")}),
    # the SC formulation is daratumumab (REFERENCE s4 #69); hyaluronidase alone below
    ("daratumumab and hyaluronidase-fihj 1800 mg SC", {("daratumumab", "anchor")}),
    ("hyaluronidase 150 units SC", {("hyaluronidase", "supportive")}),
    ("DARZALEX FASPRO 1800 mg/15 mL SC", {("daratumumab", "anchor")}),
    # research codes
    ("JNJ-64007957 1.5 mg/kg SC", {("teclistamab", "anchor")}),
    ("CC-92480 (mezigdomide) 1 mg PO", {("mezigdomide", "anchor")}),
    # steroids: part of a line when given with it, premedication never
    ("dexamethasone sodium phosphate 20 mg IV", {("dexamethasone", "steroid")}),
    ("methylprednisolone 125 mg IV premedication", {("methylprednisolone", "premedication")}),
    # accented, composed or with a combining accent (fuzz round 9, session 28: steroids)
    ("Dexaméthasone 20 mg IV (prémed)", {("dexamethasone", "premedication")}),
    ("Dexame\u0301thasone 20 mg IV (pre\u0301me\u0301d)", {("dexamethasone", "premedication")}),
    ("prednisone 60 mg PO", {("prednisone", "steroid")}),
    # supportive drugs of every family named by the issue
    ("valacyclovir 500 mg PO", {("valacyclovir", "supportive")}),
    ("acetaminophen 650 mg PO", {("acetaminophen", "supportive")}),
    ("diphenhydramine 50 mg IV", {("diphenhydramine", "supportive")}),
    ("zoledronic acid 4 mg IV", {("zoledronic acid", "supportive")}),
    ("XGEVA 120 mg SC", {("denosumab", "supportive")}),
    ("IVIG 0.4 g/kg IV", {("immunoglobulin", "supportive")}),
    ("tocilizumab 8 mg/kg IV", {("tocilizumab", "supportive")}),
    ("filgrastim 480 mcg SC", {("filgrastim", "supportive")}),
    # fludarabine is never anti-myeloma; cyclophosphamide is, outside lymphodepletion
    ("fludarabine 30 mg/m2 IV", {("fludarabine", "supportive")}),
    ("cyclophosphamide 300 mg/m2 IV", {("cyclophosphamide", "anchor")}),
    ("CARVYKTI 0.75 x10^6 CAR+ cells/kg IV", {("ciltacabtagene autoleucel", "car_t")}),
    ("zz-unknown-agent 5 mg PO", {(None, "unrecognised")}),
])  # fmt: skip
def test_order_text_to_ingredient_and_role(text, expected):
    rows = drug_lookup([text], load_rules()).to_pylist()
    assert {(r["ingredient"], r["role"]) for r in rows} == expected
