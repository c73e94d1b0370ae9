"""Hand-made raw micro-cases: each patient exercises one rule, with its exact expected result.

Day 0 = 2020-01-01 = every patient's index CAR-T infusion (``car_t_date``). Unless a case
has labs, its index date comes from the rule "new therapy without lab progression"
(the first anti-myeloma therapy after CAR T), so line 1 starts at its first drug.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

DAY0 = dt.date(2020, 1, 1)


def d(day: int) -> dt.date:
    """The date ``day`` days after the index CAR-T infusion."""
    return DAY0 + dt.timedelta(days=day)


class RawBuilder:
    """Collects raw rows for several patients and returns the four raw Arrow tables."""

    def __init__(self) -> None:
        self.patients: list[dict] = []
        self.adm: list[dict] = []
        self.proc: list[dict] = []
        self.labs: list[dict] = []

    def patient(self, pid: str, *, death: int | None = None, last: int = 1500) -> str:
        self.patients.append({"patient_id": pid, "car_t_product": "cilta-cel",
                              "car_t_date": DAY0, "death_date": d(death) if death else None,
                              "last_followup_date": None if death else d(last),
                              "site": "test"})  # fmt: skip
        self.procedure(pid, -30, "apheresis (leukapheresis)")
        self.procedure(pid, 0, "CAR-T cell infusion")
        return pid

    def drug(self, pid: str, text: str, days, dose: float = 1.0) -> None:
        for day in days:
            self.adm.append({"patient_id": pid, "date": d(day), "drug": text, "dose": dose,
                             "unit": "mg", "route": "IV"})  # fmt: skip

    def course(self, pid: str, text: str, start: int, end: int) -> None:
        """One row for a continued exposure (an oral course): days ``start`` to ``end``."""
        self.adm.append({"patient_id": pid, "date": d(start), "drug": text, "dose": 1.0,
                         "unit": "mg", "route": "PO", "end_date": d(end)})  # fmt: skip

    def procedure(self, pid: str, day: int, text: str) -> None:
        self.proc.append({"patient_id": pid, "date": d(day), "procedure": text})

    def lab(self, pid: str, day: int, test: str, value: str, unit: str | None) -> None:
        self.labs.append({"patient_id": pid, "date": d(day), "test": test, "value": value,
                          "unit": unit})  # fmt: skip

    def serum(self, pid: str, series: dict[int, float], unit: str = "g/dL") -> None:
        for day, v in series.items():
            self.lab(pid, day, "SPEP M-spike", f"{v:g}", unit)

    def tables(self) -> dict[str, pa.Table]:
        def add_rows(rows: list[dict], schema: pa.Schema) -> pa.Table:
            t = pa.Table.from_pylist(rows, schema=schema)
            return t.append_column("row", pa.array(range(2, t.num_rows + 2), pa.int64()))

        s, dd, f = pa.string(), pa.date32(), pa.float64()
        return {
            "patients": add_rows(self.patients, pa.schema(
                [("patient_id", s), ("car_t_product", s), ("car_t_date", dd),
                 ("death_date", dd), ("last_followup_date", dd), ("site", s)])),
            "administrations": add_rows(self.adm, pa.schema(
                [("patient_id", s), ("date", dd), ("drug", s), ("dose", f), ("unit", s),
                 ("route", s), ("end_date", dd)])),
            "procedures": add_rows(self.proc, pa.schema(
                [("patient_id", s), ("date", dd), ("procedure", s)])),
            "labs": add_rows(self.labs, pa.schema(
                [("patient_id", s), ("date", dd), ("test", s), ("value", s), ("unit", s)])),
        }  # fmt: skip


def weekly(start: int, n: int, step: int = 7) -> list[int]:
    """``n`` dosing days from ``start`` every ``step`` days."""
    return [start + step * i for i in range(n)]


def build_cases() -> RawBuilder:
    """All micro-cases in one raw dataset (one derivation per backend runs them all)."""
    b = RawBuilder()
    _lot_cases(b)
    _bundle_cases(b)
    _imwg_cases(b)
    _imwg_more(b)
    imwg_thresholds(b)
    span_cases(b)
    handmade_2026_12_06(b)
    handmade_probe5(b)
    handmade_probe9(b)
    handmade_probe10(b)
    handmade_probe11(b)
    handmade_probe12(b)
    handmade_probe13(b)
    return b


def handmade_probe13(b: RawBuilder) -> None:
    """A hand-made raw probe, session 31 (patient P21): lenalidomide maintenance begun 84
    days after the CAR T, in VGPR, belongs to the CAR-T line; the M-protein's confirmed
    rise during it is the index, and the bispecific after it is line 1. Begun after
    ``[maintenance] after_car_t_days`` (180), with a second anti-myeloma drug, or in stable
    disease, it is the first therapy after the CAR T, as before."""
    for pid, start, text in (("hm_car_t_maintenance", 84, "lenalidomide 10 mg PO daily"),
                             ("hm_car_t_maintenance_late", 200, "lenalidomide 10 mg PO daily"),
                             ("hm_car_t_maintenance_kr", 84, "carfilzomib + lenalidomide")):
        p = b.patient(pid)
        b.serum(p, {-5: 3.0, 30: 0.5, 60: 0.2, 120: 0.2, 180: 0.2, 240: 0.2, 300: 0.8,
                    330: 1.0})  # fmt: skip
        b.drug(p, text, weekly(start, (290 - start) // 7))  # stopped before the progression
        b.drug(p, "dexamethasone 20 mg PO", weekly(start, 4))
        b.drug(p, "teclistamab 1.5 mg/kg SC", weekly(360, 8))
    # given until the progression is confirmed, then the switch (review of session 33);
    # stopped, then begun again after more than 90 days: the restart ends the maintenance
    p = b.patient("hm_car_t_maintenance_to_switch")
    b.serum(p, {-5: 3.0, 30: 0.5, 60: 0.2, 120: 0.2, 180: 0.2, 240: 0.2, 300: 0.8, 330: 1.0})
    b.drug(p, "lenalidomide 10 mg PO daily", weekly(84, (350 - 84) // 7 + 1))
    b.drug(p, "teclistamab 1.5 mg/kg SC", weekly(360, 8))
    p = b.patient("hm_car_t_maintenance_restarted")
    b.serum(p, {-5: 3.0, 30: 0.5, 60: 0.2, 120: 0.2, 180: 0.2, 240: 0.2, 300: 0.2, 360: 0.2})
    b.drug(p, "lenalidomide 10 mg PO daily", weekly(84, 10) + weekly(400, 8))
    p = b.patient("hm_car_t_maintenance_in_sd")
    b.serum(p, {-5: 3.0, 30: 2.5, 60: 2.4, 120: 2.4, 180: 3.2, 210: 3.4})
    b.drug(p, "lenalidomide 10 mg PO daily", weekly(84, 20))


def handmade_probe12(b: RawBuilder) -> None:
    """A hand-made raw probe, session 32: each 24-h urine dated the day after its serum
    draw (the day the collection ends) is read with that visit, so its rise dates the
    progression there (it was read at the next assessment, a month late); a urine two days
    after the serum is still carried to the next assessment."""
    for pid, lag in (("hm_urine_next_day", 1), ("hm_urine_two_days", 2)):
        p = _selinexor_line(b, pid)
        b.serum(p, {335: 1.9, 370: 0.9, 400: 0.9, 431: 0.9, 460: 0.9})
        for day, v in ((335, 150), (370, 100), (400, 500), (431, 700)):
            b.lab(p, day + lag, "24 hr urine M-protein", str(v), "mg/24h")
    # a visit with its own urine keeps it: the next day's is not stacked onto it (review)
    p = _selinexor_line(b, "hm_urine_both_days")
    b.serum(p, {335: 1.9, 370: 0.9, 400: 0.9})
    for day, v in ((335, 150), (370, 100), (371, 120)):
        b.lab(p, day, "24 hr urine M-protein", str(v), "mg/24h")


def handmade_probe10(b: RawBuilder) -> None:
    """A hand-made raw probe, session 27: a 24-h urine collected on a day without a serum
    draw dates a progression at the next assessment (it was never read for one); a line
    without a pre-treatment lab whose first value is not PD and whose progression is then
    confirmed is PD (docs/derivation.md; it read NE)."""
    p = _selinexor_line(b, "hm_urine_alone_pd")
    b.serum(p, {335: 1.9, 370: 0.9, 400: 0.9, 431: 0.9})
    for day, v in ((335, 150), (370, 100), (384, 500), (431, 700)):
        b.lab(p, day, "24 hr urine M-protein", str(v), "mg/24h")
    # the same urine rise, never measured again: a value read once confirms nothing
    p = _selinexor_line(b, "hm_urine_alone_once")
    b.serum(p, {335: 1.9, 370: 0.9, 400: 0.9, 431: 0.9})
    for day, v in ((335, 150), (370, 100), (384, 500)):
        b.lab(p, day, "24 hr urine M-protein", str(v), "mg/24h")
    # ... confirmed by the next urine measured, not by a serum-only visit between them (a
    # review of session 27: no progression)
    p = _selinexor_line(b, "hm_urine_serum_between")
    b.serum(p, {335: 1.9, 370: 0.9, 400: 0.9, 415: 0.9, 431: 0.9})
    for day, v in ((335, 150), (370, 100), (384, 500), (431, 700)):
        b.lab(p, day, "24 hr urine M-protein", str(v), "mg/24h")
    p = _selinexor_line(b, "hm_no_baseline_later_pd")
    b.serum(p, {370: 0.5, 400: 0.4, 431: 1.0, 445: 1.2})
    # a new drug begun 120 days after the last dose: the gap ended the line, not the drug
    p = b.patient("hm_gap_then_new")
    b.drug(p, "XPOVIO 100 mg PO", weekly(340, 4))
    b.drug(p, "TALVEY 0.4 mg/kg SC", weekly(361 + 120, 4))


def handmade_probe11(b: RawBuilder) -> None:
    """A hand-made OMOP probe, session 28: a 24-h urine measured at the baseline only is
    no unchanged urine at every assessment; the serum criterion alone grades the line (PR,
    as without any urine; it read SD)."""
    for pid, urine in (("hm_urine_baseline_only", True), ("hm_no_urine", False)):
        p = _selinexor_line(b, pid)
        b.serum(p, {335: 1.4, 370: 0.6, 400: 0.5})
        if urine:
            b.lab(p, 335, "24 hr urine M-protein", "300", "mg/24h")
    # the serum baseline drawn days before the last pre-treatment visit (a 24-h urine): the
    # audit names its row as the baseline's (it was listed as "neither an assessment nor a
    # baseline")
    p = _selinexor_line(b, "hm_serum_before_urine")
    b.serum(p, {330: 1.4, 370: 0.6, 400: 0.5})
    b.lab(p, 334, "24 hr urine M-protein", "300", "mg/24h")


def handmade_probe9(b: RawBuilder) -> None:
    """A salvage CAR-T recorded only as a procedure names its product in the line's drugs
    (a hand-made raw probe, session 26: the line read 'anti-myeloma therapy
    (unrecognised)'); a bare "CAR-T" procedure beside an administration naming the product
    is that product."""
    p = b.patient("cart_proc")
    b.procedure(p, 200, "apheresis (leukapheresis)")
    b.procedure(p, 240, "CARVYKTI (ciltacabtagene autoleucel) infusion")
    p = b.patient("cart_proc_bare")
    b.procedure(p, 240, "CAR-T cell infusion")
    p = b.patient("cart_proc_named_adm")
    b.procedure(p, 240, "CAR-T cell infusion")
    b.drug(p, "ciltacabtagene autoleucel IV", [240])


def handmade_probe5(b: RawBuilder) -> None:
    """Defects found by the fifth probe of hand-made patients (session 24, 2026-12-06)."""
    # radiotherapy as bridging between a salvage CAR T's apheresis and its infusion is part
    # of the CAR-T line, as bridging drugs are (D1: it was a line of its own, graded SD)
    p = b.patient("hm_rt_bridging")
    b.drug(p, "KYPROLIS 56 mg/m2 IV", weekly(100, 4))
    b.procedure(p, 200, "apheresis (leukapheresis)")
    for day in range(214, 217):
        b.procedure(p, day, "radiotherapy fraction")
    b.procedure(p, 240, "CAR-T cell infusion")
    b.drug(p, "ABECMA 450 x10^6 CAR+ cells IV", [240])
    # a held dose with its reason after a comma or in brackets is no dose (D2): the
    # selinexor orders after the confirmed progression start no line
    p = _selinexor_line(b, "hm_held_reason", 9)
    b.serum(p, {339: 2.0, 370: 1.0, 395: 1.6, 402: 1.9})
    b.drug(p, "XPOVIO 100 mg PO weekly - ON HOLD (nausea)", [410])
    b.drug(p, "XPOVIO 100 mg PO weekly: not administered, patient in hospital", [417])
    b.drug(p, "TALVEY 0.4 mg/kg SC", weekly(424, 4))
    # salvage KRd, then high-dose melphalan and an autologous transplant 30 days after its last
    # dose, then lenalidomide maintenance: planned induction -> ASCT -> maintenance is one
    # line (OHDSI rule (a), Rajkumar 2015; J04); after a confirmed progression of the KRd
    # line the transplant is a line of its own
    for pid, serum in (("hm_induction_asct", {339: 2.0, 370: 0.9, 400: 0.5, 440: 0.4}),
                       ("hm_induction_progressed", {339: 2.0, 370: 0.9, 400: 1.5, 410: 1.8})):
        p = b.patient(pid)
        b.drug(p, "KYPROLIS 56 mg/m2 IV", weekly(340, 10))
        b.drug(p, "REVLIMID 25 mg PO", weekly(340, 10))
        b.drug(p, "melphalan 200 mg/m2 IV", [445])
        b.procedure(p, 447, "autologous stem cell transplant")
        b.drug(p, "REVLIMID 10 mg PO", weekly(540, 20))
        b.serum(p, serum)
    # ... but a second transplant after that line's maintenance is a new line (review of
    # the change: KRd -> ASCT -> lenalidomide -> ASCT 300 days later was one line)
    p = b.patient("hm_two_asct")
    b.drug(p, "KYPROLIS 56 mg/m2 IV", weekly(340, 10))
    b.drug(p, "REVLIMID 25 mg PO", weekly(340, 10))
    b.drug(p, "melphalan 200 mg/m2 IV", [445])
    b.procedure(p, 447, "autologous stem cell transplant")
    b.drug(p, "REVLIMID 10 mg PO", weekly(480, 30))
    b.drug(p, "melphalan 200 mg/m2 IV", [745])
    b.procedure(p, 747, "autologous stem cell transplant")
    # a urine M-protein in the UCUM unit OMOP ETLs copy ("mg/(24.h)") is read
    p = _selinexor_line(b, "hm_ucum_urine", 9)
    b.lab(p, 339, "24 hr urine M-protein", "800", "mg/(24.h)")
    b.lab(p, 370, "24 hr urine M-protein", "0.05", "g/(24.h)")
    b.lab(p, 395, "24 hr urine M-protein", "40", "mg/(24.h)")


def handmade_2026_12_06(b: RawBuilder) -> None:
    """Defects found by hand-made patients written independently of the code (2026-12-06)."""
    ife = ("Immunofixation, serum", "Immunofixation, urine")

    def line_with(pid: str, n: int = 20) -> str:
        return _selinexor_line(b, pid, n)

    def flc(p: str, day: int, kappa: float, lam: float) -> None:
        b.lab(p, day, "Kappa free light chain, serum", f"{kappa:g}", "mg/dL")
        b.lab(p, day, "Lambda free light chain, serum", f"{lam:g}", "mg/dL")

    # both light chains high, normal ratio, no M-protein: polyclonal, nothing to follow (NE)
    p = line_with("hm_flc_polyclonal")
    for day, k, lam in ((339, 30, 25), (370, 40, 33), (400, 48, 40)):
        b.lab(p, day, "SPEP M-spike", "0", "g/dL")
        flc(p, day, k, lam)
    # FLC-only disease, immunofixations negative and marrow 2%, ratio still 3: VGPR, not CR
    p = line_with("hm_flc_cr_abnormal_ratio")
    flc(p, 339, 80, 1)
    for day in (370, 400):
        flc(p, day, 3, 1)
        for t in ife:
            b.lab(p, day, t, "NEGATIVE", None)
    b.lab(p, 372, "Bone marrow plasma cells", "2", "%")
    # serum -30% but a measured 24-h urine only -5%: SD, not MR (IMWG: urine 50-89% lower)
    p = line_with("hm_mr_urine")
    for day, v, u in ((339, 2.0, 400), (370, 1.4, 380), (400, 1.4, 380)):
        b.serum(p, {day: v})
        b.lab(p, day, "24 hr urine M-protein", str(u), "mg/24h")
    # serum 0 with a positive immunofixation but urine 150 mg/24 h: PR, not VGPR
    p = line_with("hm_vgpr_urine")
    for day, v, u in ((339, 1.5, 300), (370, 0.0, 150), (400, 0.0, 150)):
        b.serum(p, {day: v})
        b.lab(p, day, "24 hr urine M-protein", str(u), "mg/24h")
        if day > 339:
            b.lab(p, day, "Immunofixation, serum", "POSITIVE", None)
    # a held dose is no administration; a drug named as the context of a supportive order
    # is no dose: one teclistamab line, then talquetamab alone
    p = b.patient("hm_held_context")
    b.drug(p, "TECVAYLI 1.5 mg/kg SC", weekly(340, 9))
    b.drug(p, "talquetamab - HELD", [360])
    b.drug(p, "acyclovir 400 mg PO BID (HSV/VZV prophylaxis while on teclistamab)",
           range(340, 600, 3))  # fmt: skip
    b.drug(p, "TALVEY 0.4 mg/kg SC", weekly(500, 6))
    # a CD19 CAR T is not the cohort's index CAR T
    p = line_with("hm_non_bcma")
    b.patients[-1]["car_t_product"] = "tisagenlecleucel"
    # a stem cell boost and a radiotherapy simulation are no lines
    p = line_with("hm_support_procedures")
    b.procedure(p, 380, "autologous stem cell boost")
    b.procedure(p, 390, "radiation therapy simulation")
    # no lab on or before the line's start (session 23, 2026-12-06, Q26 of the third
    # hand-made probe): a fall from the first on-treatment value is no response (NE); a
    # confirmed rise from it is still PD
    p = line_with("hm_no_baseline", 5)
    b.serum(p, {370: 2.0, 400: 0.8, 430: 0.7})
    p = line_with("hm_no_baseline_pd", 5)
    b.serum(p, {370: 1.0, 400: 1.6, 430: 2.0})
    # a radiotherapy course between two doses of a weekly bispecific is given during that
    # line (session 23, hand-made probe 4, D1): one teclistamab line; a course between two
    # regimens (selinexor, then talquetamab 30 days after) is still a line of its own
    p = b.patient("hm_rt_between_doses")
    b.drug(p, "TECVAYLI 1.5 mg/kg SC", weekly(340, 20))
    for day in range(411, 416):  # five fractions between the doses of days 410 and 417
        b.procedure(p, day, "radiotherapy fraction")
    p = b.patient("hm_rt_between_regimens")
    b.drug(p, "XPOVIO 100 mg PO", weekly(340, 6))
    for day in range(380, 384):
        b.procedure(p, day, "radiotherapy fraction")
    b.drug(p, "TALVEY 0.4 mg/kg SC", weekly(405, 6))
    # ... also when the next regimen shares a drug with the one before (review of the
    # session's change: selinexor, radiotherapy, then daratumumab + selinexor)
    p = b.patient("hm_rt_between_shared")
    b.drug(p, "XPOVIO 100 mg PO", weekly(340, 7))
    for day in range(390, 395):
        b.procedure(p, day, "radiotherapy fraction")
    b.drug(p, "XPOVIO 100 mg PO", weekly(400, 6))
    b.drug(p, "DARZALEX 16 mg/kg IV", weekly(400, 6))
    # an allogeneic transplant with fludarabine/melphalan reduced-intensity conditioning: one
    # line from the first fludarabine day, read as allogeneic (hand-made probe 4, D4)
    p = line_with("hm_allo", 5)
    b.drug(p, "fludarabine 30 mg/m2 IV (RIC conditioning)", range(420, 425))
    b.drug(p, "melphalan 140 mg/m2 IV", [425])
    b.procedure(p, 426, "Allogeneic hematopoietic stem cell transplant")
    # a kappa/lambda ratio reported alone (no kappa, no lambda): a normal one makes the CR an
    # sCR (hand-made probe 4, H27)
    p = line_with("hm_ratio_only")
    b.serum(p, {339: 1.5, 370: 0.0, 400: 0.0})
    for day in (370, 400):
        for t in ("Immunofixation, serum", "Immunofixation, urine"):
            b.lab(p, day, t, "NEGATIVE", None)
        b.lab(p, day, "Kappa/Lambda Free Light Chain Ratio", "1.1", None)
    b.lab(p, 365, "Bone marrow plasma cells", "2", "%")
    # ... but a ratio alone before the start is no pre-treatment lab (review of the change:
    # it hid this line's progression from its first on-treatment value)
    p = line_with("hm_ratio_before", 5)
    b.lab(p, 335, "Kappa/Lambda Free Light Chain Ratio", "3.2", None)
    b.serum(p, {370: 1.0, 400: 1.6, 430: 2.0})
    # cyclophosphamide mobilisation, then high-dose melphalan and the transplant 42 days
    # later: one transplant line from the mobilisation (hand-made probe 4, H26); without a
    # transplant the mobilisation is no line
    # (more than [transplant] induction_gap_days after the selinexor line: not its induction)
    p = line_with("hm_mobilisation", 5)
    b.drug(p, "cyclophosphamide 2 g/m2 IV (stem cell mobilization)", [480])
    b.drug(p, "filgrastim 480 mcg SC", range(482, 492))
    b.drug(p, "melphalan 200 mg/m2 IV", [520])
    b.procedure(p, 522, "autologous stem cell transplant")
    p = line_with("hm_mobilisation_alone", 5)
    b.drug(p, "cyclophosphamide 2 g/m2 IV (stem cell mobilization)", [400])
    # a dose of the line's drug on the day the confirming lab is drawn continues the line;
    # a new drug begun that day starts the next (hand-made probe 4, H30; probe 3, Q17)
    for pid, n, tal in (("hm_dose_on_confirmation", 14, 438), ("hm_new_on_confirmation", 13, 431)):
        p = line_with(pid, n)
        b.serum(p, {339: 2.0, 370: 1.0, 403: 1.6, 431: 1.9})
        b.drug(p, "TALVEY 0.4 mg/kg SC", weekly(tal, 4))


def span_cases(b: RawBuilder) -> None:
    """Continued exposures: one row from its date to its ``end_date`` (an oral course)."""
    # one line although the rows start 200 days apart: the gap runs from the course's end
    p = b.patient("span_one_line")
    b.course(p, "REVLIMID 25 mg PO", 100, 279)
    b.course(p, "REVLIMID 25 mg PO", 300, 327)
    # a course runs on into the line a new drug starts (and ends the first the day before)
    p = b.patient("span_continues")
    b.course(p, "REVLIMID 25 mg PO", 100, 400)
    b.drug(p, "DARZALEX FASPRO 1800 mg SC", weekly(160, 4))
    # more than 90 days without drug after a course's last day: a new line
    p = b.patient("span_gap")
    b.course(p, "POMALYST 4 mg PO", 100, 130)
    b.course(p, "POMALYST 4 mg PO", 225, 245)
    # a course begun before the CAR T is not salvage therapy, however long it runs
    p = b.patient("span_before_index")
    b.course(p, "REVLIMID 10 mg PO", -60, 300)
    b.drug(p, "XPOVIO 100 mg PO", weekly(150, 4))
    # a course is clipped at the last follow-up
    p = b.patient("span_followup", last=200)
    b.course(p, "POMALYST 4 mg PO", 100, 400)
    # a course running through a salvage CAR T ends its line there and starts none after
    p = b.patient("span_cart")
    b.course(p, "POMALYST 4 mg PO", 100, 400)
    b.procedure(p, 200, "apheresis (leukapheresis)")
    b.procedure(p, 240, "CAR-T cell infusion")
    b.drug(p, "ABECMA 450 x10^6 CAR+ cells IV", [240])
    # radiotherapy during a course is given with it (not a line of its own)
    p = b.patient("span_rt")
    b.course(p, "REVLIMID 25 mg PO", 100, 400)
    for day in range(200, 211, 2):
        b.procedure(p, day, "radiotherapy fraction")
    # a course running on after a confirmed progression (PD 460, confirmed 490): no restart
    p = b.patient("span_pd")
    b.serum(p, {339: 2.0, 370: 0.8, 400: 0.4, 430: 0.42, 460: 0.9, 490: 1.1})
    b.course(p, "XPOVIO 100 mg PO", 340, 600)
    # 28-day courses; PD 170 confirmed 190 mid-course (184-211); teclistamab from 230: the
    # course's last day is no restart, teclistamab alone starts line 2 (hand-made patient M1)
    p = b.patient("span_pd_next")
    b.serum(p, {99: 2.0, 130: 0.8, 150: 0.4, 170: 0.9, 190: 1.1, 240: 0.8, 270: 0.5})
    for start in (100, 128, 156, 184):
        b.course(p, "POMALYST 4 mg PO", start, start + 27)
    b.drug(p, "TECVAYLI 1.5 mg/kg SC", weekly(230, 6))
    # maintenance as one course: the transplant line ends with the course
    p = b.patient("span_maintenance")
    b.drug(p, "MELPHALAN 200 mg/m2 IV", [98])
    b.procedure(p, 100, "autologous stem cell transplant")
    b.course(p, "REVLIMID 10 mg PO", 190, 400)


def _lot_cases(b: RawBuilder) -> None:
    # regimen window: drugs first given within 30 days of the start are one regimen
    p = b.patient("window")
    b.drug(p, "KYPROLIS 56 mg/m2 IV", weekly(100, 8))
    b.drug(p, "POMALYST 4 mg PO", weekly(125, 6))
    # unplanned addition after the window: new line at its first date; drugs continue
    p = b.patient("addition")
    b.drug(p, "KYPROLIS 56 mg/m2 IV", weekly(100, 12))
    b.drug(p, "DARZALEX FASPRO 1800 mg SC", weekly(150, 4))
    # OHDSI exception: an IMiD added within 90 days to a regimen without an IMiD
    p = b.patient("imid_exception")
    b.drug(p, "DARZALEX FASPRO 1800 mg SC", weekly(100, 12))
    b.drug(p, "POMALYST 4 mg PO", weekly(160, 4))
    # dropping a drug is not a new line
    p = b.patient("drop")
    b.drug(p, "KYPROLIS 56 mg/m2 IV", weekly(100, 10))
    b.drug(p, "POMALYST 4 mg PO", weekly(100, 3))
    # a gap of more than 90 days ends the line; the same drugs later are a new line
    p = b.patient("gap")
    b.drug(p, "VELCADE 1.3 mg/m2 SC", weekly(100, 4))
    b.drug(p, "VELCADE 1.3 mg/m2 SC", weekly(221 + 1, 4))
    # steroids: with a regimen they are part of it; premedication never; alone no line
    p = b.patient("steroids")
    b.drug(p, "dexamethasone 40 mg PO", [60, 67])
    b.drug(p, "TECVAYLI 0.06 mg/kg SC step-up", [100])
    b.drug(p, "TECVAYLI 0.3 mg/kg SC step-up", [102])
    b.drug(p, "TECVAYLI 1.5 mg/kg SC", weekly(104, 6))
    b.drug(p, "dexamethasone 16 mg IV (premed)", [100, 102, 104])
    b.drug(p, "acetaminophen 650 mg PO", [100])
    b.drug(p, "zoledronic acid (ZOMETA) 4 mg IV", [40, 120])
    b.drug(p, "XPOVIO 100 mg PO", weekly(400, 4))
    b.drug(p, "dexamethasone 40 mg PO", weekly(400, 4))
    # a steroid given 3 days before the regimen's first drug never starts the line
    p = b.patient("steroid_start")
    b.drug(p, "XPOVIO 100 mg PO", weekly(50, 3))
    b.drug(p, "dexamethasone 40 mg PO", weekly(200, 4))
    b.drug(p, "POMALYST 4 mg PO", weekly(203, 4))
    # a second PI added after the window to a PI regimen is a new line (no exception)
    p = b.patient("second_pi")
    b.drug(p, "KYPROLIS 56 mg/m2 IV", weekly(100, 12))
    b.drug(p, "VELCADE 1.3 mg/m2 SC", weekly(160, 4))
    # a pause of exactly 90 days is not more than 90 days: same line
    p = b.patient("gap_90")
    b.drug(p, "VELCADE 1.3 mg/m2 SC", [100, 107, 197, 204])
    # supportive drugs of every kind are never a line
    p = b.patient("supportive")
    for text in ("valacyclovir 500 mg PO", "acetaminophen 650 mg PO", "diphenhydramine 50 mg IV",
                 "denosumab (XGEVA) 120 mg SC", "pamidronate 90 mg IV", "IVIG 0.4 g/kg IV",
                 "tocilizumab (ACTEMRA) 8 mg/kg IV", "filgrastim (NEUPOGEN) 480 mcg SC",
                 "pegfilgrastim 6 mg SC"):  # fmt: skip
        b.drug(p, text, [60, 130])
    b.drug(p, "EMPLICITI 10 mg/kg IV", weekly(100, 3))
    # therapy after the CAR T before any lab progression dates the index (no lab evidence);
    # the progression the labs show later belongs to that line
    p = b.patient("therapy_before_lab_pd")
    b.serum(p, {-10: 3.0, 30: 1.0, 60: 0.8, 90: 0.8, 120: 1.5, 150: 1.9})
    b.drug(p, "REVLIMID 10 mg PO", [20, 27])
    b.drug(p, "TALVEY 0.4 mg/kg SC", weekly(160, 3))
    # unrecognised order text
    p = b.patient("unknown_text")
    b.drug(p, "zz-unknown-agent 5 mg PO", [80])
    b.drug(p, "NINLARO 4 mg PO", weekly(100, 3))


def _bundle_cases(b: RawBuilder) -> None:
    # index CAR T: Flu/Cy on days -5..-3 is lymphodepletion, never a line; Cy at another time is
    p = b.patient("flucy")
    b.drug(p, "fludarabine 30 mg/m2 IV", [-5, -4, -3])
    b.drug(p, "cyclophosphamide 300 mg/m2 IV", [-5, -4, -3])
    b.drug(p, "CYTOXAN 400 mg/m2 IV", [200, 201, 202])
    # salvage CAR T: apheresis + bridging + lymphodepletion + infusion = one line at infusion
    p = b.patient("cart")
    b.drug(p, "KYPROLIS 56 mg/m2 IV", weekly(100, 4))
    b.procedure(p, 200, "apheresis (leukapheresis)")
    b.drug(p, "TALVEY 0.4 mg/kg SC", [215, 222])  # bridging, first started after apheresis
    b.drug(p, "fludarabine 30 mg/m2 IV", [235, 236, 237])
    b.drug(p, "cyclophosphamide 300 mg/m2 IV", [235, 236, 237])
    b.procedure(p, 235, "lymphodepletion (Flu/Cy)")
    b.procedure(p, 240, "CAR-T cell infusion")
    b.drug(p, "ABECMA 450 x10^6 CAR+ cells IV", [240])
    b.drug(p, "POMALYST 4 mg PO", weekly(400, 3))
    bridging_case(b)
    # high-dose melphalan + autologous transplant = one line; a second within 180 days: tandem
    p = b.patient("asct")
    b.drug(p, "MELPHALAN 200 mg/m2 IV", [98])
    b.procedure(p, 100, "autologous stem cell transplant")
    b.procedure(p, 190, "autologous stem cell transplant")
    b.drug(p, "REVLIMID 25 mg PO", weekly(600, 3))
    # a drug line that progressed (PD at day 170 from its nadir 1.2, confirmed at 180) before
    # the transplant began (melphalan on day 195): it ended by progression, not "next line
    # started" (hand-labelled raw patient P22, 2026-12-07); the index PD at day 90
    p = b.patient("pd_before_asct")
    b.serum(p, {-10: 3.0, 30: 0.5, 60: 0.3, 90: 1.0, 100: 1.2, 140: 1.3, 170: 2.0, 180: 2.2})
    b.drug(p, "POMALYST 4 mg PO", weekly(110, 10))
    b.drug(p, "MELPHALAN 200 mg/m2 IV", [195])
    b.procedure(p, 197, "autologous stem cell transplant")
    # maintenance: lenalidomide alone (with dex) starting within a year of the transplant belongs
    # to the transplant line; a two-drug regimen after it does not
    p = b.patient("maintenance")
    b.drug(p, "MELPHALAN 200 mg/m2 IV", [98])
    b.procedure(p, 100, "autologous stem cell transplant")
    b.drug(p, "REVLIMID 10 mg PO", weekly(190, 10))
    b.drug(p, "dexamethasone 20 mg PO", weekly(190, 2))
    b.drug(p, "KYPROLIS 56 mg/m2 IV", weekly(500, 3))
    b.drug(p, "DARZALEX 16 mg/kg IV", weekly(500, 3))
    # a monotherapy after a transplant line that progressed (confirmed PD) is therapy after
    # progression, a new line, not maintenance: baseline 3.0, PR 1.0 (days 130, 160), PD 1.6 at
    # day 190 confirmed at day 200; lenalidomide alone from day 210
    p = b.patient("maintenance_after_pd")
    b.drug(p, "MELPHALAN 200 mg/m2 IV", [98])
    b.procedure(p, 100, "autologous stem cell transplant")
    b.serum(p, {95: 3.0, 130: 1.0, 160: 1.0, 190: 1.6, 200: 1.8})
    b.drug(p, "REVLIMID 10 mg PO", weekly(210, 5))
    # maintenance continued after a confirmed progression of the line (PD 0.6 at day 300
    # from the nadir 0 after the transplant, confirmed at day 320): the next course is a new
    # line. The maintenance alone has no measurable baseline (0.3 g/dL), so its progression
    # is looked for from the transplant line's start, as the merged line is assessed
    # (until 2026-12-07 it stayed in the transplant line; hand-made OMOP patients)
    p = b.patient("maintenance_pd_continued")
    b.drug(p, "MELPHALAN 200 mg/m2 IV", [98])
    b.procedure(p, 100, "autologous stem cell transplant")
    b.serum(p, {95: 1.6, 130: 0.3, 160: 0.0, 200: 0.0, 260: 0.0, 300: 0.6, 320: 1.1, 380: 1.5})
    for start in range(134, 400, 28):
        b.course(p, "REVLIMID 10 mg PO", start, start + 27)
    p = b.patient("not_maintenance")
    b.drug(p, "MELPHALAN 200 mg/m2 IV", [98])
    b.procedure(p, 100, "autologous stem cell transplant")
    b.drug(p, "KYPROLIS 56 mg/m2 IV", weekly(190, 4))
    b.drug(p, "REVLIMID 25 mg PO", weekly(190, 4))
    # radiotherapy course given alone (gaps <= 7 days) = one line
    p = b.patient("rt")
    for day in (100, 101, 102, 103, 104, 107, 108, 109):
        b.procedure(p, day, "radiotherapy fraction")
    b.drug(p, "XPOVIO 100 mg PO", weekly(300, 3))
    # prior therapy before the index CAR T is not a salvage line
    p = b.patient("prior")
    b.drug(p, "REVLIMID 25 mg PO", [-200, -190])
    b.drug(p, "BLENREP 2.5 mg/kg IV", [150])
    # an earlier, non-BCMA CAR T with its lymphodepletion before the index CAR T: listed as
    # therapy before the index, not as a product without its infusion (hand-made OMOP
    # patients, 2026-12-07)
    # a death dated before the CAR-T infusion: left out with that reason, not as a patient
    # without a confirmed progression (fuzzing, 2026-12-07)
    p = b.patient("death_before_car_t", death=-10)
    b.serum(p, {-20: 2.0, 30: 0.5})
    b.drug(p, "XPOVIO 100 mg PO", [-40])
    p = b.patient("prior_car_t")
    b.drug(p, "fludarabine 30 mg/m2 IV", [-305, -304, -303])
    b.drug(p, "MCARH109 CAR T cells (GPRC5D) IV", [-300])
    b.drug(p, "BLENREP 2.5 mg/kg IV", [150])


def _imwg_cases(b: RawBuilder) -> None:
    # index progression from labs: CAR-T nadir 0.4, PD at day 300 (1.0 >= 0.4 + 0.5 and +25%),
    # confirmed at day 328; first salvage on day 340; line 1 response PR confirmed (2 x >= 50%)
    p = b.patient("labs_pr")
    b.serum(p, {30: 2.0, 60: 1.0, 90: 0.5, 120: 0.4, 150: 0.4, 180: 0.45, 210: 0.5, 240: 0.6,
                270: 0.8, 300: 1.0, 328: 1.3})  # fmt: skip
    b.serum(p, {339: 1.4, 370: 0.8, 400: 0.6, 430: 0.62}, unit="g/dL")
    b.drug(p, "XPOVIO 100 mg PO", weekly(340, 20))
    # same course with mixed g/L units: identical dates and response
    p = b.patient("labs_units")
    b.serum(p, {30: 20, 60: 10, 90: 5, 120: 4, 150: 4, 180: 4.5, 210: 5, 240: 6, 270: 8,
                300: 10, 328: 13}, unit="g/L")  # fmt: skip
    b.serum(p, {339: 1.4, 370: 0.8, 430: 0.62}, unit="g/dL")
    b.lab(p, 400, "SPEP M-spike", "6", "g/L")
    b.drug(p, "XPOVIO 100 mg PO", weekly(340, 20))
    # the same with units in capitals, as some laboratory systems write them
    p = b.patient("labs_units_upper")
    b.serum(p, {30: 20, 60: 10, 90: 5, 120: 4, 150: 4, 180: 4.5, 210: 5, 240: 6, 270: 8,
                300: 10, 328: 13}, unit="G/L")  # fmt: skip
    b.serum(p, {339: 1.4, 370: 0.8, 400: 0.6, 430: 0.62}, unit="G/DL")
    b.drug(p, "XPOVIO 100 mg PO", weekly(340, 20))
    # a single PR assessment is not confirmed (the next one is MR): best response MR
    p = b.patient("labs_unconfirmed")
    b.serum(p, {339: 4.0, 370: 1.9, 400: 2.3, 430: 2.35})
    b.drug(p, "XPOVIO 100 mg PO", weekly(340, 20))
    # CR needs negative serum and urine immunofixation and marrow < 5%; without marrow: VGPR
    for pid, marrow in (("labs_cr", True), ("labs_no_marrow", False)):
        p = b.patient(pid)
        b.serum(p, {339: 2.0, 370: 0.0, 400: 0.0, 430: 0.0})
        for day in (370, 400, 430):
            b.lab(p, day, "Immunofixation, serum", "NEGATIVE", None)
            b.lab(p, day, "Immunofixation, urine", "NEGATIVE", None)
        if marrow:
            b.lab(p, 365, "Bone marrow plasma cells", "2", "%")
        b.drug(p, "XPOVIO 100 mg PO", weekly(340, 20))
    # progression from the nadir on a line: nadir 0.4, PD at 0.9 (day 460) confirmed at 490;
    # doses given between the PD and its confirmation stay in the line (day 466, 473, 480,
    # 487: nobody knows yet); the first dose on or after the confirmation is therapy after a
    # confirmed progression: a new line (day 494), even with the same drug and no break
    p = b.patient("labs_line_pd")
    b.serum(p, {339: 2.0, 370: 0.8, 400: 0.4, 430: 0.42, 460: 0.9, 490: 1.1})
    b.drug(p, "XPOVIO 100 mg PO", weekly(340, 30))
    # a new drug after a confirmed progression: the line ends by progression, not by the
    # new drug (PD day 460, confirmed day 490; pomalidomide from day 494)
    p = b.patient("pd_new_drug")
    b.serum(p, {339: 2.0, 370: 0.8, 400: 0.4, 430: 0.42, 460: 0.9, 490: 1.1})
    b.drug(p, "XPOVIO 100 mg PO", weekly(340, 18))
    b.drug(p, "POMALYST 4 mg PO", weekly(494, 4))
    # retreatment after progression: the same drug restarted after a 49-day break is a new line
    p = b.patient("retreatment")
    b.serum(p, {339: 2.0, 370: 0.8, 400: 0.4, 430: 0.42, 460: 0.9, 490: 1.1})
    b.drug(p, "XPOVIO 100 mg PO", weekly(340, 18) + weekly(522, 4))
    # therapy after a confirmed progression inside the line's 30-day regimen window is a new
    # line (progression first; the IMiD exception would otherwise keep pomalidomide): PD at
    # day 350 (2.0 -> 2.7: +35% and +0.7 g/dL), confirmed at day 358, pomalidomide day 365
    p = b.patient("pd_in_window")
    b.serum(p, {339: 2.0, 350: 2.7, 358: 2.9})
    b.drug(p, "XPOVIO 100 mg PO", [340, 347])
    b.drug(p, "POMALYST 4 mg PO", weekly(365, 4))
    # after a confirmed progression, resuming a drug of the line after a short pause (10 days,
    # less than the 90-day gap; no drug added) is a new line: nadir 0.5, PD 1.2 at day 420
    # confirmed at day 430; pomalidomide again from day 440
    p = b.patient("pd_resume")
    b.serum(p, {339: 2.0, 370: 0.6, 400: 0.5, 420: 1.2, 430: 1.4})
    b.drug(p, "XPOVIO 100 mg PO", weekly(340, 11))
    b.drug(p, "POMALYST 4 mg PO", weekly(340, 11) + weekly(440, 4))
    # a rise of 0.45 g/dL from the nadir (+112%, but < 0.5 g/dL) is not PD
    p = b.patient("labs_small_rise")
    b.serum(p, {339: 2.0, 370: 0.4, 400: 0.4, 430: 0.85, 460: 0.86})
    b.drug(p, "XPOVIO 100 mg PO", weekly(340, 20))
    # FLC-only disease: dFLC falls 60% twice = PR; no MR by FLC
    p = b.patient("labs_flc")
    for day, kappa in ((339, 60.0), (370, 24.0), (400, 22.0)):
        b.lab(p, day, "SPEP M-spike", "0", "g/dL")
        b.lab(p, day, "Kappa free light chain, serum", f"{kappa:g}", "mg/dL")
        b.lab(p, day, "Lambda free light chain, serum", "1", "mg/dL")
    b.drug(p, "XPOVIO 100 mg PO", weekly(340, 20))
    # a drug added late in the regimen window belongs to the line, even when the line
    # progresses soon after (nadir 0.5 at day 350, PD 1.2 at day 370 confirmed at day 400)
    p = b.patient("labs_late_addition")
    b.serum(p, {339: 2.0, 350: 0.5, 370: 1.2, 400: 1.4})
    b.drug(p, "XPOVIO 100 mg PO", weekly(340, 8))
    b.drug(p, "POMALYST 4 mg PO", weekly(362, 4))
    # no assessment in the line's window: not assessed (empty)
    p = b.patient("labs_none")
    b.drug(p, "XPOVIO 100 mg PO", weekly(340, 3))


def _selinexor_line(b: RawBuilder, pid: str, n: int = 20) -> str:
    """A patient with one selinexor line of ``n`` weekly doses from day 340."""
    p = b.patient(pid)
    b.drug(p, "XPOVIO 100 mg PO", weekly(340, n))
    return p


def _imwg_more(b: RawBuilder) -> None:
    """More IMWG cases: one per category, parameter and progression rule."""
    ife = ("Immunofixation, serum", "Immunofixation, urine")

    def line_with(pid: str, n: int = 20) -> str:
        return _selinexor_line(b, pid, n)

    # sCR: CR plus a normal kappa/lambda ratio
    p = line_with("labs_scr")
    b.serum(p, {339: 2.0, 370: 0.0, 400: 0.0})
    for day in (370, 400):
        for t in ife:
            b.lab(p, day, t, "NEGATIVE", None)
        b.lab(p, day, "Kappa free light chain, serum", "1.2", "mg/dL")
        b.lab(p, day, "Lambda free light chain, serum", "1.0", "mg/dL")
    b.lab(p, 365, "Bone marrow plasma cells", "1", "%")
    # VGPR: >= 90% reduction twice (2.0 -> 0.15, 0.18)
    p = line_with("labs_vgpr")
    b.serum(p, {339: 2.0, 370: 0.15, 400: 0.18})
    # VGPR: M-protein 0 on electrophoresis but immunofixation positive, twice
    p = line_with("labs_vgpr_ife")
    b.serum(p, {339: 1.5, 370: 0.0, 400: 0.0})
    for day in (370, 400):
        b.lab(p, day, "Immunofixation, serum", "POSITIVE", None)
    # the same with the M-protein written "Not detected" (no unit), as electrophoresis
    # reports and OMOP's result concept 9190 say it: read as 0
    p = line_with("labs_not_detected")
    b.serum(p, {339: 1.5})
    for day in (370, 400):
        b.lab(p, day, "SPEP M-spike", " Not detected", None)
        b.lab(p, day, "Immunofixation, serum", "POSITIVE", None)
    # SD: 20% reduction (< 25%: not MR)
    p = line_with("labs_sd")
    b.serum(p, {339: 2.0, 370: 1.6, 400: 1.6})
    # MR from a baseline that is detectable but not measurable (0.8 g/dL < 1.0): graded under
    # [measurable] fallback_to_detectable, and said so in audit/lines (P26, 2026-12-07)
    p = line_with("labs_mr_not_measurable")
    b.serum(p, {339: 0.8, 370: 0.55, 400: 0.5})
    # SD then PD: SD needs no confirmation, so the best response is SD; PD dated at day 400
    p = line_with("labs_sd_then_pd")
    b.serum(p, {339: 2.0, 370: 1.9, 400: 2.6, 430: 2.8})
    # PD from the first assessment, confirmed: best response PD
    p = line_with("labs_pd_first")
    b.serum(p, {339: 2.0, 370: 2.6, 400: 2.9})
    # an unconfirmed PD (the next assessment falls back below the PD level) is not progression
    p = line_with("labs_pd_unconfirmed")
    b.serum(p, {339: 2.0, 370: 1.0, 400: 1.0, 430: 1.6, 460: 1.1, 490: 1.1})
    # a visit without the parameter is skipped: day 385 has only a urine value
    p = line_with("labs_skip")
    b.serum(p, {339: 2.0, 370: 0.9, 400: 0.9})
    b.lab(p, 385, "24 hr urine M-protein", "50", "mg/24h")
    # nadir >= 5 g/dL: a rise of 1.0 g/dL (+0.9 is not enough) is needed
    p = line_with("labs_high_nadir")
    b.serum(p, {339: 8.0, 370: 6.0, 400: 6.9, 430: 6.9, 460: 7.0, 490: 7.1})
    # urine-only measurable disease (serum 0.5 g/dL): PR by urine (< 200 mg/24 h; -85%, not
    # < 100: not VGPR); +150 mg from the nadir is not PD, +230 mg (>= 200 and >= 25%) is
    p = line_with("labs_urine", 30)
    for day, v in ((339, 1000), (370, 150), (400, 150), (430, 300), (460, 380), (490, 400)):
        b.lab(p, day, "24 hr urine M-protein", str(v), "mg/24h")
        b.lab(p, day, "SPEP M-spike", "0.5", "g/dL")
    # FLC-only disease: dFLC -30% is not MR (no MR by FLC): SD; then PD by dFLC +25% and > 10
    p = line_with("labs_flc_pd", 30)
    for day, kappa in ((339, 51.0), (370, 36.0), (400, 36.0), (430, 48.0), (460, 49.0)):
        b.lab(p, day, "SPEP M-spike", "0", "g/dL")
        b.lab(p, day, "Kappa free light chain, serum", f"{kappa:g}", "mg/dL")
        b.lab(p, day, "Lambda free light chain, serum", "1", "mg/dL")
    # reappearance after CR: from 0 the same absolute rise (0.5 g/dL) is needed
    p = line_with("labs_reappear", 30)
    b.serum(p, {339: 2.0, 370: 0.0, 400: 0.0, 430: 0.3, 460: 0.6, 490: 0.7})
    # a lab on the line's start date is its baseline (day 340 = 3.0, not the 2.0 of day 300)
    p = line_with("labs_baseline_on_start")
    b.serum(p, {300: 2.0, 340: 3.0, 370: 1.4, 400: 1.4})
    # assessed, but nothing to follow (serum M-protein 0, no light chains): NE, not "not
    # assessed" (found by hand-made OMOP cases, 2026-12-03)
    p = line_with("labs_no_param")
    b.serum(p, {339: 0.0, 370: 0.0, 400: 0.0})
    # PD in the window confirmed by the first assessment after the next line started
    p = b.patient("labs_pd_confirmed_after")
    b.serum(p, {339: 2.0, 370: 0.5, 400: 0.5, 430: 1.2, 450: 1.5})
    b.drug(p, "XPOVIO 100 mg PO", weekly(340, 14))
    b.drug(p, "TALVEY 0.4 mg/kg SC", weekly(440, 4))
    # CAR-T best response from the CAR-T baseline: PR confirmed, then the index progression
    p = b.patient("car_t_response")
    b.serum(p, {-5: 3.0, 30: 1.2, 60: 1.1, 120: 1.0, 150: 1.6, 180: 1.9})
    b.drug(p, "TALVEY 0.4 mg/kg SC", weekly(200, 3))


def bridging_case(b: RawBuilder) -> None:
    """A salvage CAR T with Vd as bridging: the dexamethasone given with it belongs to the
    CAR-T line (listed as "steroid given alone" before 2026-12-04); dexamethasone alone
    later does not."""
    p = b.patient("cart_vd")
    b.drug(p, "KYPROLIS 56 mg/m2 IV", weekly(100, 4))
    b.procedure(p, 200, "apheresis (leukapheresis)")
    b.drug(p, "VELCADE 1.3 mg/m2 SC", [215, 218, 222])
    b.drug(p, "dexamethasone 20 mg PO", [215, 216, 218, 219, 222])
    b.procedure(p, 240, "CAR-T cell infusion")
    b.drug(p, "ABECMA 450 x10^6 CAR+ cells IV", [240])
    b.drug(p, "dexamethasone 20 mg PO", [300])


def imwg_thresholds(b: RawBuilder) -> None:
    """Values exactly on an IMWG threshold meet it, though their float difference or ratio
    falls a rounding short (0.7 - 0.2 = 0.49999999999999994; found by hand-made OMOP cases
    written independently of the code, 2026-12-04)."""
    # +0.5 g/dL from a nadir of 0.2 (>= 25% too) is PD at day 430, confirmed at 460
    p = b.patient("labs_exact_rise")
    b.drug(p, "XPOVIO 100 mg PO", weekly(340, 20))
    b.serum(p, {339: 2.0, 370: 0.2, 400: 0.2, 430: 0.7, 460: 0.8})
    # the same from a nadir of 1.8 (2.3 - 1.8 = 0.4999999999999998)
    p = b.patient("labs_exact_rise_mr")
    b.drug(p, "XPOVIO 100 mg PO", weekly(340, 20))
    b.serum(p, {339: 3.0, 370: 1.8, 400: 1.8, 430: 2.3, 460: 2.4})
    # a fall from 1.4 to 1.05 g/dL is 25% exactly: MR (1 - 1.05 / 1.4 = 0.2499999999999999)
    p = b.patient("labs_exact_mr")
    b.drug(p, "XPOVIO 100 mg PO", weekly(340, 20))
    b.serum(p, {339: 1.4, 370: 1.05, 400: 1.05})
