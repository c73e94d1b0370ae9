"""OMOP rows aftercar cannot use as the CDM defines them: listed with a reason (rows of no
person) or an error naming table, column and value with a fix (exit 2), never silent.

Found by a helper's fuzzing of the CLI (rows of unknown persons vanished, 1.5 was
person 2, a +09:00 midnight was the day before, an empty person table gave exit 0).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import ibis
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from handmade import EXPECTED, LOCAL_TOML, tables, write_duckdb

from aftercar.cli import main
from aftercar.derive.omop import derive_omop
from aftercar.derive.omop.batched import derive_omop_batched
from aftercar.derive.omop.source import open_source
from aftercar.errors import CohortError

D = dt.date.fromisoformat


def _instance(folder, fmt: str = "parquet", **changed: pa.Table):
    """The hand-made instance with some tables replaced; ``(folder, local concepts)``."""
    folder.mkdir(parents=True)
    for name, t in {**tables(), **changed}.items():
        if fmt == "parquet":
            pq.write_table(t, folder / f"{name}.parquet")
        else:
            pacsv.write_csv(t, folder / f"{name}.csv")
    local = folder.parent / "local.toml"
    local.write_text(LOCAL_TOML, encoding="utf-8")
    return folder, local


def _plus(name: str, **row) -> pa.Table:
    """Table ``name`` of the instance with one more row (other columns null)."""
    t = tables()[name]
    extra = pa.Table.from_pylist([{c: row.get(c) for c in t.column_names}], schema=t.schema)
    return pa.concat_tables([t, extra])


def _reads_as_written(src, *names: str) -> None:
    """The tables ``names`` of instance ``src`` are read as the hand-made instance holds
    them: each row once, every value as written (a whole derivation of them is compared
    with the reference in ``test_handmade.py`` and ``test_roundtrip.py``; what it derives
    is a function of the rows read)."""
    read = open_source(ibis.duckdb.connect(), src)
    for name in names:
        want = tables()[name]
        got = read[name].select(*want.column_names).order_by(want.column_names[0])
        for field in want.schema:  # typed as the CDM types them, not left as text
            kind = got.schema()[field.name]
            assert not pa.types.is_date(field.type) or kind.is_date(), field.name
            assert not pa.types.is_floating(field.type) or kind.is_floating(), field.name
        assert got.to_pyarrow().cast(want.schema).to_pylist() == want.sort_by(
            want.column_names[0]).to_pylist(), name  # fmt: skip


def _open_error(src, scoped: bool = False) -> str:
    """The error of opening ``src`` (``scoped``: with the derivation's scope, the persons
    with myeloma, as ``aftercar derive --omop`` opens it)."""
    from aftercar.derive.omop.cohort import myeloma_scope
    from aftercar.derive.omop.concepts import load_concepts
    from aftercar.derive.raw.rules import load_rules

    con = ibis.duckdb.connect()
    scope = myeloma_scope(con, load_concepts(None, load_rules())) if scoped else None
    with pytest.raises(CohortError) as err:
        open_source(con, src, scope=scope)
    return str(err.value)


def test_rows_of_no_person_are_listed_and_counts_only_count_persons(tmp_path, capsys):
    de = _plus(
        "drug_exposure",
        drug_exposure_id=9001,
        person_id=999,
        drug_concept_id=741578,
        drug_exposure_start_date=D("2022-07-01"),
        drug_source_value="TECVAYLI",
    )
    me = _plus(
        "measurement",
        measurement_id=9002,
        person_id=None,
        measurement_concept_id=3046299,
        measurement_date=D("2022-07-01"),
        value_as_number=1.0,
    )
    po = _plus(
        "procedure_occurrence",
        procedure_occurrence_id=9003,
        person_id=999,
        procedure_concept_id=927059,
        procedure_date=D("2021-11-20"),
    )
    co = _plus(
        "condition_occurrence",
        person_id=999,
        condition_concept_id=437233,
        condition_start_date=D("2020-01-01"),
    )  # myeloma of nobody: not counted
    src, local = _instance(
        tmp_path / "omop",
        drug_exposure=de,
        measurement=me,
        procedure_occurrence=po,
        condition_occurrence=co,
    )
    want = {
        ("drug_exposure", 9001, "999", "person_id not in the person table"),
        ("measurement", 9002, None, "no person_id"),
        ("procedure_occurrence", 9003, "999", "person_id not in the person table"),
    }
    d = derive_omop(src, concepts=local)
    rows = {tuple(r.values()) for r in d.result.attrition.to_pylist()}
    assert want <= rows
    assert d.cohort_steps["persons"].to_pylist() == EXPECTED["steps"]
    out = tmp_path / "out"
    assert main(["derive", "--omop", str(src), "--concepts", str(local), "-o", str(out)]) == 0
    written = pacsv.read_csv(out / "audit" / "attrition.csv").to_pylist()
    assert want <= {
        (
            r["table"],
            r["row"],
            None if r["patient_id"] is None else str(r["patient_id"]),
            r["reason"],
        )
        for r in written
    }
    # the one-run attrition and the batched file hold the same rows in the same order
    assert [(r["table"], r["row"]) for r in written] == [
        (r["table"], r["row"]) for r in d.result.attrition.to_pylist()
    ]
    steps = pacsv.read_csv(out / "audit" / "omop_cohort.csv")["persons"].to_pylist()
    assert steps == EXPECTED["steps"]


@pytest.mark.parametrize(("table", "column", "row"), [
    ("measurement", "measurement_id", {"person_id": 1, "measurement_concept_id": 3046299}),
    ("drug_exposure", "drug_exposure_id", {"person_id": 1, "drug_concept_id": 741578}),
])  # fmt: skip
def test_a_row_without_its_primary_id_is_an_error(tmp_path, table, column, row):
    src, _ = _instance(tmp_path / "omop", **{table: _plus(table, **row)})
    text = _open_error(src)
    assert f"{table}.parquet" in text and column in text and "1 row(s) have no" in text


def test_a_repeated_primary_id_is_an_error(tmp_path):
    de = tables()["drug_exposure"]
    src, _ = _instance(tmp_path / "omop", drug_exposure=pa.concat_tables([de, de.slice(3, 1)]))
    text = _open_error(src)
    assert "drug_exposure_id" in text and "2 rows have this" in text and "'104'" in text


def test_a_repeated_concept_id_is_an_error(tmp_path):
    # fuzzing round 5 (H01): a concept listed twice under two names read one exposure as
    # two drugs (pomalidomide and teclistamab), and a concept table loaded twice doubled
    # the audit's events
    c = tables()["concept"]
    twice = pa.concat_tables([c, c.slice(0, 1)])
    src, _ = _instance(tmp_path / "omop", concept=twice)
    text = _open_error(src)
    first = str(c["concept_id"][0].as_py())
    assert "concept.parquet" in text and "concept_id" in text and f"'{first}'" in text


def test_a_negative_measurement_id_is_an_error(tmp_path):
    # fuzzing round 5 (H06): negative ids reached the audit as lists that read as formulas
    m = tables()["measurement"]
    ids = m["measurement_id"].to_pylist()
    m = m.set_column(m.schema.get_field_index("measurement_id"), "measurement_id",
                     pa.array([-5, *ids[1:]], m.schema.field("measurement_id").type))  # fmt: skip
    src, _ = _instance(tmp_path / "omop", measurement=m)
    text = _open_error(src)
    assert "measurement_id" in text and "'-5'" in text and "renumber" in text


def test_two_death_dates_of_one_person_are_an_error_one_repeated_date_is_not(tmp_path):
    death = pa.table({"person_id": [2, 2], "death_date": [D("2023-01-01"), D("2023-02-01")]})
    src, _ = _instance(tmp_path / "omop", death=death)
    text = _open_error(src)
    assert "person_id 2 has more than one death date" in text
    assert "2023-01-01, 2023-02-01" in text
    same = pa.table({"person_id": [2, 2], "death_date": [D("2023-01-01")] * 2})
    src, _ = _instance(tmp_path / "omop2", death=same)
    open_source(ibis.duckdb.connect(), src)


def test_an_exposure_ending_before_it_starts_is_an_error(tmp_path):
    de = tables()["drug_exposure"]
    end = pa.array([D("2000-01-01")] + [None] * (de.num_rows - 1), pa.date32())
    src, _ = _instance(tmp_path / "omop", drug_exposure=de.append_column(
        "drug_exposure_end_date", end))  # fmt: skip
    text = _open_error(src)
    assert "drug_exposure_id 101: the end is before the start (2022-01-10)" in text
    assert "'2000-01-01'" in text and "drug_exposure_end_date" in text


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_an_observation_period_ending_before_it_starts_is_an_error(tmp_path, fmt):
    # its end (the last follow-up of a living patient) was read whatever the start until
    # 2026-12-07; a start on the end day, or no start, is a period as the CDM has it
    op = pa.table({"observation_period_id": [11, 12, 13, 14], "person_id": [1, 2, 3, 4],
                   "observation_period_start_date": [D("2020-01-01"), D("2023-03-02"),
                                                     D("2023-03-01"), None],
                   "observation_period_end_date": [D("2023-03-01")] * 4})  # fmt: skip
    src, _ = _instance(tmp_path / "omop", fmt, observation_period=op)
    text = _open_error(src)
    assert ("column 'observation_period_end_date': observation_period_id 12 (person_id 2): "
            "the period ends before it starts (2023-03-02)") in text
    assert f"observation_period.{fmt}" in text and "'2023-03-01'" in text
    assert "observation_period_id 13" not in text and "observation_period_id 14" not in text
    fine = op.set_column(2, "observation_period_start_date",
                         pa.array([D("2020-01-01")] * 4, pa.date32()))  # fmt: skip
    src, _ = _instance(tmp_path / "fine", fmt, observation_period=fine)
    _reads_as_written(src, "person")


def test_a_negative_days_supply_without_an_end_date_is_an_error(tmp_path):
    # read as a dose on the start date until 2026-12-05 (fuzzing); with an end date given,
    # days_supply is not read and not checked
    de = tables()["drug_exposure"]
    first, second = de["drug_exposure_id"][0].as_py(), de["drug_exposure_id"][1].as_py()
    supply = pa.array([-30, -5] + [None] * (de.num_rows - 2), pa.int64())
    given = pa.array([False, True] + [False] * (de.num_rows - 2))  # the second row's end
    end = pc.if_else(given, de["drug_exposure_start_date"], pa.scalar(None, pa.date32()))
    src, _ = _instance(tmp_path / "omop", drug_exposure=de.append_column(
        "days_supply", supply).append_column("drug_exposure_end_date", end))  # fmt: skip
    text = _open_error(src)
    assert f"column 'days_supply': drug_exposure_id {first}: a negative days_supply" in text
    assert f"drug_exposure_id {second}" not in text


@pytest.mark.parametrize(("fmt", "value", "shown"), [
    ("csv", 1.5, "'1.5'"), ("parquet", 1.5, "'1.5'"), ("parquet", float("nan"), "'nan'"),
    ("parquet", float("inf"), "'inf'"), ("parquet", 1e20, "'1e+20'"),
    ("parquet", 2.0**63, "'9.223372036854776e+18'"),
])  # fmt: skip
def test_a_fractional_id_is_an_error_not_another_person(tmp_path, fmt, capsys, value, shown):
    """1.5 cast would be person 2; NaN, infinity or 1e20 stopped the engine with its own
    message quoting the generated SQL (found by an adversarial review)."""
    de = tables()["drug_exposure"]
    pid = de["person_id"].cast(pa.float64()).to_pylist()
    pid[5] = value
    de = de.set_column(1, "person_id", pa.array(pid))
    src, local = _instance(tmp_path / "omop", fmt, drug_exposure=de)
    assert main(["derive", "--omop", str(src), "--concepts", str(local),
                 "-o", str(tmp_path / "out")]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert f"drug_exposure.{fmt}" in err and "'person_id'" in err and shown in err
    assert "not a whole number" in err and "Traceback" not in err and "SELECT" not in err


def _zoned_death(zone: str, local_midnight: bool) -> pa.Table:
    day = dt.datetime(2022, 12, 1, tzinfo=dt.timezone(dt.timedelta(hours=9)) if local_midnight
                      else dt.UTC)  # fmt: skip
    return pa.table({"person_id": [1], "death_date": pa.array([day], pa.timestamp("us", zone))})


def test_a_date_stored_in_a_time_zone_other_than_utc_is_an_error(tmp_path):
    src, _ = _instance(tmp_path / "omop", death=_zoned_death("+09:00", True))
    text = _open_error(src)
    assert "death.parquet" in text and "death_date" in text and "'+09:00'" in text
    assert "store death_date as a DATE" in text


def test_a_utc_timestamp_date_is_its_utc_date_on_any_session_zone(tmp_path):
    src, _ = _instance(tmp_path / "omop", death=_zoned_death("UTC", False))
    con = ibis.duckdb.connect()
    con.raw_sql("SET TimeZone = 'America/New_York'")  # a cast would give 2022-11-30
    death = open_source(con, src)["death"].to_pyarrow()
    assert death["death_date"].to_pylist() == [D("2022-12-01")]


def test_a_duckdb_timestamptz_date_is_read_at_utc_midnight_else_an_error(tmp_path):
    for name, value, ok in (("utc", "2022-12-01 00:00:00+00", True),
                            ("tokyo", "2022-12-01 00:00:00+09", False)):  # fmt: skip
        db = tmp_path / f"{name}.duckdb"
        con = duckdb.connect(str(db))
        for tname, t in tables().items():
            con.register("t", t)
            con.execute(f"CREATE TABLE {tname} AS SELECT * FROM t")
            con.unregister("t")
        con.execute("DROP TABLE death")
        con.execute(f"CREATE TABLE death AS SELECT 1 AS person_id, "
                    f"TIMESTAMPTZ '{value}' AS death_date")  # fmt: skip
        con.close()
        if ok:
            death = open_source(ibis.duckdb.connect(), db)["death"].to_pyarrow()
            assert death["death_date"].to_pylist() == [D("2022-12-01")]
        else:
            text = _open_error(db)
            assert "death_date" in text and "not at midnight UTC" in text


def test_an_empty_person_table_is_an_error(tmp_path, capsys):
    src, local = _instance(tmp_path / "omop", "csv", person=tables()["person"].slice(0, 0))
    assert main(["derive", "--omop", str(src), "--concepts", str(local),
                 "-o", str(tmp_path / "out")]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "person.csv" in err and "the person table is empty" in err


def test_a_cohort_nobody_enters_is_exit_2_after_writing_the_audit(tmp_path, capsys):
    co = tables()["condition_occurrence"]
    co = co.set_column(1, "condition_concept_id", pa.array([0] * co.num_rows, pa.int64()))
    src, local = _instance(tmp_path / "omop", condition_occurrence=co)
    out = tmp_path / "out"
    assert main(["derive", "--omop", str(src), "--concepts", str(local), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "the OMOP cohort is empty" in err and "step 2" in err and "omop_cohort" in err
    steps = pacsv.read_csv(out / "audit" / "omop_cohort.csv")["persons"].to_pylist()
    assert steps == [4, 0, 0, 0, 0]


@pytest.mark.parametrize(("first_empty", "reads"), [
    (0, "export the person table"), (1, "check condition_occurrence"),
    (2, "check drug_exposure"), (3, "check death and observation_period"),
    (4, "check measurement")])  # fmt: skip
def test_an_empty_cohort_names_what_its_first_empty_step_reads(tmp_path, first_empty, reads):
    """The stop names the first step nobody passes and what that step reads (note29: the
    fix was the same general advice for every step)."""
    from aftercar.derive.omop.cohort import (
        STEP_CAR_T,
        STEP_FU,
        STEP_INDEX,
        STEP_MM,
        STEP_PERSONS,
    )
    from aftercar.derive.omop.derive import empty_cohort

    names = [STEP_PERSONS, STEP_MM, STEP_CAR_T, STEP_FU, STEP_INDEX]
    counts = [10 - i if i < first_empty else 0 for i in range(5)]
    err = empty_cohort(pa.table({"step": names, "persons": counts}), tmp_path)
    (p,) = err.problems
    assert f"step {first_empty + 1} of the cohort ('{names[first_empty]}')" in p.message
    assert p.hint.startswith(reads) and "audit/attrition" in p.hint
    assert empty_cohort(pa.table({"step": names, "persons": [5, 4, 3, 2, 1]}), tmp_path) is None


def test_the_one_run_path_stops_on_an_empty_cohort_too(tmp_path):
    """``--engine spark`` without batches writes through ``_omop_one_run``: run here on a
    DuckDB connection (the same code), so that no Spark session is started."""
    from aftercar.cli.derive import _omop_one_run, _OmopOptions
    from aftercar.derive.raw.rules import load_rules

    co = tables()["condition_occurrence"]
    co = co.set_column(1, "condition_concept_id", pa.array([0] * co.num_rows, pa.int64()))
    src, local = _instance(tmp_path / "omop", condition_occurrence=co)
    o = _OmopOptions(schema=None, engine="duckdb", concepts=local, episodes=False,
                     batch_persons=0)  # fmt: skip
    with pytest.raises(CohortError, match="the OMOP cohort is empty"):
        _omop_one_run(str(src), tmp_path / "out", load_rules(), "csv", o, lambda _s: None)
    assert (tmp_path / "out" / "audit" / "omop_cohort.csv").is_file()


def test_a_table_given_as_csv_and_parquet_is_an_error(tmp_path, capsys):
    src, local = _instance(tmp_path / "omop")
    pacsv.write_csv(tables()["person"].slice(0, 1), src / "person.csv")
    assert main(["derive", "--omop", str(src), "--concepts", str(local),
                 "-o", str(tmp_path / "out")]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "person.parquet" in err and "person.csv" in err and "one file per table" in err


def test_a_date_after_today_is_an_error_naming_the_person(tmp_path, capsys):
    death = pa.table({"person_id": [1], "death_date": [D("2200-01-01")]})
    op = tables()["observation_period"]
    ends = op["observation_period_end_date"].to_pylist()
    ends[3] = D("2199-12-31")  # person 4 (with myeloma: person 3's rows are not read)
    op = op.set_column(1, "observation_period_end_date", pa.array(ends, pa.date32()))
    src, local = _instance(tmp_path / "omop", "csv", death=death, observation_period=op)
    args = ["derive", "--omop", str(src), "--concepts", str(local), "-o", str(tmp_path / "o")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "death.csv" in err and "person_id 1: a date after today" in err
    assert "'2200-01-01'" in err and "death_date" in err
    assert "observation_period.csv" in err and "person_id 4" in err and "2199-12-31" in err


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_empty_table_file_is_named_with_its_fix(tmp_path, fmt):
    """A 0-byte file (an export that wrote nothing) has no header row: said as such,
    instead of "column is missing" for every column, or a Parquet reader's error."""
    src, _local = _instance(tmp_path / "omop", fmt)
    (src / f"death.{fmt}").write_bytes(b"")
    (src / f"concept.{fmt}").write_bytes(b"\xef\xbb\xbf\r\n")  # Excel's "CSV UTF-8", no rows
    if fmt == "parquet":  # a table as a folder of parts, one of them empty
        part = src / "measurement"
        part.mkdir()
        (src / "measurement.parquet").rename(part / "part-0.parquet")
        (part / "part-1.parquet").write_bytes(b"")
    text = _open_error(src)
    assert f"death.{fmt}: the file is empty" in text
    if fmt == "csv":
        assert "(not even a header row)" in text and "death table as its first row" in text
    else:
        assert "(0 bytes, not a Parquet file)" in text and "death table's columns" in text
    assert f"concept.{fmt}: the file is empty" in text and "remove the file" in text
    assert ("part-1.parquet: the file is empty (0 bytes" in text) == (fmt == "parquet")
    assert "column is missing" not in text


def _text(t: pa.Table, column: str, values: list) -> pa.Table:
    return t.set_column(t.column_names.index(column), column, pa.array(values, pa.string()))


def test_dates_and_numbers_stored_as_text_are_read_or_named(tmp_path):
    """CDM date and number columns exported as text: ISO dates and numbers are read (a
    blank is a missing value); anything else is named with its column and fix, instead
    of an engine's conversion error in the middle of the derivation."""
    de, me = tables()["drug_exposure"], tables()["measurement"]
    iso = [str(d) for d in de["drug_exposure_start_date"].to_pylist()]
    nums = [None if v is None else str(v) for v in me["value_as_number"].to_pylist()]
    src, local = _instance(tmp_path / "ok", drug_exposure=_text(de, "drug_exposure_start_date",
                                                                  iso),
                           measurement=_text(me, "value_as_number", nums))  # fmt: skip
    _reads_as_written(src, "drug_exposure", "measurement")
    blank, local = _instance(tmp_path / "blank",
                             measurement=_text(me, "value_as_number", [*nums[:-1], " "]))
    with pytest.raises(CohortError, match="serum M-protein: not a number") as err:  # missing
        derive_omop(blank, concepts=local)
    # named by its file, in one run as in batches (the table's bare name until 2026-12-07)
    assert {p.file for p in err.value.problems} == {str(blank / "measurement.parquet")}
    with pytest.raises(CohortError, match="serum M-protein: not a number") as err:
        derive_omop_batched(blank, tmp_path / "out", concepts=local, batch_persons=2)
    assert {p.file for p in err.value.problems} == {str(blank / "measurement.parquet")}
    us = [dt.date.fromisoformat(v).strftime("%m/%d/%Y") for v in iso]
    bad, _ = _instance(tmp_path / "bad", drug_exposure=_text(de, "drug_exposure_start_date", us),
                       measurement=_text(me, "value_as_number", ["abc", *nums[1:]]))  # fmt: skip
    text = _open_error(bad)
    assert "column 'drug_exposure_start_date': text that is not a date" in text
    assert "07/01/2022" in text and "YYYY-MM-DD" in text
    first = me["measurement_id"][0].as_py()  # the row of 'abc'
    assert ("column 'value_as_number': text that is not a number, at measurement_id "
            f"{first} (value: 'abc')") in text  # fmt: skip


def test_csv_dates_are_iso_or_named_never_read_day_first(tmp_path):
    """DuckDB's CSV sniffer reads 01/10/2022 as 1 October 2022 when every date could be
    day-first: an American export (10 January) would shift silently."""
    de = tables()["drug_exposure"]
    us = [d.strftime("%m/%d/%Y") for d in de["drug_exposure_start_date"].to_pylist()]
    src, _ = _instance(tmp_path / "omop", "csv",
                       drug_exposure=_text(de, "drug_exposure_start_date", us))  # fmt: skip
    text = _open_error(src)
    assert "drug_exposure.csv, column 'drug_exposure_start_date': text that is not a date" in text


def test_an_id_stored_as_text_is_read_only_when_whole(tmp_path):
    """Ids exported as text: ``12`` and ``12.0`` (pandas' integers with a gap) are read as
    12 on every engine; ``1.5`` is named, where DuckDB's own cast would read it as 2,
    another person."""
    de = tables()["drug_exposure"]
    pid = [str(v) for v in de["person_id"].to_pylist()]
    whole = [f"{v}.0" if i % 2 else v for i, v in enumerate(pid)]
    src, _local = _instance(tmp_path / "ok", drug_exposure=_text(de, "person_id", whole))
    read = open_source(ibis.duckdb.connect(), src)["drug_exposure"]
    assert read.person_id.type().is_integer()
    assert read.person_id.to_pyarrow().to_pylist() == de["person_id"].to_pylist()
    pid[5] = "1.5"
    bad, _ = _instance(tmp_path / "bad", drug_exposure=_text(de, "person_id", pid))
    text = _open_error(bad)
    row = de["drug_exposure_id"][5].as_py()
    assert (f"column 'person_id': text that is not a whole number, at drug_exposure_id {row} "
            "(value: '1.5')") in text  # fmt: skip


def _derive(src, local, out, capsys) -> tuple[int, str]:
    code = main(["derive", "--omop", str(src), "--concepts", str(local), "-o", str(out)])
    return code, capsys.readouterr().err


_JULY = D("2022-07-01")


def _rows_of(person: int, ids: list[int], day: dt.date = _JULY) -> pa.Table:
    de = tables()["drug_exposure"]
    rows = [{c: None for c in de.column_names} | {
        "drug_exposure_id": i, "person_id": person, "drug_concept_id": 741578,
        "drug_exposure_start_date": day, "drug_source_value": "TECVAYLI"} for i in ids]
    return pa.concat_tables([de, pa.Table.from_pylist(rows, schema=de.schema)])


def test_rows_of_persons_without_myeloma_are_not_read_so_not_checked(tmp_path, capsys):
    # person 3 has no myeloma condition: a repeated id and a date after today in their rows
    # do not stop the study (the derivation neither reads nor lists those rows)
    de = _rows_of(3, [7001, 7001], D("2199-01-01"))
    src, local = _instance(tmp_path / "omop", drug_exposure=de)
    code, err = _derive(src, local, tmp_path / "out", capsys)
    assert code == 0, err
    # open_source without a scope still checks every row
    assert "'7001'" in _open_error(src) and "a date after today" in _open_error(src)


def test_an_id_of_a_myeloma_persons_row_repeated_elsewhere_is_an_error(tmp_path, capsys):
    src, local = _instance(tmp_path / "omop", drug_exposure=_rows_of(3, [104]))
    code, err = _derive(src, local, tmp_path / "out", capsys)
    assert code == 2
    assert "drug_exposure_id" in err and "2 rows have this" in err and "'104'" in err


def test_a_repeated_id_of_rows_of_no_person_is_an_error(tmp_path, capsys):
    src, local = _instance(tmp_path / "omop", drug_exposure=_rows_of(999, [9001, 9001]))
    code, err = _derive(src, local, tmp_path / "out", capsys)
    assert code == 2 and "'9001'" in err and "2 rows have this" in err


def test_a_person_row_without_its_person_id_is_an_error(tmp_path, capsys):
    src, local = _instance(tmp_path / "omop", person=_plus("person", person_id=None))
    assert "person_id" in _open_error(src) and "1 person row(s) have no person_id" in \
        _open_error(src)  # fmt: skip
    code, err = _derive(src, local, tmp_path / "out", capsys)
    assert code == 2 and "1 person row(s) have no person_id" in err and "Fix:" in err


def test_a_myeloma_condition_without_a_date_is_an_error_another_condition_is_not(tmp_path):
    """Every myeloma condition of person 1 undated: the disease EPISODE would have no start
    (an error); an undated condition of another kind is not read, and does not stop."""
    co = tables()["condition_occurrence"]
    other = _plus("condition_occurrence", person_id=1, condition_concept_id=201826)
    src, local = _instance(tmp_path / "other", condition_occurrence=other)
    derive_omop(src, concepts=local)
    rows = [r | {"condition_start_date": None} if r["person_id"] == 1 else r
            for r in co.to_pylist()]  # fmt: skip
    src, _ = _instance(tmp_path / "omop", condition_occurrence=pa.Table.from_pylist(
        rows, schema=co.schema))  # fmt: skip
    text = _open_error(src, scoped=True)
    assert "person_id 1: no myeloma condition has a condition_start_date" in text
    assert "condition_start_datetime" in text
    # named by its file, not the bare table name (until 2026-12-07)
    assert f"{src / 'condition_occurrence.parquet'}, column 'condition_start_date'" in text


@pytest.mark.parametrize(("table", "column", "row", "named"), [
    ("drug_exposure", "drug_exposure_start_date",
     {"drug_exposure_id": 9001, "person_id": 1, "drug_concept_id": 741578,
      "drug_source_value": "teclistamab"}, "drug_exposure_id 9001 (person_id 1)"),
    ("measurement", "measurement_date",
     {"measurement_id": 9001, "person_id": 1, "measurement_concept_id": 3046299},
     "measurement_id 9001 (person_id 1)"),
    ("death", "death_date", {"person_id": 1}, "person_id 1"),
    ("procedure_occurrence", "procedure_date",
     {"procedure_occurrence_id": 9001, "person_id": 1, "procedure_concept_id": 4324371},
     "procedure_occurrence_id 9001 (person_id 1)"),
    ("observation_period", "observation_period_end_date", {"person_id": 1}, "person_id 1"),
])  # fmt: skip
def test_an_empty_required_date_is_an_error(tmp_path, table, column, row, named):
    """A date the CDM declares NOT NULL: no row is placed in time without it (a death
    without its date was read as alive, a condition without its start gave the disease
    EPISODE no start; found by an adversarial review of OMOP inputs)."""
    src, _ = _instance(tmp_path / "omop", **{table: _plus(table, **row)})
    text = _open_error(src)
    assert f"{table}.parquet" in text and column in text
    assert f"{named}: no {column} (the CDM requires it)" in text
    assert ("_datetime when that is filled" in text) == (table != "observation_period")


@pytest.mark.parametrize("ids", [[-5], [2**60], [-(2**62)]])
def test_a_drug_exposure_id_the_derivation_cannot_key_is_an_error(tmp_path, capsys, ids):
    """Negative ids gave other exposures' keys (lines silently merged) and ids above about
    9e15 overflowed (a traceback); both are named with a fix."""
    de = tables()["drug_exposure"]
    col = de["drug_exposure_id"].to_pylist()
    col[0] = ids[0]
    de = de.set_column(de.column_names.index("drug_exposure_id"), "drug_exposure_id",
                       pa.array(col, pa.int64()))  # fmt: skip
    src, local = _instance(tmp_path / "omop", drug_exposure=de)
    args = ["derive", "--omop", str(src), "--concepts", str(local), "-o", str(tmp_path / "o")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "drug_exposure.parquet" in err and f"'{ids[0]}'" in err
    assert "from 0 to 9,007,199,254,740,990" in err and "renumber drug_exposure_id" in err


def test_the_largest_drug_exposure_id_is_derived(tmp_path, handmade_result):
    """The largest id the check lets through derives as any other (no overflow)."""
    from aftercar.derive.raw.events import MAX_ROW

    de = tables()["drug_exposure"]
    col = de["drug_exposure_id"].to_pylist()
    first = col[0]
    col[0] = MAX_ROW
    de = de.set_column(de.column_names.index("drug_exposure_id"), "drug_exposure_id",
                       pa.array(col, pa.int64()))  # fmt: skip
    src, local = _instance(tmp_path / "big", drug_exposure=de)
    big = derive_omop(src, concepts=local).result
    ref = handmade_result
    assert big.lines.equals(ref.lines)

    def of(r, row):  # the audit rows of one drug exposure, its id left out
        return sorted(str({k: v for k, v in x.items() if k != "row"}) for x in r.to_pylist()
                      if x["row"] in (row, str(row)))  # fmt: skip

    for name in ("events",):
        assert of(big.audit[name], MAX_ROW) == of(ref.audit[name], first)
    assert of(big.attrition, MAX_ROW) == of(ref.attrition, first)
    assert of(big.audit["events"], MAX_ROW) + of(big.attrition, MAX_ROW)


@pytest.mark.parametrize("name", ["person.parquet", "cdm.sqlite"])
def test_a_single_file_that_is_not_a_duckdb_database_is_named(tmp_path, capsys, name):
    src, _ = _instance(tmp_path / "omop")
    one = src / "person.parquet"
    if name.endswith(".sqlite"):
        one = tmp_path / name
        one.write_bytes(b"SQLite format 3\x00" + bytes(100))
    assert main(["derive", "--omop", str(one), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "not a DuckDB database file" in err and "folder that holds the table files" in err


def test_sex_from_gender_source_values_is_one_code_per_sex(tmp_path):
    """Without a gender concept the source value is read; its spellings of male and female
    give M / F (one level each in Table 1 and the Cox models), others stay as written."""
    pe = tables()["person"]
    pe = pe.set_column(pe.column_names.index("gender_concept_id"), "gender_concept_id",
                       pa.array([0, 0, 0, 0], pa.int64()))  # fmt: skip
    pe = pe.append_column("gender_source_value", pa.array([" Male", "female", "U", None]))
    src, local = _instance(tmp_path / "omop", person=pe)
    pats = derive_omop(src, concepts=local).result.patients.to_pylist()
    assert pats and {r["sex"] for r in pats} <= {"M", "F", "U", None}
    got = dict(zip(pe["person_id"].to_pylist(), [" Male", "female", "U", None], strict=True))
    expect = {" Male": "M", "female": "F", "U": "U", None: None}
    assert all(r["sex"] == expect[got[int(r["patient_id"])]] for r in pats)


def test_death_before_the_car_t_is_listed_as_such(tmp_path, handmade_result):
    """A death (or the end of observation of a living person) before the CAR-T infusion
    leaves at the follow-up step with that reason, not as "no confirmed progression"
    (found by an adversarial review)."""
    kept = handmade_result.patients["patient_id"].to_pylist()
    death = pa.table({"person_id": pa.array([int(kept[0])], pa.int64()),
                      "death_date": [D("2001-01-01")]})  # fmt: skip
    src, local = _instance(tmp_path / "omop", death=death)
    d = derive_omop(src, concepts=local)
    assert kept[0] not in d.result.patients["patient_id"].to_pylist()
    why = [r["reason"] for r in d.result.attrition.to_pylist()
           if r["table"] == "person" and r["patient_id"] == kept[0]]  # fmt: skip
    assert why == ["death, or the end of the last observation period, before the CAR-T "
                   "infusion (check the dates)"]


#: CAR-T rows of person 1 that are no infusion: ``(drug_exposure_id, date, concept, source,
#: sig, reason)``. Not given, three weeks before the infusion given: each was the index CAR T
#: (its date, its "product", the given infusion a salvage line; hand-made OMOP patients,
#: 2026-12-07). Named with a phase before the infusion (``car_t_phase_pattern``), a week
#: before it: "cilta-cel lymphodepletion day -7" was the index infusion (same probe).
_NO_INFUSION = [
    (191, "2021-12-20", 9000001, "CARVYKTI infusion - cancelled (product out of "
     "specification)", None, "recorded as not given"),
    (192, "2021-12-20", 9000001, "CARVYKTI infusion", "cancelled: product out of "
     "specification", "recorded as not given"),
    (193, "2021-12-20", 9000001, "ABECMA - HELD", None, "recorded as not given"),
    (194, "2021-12-20", 9000001, "CARVYKTI infusion postponed", None, "recorded as not given"),
    (195, "2022-01-03", 0, "cilta-cel lymphodepletion day -7 hydration", None,
     "not anti-myeloma"),
    (196, "2022-01-03", 9000001, "CARVYKTI - bridging", None, "named only as the context"),
    (197, "2022-01-03", 9000001, "cilta-cel apheresis", None, "named only as the context"),
]


def test_car_t_rows_that_record_no_infusion_leave_the_index_car_t(tmp_path, handmade_result):
    """The rows of :data:`_NO_INFUSION` are listed with their reason and the cohort is the
    instance's own; every other row's sig is the product label's "infuse 2-4 days after
    completion of lymphodepleting chemotherapy", which is no phase of the index infusion
    (the phase is read in drug_source_value only: review of session 32). One derivation for
    all (the default test run is near its ten minutes)."""
    de = tables()["drug_exposure"]
    label = "infuse 2-4 days after completion of lymphodepleting chemotherapy"
    de = de.append_column("sig", pa.array([label] * de.num_rows))
    extra = pa.Table.from_pylist(
        [{**{c: None for c in de.column_names}, "drug_exposure_id": i, "person_id": 1,
          "drug_concept_id": concept, "drug_exposure_start_date": D(day),
          "drug_source_value": source, "sig": sig}
         for i, day, concept, source, sig, _why in _NO_INFUSION], schema=de.schema)
    src, local = _instance(tmp_path / "omop", drug_exposure=pa.concat_tables([de, extra]))
    got = derive_omop(src, concepts=local).result
    assert got.patients.equals(handmade_result.patients)
    assert got.lines.equals(handmade_result.lines)
    reasons = {r["row"]: r["reason"] for r in got.attrition.to_pylist()
               if r["table"] == "drug_exposure" and r["row"] in {x[0] for x in _NO_INFUSION}}
    assert {i: why in reasons.get(i, "") for i, *_r, why in _NO_INFUSION} == {
        x[0]: True for x in _NO_INFUSION}, reasons


@pytest.mark.parametrize(("death_date", "why"), [
    ("1959-12-31", "death date before the person's birth (check death_date and the birth "
                   "fields of person)"),
    ("1960-01-01", "death, or the end of the last observation period, before the CAR-T "
                   "infusion (check the dates)")])  # fmt: skip
def test_a_death_before_the_birth_is_listed_as_such(tmp_path, death_date, why):
    """A death before the earliest day the birth fields allow (the year alone: 1 January)
    is listed as before the birth, not only as before the CAR T (note29); a death in the
    year of birth might be after it, and is listed as before the CAR T."""
    pe = tables()["person"]
    kept = 1  # born in 1960, month and day not given (handmade.py)
    assert pe.filter(pc.equal(pe["person_id"], kept))["year_of_birth"].to_pylist() == [1960]
    death = pa.table({"person_id": pa.array([kept], pa.int64()), "death_date": [D(death_date)]})
    src, local = _instance(tmp_path / "omop", death=death)
    d = derive_omop(src, concepts=local)
    assert str(kept) not in d.result.patients["patient_id"].to_pylist()
    assert [r["reason"] for r in d.result.attrition.to_pylist()
            if r["table"] == "person" and r["patient_id"] == str(kept)] == [why]  # fmt: skip


@pytest.mark.parametrize("layout", ["hive", "upper_folder", "csv_gz"])
def test_folder_layouts_of_real_exports_are_read(tmp_path, layout):
    """A Hive-partitioned parts folder (Spark's ``partitionBy``), an upper-case parts folder
    and a gzipped CSV were reported as a missing table (found by an adversarial review)."""
    import gzip

    src, _local = _instance(tmp_path / "omop")
    de = tables()["drug_exposure"]
    (src / "drug_exposure.parquet").unlink()
    if layout == "hive":
        years = pa.array([d.year for d in de["drug_exposure_start_date"].to_pylist()])
        for year in sorted(set(years.to_pylist())):
            part = src / "drug_exposure" / f"year={year}"
            part.mkdir(parents=True)
            pq.write_table(de.filter(pa.compute.equal(years, year)), part / "part-0.parquet")
    elif layout == "upper_folder":
        (src / "DRUG_EXPOSURE").mkdir()
        pq.write_table(de, src / "DRUG_EXPOSURE" / "part-0.parquet")
    else:
        m = tables()["measurement"]
        (src / "measurement.parquet").unlink()
        pacsv.write_csv(m, tmp_path / "m.csv")
        (src / "measurement.csv.gz").write_bytes(gzip.compress((tmp_path / "m.csv").read_bytes()))
        pq.write_table(de, src / "drug_exposure.parquet")
    _reads_as_written(src, "drug_exposure", "measurement")


@pytest.mark.parametrize("swapped", [False, True])
def test_partition_folders_that_disagree_with_their_rows_are_refused(tmp_path, swapped):
    """Rows partitioned by ``person_id`` that keep the column: folders that agree with it
    are read as one table; folders that name another person (swapped) were read as that
    person's rows without a word (fuzzing, 2026-12-07)."""
    src, local = _instance(tmp_path / "omop")
    de = tables()["drug_exposure"]
    (src / "drug_exposure.parquet").unlink()
    ids = sorted(set(de["person_id"].to_pylist()))
    for pid in ids:
        folder = ids[(ids.index(pid) + 1) % len(ids)] if swapped else pid
        part = src / "drug_exposure" / f"person_id={folder}"
        part.mkdir(parents=True)
        pq.write_table(de.filter(pc.equal(de["person_id"], pid)), part / "part-0.parquet")
    if not swapped:
        _reads_as_written(src, "drug_exposure")
        return
    with pytest.raises(CohortError) as err:
        derive_omop(src, concepts=local)
    assert "is not the one its partition folder names" in err.value.problems[0].message


def test_parts_under_hidden_or_underscore_folders_are_not_read(tmp_path):
    """``_temporary/`` (an unfinished Spark write), ``.hidden/`` and ``_SUCCESS`` beside the
    parts and their Hive partitions are skipped, as Spark skips them (the review of the
    Hive layout found DuckDB reading them: a copy of each row, on DuckDB only)."""
    src, _local = _instance(tmp_path / "omop")
    de = tables()["drug_exposure"]
    (src / "drug_exposure.parquet").unlink()
    for part in ("year=2022/part-0.parquet", "_temporary/0/part-0.parquet",
                 ".hidden/part-0.parquet", "year=2022/_temporary/part-1.parquet",
                 "notes/part-0.parquet"):  # fmt: skip
        (src / "drug_exposure" / part).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(de, src / "drug_exposure" / part)
    (src / "drug_exposure" / "_SUCCESS").write_bytes(b"")
    _reads_as_written(src, "drug_exposure")


def test_an_empty_gzipped_csv_is_named_as_empty(tmp_path):
    import gzip

    src, _ = _instance(tmp_path / "omop")
    (src / "death.parquet").unlink()
    (src / "death.csv.gz").write_bytes(gzip.compress(b""))
    text = _open_error(src)
    assert "death.csv.gz" in text and "the file is empty (not even a header row)" in text


@pytest.mark.parametrize("cut", ["half", "first bytes", "not gzip"])
def test_a_gzipped_csv_cut_short_is_named_as_not_decompressible(tmp_path, capsys, cut):
    # its heading counted it among the files "not UTF-8 text" until 2026-12-07; cut within
    # its first bytes, or no gzip at all, it stopped with "Aborted." or a traceback
    import gzip

    src, _ = _instance(tmp_path / "omop", "csv")
    text = (src / "measurement.csv").read_bytes()
    whole = gzip.compress(text)
    (src / "measurement.csv").unlink()
    data = {"half": whole[: len(whole) // 2], "first bytes": whole[:20], "not gzip": text}
    (src / "measurement.csv.gz").write_bytes(data[cut])
    assert main(["derive", "--omop", str(src), "-o", str(tmp_path / "o")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "1 OMOP table file(s) that cannot be decompressed" in err
    assert "measurement.csv.gz" in err and "gzip -t FILE" in err
    assert "not UTF-8" not in err and "Traceback" not in err


def test_a_duckdb_file_whose_tables_are_in_another_schema_names_it(tmp_path, capsys):
    db = write_duckdb(tmp_path / "site.duckdb", schema="cdm")
    assert main(["derive", "--omop", str(db), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "no OMOP person table in the schema 'main'" in err and "add --schema cdm" in err


def test_null_written_as_text_is_named_with_the_fix_to_leave_it_empty(tmp_path):
    death = pa.table({"person_id": pa.array([1], pa.int64()), "death_date": ["NA"]})
    src, _ = _instance(tmp_path / "omop", "csv", death=death)
    text = _open_error(src)
    assert "death.csv" in text and "'NA'" in text
    assert "leave a missing value empty (not NULL or NA as text)" in text


@pytest.mark.parametrize("gz", [False, True])
def test_a_csv_table_that_is_not_utf8_is_named_at_its_line_and_column(tmp_path, capsys, gz):
    import gzip

    src, _ = _instance(tmp_path / "omop", "csv")
    rows = (src / "drug_exposure.csv").read_bytes().split(b"\n")
    rows[3] = rows[3].replace(b'"', b'"\xe9', 1)  # a Latin-1 e-acute in drug_source_value
    data = b"\n".join(rows)
    (src / "drug_exposure.csv").unlink()
    name = "drug_exposure.csv.gz" if gz else "drug_exposure.csv"
    (src / name).write_bytes(gzip.compress(data) if gz else data)
    assert main(["derive", "--omop", str(src), "-o", str(tmp_path / "o")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"{name}, column 'drug_source_value'" in err
    assert "byte 0xE9 on line 4" in err and "\\xe9" in err and "'CSV UTF-8'" in err
    assert "Traceback" not in err


def test_a_person_given_by_two_person_rows_is_named_in_its_file(tmp_path, capsys):
    # person 1 has myeloma: two rows would count the patient twice; person 3 has none,
    # so their repeated row is neither read nor an error
    def copy(person_id: int) -> pa.Table:
        t = tables()["person"]
        row = t.filter(pc.equal(t["person_id"], person_id))
        assert row.num_rows == 1
        return row

    person = pa.concat_tables([tables()["person"], copy(3)])
    src, local = _instance(tmp_path / "omop", "csv", person=person)
    code, err = _derive(src, local, tmp_path / "ok", capsys)
    assert code == 0, err
    person = pa.concat_tables([person, copy(1)])
    (src / "person.csv").unlink()
    pacsv.write_csv(person, src / "person.csv")
    code, err = _derive(src, local, tmp_path / "out", capsys)
    err = " ".join(err.split())
    assert code == 2
    assert f"{src / 'person.csv'}, column 'person_id': 2 person rows have this person_id " \
        "(value: '1')" in err  # fmt: skip


@pytest.mark.spark_full  # a Spark session of its own (half a minute): run by CI after the rest
def test_spark_reads_the_parts_folders_duckdb_reads(tmp_path):
    """A Hive-partitioned ``drug_exposure/`` with an unfinished write (``_temporary/``), a
    hidden folder, ``_SUCCESS`` and a non-partition subfolder: Spark reads the rows DuckDB
    reads (the DuckDB reader skips exactly what Spark skips), each row once, and DuckDB
    derives the instance's answers from them. A whole Spark derivation of an instance is
    compared with DuckDB's in ``test_handmade.py``."""
    from aftercar.backends import connect, unavailable
    from aftercar.backends.spark import SMALL_DATA_CONFIG

    reason = unavailable("spark")
    if reason:
        pytest.skip(reason)
    src, local = _instance(tmp_path / "omop")
    de = tables()["drug_exposure"]
    (src / "drug_exposure.parquet").unlink()
    years = pa.array([d.year for d in de["drug_exposure_start_date"].to_pylist()])
    for year in sorted(set(years.to_pylist())):
        part = src / "drug_exposure" / f"year={year}" / "part-0.parquet"
        part.parent.mkdir(parents=True)
        pq.write_table(de.filter(pc.equal(years, year)), part)
    for junk in ("_temporary/0/part-0.parquet", ".hidden/part-0.parquet"):
        (src / "drug_exposure" / junk).parent.mkdir(parents=True)
        pq.write_table(de, src / "drug_exposure" / junk)
    (src / "drug_exposure" / "_SUCCESS").write_bytes(b"")
    ref = derive_omop(src, concepts=local).result
    assert ref.lines.num_rows == 2 and ref.patients.num_rows == 1
    read = {}
    for engine, con in (("duckdb", connect("duckdb")),
                        ("spark", connect("spark", config=SMALL_DATA_CONFIG))):  # fmt: skip
        t = open_source(con, src)["drug_exposure"].select(*de.column_names)
        read[engine] = t.order_by("drug_exposure_id").to_pyarrow().cast(de.schema)
    assert read["duckdb"].num_rows == de.num_rows  # each row once: no junk folder read
    assert read["spark"].to_pylist() == read["duckdb"].to_pylist()


def test_a_csv_row_with_an_extra_field_names_the_file_and_line(tmp_path):
    # DuckDB stopped with a BinderException (a traceback, exit 1) when binding the date
    # columns of a CSV file whose sixth line had one field too many (fuzzing, 2026-12-05)
    src, _ = _instance(tmp_path / "omop", fmt="csv")
    path = src / "drug_exposure.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[5] += ",x"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(CohortError) as err:
        open_source(ibis.duckdb.connect(), src)
    p = err.value.problems[0]
    assert (p.file, p.row, p.rule) == (str(path), 6, "ragged_row")
    n = len(lines[0].split(","))
    assert f"{n + 1} fields where the header has {n}" in p.message


def test_a_birth_datetime_that_is_no_date_is_named_not_leaked_as_engine_sql(tmp_path):
    # 1950-02-30 stopped the cast in the cohort's SQL, quoted whole (fuzzing, 2026-12-05)
    pe = tables()["person"]
    first = pe["person_id"][0].as_py()
    stamps = ["1950-02-30 00:00:00"] + ["1950-03-01 00:00:00"] * (pe.num_rows - 1)
    src, local = _instance(tmp_path / "omop", "csv",
                           person=pe.append_column("birth_datetime", pa.array(stamps)))
    text = _open_error(src)
    assert (f"person.csv, column 'birth_datetime': text that is not a date and time, at "
            f"person_id {first} (value: '1950-02-30 00:00:00')") in text  # fmt: skip
    assert "LINE" not in text and "CAST" not in text
    years = pe["year_of_birth"].to_pylist()  # each person's own year (fuzzing round 5, H04)
    good, local = _instance(tmp_path / "good", "csv", person=pe.append_column(
        "birth_datetime", pa.array([f"{y}-03-01 08:30:00" for y in years])))
    births = derive_omop(good, concepts=local).result.patients["birth_date"].to_pylist()
    assert {str(b) for b in births} == {f"{years[0]}-03-01"}


def test_schema_with_a_folder_is_an_error_not_ignored(tmp_path):
    # found by fuzzing (2026-12-06): --schema was silently ignored for a folder source
    src, _ = _instance(tmp_path / "omop")
    with pytest.raises(CohortError) as err:
        open_source(ibis.duckdb.connect(), src, "cdm")
    assert "--schema applies to a DuckDB database file" in str(err.value)


def _with_column(name: str, col: str, values: list) -> pa.Table:
    t = tables()[name]
    return t.set_column(t.column_names.index(col), col, pa.array(values, t.schema.field(col).type))


def test_a_year_of_birth_of_0_leaves_the_birth_date_empty(tmp_path, handmade_result):
    """A year of 0 ("unknown", as a month or day of 0) was a date of year 0, a traceback
    when read (fuzzing, 2026-12-07); it leaves the birth date and the age empty."""
    pe = tables()["person"]
    pe = _with_column("person", "year_of_birth", [0] * pe.num_rows)
    src, local = _instance(tmp_path / "omop", person=pe)
    got = derive_omop(src, concepts=local).result.patients
    assert got.num_rows == handmade_result.patients.num_rows
    assert got["birth_date"].null_count == got.num_rows


def test_a_year_of_birth_after_this_one_is_named(tmp_path):
    """A year of birth of 2090 dropped a dead person as "death before birth" and stopped a
    living one as "age -68.9" (fuzzing, 2026-12-07)."""
    pe = tables()["person"]
    years = [dt.date.today().year + 60, *pe["year_of_birth"].to_pylist()[1:]]
    src, _local = _instance(tmp_path / "omop", person=_with_column("person", "year_of_birth",
                                                                   years))  # fmt: skip
    assert "a year of birth after this one" in _derive_error(src)


def _derive_error(src) -> str:
    try:
        derive_omop(src, concepts=src.parent / "local.toml")
    except CohortError as exc:
        return str(exc) + " ".join(p.message for p in exc.problems)
    return ""


@pytest.mark.parametrize(("days", "expected"), [
    (6_630_000, "a date after today (value: '20"),  # a year past 9999: no Python date
    (-719_000, "a date before 1900-01-01")])  # fmt: skip
def test_a_date_python_cannot_hold_is_named_not_a_traceback(tmp_path, days, expected):
    """DuckDB reads "20170-02-04" as a date of year 20170, which no Python date holds: the
    checks quoting it ended in a traceback (fuzzing, 2026-12-07); a date before 1900 (an
    ETL's minimum date, year 1) is named as such."""
    m = tables()["measurement"]
    dates = pa.array([days] + [None] * (m.num_rows - 1), pa.int32()).cast(pa.date32())
    dates = pc.coalesce(dates, m["measurement_date"])
    src, _local = _instance(tmp_path / "omop", measurement=m.set_column(
        m.column_names.index("measurement_date"), "measurement_date", dates))  # fmt: skip
    with pytest.raises(CohortError) as err:
        derive_omop(src, concepts=src.parent / "local.toml")
    text = " ".join(f"{p.message} (value: '{p.value}')" for p in err.value.problems)
    assert expected in text, text


@pytest.mark.parametrize("table", ["observation_period", "death"])
def test_a_follow_up_row_without_person_id_is_named(tmp_path, table):
    """An observation period without ``person_id`` was dropped without a word, and its
    living person listed as having none (fuzzing, 2026-12-07)."""
    date = "observation_period_end_date" if table == "observation_period" else "death_date"
    src, local = _instance(tmp_path / "omop",
                           **{table: _plus(table, **{date: D("2022-06-01")})})  # fmt: skip
    with pytest.raises(CohortError) as err:
        derive_omop(src, concepts=local)
    assert f"1 {table} row(s) have no person_id" in err.value.problems[0].message


def test_a_csv_column_named_twice_is_named(tmp_path):
    """Two ``person_id`` columns (with other values) in person.csv: the engines rename the
    second, and the first was read without a word (fuzzing, 2026-12-07)."""
    src, local = _instance(tmp_path / "omop", fmt="csv")
    f = src / "person.csv"
    head, *rows = f.read_text().splitlines()
    f.write_text("\n".join([head + ',"PERSON_ID"', *(r + ",9" for r in rows)]) + "\n")
    with pytest.raises(CohortError) as err:
        derive_omop(src, concepts=local)
    (p,) = err.value.problems
    assert (p.row, p.column, p.message) == (1, "person_id", "the header names person_id 2 times")


def test_a_duckdb_file_with_its_tables_split_between_schemas_names_them(tmp_path, capsys):
    """``person`` in ``main``, the other tables in ``cdm``: six "table missing" errors named
    no schema (fuzzing, 2026-12-07)."""
    db = write_duckdb(tmp_path / "site.duckdb", schema="cdm")
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE main.person AS SELECT * FROM cdm.person")
    assert main(["derive", "--omop", str(db), "-o", str(tmp_path / "o")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "split between schemas: person in 'main'" in err and "in 'cdm'" in err


def test_a_missing_column_of_another_spelling_is_named_with_it(tmp_path):
    """A ``PersonID`` column: the fix said to add person_id "(it may hold nulls)", at the
    table's folder path (fuzzing, 2026-12-07)."""
    src, _ = _instance(tmp_path / "omop", fmt="csv")
    f = src / "person.csv"
    f.write_text(f.read_text().replace('"person_id"', '"PersonID"', 1))
    with pytest.raises(CohortError) as err:
        open_source(ibis.duckdb.connect(), src)
    (p,) = err.value.problems
    assert (p.file, p.row, p.column) == (str(f), 1, "person_id")
    assert p.hint == "rename the column 'PersonID' to person_id"


def test_a_date_column_stored_as_a_number_is_named(tmp_path):
    """Days since 1970 as an integer column: the engine's cast error quoted its SQL and no
    file (fuzzing, 2026-12-07)."""
    de = tables()["death"]
    days = pc.cast(pc.cast(de["death_date"], pa.int32()), pa.int32())
    src, _ = _instance(tmp_path / "omop", death=de.set_column(
        de.column_names.index("death_date"), "death_date", days))  # fmt: skip
    text = _open_error(src)
    assert "death.parquet" in text and "a date column stored as a number (int32)" in text


def test_a_run_without_any_imwg_assessment_says_so(tmp_path, capsys):
    """A header-only measurement table: every index date is the therapy after the CAR T and
    no response is graded, which the run did not say (fuzzing, 2026-12-07)."""
    src, local = _instance(tmp_path / "omop", measurement=tables()["measurement"].slice(0, 0))
    code = main(["derive", "--omop", str(src), "-o", str(tmp_path / "o"),
                 "--concepts", str(local)])  # fmt: skip
    out = " ".join(capsys.readouterr().out.split())
    assert code == 0 and "No IMWG assessment was derived" in out


@pytest.mark.parametrize(("folder", "value", "same"), [
    ("01", 1, True), ("1", 1.0, True), ("__HIVE_DEFAULT_PARTITION__", None, True),
    ("2020-01-01 00%3A00%3A00", dt.datetime(2020, 1, 1), True),
    ("2020-01-01", dt.date(2020, 1, 1), True), ("2", 1, False), ("a", "b", False)])  # fmt: skip
def test_a_partition_folder_names_its_value_as_spark_writes_it(folder, value, same):
    """Zero-padded, decimal, URL-encoded and null (Hive default) folder values are the
    file's (the first check compared texts and refused them: review of session 32)."""
    from aftercar.derive.omop.source import _same_value

    assert _same_value(folder, value) is same
