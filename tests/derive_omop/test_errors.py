"""Bad OMOP input: a clear error naming table / column and a fix, exit code 2."""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa
import pyarrow.csv
import pyarrow.parquet as pq
import pytest
from handmade import LOCAL_TOML, tables, write, write_duckdb

from aftercar.cli import main


def test_missing_table_is_named_with_a_fix(tmp_path, capsys):
    src = write(tmp_path / "omop", drop=("measurement",))
    assert main(["derive", "--omop", str(src), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "'measurement' is missing" in err and "measurement.parquet" in err


def test_a_source_that_is_not_there_is_one_message(tmp_path, capsys):
    """A mistyped SOURCE (no file, folder or schema of that name): one line saying so,
    not every OMOP table listed as missing."""
    missing = tmp_path / "omop_typo"
    assert main(["derive", "--omop", str(missing), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "OMOP source not found" in err and "no such file or folder" in err
    assert "is missing" not in err


def test_a_catalog_schema_is_read_by_its_name():
    """SOURCE as ``schema`` or ``catalog.schema`` (Databricks' ``cdm`` / ``main.cdm``):
    the name is not taken for a file because of its dot."""
    import ibis

    from aftercar.derive.omop.source import open_source

    con = ibis.duckdb.connect()
    con.raw_sql("CREATE SCHEMA cdm")
    for name, t in tables().items():
        con.create_table(name, t, database="cdm")
    for source in ("cdm", "memory.cdm"):
        assert open_source(con, source)["person"].count().to_pyarrow().as_py() == 4


def test_missing_column_is_named_with_a_fix(tmp_path, capsys):
    src = write(tmp_path / "omop", fmt="csv", drop=("drug_exposure.drug_source_value",))
    assert main(["derive", "--omop", str(src), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "drug_exposure" in err and "drug_source_value" in err and "column is missing" in err


def test_unknown_unit_names_the_measurement_row(tmp_path, capsys):
    src = write(tmp_path / "omop")
    m = tables()["measurement"]
    bad = m.set_column(m.column_names.index("unit_concept_id"), "unit_concept_id",
                       pa.nulls(m.num_rows, pa.int64()))  # fmt: skip
    bad = bad.set_column(bad.column_names.index("unit_source_value"), "unit_source_value",
                         pa.array(["furlongs"] * m.num_rows))  # fmt: skip
    import pyarrow.parquet as pq

    pq.write_table(bad, src / "measurement.parquet")
    assert main(["derive", "--omop", str(src), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "measurement" in err and "furlongs" in err and "unit" in err
    # named as the OMOP row and column, not as a row of the raw-records `labs` file
    assert "unit_concept_id / unit_source_value" in err and "(measurement_id " in err
    assert "labs, row" not in err


def _with_unit_texts(src, texts: dict[int, str]) -> None:
    """The instance's measurements with the ``unit_source_value`` of some rows changed."""
    m = tables()["measurement"]
    units = [texts.get(i, u) for i, u in zip(m["measurement_id"].to_pylist(),
                                             m["unit_source_value"].to_pylist(), strict=True)]
    i = m.column_names.index("unit_source_value")
    pq.write_table(m.set_column(i, "unit_source_value", pa.array(units)),
                   src / "measurement.parquet")  # fmt: skip


def test_a_unit_text_that_disagrees_with_the_unit_concept_is_read_by_the_concept_and_listed(
        tmp_path, capsys, handmade_result):  # fmt: skip
    """unit_concept_id 8713 (g/dL) beside unit_source_value "mg/dL": one of them is wrong,
    or the ETL converted the value and kept the unit it was reported in. The concept (the
    CDM's standard field) is read, as before, but no longer in silence (note29): the row
    is listed in audit/unit_conflicts and the run says so."""
    src = write(tmp_path / "omop")
    _with_unit_texts(src, {502: "mg/dL", 510: "MG/DL"})
    out = tmp_path / "out"
    assert main(["derive", "--omop", str(src), "--concepts", str(_local(tmp_path)),
                 "-o", str(out)]) == 0  # fmt: skip
    said = " ".join(capsys.readouterr().out.split())
    assert ("2 measurement rows give a unit_source_value that names another unit than their "
            "unit_concept_id: read in the concept's unit") in said
    listed = pyarrow.csv.read_csv(out / "audit" / "unit_conflicts.csv").to_pylist()
    assert [(r["patient_id"], r["table"], r["row"], r["test"], r["unit"],
             r["unit_source_value"]) for r in listed] == [
        (1, "measurement", 510, "kappa FLC", "mg/L", "MG/DL"),  # 2022-01-03
        (1, "measurement", 502, "serum M-protein", "g/dL", "mg/dL")]  # fmt: skip
    lines = pyarrow.csv.read_csv(out / "lines.csv")
    assert lines["start_date"].to_pylist() == handmade_result.lines["start_date"].to_pylist()


def _local(tmp_path):
    path = tmp_path / "local.toml"
    path.write_text(LOCAL_TOML, encoding="utf-8")
    return path


def test_unit_texts_that_name_the_concepts_unit_another_way_are_read(tmp_path, handmade_result):
    """Upper case, spaces, or a unit text the rules do not know beside a unit concept:
    no disagreement, the rows are read as the concept says (the same cohort)."""
    from aftercar.derive.omop import derive_omop

    ref = handmade_result
    src = write(tmp_path / "omop")
    _with_unit_texts(src, {502: " G/DL ", 503: "g/dl", 510: "milligrams per litre?"})
    got = derive_omop(src, concepts=_local(tmp_path)).result
    assert got.lines.equals(ref.lines) and got.patients.equals(ref.patients)
    assert got.audit["unit_conflicts"].num_rows == 0


def test_an_empty_unit_and_a_text_value_are_named_with_their_person(tmp_path, capsys):
    """A numeric M-protein with no unit at all says the unit is empty and how to give it;
    a text value names value_source_value and the texts the rules read; both name the
    person (a hand-made OMOP probe, session 28: "unknown unit for this test", the column
    'value_as_number' of an empty value, no person_id)."""
    import pyarrow.parquet as pq

    src = write(tmp_path / "omop")
    m = tables()["measurement"]
    bad = m.set_column(m.column_names.index("unit_concept_id"), "unit_concept_id",
                       pa.nulls(m.num_rows, pa.int64()))  # fmt: skip
    bad = bad.set_column(bad.column_names.index("unit_source_value"), "unit_source_value",
                         pa.nulls(m.num_rows, pa.string()))  # fmt: skip
    pq.write_table(bad, src / "measurement.parquet")
    assert main(["derive", "--omop", str(src), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "the unit is empty" in err and "person_id " in err and "8713 g/dL" in err
    src = write(tmp_path / "omop2")
    text = m.set_column(m.column_names.index("value_as_number"), "value_as_number",
                        pa.nulls(m.num_rows, pa.float64()))  # fmt: skip
    if "value_source_value" in text.column_names:
        text = text.drop_columns(["value_source_value"])
    text = text.append_column("value_source_value", pa.array(["see comment"] * m.num_rows))
    pq.write_table(text, src / "measurement.parquet")
    assert main(["derive", "--omop", str(src), "-o", str(tmp_path / "out2")]) == 2
    err = capsys.readouterr().err
    assert "'value_as_number / value_source_value'" in err and "see comment" in err
    assert "'<0.1'" in err and "person_id " in err


def test_episodes_go_into_a_duckdb_source_once(tmp_path, capsys, monkeypatch):
    db = write_duckdb(tmp_path / "cdm.duckdb")
    local = tmp_path / "local.toml"
    local.write_text(LOCAL_TOML)
    args = ["derive", "--omop", str(db), "--concepts", str(local), "--write-episodes"]
    assert main([*args, "-o", str(tmp_path / "out")]) == 0
    con = duckdb.connect(str(db), read_only=True)
    n = con.execute("SELECT episode_concept_id, count(*) FROM episode GROUP BY 1 ORDER BY 1")
    assert n.fetchall() == [(32528, 1), (32941, 2)]
    events = con.execute("SELECT count(*) FROM episode_event").fetchone()[0]
    con.close()
    assert events == 16 + 1 + 9  # teclistamab (+ its dexamethasone) and forimtamig exposures
    assert (tmp_path / "out" / "episodes" / "episode.csv").is_file()
    # refused at once, before a derivation (minutes on a real instance) that would be lost
    import aftercar.derive.omop.batched as batched

    def never(*a, **k):
        raise AssertionError("derived before refusing")

    monkeypatch.setattr(batched, "_derive_batches", never)
    assert main([*args, "-o", str(tmp_path / "out2")]) == 2
    assert "already holds episodes aftercar derived" in capsys.readouterr().err
    assert not (tmp_path / "out2" / "patients.csv").exists()


def test_episodes_go_into_upper_case_tables_of_the_ohdsi_ddl(tmp_path, capsys):
    """The OHDSI DDL creates ``EPISODE`` / ``EPISODE_EVENT``: the episodes are appended to
    them (DuckDB's names are case-insensitive), not refused as an existing table after the
    derivation; and lines already there are found (found by an adversarial review). In
    batches (the one-batch run appends to lower-case tables in the test above: both write
    them in the final pass)."""
    import aftercar.derive.omop.episodes as ep

    empty = {"episode": ep.EPISODE_SCHEMA.empty_table(),
             "episode_event": ep.EVENT_SCHEMA.empty_table()}
    db = write_duckdb(tmp_path / "cdm.duckdb", upper=True, extra=empty)
    local = tmp_path / "local.toml"
    local.write_text(LOCAL_TOML)
    args = ["derive", "--omop", str(db), "--concepts", str(local), "--write-episodes"]
    assert main([*args, "-o", str(tmp_path / "out"), "--batch-persons", "2"]) == 0
    con = duckdb.connect(str(db), read_only=True)
    n = con.execute("SELECT count(*) FROM EPISODE WHERE episode_concept_id = 32941")
    assert n.fetchall() == [(2,)]  # appended once
    con.close()
    assert main([*args, "-o", str(tmp_path / "again")]) == 2
    assert "already holds episodes aftercar derived" in capsys.readouterr().err


def test_aftercar_disease_episodes_left_behind_are_refused_too(tmp_path, capsys):
    # fuzzing round 5 (H02): after deleting the derived lines, as the refusal said, a new run
    # added a second disease episode per person
    db = write_duckdb(tmp_path / "cdm.duckdb")
    local = tmp_path / "local.toml"
    local.write_text(LOCAL_TOML)
    args = ["derive", "--omop", str(db), "--concepts", str(local), "--write-episodes"]
    assert main([*args, "-o", str(tmp_path / "out")]) == 0
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM episode_event")
    con.execute("DELETE FROM episode WHERE episode_concept_id = 32941")
    con.close()
    assert main([*args, "-o", str(tmp_path / "again")]) == 2
    assert "disease episodes 32528" in capsys.readouterr().err


@pytest.mark.parametrize(("ddl", "said"), [
    ("CREATE TABLE episode_event (episode_id BIGINT, event_id BIGINT)",
     "episode_event lacks the CDM column(s) episode_event_field_concept_id"),
    ("CREATE TABLE episode (episode_id VARCHAR, person_id BIGINT, episode_concept_id INT)",
     "episode lacks the CDM column(s) episode_start_date"),
    ("CREATE VIEW episode AS SELECT 1 AS episode_id", "episode is a view, not a table"),
])  # fmt: skip
def test_episode_tables_that_cannot_take_the_rows_are_refused_first(tmp_path, capsys, ddl, said):
    # fuzzing round 5 (H03): a traceback, and EPISODE rows saved without their events
    db = write_duckdb(tmp_path / "cdm.duckdb")
    con = duckdb.connect(str(db))
    con.execute(ddl)
    con.close()
    local = tmp_path / "local.toml"
    local.write_text(LOCAL_TOML)
    args = ["derive", "--omop", str(db), "--concepts", str(local), "--write-episodes"]
    assert main([*args, "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err
    assert not (tmp_path / "out" / "patients.csv").exists()


@pytest.mark.parametrize(("extra", "said"), [
    ({"birth_datetime": pa.array([dt.datetime(1980, 1, 17)] + [None] * 9, pa.timestamp("us"))},
     "birth_datetime 1980-01-17"),
    ({"month_of_birth": pa.array([13] + [5] * 9, pa.int64())}, "month_of_birth 13"),
])  # fmt: skip
def test_contradictory_birth_fields_are_an_error(tmp_path, capsys, extra, said):
    # fuzzing round 5 (H04): birth_datetime 20 years off year_of_birth gave an age of 41
    # instead of 61 without a word; month 13 was written out as 1 July
    person = tables()["person"]
    for name, values in extra.items():
        person = person.append_column(name, values.slice(0, person.num_rows))
    src = write(tmp_path / "omop")
    pq.write_table(person, src / "person.parquet")
    local = tmp_path / "local.toml"
    local.write_text(LOCAL_TOML)
    assert main(["derive", "--omop", str(src), "--concepts", str(local),
                 "-o", str(tmp_path / "out")]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "contradict each other" in err and said in err and "person_id 1" in err


def _with_index_rows(tmp_path, source: str, extra: list[dict]) -> tuple:
    de = tables()["drug_exposure"]
    rows = [{**r, "drug_source_value": source} if r["drug_exposure_id"] == 101 else r
            for r in de.to_pylist()] + extra  # fmt: skip
    src = write(tmp_path / "omop")
    pq.write_table(pa.Table.from_pylist(rows, schema=de.schema), src / "drug_exposure.parquet")
    local = tmp_path / "local.toml"
    local.write_text(LOCAL_TOML)
    return src, local


def test_the_index_product_is_the_concepts_when_the_text_names_another(tmp_path, capsys):
    # fuzzing round 5 (H09): a cilta-cel concept with the text "ABECMA ..." became ide-cel
    src, local = _with_index_rows(tmp_path, "ABECMA 450 million cells", [])
    out = tmp_path / "out"
    assert main(["derive", "--omop", str(src), "--concepts", str(local), "-o", str(out)]) == 0
    product = pa.csv.read_csv(out / "patients.csv")["car_t_product"].to_pylist()
    assert product == ["ciltacabtagene autoleucel"]


def test_two_car_t_products_on_the_index_day_are_an_error(tmp_path, capsys):
    extra = [{"drug_exposure_id": 199, "person_id": 1, "drug_concept_id": 0,
              "drug_exposure_start_date": dt.date(2022, 1, 10),
              "drug_source_value": "ide-cel 450 million cells"}]  # fmt: skip
    src, local = _with_index_rows(tmp_path, "CARVYKTI infusion", extra)
    assert main(["derive", "--omop", str(src), "--concepts", str(local),
                 "-o", str(tmp_path / "out")]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "two different BCMA CAR-T products" in err and "101, 199" in err


def test_report_takes_schema_and_concepts_only_with_omop(tmp_path, capsys):
    args = ["report", "--demo", "-o", str(tmp_path / "r"), "--concepts", str(tmp_path / "x.toml")]
    assert main(args) == 2
    assert "--concepts describe an OMOP source" in capsys.readouterr().err


def test_immunofixation_given_as_a_number_names_the_row_and_its_number(tmp_path, capsys):
    """value_as_number is read as a number (no text round trip); an immunofixation result
    given only as a number is unreadable, and the error shows that number."""
    import pyarrow.parquet as pq

    src = write(tmp_path / "omop")
    m = tables()["measurement"]
    row = {"measurement_id": 999, "person_id": 1, "measurement_concept_id": 0,
           "measurement_date": m["measurement_date"][5].as_py(), "value_as_number": 1.0,
           "value_as_concept_id": None, "unit_concept_id": None, "unit_source_value": None,
           "measurement_source_value": "serum immunofixation"}  # fmt: skip
    extra = pa.Table.from_pylist([row], schema=m.schema)
    pq.write_table(pa.concat_tables([m, extra]), src / "measurement.parquet")
    assert main(["derive", "--omop", str(src), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "POSITIVE or NEGATIVE" in err and "(measurement_id 999, person_id " in err
    assert "measurement, row" not in err  # an id, not the file's line 999
    assert "value_as_number" in err and "1.0" in err


def test_an_immunofixation_with_an_unknown_result_concept_names_that_column(tmp_path, capsys):
    """An immunofixation read from an unknown result concept names value_as_concept_id and
    asks for a result concept, not for a number (found by hand-made patients, 2026-12-06)."""
    import pyarrow.parquet as pq

    src = write(tmp_path / "omop")
    m = tables()["measurement"]
    row = {"measurement_id": 998, "person_id": 1, "measurement_concept_id": 0,
           "measurement_date": m["measurement_date"][5].as_py(), "value_as_number": None,
           "value_as_concept_id": 4126681, "unit_concept_id": None, "unit_source_value": None,
           "measurement_source_value": "serum immunofixation"}  # fmt: skip
    extra = pa.Table.from_pylist([row], schema=m.schema)
    pq.write_table(pa.concat_tables([m, extra]), src / "measurement.parquet")
    assert main(["derive", "--omop", str(src), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "value_as_concept_id" in err and "(measurement_id 998, person_id " in err
    assert "[values]" in err and "give value_as_number" not in err


def test_a_person_id_given_twice_is_named(tmp_path, capsys):
    src = write(tmp_path / "omop")
    p = tables()["person"]
    import pyarrow.parquet as pq

    pq.write_table(pa.concat_tables([p, p.slice(0, 1)]), src / "person.parquet")
    out = tmp_path / "out"
    assert main(["derive", "--omop", str(src), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "person_id" in err and "2 person rows" in err and "Traceback" not in err


def test_derive_refuses_to_write_into_the_omop_folder(tmp_path, capsys):
    src = write(tmp_path / "omop")
    assert main(["derive", "--omop", str(src), "-o", str(src)]) == 2
    assert "is the input folder" in capsys.readouterr().err
    assert not (src / "patients.csv").exists()


def test_a_bad_value_in_a_csv_date_column_is_exit_2_without_a_traceback(tmp_path, capsys):
    src = write(tmp_path / "omop", fmt="csv")
    f = src / "drug_exposure.csv"
    lines = f.read_text().splitlines()
    lines[-1] = lines[-1].replace("2021-05-01", "yesterday")
    f.write_text("\n".join(lines) + "\n")
    assert "yesterday" in f.read_text()
    assert main(["derive", "--omop", str(src), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    row = lines[-1].split(",")[0]  # drug_exposure_id: the row named
    assert ("column 'drug_exposure_start_date': text that is not a date, at drug_exposure_id "
            f"{row} (value: 'yesterday')") in err  # fmt: skip
    assert "YYYY-MM-DD" in err and "Traceback" not in err


def test_a_local_concepts_file_with_a_byte_order_mark_is_read(tmp_path):
    # fuzzing round 5 (H08): "Invalid statement (at line 1, column 1)", where --rules and
    # --config read the same mark (`--concepts` is read by load_concepts)
    from aftercar.derive.omop.concepts import load_concepts
    from aftercar.derive.raw.rules import load_rules

    marked, plain = tmp_path / "marked.toml", tmp_path / "plain.toml"
    marked.write_bytes(b"\xef\xbb\xbf" + LOCAL_TOML.encode("utf-8"))
    plain.write_text(LOCAL_TOML, encoding="utf-8")
    rules = load_rules()
    got, want = load_concepts(marked, rules), load_concepts(plain, rules)
    shipped = load_concepts(None, rules)
    assert got.episode == want.episode
    assert all(got.tables[k].equals(want.tables[k]) for k in want.tables)
    assert not all(shipped.tables[k].equals(want.tables[k]) for k in want.tables)


def test_an_unescaped_quote_in_a_csv_value_is_named_with_its_line(tmp_path, capsys):
    # fuzzing round 5 (H05): DuckDB's message said date columns the file has did not exist
    src = write(tmp_path / "omop", fmt="csv")
    f = src / "drug_exposure.csv"
    lines = f.read_text(encoding="utf-8").splitlines()
    cells = lines[3].split(",")
    cells[-1] = '"acetaminophen "650" mg PO"'
    lines[3] = ",".join(cells)
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    local = tmp_path / "local.toml"
    local.write_text(LOCAL_TOML)
    assert main(["derive", "--omop", str(src), "--concepts", str(local),
                 "-o", str(tmp_path / "out")]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "row 4" in err and "quotation mark inside a quoted value" in err


@pytest.mark.parametrize("where", ["inside", "last"])
def test_an_unclosed_quote_in_a_csv_value_is_named_at_its_own_line(tmp_path, capsys, where):
    # until 2026-12-07 the line after it was named (where the reader stopped), or, on the last
    # line, the engine's text without a line
    src = write(tmp_path / "omop", fmt="csv")
    f = src / "drug_exposure.csv"
    lines = f.read_text(encoding="utf-8").splitlines()
    at = 3 if where == "inside" else len(lines) - 1
    cells = lines[at].split(",")
    cells[-1] = '"' + cells[-1].strip('"')  # opened, never closed
    lines[at] = ",".join(cells)
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    local = tmp_path / "local.toml"
    local.write_text(LOCAL_TOML)
    assert main(["derive", "--omop", str(src), "--concepts", str(local),
                 "-o", str(tmp_path / "out")]) == 2  # fmt: skip
    err = " ".join(capsys.readouterr().err.split())
    line = at + 1
    opened = f"drug_exposure.csv, row {line}: a quoted value opened on line {line} is not closed"
    assert opened in err
    assert ("before the end of the file" in err) == (where == "last")
    assert f"the record runs from line {line} to line {line + 1}" in err or where == "last"
    assert "Traceback" not in err


@pytest.mark.parametrize("value, unit, stops", [(500.0, "g/dL", True), (150.0, "g/L", False),
                                               (1500.0, "mg/dL", False)])  # fmt: skip
def test_a_serum_m_protein_no_patient_has_stops_the_run(tmp_path, capsys, value, unit, stops):
    """A serum M-protein above [plausible] serum_m (20 g/dL) is a data error, most often its
    unit (fuzz round 7: two values of 500 g/dL moved an index progression in silence); the
    same number in a unit that makes it plausible is read."""
    import pyarrow.parquet as pq

    src = write(tmp_path / "omop")
    m = tables()["measurement"]
    row = {"measurement_id": 997, "person_id": 1, "measurement_concept_id": 0,
           "measurement_date": m["measurement_date"][5].as_py(), "value_as_number": value,
           "value_as_concept_id": None, "unit_concept_id": None, "unit_source_value": unit,
           "measurement_source_value": "SPEP M-spike"}  # fmt: skip
    extra = pa.Table.from_pylist([row], schema=m.schema)
    pq.write_table(pa.concat_tables([m, extra]), src / "measurement.parquet")
    code = main(["derive", "--omop", str(src), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == (2 if stops else 0), err
    if stops:
        assert "(measurement_id 997, person_id " in err and "above 20 g/dL" in err and "500" in err
        assert "value_as_number" in err and "unit_concept_id" in err and "Traceback" not in err
