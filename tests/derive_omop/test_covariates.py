"""Study covariates from OMOP (``derive.omop.covariates``), hand-made micro cases on DuckDB.

Each person below is written from the rules in docs/omop.md (latest record on or before
the index CAR T for ECOG and ISS; ISS from beta-2 microglobulin and albumin per Greipp
2005 when no stage is recorded; any positive record for EMD and cytogenetics, false only
from negative results), not from the code.
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from aftercar.backends import connect
from aftercar.derive.omop.concepts import load_concepts
from aftercar.derive.omop.covariates import derive_covariates, split_rows
from aftercar.derive.raw.rules import load_rules
from aftercar.errors import ConfigError
from aftercar.schema import Col

D = date.fromisoformat
INDEX = D("2022-01-10")
POS, NEG = 45884084, 45878583  # LOINC answers Positive / Negative (values.csv)
ECOG_SCORE, ECOG_GRADE_2, ECOG_GRADE_3 = 36305384, 4172043, 4174241
UNKNOWN_VALUE = 2_000_009_999  # a local concept no concepts file declares: not a result
B2M, ALBUMIN, ISS_II = 3013201, 3024561, 1634176
G_DL = 8713
DEL17P, T414_FISH, T414, T1416 = 21493501, 43055560, 35954995, 46236743
MG_L, MG_DL, G_L = 8751, 8840, 8636
LOCAL_EMD = 2_000_000_601
LOCAL_TOML = f"""\
[covariates]
{LOCAL_EMD} = {{ covariate = "extramedullary_disease", reads = "finding" }}
"""

#: measurement rows: (id, person, concept, date, number, result concept, unit concept)
MEASUREMENTS = [
    # person 1, ECOG: 2 early, 1 later (wins), 3 after the index CAR T (ignored)
    (101, 1, ECOG_SCORE, "2021-01-01", 2.0, None, None),
    (102, 1, ECOG_SCORE, "2021-06-01", 1.0, None, None),
    (103, 1, ECOG_SCORE, "2022-02-01", 3.0, None, None),
    (104, 1, ECOG_SCORE, "2021-07-01", 7.0, None, None),  # not a grade: unreadable
    # person 2, ISS from labs: B2M 3.0 mg/L, albumin 40 g/L = 4.0 g/dL -> I
    (201, 2, B2M, "2021-12-01", 3.0, None, MG_L),
    (202, 2, ALBUMIN, "2021-12-01", 40.0, None, G_L),
    (203, 2, B2M, "2022-03-01", 9.0, None, MG_L),  # after the index: ignored
    # person 3: B2M 0.6 mg/dL = 6 mg/L -> III whatever the albumin (none recorded)
    (301, 3, B2M, "2021-11-01", 0.6, None, MG_DL),
    # person 4: a recorded stage II wins over labs of stage I
    (401, 4, ISS_II, "2021-05-01", None, None, None),
    (402, 4, B2M, "2021-12-01", 2.0, None, MG_L),
    (403, 4, ALBUMIN, "2021-12-01", 4.5, None, 8713),
    # person 6: negative del(17p) only -> unknown (t(4;14), t(14;16) untested)
    (601, 6, DEL17P, "2021-04-01", None, NEG, None),
    # person 7: negative for every abnormality -> false
    (701, 7, DEL17P, "2021-04-01", None, NEG, None),
    (702, 7, T414_FISH, "2021-04-01", None, NEG, None),
    (703, 7, T1416, "2021-04-01", None, NEG, None),
    # person 8: negative del(17p), t(4;14) variant recorded (no value) -> true
    (801, 8, DEL17P, "2021-04-01", None, NEG, None),
    (802, 8, T414, "2021-04-02", None, None, None),
    # person 11: positive del(17p) only after the index CAR T -> unknown
    (1101, 11, DEL17P, "2022-01-11", None, POS, None),
    # person 12: an ECOG score given as a grade concept (value_as_concept_id) -> 3
    (1201, 12, ECOG_SCORE, "2021-10-01", None, ECOG_GRADE_3, None),
    # person 13: the t(4;14) variant with a value that is no known result -> unreadable
    (1301, 13, T414, "2021-10-01", None, UNKNOWN_VALUE, None),
    # person 14: B2M 6 mg/L with a stage II concept as its value: the number counts -> III
    (1401, 14, B2M, "2021-12-01", 6.0, ISS_II, MG_L),
    (1402, 14, ALBUMIN, "2021-12-01", 4.0, None, G_DL),
    # person 15: B2M < 3.5 mg/L and no albumin -> unknown, the B2M row says why
    (1501, 15, B2M, "2021-12-01", 2.0, None, MG_L),
    # person 16: the t(4;14) variant with value concept 0 (no value, as many ETLs write)
    (1601, 16, T414, "2021-10-01", None, 0, None),
]
OBSERVATIONS = [  # (id, person, concept, date, number, result)
    (1, 1, ECOG_GRADE_2, "2021-03-01", None, None),  # a grade finding, superseded
    (2, 10, LOCAL_EMD, "2021-08-01", None, NEG),  # local EMD concept, negative result
]
CONDITIONS = [(1, 9, LOCAL_EMD, "2021-09-01")]  # (id, person, concept, start date)


def _tables(con) -> dict:
    m = list(zip(*MEASUREMENTS, strict=True))
    o = list(zip(*OBSERVATIONS, strict=True))
    c = list(zip(*CONDITIONS, strict=True))
    data = {
        "measurement": pa.table({
            "measurement_id": m[0], "person_id": m[1], "measurement_concept_id": m[2],
            "measurement_date": [D(x) for x in m[3]],
            "value_as_number": pa.array(m[4], pa.float64()),
            "value_as_concept_id": pa.array(m[5], pa.int64()),
            "unit_concept_id": pa.array(m[6], pa.int64()),
            "unit_source_value": pa.nulls(len(m[0]), pa.string())}),
        "observation": pa.table({
            "observation_id": o[0], "person_id": o[1], "observation_concept_id": o[2],
            "observation_date": [D(x) for x in o[3]],
            "value_as_number": pa.array(o[4], pa.float64()),
            "value_as_concept_id": pa.array(o[5], pa.int64())}),
        "condition_occurrence": pa.table({
            "condition_occurrence_id": c[0], "person_id": c[1], "condition_concept_id": c[2],
            "condition_start_date": [D(x) for x in c[3]]}),
    }  # fmt: skip
    return {k: con.create_table(f"t_{k}", v, overwrite=True) for k, v in data.items()}


@pytest.fixture(scope="module")
def derived(tmp_path_factory):
    toml = tmp_path_factory.mktemp("cov") / "local.toml"
    toml.write_text(LOCAL_TOML, encoding="utf-8")
    con = connect("duckdb")
    ids = list(range(1, 17))
    persons = con.create_table("t_persons", pa.table({
        "person_id": pa.array(ids, pa.int64()),
        Col.PATIENT_ID: [str(i) for i in ids], Col.CAR_T_DATE: [INDEX] * len(ids)}))  # fmt: skip
    values, rows = derive_covariates(con, _tables(con), persons,
                                     load_concepts(toml, load_rules()))  # fmt: skip
    by_person = {r["person_id"]: r for r in values.to_pyarrow().to_pylist()}
    return by_person, rows.to_pyarrow()


def _value(derived, person: int, col: str):
    return derived[0].get(person, {}).get(col)


def _row(derived, table: str, row: int) -> dict:
    rows = derived[1].filter(pc.and_(pc.equal(derived[1]["table"], table),
                                     pc.equal(derived[1]["row"], row)))  # fmt: skip
    assert rows.num_rows == 1
    return rows.to_pylist()[0]


def test_ecog_is_the_latest_readable_grade_on_or_before_the_index(derived):
    assert _value(derived, 1, Col.ECOG) == 1
    assert _row(derived, "measurement", 102)["used"]
    assert "later record" in _row(derived, "measurement", 101)["reason"]
    assert "later record" in _row(derived, "observation", 1)["reason"]
    assert "after the index" in _row(derived, "measurement", 103)["reason"]
    assert "no readable value" in _row(derived, "measurement", 104)["reason"]


def test_an_ecog_grade_concept_as_the_value_of_the_score(derived):
    assert _value(derived, 12, Col.ECOG) == 3
    assert _row(derived, "measurement", 1201)["used"]


def test_a_finding_with_an_unknown_value_is_not_read_as_present(derived):
    assert _value(derived, 13, Col.HIGH_RISK_CYTOGENETICS) is None
    assert "no readable value" in _row(derived, "measurement", 1301)["reason"]


def test_iss_from_b2m_and_albumin_with_their_units(derived):
    assert _value(derived, 2, Col.ISS_STAGE) == 1  # 40 g/L = 4.0 g/dL
    assert _row(derived, "measurement", 201)["used"] and _row(derived, "measurement", 202)["used"]
    assert "after the index" in _row(derived, "measurement", 203)["reason"]
    assert _value(derived, 3, Col.ISS_STAGE) == 3  # 0.6 mg/dL = 6 mg/L >= 5.5


def test_a_recorded_iss_stage_wins_over_labs(derived):
    assert _value(derived, 4, Col.ISS_STAGE) == 2
    assert "stage is recorded" in _row(derived, "measurement", 402)["reason"]


def test_cytogenetics_false_only_when_every_abnormality_is_negative(derived):
    assert _value(derived, 6, Col.HIGH_RISK_CYTOGENETICS) is None
    assert "do not cover" in _row(derived, "measurement", 601)["reason"]
    assert _value(derived, 7, Col.HIGH_RISK_CYTOGENETICS) is False
    assert all(_row(derived, "measurement", r)["used"] for r in (701, 702, 703))
    assert _value(derived, 8, Col.HIGH_RISK_CYTOGENETICS) is True
    assert "positive record" in _row(derived, "measurement", 801)["reason"]
    assert _value(derived, 11, Col.HIGH_RISK_CYTOGENETICS) is None  # positive only after


def test_local_emd_concept_from_condition_and_observation(derived):
    assert _value(derived, 9, Col.EXTRAMEDULLARY_DISEASE) is True
    assert _row(derived, "condition_occurrence", 1)["used"]
    assert _value(derived, 10, Col.EXTRAMEDULLARY_DISEASE) is False


def test_no_evidence_stays_empty(derived):
    assert 5 not in derived[0]  # no row at all: every covariate empty in the cohort
    assert _value(derived, 1, Col.EXTRAMEDULLARY_DISEASE) is None
    assert _value(derived, 1, Col.HIGH_RISK_CYTOGENETICS) is None


def test_every_row_read_is_used_or_has_a_reason(derived):
    rows = derived[1]
    assert rows.num_rows == len(MEASUREMENTS) + len(OBSERVATIONS) + len(CONDITIONS)
    assert pc.all(pc.xor(rows["used"], pc.is_valid(rows["reason"]))).as_py()


def test_split_rows_sends_used_rows_to_events_and_the_rest_to_attrition(derived):
    events = pa.schema([(Col.PATIENT_ID, pa.string()), (Col.LINE, pa.int64()),
                        ("row", pa.int64()), ("table", pa.string()), ("role", pa.string())])
    attrition = pa.schema([("table", pa.string()), ("row", pa.int64()),
                           (Col.PATIENT_ID, pa.string()), ("reason", pa.string())])
    ev, at = split_rows(derived[1], pa.array(["1"]), events, attrition)  # person 1 kept
    assert ev.schema == events and at.schema == attrition
    assert ev.to_pylist() == [{Col.PATIENT_ID: "1", Col.LINE: None, "row": 102,
                               "table": "measurement", "role": "covariate ecog"}]
    assert at.num_rows == derived[1].num_rows - 1
    gone = at.filter(pc.equal(at[Col.PATIENT_ID], "2"))["reason"].to_pylist()
    assert gone and all("not in the derived cohort" in r for r in gone)


@pytest.mark.parametrize("entry", ['{ covariate = "ecog", reads = "constant", value = "7" }',
                                   '{ covariate = "prior_lines", reads = "number" }',
                                   '"ecog"'])
def test_a_bad_local_covariate_names_the_key(tmp_path, entry):
    toml = tmp_path / "local.toml"
    toml.write_text(f"[covariates]\n2000000700 = {entry}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"covariates\.2000000700"):
        load_concepts(toml, load_rules())


def test_a_value_concept_on_a_lab_row_is_not_a_stage(derived):
    assert _value(derived, 14, Col.ISS_STAGE) == 3  # B2M 6 mg/L, not the concept's 2
    assert _row(derived, "measurement", 1401)["used"]


def test_b2m_below_3_5_without_albumin_says_albumin_is_missing(derived):
    assert _value(derived, 15, Col.ISS_STAGE) is None
    assert "no albumin" in _row(derived, "measurement", 1501)["reason"]


def test_value_concept_0_is_no_value(derived):
    assert _value(derived, 16, Col.HIGH_RISK_CYTOGENETICS) is True
    assert _row(derived, "measurement", 1601)["used"]


def test_iss_lab_units_are_read_whatever_their_case(tmp_path):
    """``MG/L`` / ``G/L`` as unit source values (no unit concept), as the M-protein units
    are read (found by an adversarial review: the ISS rows were left unread)."""
    con = connect("duckdb")
    m = pa.table({"measurement_id": [1, 2], "person_id": [1, 1],
                  "measurement_concept_id": [B2M, ALBUMIN],
                  "measurement_date": [D("2021-12-01")] * 2,
                  "value_as_number": [3.0, 40.0], "value_as_concept_id": pa.nulls(2, pa.int64()),
                  "unit_concept_id": pa.array([0, 0], pa.int64()),
                  "unit_source_value": ["MG/L", " G/L"]})  # fmt: skip
    empty = {k: v.limit(0) for k, v in _tables(con).items() if k != "measurement"}
    tables = {**empty, "measurement": con.create_table("t_m", m, overwrite=True)}
    persons = con.create_table("t_p", pa.table({
        "person_id": pa.array([1], pa.int64()), Col.PATIENT_ID: ["1"],
        Col.CAR_T_DATE: [INDEX]}))  # fmt: skip
    values, _ = derive_covariates(con, tables, persons, load_concepts(None, load_rules()))
    assert values.to_pyarrow().to_pylist()[0][Col.ISS_STAGE] == 1
