"""``drug_exposure_end_date`` / ``days_supply``: an oral course recorded as one row lengthens
its line (issue 13; lines rule "continued exposure", ``[lines] exposure_end_dates``)."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from handmade import LOCAL_TOML, tables

from aftercar.derive.omop import derive_omop

D = date.fromisoformat
#: Person 1's second line (forimtamig weekly 2022-11-10 .. 2023-01-05) with pomalidomide
#: recorded as one row from 2022-11-10; the course's last day by each way of giving it.
COURSE_START = D("2022-11-10")


def _instance(folder, how: str):
    t = tables()
    de = t["drug_exposure"]
    course = {
        "drug_exposure_id": [999],
        "person_id": [1],
        "drug_concept_id": [0],
        "drug_exposure_start_date": [COURSE_START],
        "drug_source_value": ["POMALYST 4 mg PO"],
    }
    de = pa.concat_tables([de, pa.table(course, schema=de.schema)])
    start = de["drug_exposure_start_date"]
    last = pc.equal(de["drug_exposure_id"], 999)
    if how == "end_date":
        end = pc.if_else(last, pa.scalar(D("2023-02-15")), start)
        de = de.append_column("drug_exposure_end_date", end)
    elif how == "days_supply":  # no end date column: start + days_supply - 1
        de = de.append_column("days_supply", pc.if_else(last, 98, 1).cast(pa.int64()))
    else:  # an end before the start: an error (test_input_checks.py)
        de = de.append_column(
            "drug_exposure_end_date", pc.if_else(last, pa.scalar(D("2022-10-01")), start)
        )
    t["drug_exposure"] = de
    folder.mkdir()
    for name, tab in t.items():
        pq.write_table(tab, folder / f"{name}.parquet")
    local = folder.parent / "local.toml"
    local.write_text(LOCAL_TOML, encoding="utf-8")
    return folder, local


@pytest.mark.parametrize(("how", "end"), [("end_date", D("2023-02-15")),
                                          ("days_supply", D("2023-02-15"))])  # fmt: skip
def test_an_oral_course_as_one_row_lengthens_its_line(tmp_path, how, end):
    src, local = _instance(tmp_path / "omop", how)
    lines = derive_omop(src, concepts=local).result.lines.to_pylist()
    assert [(str(r["start_date"]), r["drugs"]) for r in lines] == [
        ("2022-07-01", "dexamethasone;teclistamab"),
        ("2022-11-10", "forimtamig;pomalidomide"),
    ]
    assert lines[1]["end_date"] == end


def test_an_end_before_the_start_stops_the_run(tmp_path):
    """Read as a dose on its start date before: silently, where raw records stop (exit 2)."""
    from aftercar.errors import CohortError

    src, local = _instance(tmp_path / "omop", "backwards")
    with pytest.raises(CohortError, match="drug_exposure_id 999: the end is before the start"):
        derive_omop(src, concepts=local)
