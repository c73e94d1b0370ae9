"""Order texts whose status says the dose was not given, and order texts that name an
anti-myeloma drug only as the context of a supportive one (``classify.drug_lookup``,
``[administrations]`` of ``lot_rules.toml``). The negative cases come from a review of
the first version of these rules (2026-12-06), which dropped real doses."""

from __future__ import annotations

import pytest

from aftercar.derive.raw.classify import drug_lookup
from aftercar.derive.raw.rules import load_rules


def _roles(text: str) -> dict[str, str]:
    return {r["ingredient"]: r["role"] for r in drug_lookup([text], load_rules()).to_pylist()}


@pytest.mark.parametrize(("text", "drug"), [
    ("teclistamab - HELD", "teclistamab"),
    ("pomalidomide NOT GIVEN", "pomalidomide"),
    ("Teclistamab held for CRS", "teclistamab"),
    ("pomalidomide (held)", "pomalidomide"),
    ("bortezomib - dose withheld", "bortezomib"),
    # hand-made probe 4 (session 23): medication administration record statuses
    ("elranatamab-bcmm 76 mg SC [Held]", "elranatamab"),
    ("teclistamab 1.5 mg/kg SC (Held - CRS)", "teclistamab"),
    ("HOLD teclistamab today", "teclistamab"),
    ("Held: pomalidomide 4 mg", "pomalidomide"),
    ("Darzalex Faspro 1800 mg SC (dose delayed)", "daratumumab"),
    # hand-made probe 5 (session 24): a reason after a comma or in brackets
    ("selinexor 60 mg PO weekly - ON HOLD (nausea)", "selinexor"),
    ("selinexor 60 mg PO weekly: not administered, patient in hospital", "selinexor"),
    ("bortezomib 1.3 mg/m2 SC - not given (platelets 22)", "bortezomib"),
    ("teclistamab-cqyv 1.5 mg/kg SC - held, ANC 0.4", "teclistamab"),
    ("teclistamab-cqyv 1.5 mg/kg SC - HELD (infection)", "teclistamab"),
    ("talquetamab 0.8 mg/kg SC - held x1 for rash", "talquetamab"),
    ("pomalidomide 4 mg - patient refused (fatigue)", "pomalidomide"),
])  # fmt: skip
def test_a_dose_whose_status_says_not_given_is_no_dose(text, drug):
    assert _roles(text)[drug] == "not_given"


@pytest.mark.parametrize(("text", "drug"), [
    ("lenalidomide 25 mg PO daily days 1-21. If a dose is missed, take within 12 hours",
     "lenalidomide"),
    ("REVLIMID 10 MG CAPSULE (do not make up missed doses)", "lenalidomide"),
    ("carfilzomib: previously held, resumed today", "carfilzomib"),
    ("pomalidomide 4 mg - resumed after being held", "pomalidomide"),
    ("daratumumab - patient declined premedication with montelukast", "daratumumab"),
    ("Isatuximab 10 mg/kg (omitted steroid premed)", "isatuximab"),
    ("Hold teclistamab if ANC < 500", "teclistamab"),
    ("held pomalidomide last week, resumed today", "pomalidomide"),
    # the review of session 23's change: a status that ends one order of a combined text,
    # a discontinued order (a course may have run), an instruction in a combined order
    ("hold premeds today; daratumumab 1800 mg SC", "daratumumab"),
    ("Omitted: premedication; daratumumab 16 mg/kg", "daratumumab"),
    ("REVLIMID 25 MG CAPSULE (Discontinued)", "lenalidomide"),
    ("teclistamab 1.5 mg/kg (held, restarted)", "teclistamab"),
    ("daratumumab 1800 mg SC - delayed, given next day", "daratumumab"),  # review, session 24
    ("selinexor 80 mg - dose delayed, infusion given", "selinexor"),
    ("teclistamab 1.5 mg/kg SC, delayed 1 week (CRS)", "teclistamab"),
])  # fmt: skip
def test_instructions_and_other_statuses_leave_the_dose(text, drug):
    assert _roles(text)[drug] == "anchor"


@pytest.mark.parametrize("text", [
    "acyclovir 400 mg PO BID (HSV/VZV prophylaxis while on teclistamab)",
    "IVIG for hypogammaglobulinemia on teclistamab",
    "valacyclovir 500 mg PO daily (HSV prophylaxis, teclistamab)",
    "Bactrim DS 1 tab PO MWF (PJP ppx - teclistamab)",
    "IVIG 0.4 g/kg monthly for hypogammaglobulinemia (teclistamab)",
])  # fmt: skip
def test_a_drug_named_as_a_supportive_orders_context_is_no_dose(text):
    assert _roles(text)["teclistamab"] == "context"


@pytest.mark.parametrize(("text", "drug"), [
    # hand-made patients, sixth probe (2026-12-06): each was a dose (a one-day CAR-T line)
    ("dexamethasone 10 mg IV q6h (ICANS after CAR-T)", "unspecified car t"),
    ("dexamethasone 10 mg IV q6h (ICANS after teclistamab)", "teclistamab"),
    ("teclistamab 1.5 mg/kg SC (bridging prior to CAR-T)", "unspecified car t"),
    ("etoposide 150 mg/m2 IV (per CAR-T team)", "unspecified car t"),
    ("fludarabine 30 mg/m2 IV (LD prior to cilta-cel)", "ciltacabtagene autoleucel"),
    ("tocilizumab 8 mg/kg IV (CRS after cilta-cel)", "ciltacabtagene autoleucel"),
    ("dexamethasone 40 mg PO (while on KRd)", "carfilzomib"),
    # a phase before the infusion (car_t_phase_pattern; hand-made OMOP patients, 2026-12-07)
    ("cilta-cel lymphodepletion day -7 hydration", "ciltacabtagene autoleucel"),
    ("CARVYKTI - bridging", "ciltacabtagene autoleucel"),
    ("ide-cel apheresis", "idecabtagene vicleucel"),
    ("Abecma D-2", "idecabtagene vicleucel"),
    ("Carvykti LDC", "ciltacabtagene autoleucel"),
])  # fmt: skip
def test_a_car_t_or_agent_mentioned_in_another_order_is_no_dose(text, drug):
    assert _roles(text)[drug] == "context"


@pytest.mark.parametrize(("text", "drug", "role"), [
    ("ciltacabtagene autoleucel 0.75 x10^6 cells/kg IV", "ciltacabtagene autoleucel", "car_t"),
    ("cilta-cel (CARVYKTI) infusion", "ciltacabtagene autoleucel", "car_t"),
    ("dexamethasone 40 mg PO + pomalidomide 4 mg", "pomalidomide", "anchor"),
    ("dexamethasone 8 mg IV premed before daratumumab", "daratumumab", "anchor"),
    # each order of a combined text on its own (review, 2026-12-06)
    ("Diphenhydramine premed; ide-cel infusion", "idecabtagene vicleucel", "car_t"),
    ("acetaminophen 650 mg + cilta-cel infusion", "ciltacabtagene autoleucel", "car_t"),
    ("CARVYKTI infusion day 0", "ciltacabtagene autoleucel", "car_t"),
    ("Abecma (D0) 450 x10^6 cells", "idecabtagene vicleucel", "car_t"),
    # ... also when the order names the phase as done, or its instructions do (review of
    # session 32: each was read as a mention)
    ("ciltacabtagene autoleucel 1 bag IV (infuse 2-4 days after completion of "
     "lymphodepleting chemotherapy)", "ciltacabtagene autoleucel", "car_t"),
    ("Flu/Cy lymphodepletion day -5; ide-cel infusion day 0", "idecabtagene vicleucel",
     "car_t"),
    ("ide-cel infusion day 0 (bridging with Kd completed)", "idecabtagene vicleucel", "car_t"),
    ("Abecma infusion, LD Flu/Cy completed", "idecabtagene vicleucel", "car_t"),
])  # fmt: skip
def test_the_ordered_car_t_and_combined_orders_stay_doses(text, drug, role):
    assert _roles(text)[drug] == role


@pytest.mark.parametrize(("text", "drug"), [
    ("hyaluronidase-fihj / daratumumab 1800 mg SC", "daratumumab"),
    ("mesna with cyclophosphamide", "cyclophosphamide"),
    ("filgrastim; melphalan 200 mg/m2", "melphalan"),
    ("heparin flush; bortezomib 1.3 mg/m2 SC", "bortezomib"),
    ("valacyclovir 500 mg BID; daratumumab", "daratumumab"),
    ("acyclovir prophylaxis; daratumumab 16 mg/kg IV", "daratumumab"),
    ("ondansetron 8 mg (antiemetic prophylaxis) + carfilzomib 56 mg/m2", "carfilzomib"),
    ("Bactrim DS (PJP ppx) + teclistamab", "teclistamab"),
    ("ondansetron 8 mg + cyclophosphamide 300 mg/m2 PO weekly", "cyclophosphamide"),
    ("acetaminophen 650 mg, diphenhydramine 25 mg, daratumumab 16 mg/kg", "daratumumab"),
])  # fmt: skip
def test_a_supportive_drug_first_without_context_words_leaves_the_dose(text, drug):
    assert _roles(text)[drug] == "anchor"
