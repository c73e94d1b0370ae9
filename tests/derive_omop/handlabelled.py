"""Hand-labelled OMOP CDM instances of an independent review of aftercar's derivation.

Written from docs/derivation.md, docs/omop.md, docs/methods.md and REFERENCE.md only
(not from the derivation code), by a reviewer who labelled the answers by hand before
any run (``handlabelled_data/``, see its README.md). Ported from the reviewer's
``build.py`` (instance A, persons 101-130: the brief's scenarios) and ``build_d.py``
(instance D, persons 401-410: exact IMWG thresholds); the data, the comments and the
concept ids are theirs. ``test_handlabelled.py`` derives both and compares.

Concepts: real OMOP ids (437233 multiple myeloma; RxNorm ingredients; LOINC 33358-3 ->
3046299 serum M-protein, 36916-5 -> 3034860 kappa FLC, 33944-0 -> 3047169 lambda FLC,
11118-7 -> 3003879 marrow plasma cells; units 8713 g/dL, 8636 g/L, 8840 mg/dL, 8751 mg/L,
8909 mg/24h, 8807 g/24h, 8554 %; procedures 927059 CAR-T apheresis, 4120445 HSCT; values
9189 Negative, 9190 Not detected), RxNorm ingredients not in aftercar's map (dexamethasone
1518254, zoledronic acid 1524674, acyclovir 1703687) named through the `concept` table, and
local concepts >= 2,000,000,000 declared in ``LOCAL_TOML`` (forimtamig, linvoseltamab, urine
M-protein, radiotherapy fraction).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

DATA = Path(__file__).resolve().parent / "handlabelled_data"
D = date.fromisoformat

# ---- concepts ---------------------------------------------------------------------
CILTA, IDE = 779144, 36026868
TEC, TAL, ELRAN = 741578, 746340, 746391
BELA, DARA, ISA, ELO = 37002419, 35605744, 37498969, 35604032
BORT, CARF, IXA = 1336825, 42873638, 35606214
LEN, POM = 19026972, 43014237
SEL, MEL, CY, FLU = 1361191, 1301267, 1310317, 1395557
DEX, ZOL, ACV = 1518254, 1524674, 1703687
FORIM, LINVO = 2000000001, 2000000002  # local ingredients
URINE_M, RT_FRACTION = 2000000101, 2000000301  # local measurement, local procedure

SERUM_M, KAPPA, LAMBDA, MARROW = 3046299, 3034860, 3047169, 3003879
G_DL, G_L, MG_DL, MG_L, MG_24H, G_24H, PCT = 8713, 8636, 8840, 8751, 8909, 8807, 8554
APHERESIS, HSCT = 927059, 4120445
NEG, NOT_DETECTED = 9189, 9190

#: The local concepts TOML of both instances (the reviewer's ``local.toml``).
LOCAL_TOML = """\
[ingredients]
2000000001 = "forimtamig"
2000000002 = "linvoseltamab"
[measurements]
2000000101 = "urine M-protein"
[procedures]
2000000301 = "radiotherapy fraction"
"""

CONCEPT_NAMES = {
    DEX: "dexamethasone", ZOL: "zoledronic acid", ACV: "acyclovir",
    CILTA: "ciltacabtagene autoleucel", IDE: "idecabtagene vicleucel", 437233: "Multiple myeloma",
}  # fmt: skip


def dd(s: str, days: int = 0) -> date:
    return D(s) + timedelta(days=days)


def every(start: str, step: int, n: int) -> list[date]:
    return [dd(start, step * i) for i in range(n)]


def until(start: str, step: int, last: str) -> list[date]:
    out, d = [], D(start)
    while d <= D(last):
        out.append(d)
        d += timedelta(days=step)
    return out


class Instance:
    """The row accumulators of one instance and the helpers that add rows to them."""

    def __init__(self) -> None:
        self.drugs: list[tuple] = []  # person, concept, start, end, source
        self.procs: list[tuple] = []  # person, concept, date, source
        # person, concept, date, number, value_concept, unit_concept, unit_src, source
        self.meas: list[tuple] = []
        self.persons: dict[int, dict] = {}

    def person(self, pid, *, death=None, obs_end="2025-06-30"):
        end = D(death) if death else D(obs_end)
        self.persons[pid] = {"death": D(death) if death else None, "obs_end": end}

    def drug(self, pid, concept, dates, src="", end=None):
        if isinstance(dates, str | date):
            dates = [dates]
        for d in dates:
            d = D(d) if isinstance(d, str) else d
            self.drugs.append((pid, concept, d, (D(end) if isinstance(end, str) else end), src))

    def proc(self, pid, concept, day, src):
        self.procs.append((pid, concept, D(day), src))

    def serum(self, pid, rows, unit=G_DL):
        """rows: (date, value) in g/dL; written in g/L when unit == G_L."""
        m = self.meas
        for d, v in rows:
            if v is None:  # "not detected"
                m.append((pid, SERUM_M, D(d), None, NOT_DETECTED, None, None, "SPEP M-spike"))
            elif unit == G_L:
                m.append((pid, SERUM_M, D(d), round(v * 10, 4), None, G_L, "g/L", "SPEP M-spike"))
            else:
                m.append((pid, SERUM_M, D(d), v, None, G_DL, "g/dL", "SPEP M-spike"))

    def urine(self, pid, rows, unit=MG_24H):
        m = self.meas
        for d, v in rows:
            if unit == G_24H:
                m.append((pid, URINE_M, D(d), v / 1000.0, None, G_24H, "g/24h", "urine M-protein"))
            else:
                m.append((pid, URINE_M, D(d), v, None, MG_24H, "mg/24h", "urine M-protein"))

    def flc(self, pid, rows, unit=MG_L):
        """rows: (date, kappa, lambda) in the given unit."""
        u = {MG_L: "mg/L", MG_DL: "mg/dL"}[unit]
        for d, k, lam in rows:
            self.meas.append((pid, KAPPA, D(d), k, None, unit, u, "kappa FLC"))
            self.meas.append((pid, LAMBDA, D(d), lam, None, unit, u, "lambda FLC"))

    def ife(self, pid, d, which, value_concept):
        name = {"serum": "Immunofixation, serum", "urine": "Immunofixation, urine"}[which]
        self.meas.append((pid, 0, D(d), None, value_concept, None, None, name))

    def marrow(self, pid, d, pct):
        self.meas.append((pid, MARROW, D(d), pct, None, PCT, "%", "marrow plasma cells %"))

    def car_t(self, pid, product, day, apheresis_days_before=40, ld=True):
        self.proc(pid, APHERESIS, dd(day, -apheresis_days_before).isoformat(), "leukapheresis")
        if ld:
            for k in (-5, -4, -3):
                self.drug(pid, FLU, dd(day, k), "fludarabine 30 mg/m2 IV")
                self.drug(pid, CY, dd(day, k), "cyclophosphamide 300 mg/m2 IV")
        name = {CILTA: "CARVYKTI infusion", IDE: "ABECMA infusion"}[product]
        self.drug(pid, product, day, name)

    def tables(self) -> dict[str, pa.Table]:
        """The OMOP tables of the instance."""
        pids = sorted(self.persons)
        per, drugs, procs, meas = self.persons, self.drugs, self.procs, self.meas
        dead = [p for p in pids if per[p]["death"]]
        n_d, n_p, n_m = len(drugs), len(procs), len(meas)
        cids = sorted(CONCEPT_NAMES)
        return {
            "person": pa.table({"person_id": pids,
                                "gender_concept_id": [8507 if p % 2 else 8532 for p in pids],
                                "year_of_birth": [1950 + p % 20 for p in pids]}),
            "observation_period": pa.table({
                "person_id": pids,
                "observation_period_end_date": [per[p]["obs_end"] for p in pids]}),
            "death": pa.table({"person_id": pa.array(dead, pa.int64()),
                               "death_date": pa.array([per[p]["death"] for p in dead],
                                                      pa.date32())}),
            "condition_occurrence": pa.table({
                "person_id": pids, "condition_concept_id": [437233] * len(pids),
                "condition_start_date": [D("2018-01-01")] * len(pids)}),
            "drug_exposure": pa.table({
                "drug_exposure_id": list(range(10001, 10001 + n_d)),
                "person_id": [r[0] for r in drugs], "drug_concept_id": [r[1] for r in drugs],
                "drug_exposure_start_date": pa.array([r[2] for r in drugs], pa.date32()),
                "drug_exposure_end_date": pa.array([r[3] for r in drugs], pa.date32()),
                "drug_source_value": [r[4] for r in drugs]}),
            "procedure_occurrence": pa.table({
                "procedure_occurrence_id": list(range(20001, 20001 + n_p)),
                "person_id": [r[0] for r in procs], "procedure_concept_id": [r[1] for r in procs],
                "procedure_date": pa.array([r[2] for r in procs], pa.date32()),
                "procedure_source_value": [r[3] for r in procs]}),
            "measurement": pa.table({
                "measurement_id": list(range(30001, 30001 + n_m)),
                "person_id": [r[0] for r in meas], "measurement_concept_id": [r[1] for r in meas],
                "measurement_date": pa.array([r[2] for r in meas], pa.date32()),
                "value_as_number": pa.array([r[3] for r in meas], pa.float64()),
                "value_as_concept_id": pa.array([r[4] for r in meas], pa.int64()),
                "unit_concept_id": pa.array([r[5] for r in meas], pa.int64()),
                "unit_source_value": pa.array([r[6] for r in meas], pa.string()),
                "measurement_source_value": [r[7] for r in meas]}),
            "concept": pa.table({"concept_id": cids,
                                 "concept_name": [CONCEPT_NAMES[c] for c in cids]}),
        }  # fmt: skip

    def write(self, folder: Path) -> Path:
        """Write the instance to ``folder`` as one Parquet file per OMOP table."""
        folder.mkdir(parents=True, exist_ok=True)
        for name, t in self.tables().items():
            pq.write_table(t, folder / f"{name}.parquet")
        return folder


Patient = Callable[[Instance], None]


# =====================================================================================
# Instance A: patients (the story of each; expected answers are in expected_a.csv,
# written by hand)
# =====================================================================================


def _p101(x: Instance) -> None:
    """P101 simple single-line relapse, Kd, PR, no progression on the line."""
    p = 101
    x.person(p)
    x.car_t(p, CILTA, "2022-03-01")
    x.serum(p, [("2022-02-25", 3.0), ("2022-04-01", 1.0), ("2022-05-01", 0.4),
                ("2022-06-01", 0.3), ("2022-07-01", 0.9), ("2022-07-29", 1.1),
                ("2022-09-01", 0.5), ("2022-10-01", 0.45), ("2022-11-01", 0.4),
                ("2022-12-01", 0.4), ("2023-01-05", 0.42), ("2023-03-01", 0.45)])
    kd = [dd("2022-08-05", 28 * c + k) for c in range(6) for k in (0, 7, 14)]
    x.drug(p, CARF, kd, "KYPROLIS 56 mg/m2 IV")
    x.drug(p, DEX, kd, "dexamethasone 40 mg PO")


def _p102(x: Instance) -> None:
    """P102 dara -> selinexor added at day 66 (new line, dara continues) -> PD -> teclistamab."""
    p = 102
    x.person(p, death="2023-02-15")
    x.car_t(p, IDE, "2021-06-10")
    x.serum(p, [("2021-06-05", 2.5), ("2021-07-10", 0.8), ("2021-08-10", 0.5),
                ("2021-09-10", 1.2), ("2021-10-08", 1.5), ("2021-11-10", 1.0),
                ("2021-12-10", 0.95), ("2022-01-15", 0.4), ("2022-02-15", 0.3),
                ("2022-03-15", 0.25), ("2022-04-15", 0.6), ("2022-05-15", 0.8),
                ("2022-06-15", 1.0), ("2022-07-20", 0.3), ("2022-08-20", 0.08),
                ("2022-09-20", 0.05), ("2022-10-20", 0.05)])
    x.urine(p, [("2022-06-15", 150), ("2022-07-20", 90), ("2022-08-20", 50),
                ("2022-09-20", 40), ("2022-10-20", 40)])
    dara102 = every("2021-10-15", 7, 8) + until("2021-12-17", 14, "2022-06-10")
    x.drug(p, DARA, dara102, "DARZALEX FASPRO 1800 mg SC")
    x.drug(p, DEX, dara102, "dexamethasone 20 mg")
    x.drug(p, SEL, until("2021-12-20", 7, "2022-06-06"), "XPOVIO 100 mg PO weekly")
    tec102 = [D("2022-06-20"), D("2022-06-23"), D("2022-06-26")]
    tec102 += until("2022-07-03", 7, "2023-01-29")
    x.drug(p, TEC, tec102, "TECVAYLI SC")


def _p103(x: Instance) -> None:
    """P103 EPd in g/L; pause of 123 days without progression -> the same EPd again is a
    new line."""
    p = 103
    x.person(p, obs_end="2023-12-31")
    x.car_t(p, CILTA, "2022-01-15")
    x.serum(p, [("2022-01-10", 4.0), ("2022-02-15", 1.5), ("2022-03-15", 0.8),
                ("2022-04-15", 1.4), ("2022-05-10", 1.8), ("2022-06-20", 0.8),
                ("2022-07-20", 0.7), ("2022-08-20", 0.65), ("2022-09-20", 0.65),
                ("2022-10-20", 0.66), ("2022-12-01", 0.7), ("2023-01-05", 1.1),
                ("2023-02-10", 0.9), ("2023-03-10", 0.75), ("2023-04-10", 0.7),
                ("2023-05-10", 0.5), ("2023-06-10", 0.48)], unit=G_L)
    elo1 = [D(s) for s in ("2022-05-20", "2022-05-27", "2022-06-03", "2022-06-10",
                           "2022-07-15", "2022-08-12", "2022-09-09")]
    pom1 = [D(s) for s in ("2022-05-20", "2022-06-17", "2022-07-15", "2022-08-12",
                           "2022-09-09")]
    elo2 = [*until("2023-01-10", 28, "2023-06-10"), D("2023-06-10")]
    x.drug(p, ELO, elo1 + elo2, "EMPLICITI 10 mg/kg IV")
    x.drug(p, POM, pom1 + elo2, "POMALYST 4 mg")
    x.drug(p, DEX, elo1 + elo2, "dexamethasone 40 mg")


def _p104(x: Instance) -> None:
    """P104 dara-dex; bortezomib (a PI) added 46 days after the start: same line (OHDSI (d))."""
    p = 104
    x.person(p, obs_end="2023-09-30")
    x.car_t(p, IDE, "2022-05-01")
    x.serum(p, [("2022-04-28", 2.0), ("2022-06-01", 0.6), ("2022-07-01", 0.3),
                ("2022-08-01", 0.2), ("2022-09-01", 0.8), ("2022-09-29", 1.1),
                ("2022-11-10", 0.7), ("2022-12-10", 0.5), ("2023-01-10", 0.3),
                ("2023-02-10", 0.25), ("2023-03-10", 0.25)])
    dara104 = until("2022-10-10", 7, "2023-03-31")
    x.drug(p, DARA, dara104, "daratumumab 16 mg/kg IV")
    x.drug(p, DEX, dara104, "dexamethasone 20 mg")
    x.drug(p, BORT, until("2022-11-25", 7, "2023-03-31"), "VELCADE 1.3 mg/m2 SC")


def _p105(x: Instance) -> None:
    """P105 Isa-Rd; pomalidomide (a second IMiD) added at day 50 -> new line (no exception)."""
    p = 105
    x.person(p, obs_end="2023-06-30")
    x.car_t(p, CILTA, "2021-09-01")
    x.serum(p, [("2021-08-30", 3.0), ("2021-10-01", 1.0), ("2021-11-01", 0.5),
                ("2021-12-01", 0.4), ("2022-01-05", 1.0), ("2022-02-01", 1.6),
                ("2022-03-01", 1.15), ("2022-03-29", 1.1), ("2022-05-01", 0.5),
                ("2022-06-01", 0.45), ("2022-07-01", 0.4), ("2022-09-01", 0.45),
                ("2022-12-01", 0.95), ("2023-01-05", 1.2)])
    isa105 = until("2022-02-10", 7, "2022-03-31") + until("2022-04-14", 14, "2022-06-23")
    x.drug(p, ISA, isa105, "SARCLISA 10 mg/kg IV")
    x.drug(p, DEX, isa105, "dexamethasone 40 mg")
    x.drug(p, LEN, ["2022-02-10", "2022-03-10"], "REVLIMID 25 mg")
    x.drug(p, POM, ["2022-04-01", "2022-04-29", "2022-05-27", "2022-06-24"], "POMALYST 4 mg")


def _p106(x: Instance) -> None:
    """P106 steroid alone, bone agent, antiviral after the index: not lines; then SVd."""
    p = 106
    x.person(p, death="2023-02-01")
    x.car_t(p, CILTA, "2022-02-01")
    x.serum(p, [("2022-01-28", 2.2), ("2022-03-01", 0.4), ("2022-04-01", 0.2),
                ("2022-05-02", 0.9), ("2022-05-30", 1.1), ("2022-06-28", 1.3),
                ("2022-07-25", 1.4), ("2022-09-01", 1.3), ("2022-10-01", 1.2),
                ("2022-11-01", 1.25), ("2022-12-01", 1.9), ("2023-01-03", 2.1)])
    x.drug(p, DEX, until("2022-06-01", 7, "2022-06-29"), "dexamethasone 40 mg PO weekly")
    x.drug(p, ZOL, ["2022-06-05", "2022-07-05"], "ZOMETA 4 mg IV")
    x.drug(p, ACV, "2022-06-01", "acyclovir 400 mg PO BID", end="2022-12-31")
    svd = until("2022-08-01", 7, "2022-11-28")
    x.drug(p, SEL, svd, "selinexor 100 mg")
    x.drug(p, BORT, svd, "bortezomib 1.3 mg/m2 SC")
    x.drug(p, DEX, svd, "dexamethasone 40 mg")


def _p107(x: Instance) -> None:
    """P107 KPd; confirmed PD on the line, same KPd continued without pause -> new line."""
    p = 107
    x.person(p, death="2023-01-20")
    x.car_t(p, IDE, "2021-11-01")
    x.serum(p, [("2021-10-28", 2.8), ("2021-12-01", 1.0), ("2022-01-01", 0.6),
                ("2022-02-01", 1.2), ("2022-03-01", 1.5), ("2022-04-05", 0.6),
                ("2022-05-05", 0.5), ("2022-06-05", 0.45), ("2022-07-05", 1.0),
                ("2022-08-02", 1.2), ("2022-09-02", 1.3), ("2022-10-02", 1.5),
                ("2022-11-02", 1.8), ("2022-12-01", 2.0)])
    cyc107 = until("2022-03-10", 28, "2022-10-20")
    carf107 = [c + timedelta(days=k) for c in cyc107 for k in (0, 7, 14)]
    x.drug(p, CARF, carf107, "carfilzomib 56 mg/m2")
    x.drug(p, DEX, carf107, "dexamethasone 40 mg")
    x.drug(p, POM, cyc107, "pomalidomide 4 mg PO")


def _p108(x: Instance) -> None:
    """P108 salvage HDM + ASCT, lenalidomide maintenance, PD, then talquetamab."""
    p = 108
    x.person(p, obs_end="2023-06-30")
    x.car_t(p, CILTA, "2021-04-01")
    x.serum(p, [("2021-03-28", 3.5), ("2021-05-01", 1.0), ("2021-06-01", 0.5),
                ("2021-07-01", 1.1), ("2021-07-29", 1.3), ("2021-08-15", 1.6),
                ("2021-09-20", 0.5), ("2021-10-20", 0.15), ("2021-11-20", 0.1),
                ("2022-01-20", 0.1), ("2022-03-20", 0.1), ("2022-06-20", 0.7),
                ("2022-07-20", 1.2), ("2022-09-01", 0.5), ("2022-10-01", 0.1),
                ("2022-11-01", 0.08), ("2022-12-01", 0.08)])
    x.urine(p, [("2021-08-15", 120), ("2021-10-20", 50), ("2021-11-20", 30),
                ("2022-07-20", 150), ("2022-10-01", 40), ("2022-11-01", 30)])
    x.drug(p, MEL, "2021-08-20", "melphalan 200 mg/m2 IV")
    x.proc(p, HSCT, "2021-08-22", "autologous stem cell transplant")
    x.drug(p, LEN, until("2021-10-01", 28, "2022-07-08"), "lenalidomide 10 mg PO")
    tal108 = [D("2022-08-01"), D("2022-08-03"), D("2022-08-05")]
    tal108 += until("2022-08-12", 7, "2023-01-27")
    x.drug(p, TAL, tal108, "TALVEY SC")


def _p109(x: Instance) -> None:
    """P109 second CAR T (cilta after ide-cel) with apheresis, bridging bortezomib, Flu/Cy."""
    p = 109
    x.person(p, obs_end="2023-03-01")
    x.car_t(p, IDE, "2021-03-15")
    x.serum(p, [("2021-03-10", 2.4), ("2021-04-15", 0.9), ("2021-05-15", 0.4),
                ("2021-06-15", 1.0), ("2021-07-13", 1.3), ("2021-08-25", 1.0),
                ("2021-09-30", 0.4), ("2021-10-30", 0.05), ("2021-11-30", 0.0),
                ("2022-01-30", 0.0), ("2022-03-30", 0.0)])
    x.urine(p, [("2021-08-25", 90), ("2021-10-30", 0), ("2021-11-30", 0), ("2022-01-30", 0)])
    x.proc(p, APHERESIS, "2021-07-20", "leukapheresis for CAR-T")
    bridge = ["2021-07-25", "2021-08-01", "2021-08-08", "2021-08-15"]
    x.drug(p, BORT, bridge, "bortezomib 1.3 mg/m2 SC (bridging)")
    x.drug(p, DEX, bridge, "dexamethasone 20 mg")
    for d in ("2021-08-25", "2021-08-26", "2021-08-27"):
        x.drug(p, FLU, d, "fludarabine 30 mg/m2")
        x.drug(p, CY, d, "cyclophosphamide 300 mg/m2")
    x.drug(p, CILTA, "2021-08-30", "CARVYKTI infusion")


def _p110(x: Instance) -> None:
    """P110 elranatamab step-up (premedication dex) -> PD -> forimtamig (local concept)."""
    p = 110
    x.person(p, obs_end="2023-10-01")
    x.car_t(p, CILTA, "2022-06-01")
    x.serum(p, [("2022-05-28", 1.8), ("2022-07-01", 0.5), ("2022-08-01", 0.2),
                ("2022-09-01", 0.1), ("2022-10-03", 0.7), ("2022-11-01", 1.1),
                ("2022-12-10", 0.6), ("2023-01-10", 0.55), ("2023-02-10", 0.5),
                ("2023-03-10", 0.45), ("2023-04-05", 1.0), ("2023-05-03", 1.2),
                ("2023-06-15", 0.5), ("2023-07-15", 0.4), ("2023-08-15", 0.4),
                ("2023-09-15", 0.45)])
    el110 = [D("2022-11-10"), D("2022-11-14"), *until("2022-11-21", 7, "2023-04-24")]
    x.drug(p, ELRAN, el110, "ELREXFIO SC")
    x.drug(p, DEX, el110[:3], "dexamethasone 20 mg IV premed")
    x.drug(p, FORIM, until("2023-05-15", 7, "2023-08-28"), "RG6234 study drug, protocol 17")


def _p111(x: Instance) -> None:
    """P111 kappa light-chain (serum M 0): index by dFLC rise; teclistamab, VGPR by dFLC."""
    p = 111
    x.person(p, obs_end="2023-06-30")
    x.car_t(p, CILTA, "2022-02-10")
    fl = [("2022-02-05", 850, 8), ("2022-03-10", 60, 9), ("2022-04-10", 25, 10),
          ("2022-05-10", 40, 10), ("2022-06-10", 180, 10), ("2022-07-08", 260, 10),
          ("2022-08-15", 100, 10), ("2022-09-15", 20, 10), ("2022-10-15", 15, 10),
          ("2022-11-15", 15, 11), ("2023-01-15", 16, 11)]
    x.flc(p, fl, unit=MG_L)
    x.serum(p, [(d, 0.0) for d, _, _ in fl])
    tec111 = [D("2022-07-15"), D("2022-07-18"), D("2022-07-21")]
    tec111 += until("2022-07-28", 7, "2022-12-29")
    x.drug(p, TEC, tec111, "teclistamab SC")


def _p112(x: Instance) -> None:
    """P112 lambda light-chain, FLC in mg/dL; rises < 10 mg/dL are not PD; belantamab, PR
    then PD."""
    p = 112
    x.person(p, death="2022-11-01")
    x.car_t(p, IDE, "2021-10-05")
    fl = [("2021-10-01", 0.5, 45), ("2021-11-05", 0.5, 5), ("2021-12-05", 0.5, 2),
          ("2022-01-05", 0.5, 9), ("2022-02-05", 0.5, 11), ("2022-03-07", 0.5, 14),
          ("2022-04-04", 0.5, 16), ("2022-05-10", 0.5, 8), ("2022-06-10", 0.5, 7),
          ("2022-07-10", 0.5, 4), ("2022-08-10", 0.5, 20), ("2022-09-08", 0.5, 25)]
    x.flc(p, fl, unit=MG_DL)
    bela = until("2022-04-20", 21, "2022-08-03")
    x.drug(p, BELA, bela, "BLENREP 2.5 mg/kg IV")
    x.drug(p, DEX, bela, "dexamethasone 40 mg")


def _p113(x: Instance) -> None:
    """P113 unconfirmed single rise; later DPd without lab progression -> index at the
    therapy."""
    p = 113
    x.person(p, obs_end="2023-05-01")
    x.car_t(p, CILTA, "2022-01-20")
    x.serum(p, [("2022-01-15", 2.0), ("2022-02-20", 0.5), ("2022-03-20", 0.3),
                ("2022-04-20", 0.9), ("2022-05-20", 0.35), ("2022-06-20", 0.4),
                ("2022-07-25", 0.45), ("2022-09-01", 0.2), ("2022-10-01", 0.15),
                ("2022-11-01", 0.1), ("2022-12-01", 0.1)])
    dara113 = until("2022-08-01", 7, "2022-09-19") + until("2022-10-03", 14, "2022-12-26")
    x.drug(p, DARA, dara113, "DARZALEX FASPRO SC")
    x.drug(p, DEX, dara113, "dexamethasone 40 mg")
    x.drug(p, POM, until("2022-08-01", 28, "2022-12-19"), "pomalidomide 4 mg")


def _p114_p116(x: Instance) -> None:
    """P114 response, death before any progression, no therapy: not in the cohort.
    P115 single (unconfirmed) PD then death before confirmation, no therapy: not in the
    cohort. P116 confirmed progression then death, no salvage therapy: in the cohort, no
    line."""
    p = 114
    x.person(p, death="2022-09-01")
    x.car_t(p, CILTA, "2022-03-01")
    x.serum(p, [("2022-02-25", 2.0), ("2022-04-01", 0.6), ("2022-05-01", 0.3),
                ("2022-06-01", 0.25), ("2022-08-01", 0.3)])
    p = 115
    x.person(p, death="2022-07-20")
    x.car_t(p, IDE, "2022-04-01")
    x.serum(p, [("2022-03-28", 2.5), ("2022-05-01", 0.8), ("2022-06-01", 0.5),
                ("2022-07-01", 1.2)])
    p = 116
    x.person(p, death="2022-05-10")
    x.car_t(p, CILTA, "2021-12-01")
    x.serum(p, [("2021-11-28", 3.0), ("2022-01-01", 1.0), ("2022-02-01", 0.6),
                ("2022-03-01", 1.3), ("2022-03-29", 1.6)])


def _p117(x: Instance) -> None:
    """P117 nadir >= 5 g/dL (values in g/L): +1.1 g/dL (20 %) is PD; talquetamab, PR."""
    p = 117
    x.person(p, obs_end="2023-06-30")
    x.car_t(p, CILTA, "2022-07-01")
    x.serum(p, [("2022-06-27", 7.0), ("2022-08-01", 6.0), ("2022-09-01", 5.5),
                ("2022-10-01", 6.6), ("2022-11-01", 6.8), ("2022-12-05", 3.0),
                ("2023-01-05", 2.5), ("2023-02-05", 2.0), ("2023-03-05", 2.0),
                ("2023-04-05", 2.2)], unit=G_L)
    tal117 = [D("2022-11-07"), D("2022-11-09"), D("2022-11-11")]
    tal117 += until("2022-11-18", 7, "2023-04-28")
    x.drug(p, TAL, tal117, "talquetamab SC")


def _p118(x: Instance) -> None:
    """P118 IsaKd: a 90-day pause (same line), later a 91-day pause (new line, same drugs)."""
    p = 118
    x.person(p, obs_end="2022-12-31")
    x.car_t(p, CILTA, "2021-05-01")
    x.serum(p, [("2021-04-27", 2.0), ("2021-06-01", 0.6), ("2021-07-01", 0.4),
                ("2021-08-02", 1.0), ("2021-08-30", 1.2), ("2021-10-01", 0.5),
                ("2021-11-01", 0.4), ("2021-12-01", 0.4), ("2022-01-05", 0.45),
                ("2022-02-01", 0.5), ("2022-03-01", 0.45), ("2022-04-01", 0.5),
                ("2022-05-01", 0.55), ("2022-05-25", 0.55), ("2022-07-01", 0.3),
                ("2022-08-01", 0.25), ("2022-09-01", 0.25)])
    isakd = (until("2021-09-10", 7, "2021-11-05")
             + [D(s) for s in ("2022-02-03", "2022-02-10", "2022-02-17", "2022-03-03")]
             + [D(s) for s in ("2022-06-02", "2022-06-09", "2022-06-16", "2022-06-30",
                               "2022-07-14")])  # fmt: skip
    x.drug(p, ISA, isakd, "isatuximab 10 mg/kg")
    x.drug(p, CARF, isakd, "carfilzomib 56 mg/m2")
    x.drug(p, DEX, isakd, "dexamethasone 20 mg")


def _p119(x: Instance) -> None:
    """P119 PVd, cyclophosphamide added at day 18 (in window), daratumumab added at day 45
    (not an IMiD/PI) -> new line."""
    p = 119
    x.person(p, obs_end="2023-10-01")
    x.car_t(p, IDE, "2022-08-01")
    x.serum(p, [("2022-07-28", 2.6), ("2022-09-01", 0.9), ("2022-10-01", 0.5),
                ("2022-11-01", 1.1), ("2022-12-01", 1.4), ("2023-01-05", 0.9),
                ("2023-01-20", 0.8), ("2023-02-20", 0.35), ("2023-03-20", 0.3),
                ("2023-04-20", 0.2), ("2023-06-20", 0.25), ("2023-08-20", 0.3)])
    bort119 = until("2022-12-10", 7, "2023-04-29")
    x.drug(p, BORT, bort119, "bortezomib SC")
    x.drug(p, DEX, bort119, "dexamethasone 20 mg")
    x.drug(p, POM, until("2022-12-10", 28, "2023-04-01"), "pomalidomide 4 mg")
    x.drug(p, CY, until("2022-12-28", 7, "2023-04-26"), "cyclophosphamide 300 mg/m2 PO")
    x.drug(p, DARA, until("2023-01-24", 7, "2023-04-25"), "daratumumab SC")


def _p120(x: Instance) -> None:
    """P120 index PD whose confirmation comes after the first salvage therapy started."""
    p = 120
    x.person(p, obs_end="2023-03-01")
    x.car_t(p, CILTA, "2022-03-15")
    x.serum(p, [("2022-03-10", 2.2), ("2022-04-15", 0.5), ("2022-05-15", 0.3),
                ("2022-06-15", 0.9), ("2022-07-13", 1.1), ("2022-08-13", 0.5),
                ("2022-09-13", 0.4), ("2022-10-13", 0.35), ("2022-12-13", 0.4)])
    kd120 = until("2022-06-28", 7, "2022-10-25")
    x.drug(p, CARF, kd120, "carfilzomib 70 mg/m2")
    x.drug(p, DEX, kd120, "dexamethasone 40 mg")


def _p121(x: Instance) -> None:
    """P121 ERd, PD on 2022-04-05, teclistamab started 2022-04-20 before the PD is
    confirmed."""
    p = 121
    x.person(p, obs_end="2023-01-01")
    x.car_t(p, CILTA, "2021-08-01")
    x.serum(p, [("2021-07-28", 3.0), ("2021-09-01", 1.0), ("2021-10-01", 0.6),
                ("2021-11-01", 1.2), ("2021-11-29", 1.4), ("2022-01-05", 0.7),
                ("2022-02-05", 0.65), ("2022-03-05", 0.6), ("2022-04-05", 1.2),
                ("2022-05-05", 1.5), ("2022-06-05", 0.5), ("2022-07-05", 0.1),
                ("2022-08-05", 0.05), ("2022-09-05", 0.05)])
    x.urine(p, [("2022-04-05", 120), ("2022-07-05", 40), ("2022-08-05", 30),
                ("2022-09-05", 30)])
    elo121 = until("2021-12-06", 7, "2022-04-18")
    x.drug(p, ELO, elo121, "elotuzumab 10 mg/kg")
    x.drug(p, DEX, elo121, "dexamethasone 28 mg")
    x.drug(p, LEN, until("2021-12-06", 28, "2022-03-28"), "lenalidomide 25 mg")
    tec121 = [D("2022-04-20"), D("2022-04-22"), D("2022-04-25")]
    tec121 += until("2022-05-02", 7, "2022-09-26")
    x.drug(p, TEC, tec121, "teclistamab SC")


def _p122(x: Instance) -> None:
    """P122 Tec-Dara, dara dropped (same line), talquetamab switch without PD (new line)."""
    p = 122
    x.person(p, obs_end="2023-12-31")
    x.car_t(p, CILTA, "2022-09-01")
    x.serum(p, [("2022-08-28", 2.0), ("2022-10-01", 0.5), ("2022-11-01", 0.3),
                ("2022-12-01", 0.9), ("2023-01-03", 1.1), ("2023-02-05", 0.5),
                ("2023-03-05", 0.4), ("2023-04-01", 0.35), ("2023-05-05", 0.3),
                ("2023-06-05", 0.25), ("2023-07-05", 0.2), ("2023-08-05", 0.2)])
    x.drug(p, TEC, [D("2023-01-10"), D("2023-01-12"), D("2023-01-14"),
                    *until("2023-01-21", 7, "2023-03-25")], "teclistamab SC")
    x.drug(p, DARA, until("2023-01-10", 7, "2023-02-28"), "daratumumab SC")
    x.drug(p, TAL, [D("2023-04-05"), D("2023-04-07"), D("2023-04-09"),
                    *until("2023-04-16", 7, "2023-08-27")], "talquetamab SC")


def _p123(x: Instance) -> None:
    """P123 SKd, SD then PD; death; a lab dated after death."""
    p = 123
    x.person(p, death="2022-03-20")
    x.car_t(p, IDE, "2021-07-10")
    x.serum(p, [("2021-07-05", 3.2), ("2021-08-10", 1.2), ("2021-09-10", 0.8),
                ("2021-10-11", 1.5), ("2021-11-08", 1.8), ("2021-12-15", 1.5),
                ("2022-01-15", 1.4), ("2022-02-15", 2.0), ("2022-03-01", 2.4),
                ("2022-04-01", 3.0)])
    skd = until("2021-11-15", 7, "2022-02-21")
    x.drug(p, SEL, skd, "selinexor 80 mg")
    x.drug(p, CARF, skd, "carfilzomib 56 mg/m2")
    x.drug(p, DEX, skd, "dexamethasone 20 mg")


def _p124(x: Instance) -> None:
    """P124 oral pomalidomide as continued exposures (21-day rows) + weekly dex only."""
    p = 124
    x.person(p, obs_end="2023-06-30")
    x.car_t(p, CILTA, "2022-04-10")
    x.serum(p, [("2022-04-05", 2.4), ("2022-05-10", 0.7), ("2022-06-10", 0.4),
                ("2022-07-11", 1.0), ("2022-08-08", 1.3), ("2022-09-10", 0.6),
                ("2022-10-10", 0.5), ("2022-11-10", 0.45), ("2022-12-10", 0.45)])
    for s, e in (("2022-08-15", "2022-09-04"), ("2022-09-12", "2022-10-02"),
                 ("2022-10-10", "2022-10-30"), ("2022-11-07", "2022-11-27")):
        x.drug(p, POM, s, "pomalidomide 4 mg PO days 1-21", end=e)
    x.drug(p, DEX, until("2022-08-15", 7, "2022-11-28"), "dexamethasone 40 mg PO")


def _p125(x: Instance) -> None:
    """P125 dara-pom-dex, pomalidomide as long continued exposures: gaps from the last day."""
    p = 125
    x.person(p, obs_end="2023-01-31")
    x.car_t(p, CILTA, "2021-07-01")
    x.serum(p, [("2021-06-27", 2.0), ("2021-08-01", 0.6), ("2021-09-01", 0.4),
                ("2021-10-01", 1.0), ("2021-10-29", 1.2), ("2021-12-01", 0.5),
                ("2022-01-01", 0.3), ("2022-02-01", 0.25), ("2022-04-01", 0.25),
                ("2022-06-01", 0.3), ("2022-08-01", 0.3), ("2022-10-01", 0.3)])
    dara125 = [*every("2021-11-08", 7, 8), D("2022-01-10"), D("2022-01-24")]
    x.drug(p, DARA, dara125, "daratumumab 16 mg/kg IV")
    x.drug(p, DEX, dara125, "dexamethasone 40 mg")
    x.drug(p, POM, "2021-11-08", "pomalidomide 4 mg PO", end="2022-04-30")
    x.drug(p, POM, "2022-07-15", "pomalidomide 3 mg PO", end="2022-10-31")


def _p126(x: Instance) -> None:
    """P126 radiotherapy course alone (local procedure concept), then Dara-Kd."""
    p = 126
    x.person(p, obs_end="2023-06-30")
    x.car_t(p, CILTA, "2022-05-05")
    x.serum(p, [("2022-05-01", 2.0), ("2022-06-05", 0.6), ("2022-07-05", 0.5),
                ("2022-08-05", 1.1), ("2022-09-02", 1.4), ("2022-10-01", 1.3),
                ("2022-11-20", 0.6), ("2022-12-20", 0.5), ("2023-01-20", 0.45)])
    for d in every("2022-09-12", 1, 5) + every("2022-09-19", 1, 5):
        x.proc(p, RT_FRACTION, d.isoformat(), "radiotherapy fraction T10 8 Gy")
    dkd = until("2022-10-20", 7, "2023-01-26")
    x.drug(p, DARA, dkd, "daratumumab SC")
    x.drug(p, CARF, dkd, "carfilzomib 56 mg/m2")
    x.drug(p, DEX, dkd, "dexamethasone 40 mg")


def _p127(x: Instance) -> None:
    """P127 linvoseltamab (local concept); >= 90 % serum fall twice, no urine ever measured."""
    p = 127
    x.person(p, obs_end="2023-03-01")
    x.car_t(p, IDE, "2022-01-05")
    x.serum(p, [("2021-12-30", 1.5), ("2022-02-05", 0.4), ("2022-03-05", 0.2),
                ("2022-04-05", 0.8), ("2022-05-03", 1.1), ("2022-06-05", 0.3),
                ("2022-07-05", 0.1), ("2022-08-05", 0.05), ("2022-09-05", 0.05)])
    x.drug(p, LINVO, [D("2022-05-10"), D("2022-05-17"), *until("2022-05-24", 7, "2022-10-25")],
           "linvoseltamab (REGN5458) SC")


def _p128(x: Instance) -> None:
    """P128 teclistamab: serum/urine IFE negative, marrow 2 %, normal FLC ratio -> sCR."""
    p = 128
    x.person(p, obs_end="2022-06-30")
    x.car_t(p, CILTA, "2021-02-01")
    x.serum(p, [("2021-01-28", 2.0), ("2021-03-01", 0.5), ("2021-04-01", 0.3),
                ("2021-05-03", 0.9), ("2021-06-01", 1.2), ("2021-07-10", 0.3),
                ("2021-08-10", 0.05), ("2021-09-10", 0.0), ("2021-10-10", 0.0),
                ("2021-11-10", 0.0)])
    for d in ("2021-09-10", "2021-10-10", "2021-11-10"):
        x.ife(p, d, "serum", NEG)
        x.ife(p, d, "urine", NEG)
    x.flc(p, [("2021-09-10", 15, 12), ("2021-10-10", 14, 12), ("2021-11-10", 15, 13)],
          unit=MG_L)
    x.marrow(p, "2021-09-08", 2.0)
    x.drug(p, TEC, [D("2021-06-10"), D("2021-06-12"), D("2021-06-14"),
                    *until("2021-06-21", 7, "2022-01-31")], "teclistamab SC")


def _p129(x: Instance) -> None:
    """P129 elranatamab: M-protein "Not detected" (concept 9190) twice, urine 0, no IFE ->
    VGPR."""
    p = 129
    x.person(p, obs_end="2023-03-31")
    x.car_t(p, CILTA, "2022-02-15")
    x.serum(p, [("2022-02-10", 1.8), ("2022-03-15", 0.5), ("2022-04-15", 0.3),
                ("2022-05-16", 0.9), ("2022-06-13", 1.2), ("2022-07-20", 0.3),
                ("2022-08-20", None), ("2022-09-20", None), ("2022-10-20", 0.0)])
    x.urine(p, [("2022-06-13", 150), ("2022-08-20", 0), ("2022-09-20", 0)])
    x.drug(p, ELRAN, [D("2022-06-20"), D("2022-06-23"), *until("2022-06-30", 7, "2022-12-29")],
           "elranatamab SC")


def _p130(x: Instance) -> None:
    """P130 index by a urine M-protein rise (serum low); urine is the line's parameter; DKd."""
    p = 130
    x.person(p, obs_end="2022-12-31")
    x.car_t(p, IDE, "2021-09-20")
    x.serum(p, [("2021-09-15", 2.0), ("2021-10-20", 0.6), ("2021-11-20", 0.5),
                ("2021-12-20", 0.55), ("2022-01-18", 0.6), ("2022-03-01", 0.3),
                ("2022-04-01", 0.2), ("2022-05-01", 0.1), ("2022-06-01", 0.1)])
    x.urine(p, [("2021-09-15", 600), ("2021-10-20", 100), ("2021-11-20", 80),
                ("2021-12-20", 350), ("2022-03-01", 250), ("2022-04-01", 150),
                ("2022-05-01", 40), ("2022-06-01", 30)])
    x.urine(p, [("2022-01-18", 500)], unit=G_24H)  # 0.5 g/24h
    dkd130 = until("2022-02-01", 7, "2022-06-28")
    x.drug(p, DARA, dkd130, "daratumumab SC")
    x.drug(p, CARF, dkd130, "carfilzomib 56 mg/m2")
    x.drug(p, DEX, dkd130, "dexamethasone 40 mg")


INSTANCE_A: tuple[Patient, ...] = (
    _p101, _p102, _p103, _p104, _p105, _p106, _p107, _p108, _p109, _p110, _p111, _p112,
    _p113, _p114_p116, _p117, _p118, _p119, _p120, _p121, _p122, _p123, _p124, _p125,
    _p126, _p127, _p128, _p129, _p130,
)  # fmt: skip


# =====================================================================================
# Instance D: exact-threshold cases (inclusive >= / strict > / < as the docs write them)
# =====================================================================================

KD = until("2022-06-20", 7, "2022-08-29")


def _kd(x: Instance, p: int) -> None:
    x.drug(p, CARF, KD, "carfilzomib")
    x.drug(p, DEX, KD, "dexamethasone")


def _cilta_2022(x: Instance, p: int) -> None:
    """The person ``p`` of instance D: observed to 2022-12-31, cilta-cel on 2022-01-10."""
    x.person(p, obs_end="2022-12-31")
    x.car_t(p, CILTA, "2022-01-10")


def _p401_p403(x: Instance) -> None:
    """401 PD by a rise of exactly +0.5 g/dL from a 0.2 nadir (0.7 - 0.2 is
    0.49999999999999994 in floats). 402 VGPR by exactly 90 % (1.3 -> 0.13) twice, urine 50.
    403 PR by exactly 50 % (1.4 -> 0.7) twice."""
    _cilta_2022(x, 401)
    x.serum(401, [("2022-01-06", 2.0), ("2022-02-10", 0.5), ("2022-03-10", 0.2),
                  ("2022-04-11", 0.7), ("2022-05-09", 0.8), ("2022-06-06", 1.0),
                  ("2022-07-20", 0.45), ("2022-08-20", 0.4)])
    _kd(x, 401)
    _cilta_2022(x, 402)
    x.serum(402, [("2022-01-06", 2.0), ("2022-02-10", 0.6), ("2022-03-10", 0.4),
                  ("2022-04-11", 1.0), ("2022-05-09", 1.3), ("2022-06-30", 0.5),
                  ("2022-07-20", 0.13), ("2022-08-20", 0.13)])
    x.urine(402, [("2022-05-09", 150), ("2022-07-20", 50), ("2022-08-20", 50)])
    _kd(x, 402)
    _cilta_2022(x, 403)
    x.serum(403, [("2022-01-06", 2.0), ("2022-02-10", 0.6), ("2022-03-10", 0.4),
                  ("2022-04-11", 1.0), ("2022-05-09", 1.4), ("2022-07-20", 0.7),
                  ("2022-08-20", 0.7)])
    _kd(x, 403)


def _p404_p405(x: Instance) -> None:
    """404 kappa light chain (mg/L): dFLC +10.0 exactly is not PD (> 10 needed); +10.5 is.
    405 urine rise of exactly +200 mg/24h (100 -> 300) is PD; serum low."""
    _cilta_2022(x, 404)
    fl = [("2022-01-06", 500, 10), ("2022-02-10", 40, 10), ("2022-03-10", 30, 10),
          ("2022-04-11", 130, 10), ("2022-05-09", 135, 10), ("2022-06-06", 160, 10),
          ("2022-07-20", 40, 10), ("2022-08-20", 30, 10)]
    x.flc(404, fl)
    x.serum(404, [(d, 0.0) for d, _, _ in fl])
    x.drug(404, TEC, until("2022-06-20", 7, "2022-09-26"), "teclistamab")
    _cilta_2022(x, 405)
    x.serum(405, [("2022-01-06", 2.0), ("2022-02-10", 0.5), ("2022-03-10", 0.4),
                  ("2022-04-11", 0.45), ("2022-05-09", 0.45)])
    x.urine(405, [("2022-01-06", 400), ("2022-02-10", 150), ("2022-03-10", 100),
                  ("2022-04-11", 300), ("2022-05-09", 350)])
    _kd(x, 405)


def _p406_p407(x: Instance) -> None:
    """406 rise of exactly 25 % and +0.5 (2.0 -> 2.5), confirmed 2.6.
    407 nadir exactly 5.0 g/dL (50 g/L) -> 6.0 (+1.0, 20 %): PD; confirmed 6.1."""
    _cilta_2022(x, 406)
    x.serum(406, [("2022-01-06", 6.0), ("2022-02-10", 3.0), ("2022-03-10", 2.0),
                  ("2022-04-11", 2.5), ("2022-05-09", 2.6)])
    _kd(x, 406)
    _cilta_2022(x, 407)
    x.serum(407, [("2022-01-06", 8.0), ("2022-02-10", 6.0), ("2022-03-10", 5.0),
                  ("2022-04-11", 6.0), ("2022-05-09", 6.1)], unit=G_L)
    _kd(x, 407)


def _p408_p410(x: Instance) -> None:
    """408 urine parameter: 600 -> 250, 200, 200 (200 is not < 200; 67 % < 90 %): SD.
    410 MR by exactly 25 % (1.2 -> 0.9) twice."""
    _cilta_2022(x, 408)
    x.serum(408, [("2022-01-06", 2.0), ("2022-02-10", 0.6), ("2022-03-10", 0.5),
                  ("2022-04-11", 0.55), ("2022-05-09", 0.6), ("2022-07-05", 0.5),
                  ("2022-07-20", 0.5), ("2022-08-20", 0.5)])
    x.urine(408, [("2022-01-06", 600), ("2022-02-10", 100), ("2022-03-10", 80),
                  ("2022-04-11", 350), ("2022-05-09", 600), ("2022-07-05", 250),
                  ("2022-07-20", 200), ("2022-08-20", 200)])
    _kd(x, 408)
    _cilta_2022(x, 410)
    x.serum(410, [("2022-01-06", 2.0), ("2022-02-10", 0.6), ("2022-03-10", 0.4),
                  ("2022-04-11", 1.0), ("2022-05-09", 1.2), ("2022-07-20", 0.9),
                  ("2022-08-20", 0.9)])
    _kd(x, 410)


INSTANCE_D: tuple[Patient, ...] = (_p401_p403, _p404_p405, _p406_p407, _p408_p410)

INSTANCES: dict[str, tuple[Patient, ...]] = {"A": INSTANCE_A, "D": INSTANCE_D}


def instance(name: str) -> Instance:
    """The rows of instance ``name`` (``"A"`` or ``"D"``)."""
    x = Instance()
    patients: Iterable[Patient] = INSTANCES[name]
    for patient in patients:
        patient(x)
    return x


def write_a(folder: Path) -> Path:
    """Write instance A (persons 101-130) to ``folder`` as OMOP Parquet tables."""
    return instance("A").write(Path(folder))


def write_d(folder: Path) -> Path:
    """Write instance D (persons 401-410, exact IMWG thresholds) to ``folder``."""
    return instance("D").write(Path(folder))


def labels(name: str) -> list[dict[str, str]]:
    """The hand labels of instance ``name``: rows ``person_id, field, expected, rule``."""
    path = DATA / f"expected_{name.lower()}.csv"
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))
