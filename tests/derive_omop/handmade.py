"""A hand-made OMOP CDM instance, written from the rules of issue 13 and the IMWG 2016
criteria (not from aftercar's code), with the answers expected of it.

Concept ids: real OMOP ids for the standard concepts (437233 multiple myeloma,
RxNorm ingredients 779144 cilta-cel and 741578 teclistamab, LOINC 33358-3 ->
3046299 serum M-protein, 36916-5 -> 3034860 kappa FLC, units 8713 g/dL and 8751
mg/L); ids 9_000_001.. are this test's own clinical-drug and condition concepts
(descendants through concept_ancestor); ids >= 2,000,000,000 are local concepts
given in ``LOCAL_TOML`` (forimtamig, which RxNorm lacks; urine M-protein).

Patient 1 (person 1): myeloma by a descendant of 437233; cilta-cel (a clinical
drug concept whose ingredient is 779144) on 2022-01-10. Serum M-protein 3.0 g/dL
at baseline, 0.5, 0.2 (nadir), then 1.0 on 2022-06-01 (+0.8 g/dL, > 25 %: PD)
confirmed by 1.2 on 2022-06-29: index date 2022-06-01. Line 1: teclistamab weekly
from 2022-07-01 (ingredient-level concept); from the 1.2 baseline, 0.5 and 0.4
(>= 50 % reduction twice: PR), then 0.9 on 2022-10-15 (+0.5 g/dL over the 0.4
nadir, > 25 %: PD) confirmed by 1.1: best response PR, progression 2022-10-15.
Line 2: forimtamig (local concept) weekly from 2022-11-10. Dexamethasone with line 1
given once as an unmapped clinical-drug concept (read by its concept name) is part of
line 1; dexamethasone marked "premed" in its source text is premedication.
Patient 2: myeloma, ide-cel given as source text only (concept 0, "ABECMA"), no
progression and no later therapy: left out at the index step.
Patient 3: no myeloma (counted only). Patient 4: myeloma, no CAR T (listed).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

LOCAL_TOML = """\
[ingredients]
2000000001 = "forimtamig"
[measurements]
2000000101 = "urine M-protein"
[units]
2000000201 = "mg/24h"
"""

EXPECTED = {
    "index_date": date(2022, 6, 1),
    "line_starts": [date(2022, 7, 1), date(2022, 11, 10)],
    "best_response_line1": "PR",
    "progression_line1": date(2022, 10, 15),
    "steps": [4, 3, 2, 2, 1],
}

D = date.fromisoformat


def _weekly(start: str, weeks: int) -> list[date]:
    return [D(start) + timedelta(days=7 * i) for i in range(weeks)]


def tables() -> dict[str, pa.Table]:
    """The OMOP tables of the hand-made instance."""
    drugs = [(1, 9000001, D("2022-01-10"), "CARVYKTI infusion")]
    drugs += [(1, 741578, d, "TECVAYLI SC") for d in _weekly("2022-07-01", 16)]
    drugs += [(1, 0, d, "dexamethasone 16 mg IV premed") for d in _weekly("2022-07-01", 4)]
    drugs += [(1, 9000201, D("2022-07-08"), "")]  # unmapped concept: read by its name
    drugs += [(1, 2000000001, d, "study drug, protocol 12") for d in _weekly("2022-11-10", 9)]
    drugs += [(2, 0, D("2021-03-01"), "ABECMA 450 million cells IV")]
    drugs += [(4, 1336825, D("2021-05-01"), "bortezomib")]
    serum = [("2022-01-03", 3.0), ("2022-02-10", 0.5), ("2022-03-10", 0.2), ("2022-06-01", 1.0),
             ("2022-06-29", 1.2), ("2022-08-01", 0.5), ("2022-09-01", 0.4), ("2022-10-15", 0.9),
             ("2022-11-01", 1.1)]
    meas = [(1, 3046299, D(d), v, 8713, "g/dL") for d, v in serum]
    meas += [(1, 3034860, D("2022-01-03"), 25.0, 8751, "mg/L"),
             (1, 2000000101, D("2022-01-03"), 50.0, 2000000201, "mg/24 hours")]
    meas += [(2, 3046299, D(d), v, 8713, "g/dL")
             for d, v in [("2021-02-20", 2.0), ("2021-04-01", 0.3), ("2021-05-01", 0.2)]]
    n_d, n_m = len(drugs), len(meas)
    return {
        "person": pa.table({"person_id": [1, 2, 3, 4],
                            "gender_concept_id": [8507, 8532, 8507, 8532],
                            "year_of_birth": [1960, 1955, 1970, 1950]}),
        "observation_period": pa.table({"person_id": [1, 2, 3, 4],
                                        "observation_period_end_date": [D("2023-03-01")] * 4}),
        "death": pa.table({"person_id": pa.array([], pa.int64()),
                           "death_date": pa.array([], pa.date32())}),
        "condition_occurrence": pa.table({
            "person_id": [1, 2, 4], "condition_concept_id": [9000101, 437233, 437233],
            "condition_start_date": [D("2019-05-01"), D("2018-01-01"), D("2020-01-01")]}),
        "drug_exposure": pa.table({
            "drug_exposure_id": list(range(101, 101 + n_d)), "person_id": [r[0] for r in drugs],
            "drug_concept_id": [r[1] for r in drugs],
            "drug_exposure_start_date": [r[2] for r in drugs],
            "drug_source_value": [r[3] for r in drugs]}),
        "procedure_occurrence": pa.table({
            "procedure_occurrence_id": [1], "person_id": [1], "procedure_concept_id": [927059],
            "procedure_date": [D("2021-11-20")], "procedure_source_value": ["leukapheresis"]}),
        "measurement": pa.table({
            "measurement_id": list(range(501, 501 + n_m)), "person_id": [r[0] for r in meas],
            "measurement_concept_id": [r[1] for r in meas],
            "measurement_date": [r[2] for r in meas],
            "value_as_number": [r[3] for r in meas],
            "value_as_concept_id": pa.nulls(n_m, pa.int64()),
            "unit_concept_id": [r[4] for r in meas], "unit_source_value": [r[5] for r in meas],
            "measurement_source_value": pa.nulls(n_m, pa.string())}),
        "concept": pa.table({"concept_id": [9000001, 9000101, 779144, 437233, 9000201],
                             "concept_name": ["ciltacabtagene autoleucel 0.75 MU/kg Injectable",
                                              "Multiple myeloma in relapse (test concept)",
                                              "ciltacabtagene autoleucel", "Multiple myeloma",
                                              "dexamethasone 4 MG Oral Tablet"]}),
        "concept_ancestor": pa.table({"ancestor_concept_id": [779144, 437233],
                                      "descendant_concept_id": [9000001, 9000101]}),
    }  # fmt: skip


def write_duckdb(path: Path, schema: str | None = None, upper: bool = False,
                 extra: dict[str, pa.Table] | None = None) -> Path:  # fmt: skip
    """Write the instance (and ``extra`` tables) into the DuckDB file ``path``, in ``schema``
    (default ``main``), table names in upper case with ``upper`` (the OHDSI DDL's)."""
    import duckdb

    con = duckdb.connect(str(path))
    if schema:
        con.execute(f"CREATE SCHEMA {schema}")
    for name, t in {**tables(), **(extra or {})}.items():
        con.register("t", t)
        table = name.upper() if upper else name
        con.execute(f"CREATE TABLE {schema + '.' if schema else ''}{table} AS SELECT * FROM t")
        con.unregister("t")
    con.close()
    return path


def write(folder: Path, fmt: str = "parquet", drop: tuple[str, ...] = ()) -> Path:
    """Write the instance as one file per table (``drop``: tables or ``table.column``)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, t in tables().items():
        if name in drop:
            continue
        cols = [c for c in t.column_names if f"{name}.{c}" not in drop]
        t = t.select(cols)
        if fmt == "parquet":
            pq.write_table(t, folder / f"{name}.parquet")
        else:
            pacsv.write_csv(t, folder / f"{name}.csv")
    return folder
