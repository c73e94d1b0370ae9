"""Procedure texts as OMOP concept names and billing descriptions give them (CPT, HCPCS,
SNOMED CT), read to the kinds the line rules use (``classify.procedure_lookup``).

Found by reading real procedure names, 2026-12-06: the HCPCS CAR-T product codes ("...
including leukapheresis and dose preparation procedures") were read as an apheresis (or,
with "autologous" corrected to a transplant spelling, a transplant) on the infusion day;
CPT's harvesting of T lymphocytes as an infusion; its transport and receipt steps as an
infusion (weeks before the real one); an allogeneic transplant written in full as an
autologous one; CPT's "HPC; autologous transplantation" and "teleradiotherapy" not at all.
"""

from __future__ import annotations

import pytest

from aftercar.derive.raw.classify import procedure_lookup

CASES = [
    # HCPCS Q2055 / Q2056 / Q2041 / Q2042 (CMS HCPCS Level II)
    ("Idecabtagene vicleucel, up to 460 million autologous anti-bcma car-positive viable t "
     "cells, including leukapheresis and dose preparation procedures, per therapeutic dose",
     "car_t_infusion"),
    ("Ciltacabtagene autoleucel, up to 100 million autologous b-cell maturation antigen (bcma) "
     "directed car-positive t cells, including leukapheresis and dose preparation procedures, "
     "per therapeutic dose", "car_t_infusion"),
    ("Axicabtagene ciloleucel, up to 200 million autologous anti-cd19 car positive viable t "
     "cells, including leukapheresis and dose preparation procedures, per therapeutic dose",
     "car_t_infusion"),
    ("Tisagenlecleucel, up to 600 million car-positive viable t cells, including "
     "leukapheresis and dose preparation procedures, per therapeutic infusion", "car_t_infusion"),
    # CPT 38225-38228 (0537T-0540T)
    ("Chimeric antigen receptor T-cell (CAR-T) therapy; harvesting of blood-derived T "
     "lymphocytes for development of genetically modified autologous CAR-T cells, per day",
     "apheresis"),
    ("Chimeric antigen receptor T-cell (CAR-T) therapy; preparation of blood-derived T "
     "lymphocytes for transportation (eg, cryopreservation, storage)", "car_t_handling"),
    ("Chimeric antigen receptor T-cell (CAR-T) therapy; receipt and preparation of CAR-T cells "
     "for administration", "car_t_handling"),
    ("Chimeric antigen receptor T-cell (CAR-T) therapy; CAR-T cell administration, autologous",
     "car_t_infusion"),
    # CPT 38206 / 38240 / 38241
    ("Blood-derived hematopoietic progenitor cell harvesting for transplantation, per "
     "collection; autologous", "apheresis"),
    ("Hematopoietic progenitor cell (HPC); allogeneic transplantation per donor",
     "allo_transplant"),
    ("Hematopoietic progenitor cell (HPC); autologous transplantation", "transplant"),
    # SNOMED CT
    ("Allogeneic hematopoietic stem cell transplant", "allo_transplant"),
    ("Allogeneic bone marrow transplant", "allo_transplant"),
    ("Transplantation of autologous hematopoietic stem cell", "transplant"),
    ("Teleradiotherapy", "radiotherapy"),
    ("Radiation oncology AND/OR radiotherapy", "radiotherapy"),
    ("Leukapheresis", "apheresis"),
    ("Lymphodepleting chemotherapy", "lymphodepletion"),
    ("Bone marrow biopsy", "unrecognised"),
    # written by hand (session 26, an eighth probe of hand-made OMOP patients): a collection
    # named with the CAR T it is for is the collection, never the infusion nor its handling
    ("Apheresis for CAR-T manufacturing", "apheresis"),
    ("Leukapheresis for cilta-cel", "apheresis"),
    ("Mel200 D-2 PBSC infusion D0", "transplant"),
    ("Stem cells in storage", "unrecognised"),
]


@pytest.mark.parametrize(("text", "kind"), CASES, ids=[c[0][:40] for c in CASES])
def test_real_procedure_names_are_read_to_their_kind(text, kind):
    assert procedure_lookup([text])["kind"].to_pylist() == [kind]
