"""Bad raw input: every problem named by file, row, column, value and fix; CLI exit code 2."""

from __future__ import annotations

import importlib

import pyarrow.csv as pacsv
import pytest
from raw_cases import RawBuilder

from aftercar.derive.raw.read import read_raw
from aftercar.derive.raw.rules import load_rules
from aftercar.errors import CohortError, ConfigError


def _write(tmp_path, builder: RawBuilder, edit=None):
    raw = tmp_path / "raw"
    raw.mkdir()
    for name, t in builder.tables().items():
        t = t.drop_columns(["row"])
        pacsv.write_csv(t, raw / f"{name}.csv")
    if edit:
        edit(raw)
    return tmp_path


def _one_patient() -> RawBuilder:
    b = RawBuilder()
    b.patient("P1")
    b.drug("P1", "XPOVIO 100 mg PO", [100, 107])
    b.serum("P1", {99: 2.0, 130: 0.9})
    return b


def _replace(path, old, new):
    path.write_text(path.read_text().replace(old, new, 1))


def test_bad_date_and_unknown_patient_are_listed(tmp_path):
    def edit(raw):
        _replace(raw / "administrations.csv", "2020-04-10", "10/04/2020")
        _replace(raw / "labs.csv", '"P1"', '"P9"')

    with pytest.raises(CohortError) as err:
        read_raw(_write(tmp_path, _one_patient(), edit))
    text = str(err.value)
    assert (
        "administrations.csv, row 2, column 'date': not a valid date (value: '10/04/2020')"
    ) in text
    assert "Fix: write dates as YYYY-MM-DD" in text


def test_unknown_patient_in_labs(tmp_path):
    with pytest.raises(CohortError) as err:
        read_raw(
            _write(tmp_path, _one_patient(), lambda raw: _replace(raw / "labs.csv", '"P1"', '"P9"'))
        )
    assert "labs.csv, row 2, column 'patient_id': patient is not in the patients table" in str(
        err.value
    )


def test_unknown_lab_unit_is_an_error(tmp_path):
    from aftercar.derive.raw.derive import derive_raw

    root = _write(tmp_path, _one_patient(), lambda raw: _replace(raw / "labs.csv", "g/dL", "oz"))
    with pytest.raises(CohortError) as err:
        derive_raw(read_raw(root))
    assert "row 2, column 'unit'" in str(err.value) and "'oz'" in str(err.value)


def test_missing_table(tmp_path):
    root = _write(tmp_path, _one_patient(), lambda raw: (raw / "labs.csv").unlink())
    with pytest.raises(CohortError) as err:
        read_raw(root)
    assert "the raw 'labs' table is missing" in str(err.value)


def test_unknown_rule_key(tmp_path):
    f = tmp_path / "rules.toml"
    f.write_text("[lines]\nregimen_window_dayz = 28\n[measurable]\nserum_g_dl = 'one'\n")
    with pytest.raises(ConfigError) as err:
        load_rules(f)
    assert "lines.regimen_window_dayz" in str(err.value)
    assert "measurable.serum_g_dl" in str(err.value)


def test_rules_override(tmp_path):
    f = tmp_path / "rules.toml"
    f.write_text("[lines]\nregimen_window_days = 28\n")
    assert load_rules(f).get("lines", "regimen_window_days") == 28


def _cli():
    """The CLI with the derive command (registered here until cli/__init__ lists it)."""
    from aftercar import cli

    if not any(c.name == "derive" for c in cli.app.registered_commands):
        importlib.import_module("aftercar.cli.derive").register(cli.app)
    return cli


def test_cli_exit_code_2_on_bad_input(tmp_path, capsys):
    cli = _cli()
    root = _write(
        tmp_path,
        _one_patient(),
        lambda raw: _replace(raw / "administrations.csv", "2020-04-10", "soon"),
    )
    assert cli.main(["derive", str(root), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "column 'date'" in err and "Traceback" not in err


def test_cli_writes_cohort_and_audit(tmp_path):
    from aftercar.io import read_cohort

    cli = _cli()
    root = _write(tmp_path, _one_patient())
    out = tmp_path / "cohort"
    assert cli.main(["derive", str(root), "-o", str(out)]) == 0
    for name in ("lines", "events", "assessments", "attrition"):
        assert (out / "audit" / f"{name}.csv").is_file()
    cohort = read_cohort(out)
    assert cohort.lines.num_rows == 1


def test_a_progression_date_column_in_raw_patients_is_named_as_not_read(tmp_path, capsys):
    """Fuzzing round 3 (F14): the clinician's progression_date / car_t_best_response were
    replaced by the derived values without a word."""
    cli = _cli()

    def add(raw):
        lines = (raw / "patients.csv").read_text().splitlines()
        lines = [lines[0] + ",progression_date"] + [row + ",2024-01-01" for row in lines[1:]]
        (raw / "patients.csv").write_text("\n".join(lines) + "\n")

    root = _write(tmp_path, _one_patient(), add)
    assert cli.main(["derive", str(root), "-o", str(tmp_path / "cohort")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "column(s) progression_date not read" in out


def test_rules_are_read_only():
    rules = load_rules()
    with pytest.raises(TypeError):
        rules.lot["lines"]["regimen_window_days"] = 60  # type: ignore[index]
    assert rules.get("lines", "regimen_window_days") == 30


def test_every_rule_section_names_a_source():
    from importlib import resources

    for name in ("lot_rules.toml", "imwg_rules.toml"):
        text = resources.files("aftercar.data").joinpath(name).read_text("utf-8")
        sections = text.split("\n[")[1:]
        for section in sections:
            assert (
                "Source" in section
                or "source" in section
                or "IMWG 2016" in section
                or ("aftercar convention" in section)
            ), section.splitlines()[0]


def test_parquet_and_csv_give_the_same_cohort(tmp_path):
    import pyarrow.parquet as pq

    from aftercar.derive.raw.derive import derive_raw

    b = _one_patient()
    csv_root = _write(tmp_path / "c", b) if (tmp_path / "c").mkdir() is None else None
    pq_raw = tmp_path / "p" / "raw"
    pq_raw.mkdir(parents=True)
    for name, t in b.tables().items():
        pq.write_table(t.drop_columns(["row"]), pq_raw / f"{name}.parquet")
    a = derive_raw(read_raw(csv_root)).lines
    p = derive_raw(read_raw(tmp_path / "p")).lines
    assert a.to_pylist() == p.to_pylist()
    assert a.num_rows == 1


def test_an_end_date_before_its_date_is_named(tmp_path, capsys):
    b = _one_patient()
    b.course("P1", "REVLIMID 25 mg PO", 120, 110)
    with pytest.raises(CohortError) as err:
        read_raw(_write(tmp_path, b))
    text = str(err.value)
    assert ("administrations.csv, row 4, column 'end_date': end_date is before the "
            "administration's date (value: '2020-04-20')") in text  # fmt: skip
    assert "on or after date" in text
    assert _cli().main(["derive", str(tmp_path), "-o", str(tmp_path / "out")]) == 2
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "key"),
    [("[lines]\nregimen_window_days = -30\n", "lines.regimen_window_days"),
     ("[lines]\ndiscontinuation_gap_days = 0\n", "lines.discontinuation_gap_days"),
     ("[progression]\nlookahead_days = nan\n", "progression.lookahead_days"),
     # beyond 64 bits it reached the engine: a TypeError traceback (fuzzing, 2026-12-05)
     ("[lines]\nregimen_window_days = 99999999999999999999\n", "lines.regimen_window_days"),
     ("[lines]\nregimen_window_days = 1000001\n", "lines.regimen_window_days")],
)  # fmt: skip
def test_a_rule_out_of_range_is_named(tmp_path, text, key):
    f = tmp_path / "rules.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_rules(f)
    assert key in str(err.value) and "must be a number from" in str(err.value)


def test_derive_refuses_to_write_into_its_input_folder(tmp_path, capsys):
    cli = _cli()
    root = _write(tmp_path, _one_patient())
    before = (root / "raw" / "patients.csv").read_text()
    assert cli.main(["derive", str(root / "raw"), "-o", str(root / "raw")]) == 2
    assert "is the input folder" in capsys.readouterr().err
    assert (root / "raw" / "patients.csv").read_text() == before


@pytest.mark.parametrize("value", ["-5", "inf", "1e300"])
def test_an_impossible_lab_value_is_named(tmp_path, value):
    from aftercar.derive.raw.derive import derive_raw

    def edit(raw):
        _replace(raw / "labs.csv", '"0.9"', f'"{value}"')

    root = _write(tmp_path, _one_patient(), edit)
    assert value in (root / "raw" / "labs.csv").read_text()
    with pytest.raises(CohortError) as err:
        derive_raw(read_raw(root))
    assert "row 3, column 'value'" in str(err.value) and "negative, infinite" in str(err.value)


@pytest.mark.parametrize("table, column", [("labs", "unit"), ("administrations", "route"),
                                           ("administrations", "end_date")])
def test_an_optional_column_left_out_is_read_as_empty(tmp_path, capsys, table, column):
    # session 27, a hand-made probe: labs without the optional unit column ended in a
    # traceback (AttributeError) instead of the per-row "unit is empty" error
    from aftercar import cli

    def edit(raw):
        t = pacsv.read_csv(raw / f"{table}.csv")
        pacsv.write_csv(t.drop_columns([column]), raw / f"{table}.csv")

    root = _write(tmp_path, _one_patient(), edit)
    assert column not in pacsv.read_csv(root / "raw" / f"{table}.csv").column_names
    code = cli.main(["derive", str(root / "raw"), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if column == "unit":
        assert code == 2 and "column 'unit'" in err and "the unit is empty" in err
    else:
        assert code == 0, err


@pytest.mark.parametrize("value, unit, stops", [("500", "g/dL", True), ("150", "g/L", False),
                                               ("250", "g/L", True), ("1500", "mg/dL", False)])
def test_a_serum_m_protein_no_patient_has_is_named(tmp_path, value, unit, stops):
    # [plausible] serum_m = 20 g/dL: above it a value is a data error, most often its unit
    # (fuzz round 7: two M-protein values of 500 g/dL moved an index progression in silence)
    from aftercar.derive.raw.derive import derive_raw

    def edit(raw):
        _replace(raw / "labs.csv", '"0.9","g/dL"', f'"{value}","{unit}"')

    root = _write(tmp_path, _one_patient(), edit)
    assert f'"{value}","{unit}"' in (root / "raw" / "labs.csv").read_text()
    if not stops:
        assert derive_raw(read_raw(root)).lines.num_rows == 1
        return
    with pytest.raises(CohortError) as err:
        derive_raw(read_raw(root))
    text = str(err.value)
    assert "row 3, column 'value'" in text and "above 20 g/dL" in text and value in text
    assert "check the value and its unit" in text and unit in text


@pytest.mark.parametrize(
    "edit",
    [lambda f: f.write_bytes(f.read_bytes().replace(b"XPOVIO", b"XPOV\xcdO")),  # Latin-1
     # a semicolon-separated file is read (test_semicolon_csv_...); commas in a semicolon
     # header's rows are not
     lambda f: f.write_text(f.read_text().replace(",", ";", 1)),
     lambda f: f.write_bytes(b"")],  # an empty file
)  # fmt: skip
def test_an_unreadable_csv_file_is_named_without_a_traceback(tmp_path, capsys, edit):
    cli = _cli()
    root = _write(tmp_path, _one_patient(), lambda raw: edit(raw / "administrations.csv"))
    assert cli.main(["derive", str(root), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "administrations.csv" in err and "Traceback" not in err


def test_an_absent_optional_death_date_column_is_empty(tmp_path):
    def edit(raw):
        t = pacsv.read_csv(raw / "patients.csv")
        pacsv.write_csv(t.drop_columns(["death_date"]), raw / "patients.csv")

    raw = read_raw(_write(tmp_path, _one_patient(), edit))
    assert raw["patients"]["death_date"].null_count == 1


@pytest.mark.parametrize(
    ("table", "old", "new", "column"),
    [("administrations", "2020-04-10", "2020-02-30", "date"),
     ("procedures", "2019-12-02", "2019-11-31", "date"),
     ("labs", "2020-04-09", "2021-02-29", "date"),
     ("patients", "2020-01-01", "2020-04-31", "car_t_date")],
)  # fmt: skip
def test_an_impossible_calendar_day_is_not_rolled_over(tmp_path, capsys, table, old, new, column):
    """Arrow's strptime reads 2023-02-30 as 2023-03-02: the raw reader must refuse it."""
    root = _write(tmp_path, _one_patient(), lambda raw: _replace(raw / f"{table}.csv", old, new))
    with pytest.raises(CohortError) as err:
        read_raw(root)
    assert (f"{table}.csv, row 2, column '{column}': not a valid date: that month has no such "
            f"day (value: '{new}')") in str(err.value)  # fmt: skip
    assert "Fix: check the day and the month" in str(err.value)
    assert _cli().main(["derive", str(root), "-o", str(tmp_path / "out")]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_one_digit_months_and_days_and_leap_days_are_still_read(tmp_path):
    def edit(raw):
        _replace(raw / "administrations.csv", "2020-04-10", "2020-4-9")
        _replace(raw / "labs.csv", "2020-04-09", "2020-02-29")

    raw = read_raw(_write(tmp_path, _one_patient(), edit))
    assert str(raw["administrations"]["date"][0]) == "2020-04-09"
    assert str(raw["labs"]["date"][0]) == "2020-02-29"


@pytest.mark.parametrize(
    ("table", "old", "new", "column", "message"),
    [("patients", "2020-01-01", "1900-01-01", "car_t_date",
      "car_t_date is the date Excel shows for an empty or zero cell"),
     ("patients", "2020-01-01", "1985-05-05", "car_t_date", "car_t_date is before 1990-01-01"),
     ("patients", "2024-02-09", "2200-01-01", "last_followup_date",
      "last_followup_date is in the future"),
     ("labs", "2020-05-10", "2200-01-01", "date", "date is in the future"),
     ("administrations", "2020-04-10", "1989-12-31", "date", "date is before 1990-01-01"),
     # year 0: read as a date Python has not (a traceback, fuzzing 2026-12-07)
     ("labs", "2020-05-10", "0000-01-01", "date", "date is before 1990-01-01"),
     ("patients", "2020-01-01", "0000-01-01", "car_t_date", "car_t_date is before 1990-01-01")],
)  # fmt: skip
def test_an_implausible_date_is_named(tmp_path, capsys, table, old, new, column, message):
    """The bounds of the curated reader (date_too_early, date_future) hold for raw dates."""
    root = _write(tmp_path, _one_patient(), lambda raw: _replace(raw / f"{table}.csv", old, new))
    assert new in (root / "raw" / f"{table}.csv").read_text()
    with pytest.raises(CohortError) as err:
        read_raw(root)
    found = [p for p in err.value.problems if p.column == column and p.value == new]
    assert len(found) == 1 and found[0].row in (2, 3) and found[0].hint, err.value
    assert message in found[0].message
    assert found[0].rule in ("date_too_early", "date_future")
    assert _cli().main(["derive", str(root), "-o", str(tmp_path / "out")]) == 2
    err_text = capsys.readouterr().err
    assert f"{table}.csv" in err_text and new in err_text and "Traceback" not in err_text


def test_a_future_date_in_a_parquet_date_column_is_named(tmp_path):
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    b = _one_patient()
    raw = tmp_path / "raw"
    raw.mkdir()
    for name, t in b.tables().items():
        t = t.drop_columns(["row"])
        if name == "patients":
            t = t.set_column(4, "last_followup_date",
                             pa.array([dt.date(2200, 1, 1)], pa.date32()))  # fmt: skip
        pq.write_table(t, raw / f"{name}.parquet")
    with pytest.raises(CohortError) as err:
        read_raw(tmp_path)
    assert ("patients.parquet, row 2, column 'last_followup_date': last_followup_date is in "
            "the future") in str(err.value)  # fmt: skip


def test_parquet_timestamp_dates_are_read_as_their_local_calendar_date(tmp_path):
    """A naive timestamp is its date (a time of day is dropped); a zone-aware one is its
    date in the stored zone (midnight +09:00 is that day, though the UTC date is the day
    before)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from aftercar.derive.raw.derive import derive_raw

    def stamps(col, tz=None, hours=0):
        t = pc.cast(col, pa.timestamp("s"))
        t = pc.add(t, pa.scalar(hours * 3600, pa.duration("s")))
        if tz == "+09:00":  # Arrow < 15 cannot assume a fixed offset: the UTC instant, typed
            utc = pc.subtract(t, pa.scalar(9 * 3600, pa.duration("s")))
            return utc.cast(pa.timestamp("s", tz=tz))
        return pc.assume_timezone(t, tz) if tz else t

    b = _one_patient()
    raw = tmp_path / "raw"
    raw.mkdir()
    how = {"patients": ("car_t_date", "Asia/Tokyo", 0),
           "administrations": ("date", None, 13),
           "procedures": ("date", "+09:00", 0),
           "labs": ("date", "America/New_York", 23)}  # fmt: skip
    for name, t in b.tables().items():
        col, tz, hours = how[name]
        t = t.drop_columns(["row"])
        t = t.set_column(t.schema.get_field_index(col), col, stamps(t[col], tz, hours))
        pq.write_table(t, raw / f"{name}.parquet")
    read = read_raw(tmp_path)
    for name, t in b.tables().items():
        col = how[name][0]
        assert read[name][col].type == pa.date32()
        assert read[name][col].to_pylist() == t[col].to_pylist(), name
    expected = derive_raw(b.tables()).lines.to_pylist()
    assert derive_raw(read).lines.to_pylist() == expected


def test_a_table_given_as_csv_and_as_parquet_is_ambiguous(tmp_path, capsys):
    import pyarrow.parquet as pq

    def edit(raw):
        pq.write_table(pacsv.read_csv(raw / "labs.csv").slice(0, 1), raw / "labs.parquet")

    root = _write(tmp_path, _one_patient(), edit)
    with pytest.raises(CohortError) as err:
        read_raw(root)
    (p,) = err.value.problems
    assert "labs.csv and labs.parquet" in p.message and "keep exactly one" in p.hint
    assert p.rule == "ambiguous_file"
    assert _cli().main(["derive", str(root), "-o", str(tmp_path / "out")]) == 2
    assert "labs.csv and labs.parquet" in capsys.readouterr().err


def test_a_duplicate_patient_id_names_its_rows(tmp_path):
    def edit(raw):
        f = raw / "patients.csv"
        f.write_text(f.read_text() + f.read_text().splitlines()[1] + "\n")

    with pytest.raises(CohortError) as err:
        read_raw(_write(tmp_path, _one_patient(), edit))
    assert ("patients.csv, row 2, column 'patient_id': patient_id appears more than once: "
            "rows 2, 3 (value: 'P1')") in str(err.value)  # fmt: skip


def test_an_empty_cohort_writes_the_audit_and_exits_2(tmp_path, capsys):
    """No patient qualifies (no progression, no therapy after the CAR T): the audit says
    why, and the run does not pass for a success."""
    b = RawBuilder()
    b.patient("P1")
    b.serum("P1", {30: 1.0, 60: 0.5})
    root = _write(tmp_path, b)
    out = tmp_path / "out"
    assert _cli().main(["derive", str(root), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "no patient qualified for the cohort" in err and "attrition.csv" in err
    assert "Traceback" not in err
    assert (out / "audit" / "attrition.csv").is_file()
    assert "no index date" in (out / "audit" / "attrition.csv").read_text()


def test_an_empty_lab_unit_says_the_unit_is_empty(tmp_path):
    from aftercar.derive.raw.derive import derive_raw

    b = RawBuilder()
    b.patient("P1")
    b.drug("P1", "XPOVIO 100 mg PO", [100, 107])
    b.serum("P1", {99: 2.0}, unit=None)
    b.serum("P1", {130: 0.9})
    with pytest.raises(CohortError) as err:
        derive_raw(read_raw(_write(tmp_path, b)))
    text = str(err.value)
    assert "row 2, column 'unit'" in text and "None" not in text and "empty" in text


def _with_patient_columns(**cells):
    """An edit adding curated patient columns (one value each) to patients.csv."""

    def edit(raw):
        f = raw / "patients.csv"
        head, *rows = f.read_text().splitlines()
        head += "".join(f',"{c}"' for c in cells)
        rows = [r + "".join(f',"{v}"' for v in cells.values()) for r in rows]
        f.write_text("\n".join([head, *rows]) + "\n")

    return edit


@pytest.mark.parametrize(
    ("cells", "column", "says"),
    [({"ecog": "9"}, "ecog", "outside the allowed range (0 to 5) (value: '9')"),
     ({"age_at_cart": "old"}, "age_at_cart", "not a number (value: 'old')"),
     ({"iss_stage": "IV"}, "iss_stage", "not an ISS stage (value: 'IV')"),
     ({"high_risk_cytogenetics": "maybe"}, "high_risk_cytogenetics", "not yes/no"),
     ({"birth_date": "1900-01-01"}, "birth_date", "the date Excel shows for an empty"),
     ({"birth_date": "1950-02-30"}, "birth_date", "not a date (value: '1950-02-30')")],
)  # fmt: skip
def test_passed_through_patient_columns_are_checked_as_the_curated_reader_checks(
    tmp_path, capsys, cells, column, says
):
    # before 2026-12-05 such a column was passed through unchecked: ecog 9 was written out
    # (a cohort `aftercar validate` refuses) and 'old' failed when the cohort was written,
    # after the whole derivation, without file or row (fuzzing)
    folder = _write(tmp_path, _one_patient(), _with_patient_columns(**cells))
    with pytest.raises(CohortError) as err:
        read_raw(folder)
    assert f"patients.csv, row 2, column '{column}': " in str(err.value)
    assert says in str(err.value)
    assert _cli().main(["derive", str(folder), "-o", str(tmp_path / "out")]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_valid_passed_through_patient_columns_are_kept(tmp_path):
    cells = {"ecog": "1", "age_at_cart": "61.5", "iss_stage": "III", "birth_date": "1958-06-01"}
    p = read_raw(_write(tmp_path, _one_patient(), _with_patient_columns(**cells)))["patients"]
    # read as the curated reader reads them (as given, "III" stopped the cohort's writer)
    assert p["ecog"].to_pylist() == [1] and p["iss_stage"].to_pylist() == [3]
    assert p["age_at_cart"].to_pylist() == [61.5]
    assert [str(d) for d in p["birth_date"].to_pylist()] == ["1958-06-01"]


def test_one_date_with_a_time_of_day_is_named_alone_as_written(tmp_path):
    # the column was inferred as timestamps: every row was refused, each quoted with a
    # '00:00:00' the file does not hold (fuzzing, 2026-12-05)
    folder = _write(tmp_path, _one_patient(), lambda raw: _replace(
        raw / "administrations.csv", "2020-04-10", "2020-04-10 10:00:00"))
    with pytest.raises(CohortError) as err:
        read_raw(folder)
    assert [(p.file, p.column, p.value) for p in err.value.problems] == [
        ("administrations.csv", "date", "2020-04-10 10:00:00")]


def test_csv_text_is_read_as_written_not_as_inferred_numbers(tmp_path):
    folder = _write(tmp_path, _one_patient(), _with_patient_columns(mrn="007"))
    assert read_raw(folder)["patients"]["mrn"].to_pylist() == ["007"]


def test_columns_the_derivation_writes_itself_are_not_checked(tmp_path):
    # found by review: an empty progression_date or a car_t_best_response 'unknown' in raw
    # patients were refused, though the derivation replaces and drops them
    cells = {"progression_date": "", "car_t_best_response": "unknown"}
    p = read_raw(_write(tmp_path, _one_patient(), _with_patient_columns(**cells)))["patients"]
    assert p.num_rows == 1


def test_a_column_given_twice_is_named(tmp_path):
    def edit(raw):
        _replace(raw / "labs.csv", "\"value\",\"unit\"", "\"value\",\"value\"")

    with pytest.raises(CohortError) as err:
        read_raw(_write(tmp_path, _one_patient(), edit) / "raw")
    assert [(p.file, p.row, p.column, p.message) for p in err.value.problems] == [
        ("labs.csv", 1, "value", "the column appears 2 times in the header")]  # fmt: skip


def test_parquet_text_stored_dictionary_encoded_is_read(tmp_path):
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    raw = tmp_path / "raw"
    raw.mkdir()
    for name, t in _one_patient().tables().items():
        t = t.drop_columns(["row"])
        cols = [pc.dictionary_encode(c) if c.type == "string" else c for c in t.columns]
        pq.write_table(type(t).from_arrays(cols, names=t.column_names), raw / f"{name}.parquet")
    tables = read_raw(raw)
    assert tables["patients"]["patient_id"].to_pylist() == ["P1"]
    assert tables["administrations"].num_rows == 2


def test_semicolon_csv_and_headers_in_other_case_are_read(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for name, t in _one_patient().tables().items():
        t = t.drop_columns(["row"])
        if name == "labs":
            t = t.rename_columns([c.upper() for c in t.column_names])
        pacsv.write_csv(t, raw / f"{name}.csv", pacsv.WriteOptions(delimiter=";"))
    tables = read_raw(raw)
    assert tables["labs"].num_rows == 2 and "value" in tables["labs"].column_names
    assert tables["administrations"]["drug"].to_pylist() == ["XPOVIO 100 mg PO"] * 2


def test_parquet_headers_in_other_case_keep_their_dates(tmp_path):
    # review of 2026-12-06: a timestamp column named DATE was cast to text before its name
    # was read as the raw format's date column, then refused as "not a valid date"
    import pyarrow.parquet as pq

    raw = tmp_path / "raw"
    raw.mkdir()
    for name, t in _one_patient().tables().items():
        t = t.drop_columns(["row"])
        cols = [c.cast("timestamp[us]") if n in ("date", "end_date") else c
                for n, c in zip(t.column_names, t.columns, strict=True)]  # fmt: skip
        pq.write_table(type(t).from_arrays(cols, names=[n.upper() for n in t.column_names]),
                       raw / f"{name}.parquet")
    tables = read_raw(raw)
    assert tables["administrations"]["date"].type == "date32[day]"
    assert tables["labs"].num_rows == 2


def test_other_columns_of_the_event_tables_are_not_read_a_patients_are_kept(tmp_path):
    """Fuzzing round 3 (2026-12-06): an extra "role", "param" or "factor" column had taken
    the place of the derivation's own; a patient's other columns are its covariates."""
    def edit(raw):
        for name, col in (("administrations", "role"), ("labs", "factor"),
                          ("procedures", "kind"), ("patients", "ecog")):
            text = (raw / f"{name}.csv").read_text().splitlines()
            rows = [text[0] + f',"{col}"'] + [line + ',"1"' for line in text[1:]]
            (raw / f"{name}.csv").write_text("\n".join(rows) + "\n")

    raw = read_raw(_write(tmp_path, _one_patient(), edit) / "raw")
    assert "role" not in raw["administrations"].column_names
    assert "factor" not in raw["labs"].column_names
    assert "kind" not in raw["procedures"].column_names
    assert raw["patients"]["ecog"].to_pylist() in (["1"], [1])


@pytest.mark.parametrize("nested", ["list", "struct"])
def test_a_nested_parquet_column_is_named_not_a_traceback(tmp_path, capsys, nested):
    """A Parquet ``value`` column of lists (or ``unit`` of structs) was an Arrow cast error
    with a traceback (exit 1; fuzzing, 2026-12-07): it is named, exit 2."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = _write(tmp_path, _one_patient())
    labs = pacsv.read_csv(root / "raw" / "labs.csv")
    (root / "raw" / "labs.csv").unlink()
    col = "value" if nested == "list" else "unit"
    i = labs.column_names.index(col)
    texts = [str(v) for v in labs[col].to_pylist()]
    odd = pa.array([[v] for v in texts]) if nested == "list" else \
        pa.array([{"u": v} for v in texts])  # fmt: skip
    pq.write_table(labs.set_column(i, col, odd), root / "raw" / "labs.parquet")
    with pytest.raises(CohortError) as err:
        read_raw(root)
    (p,) = err.value.problems
    assert (p.file, p.column) == ("labs.parquet", col) and "nested Parquet type" in p.message
    assert _cli().main(["derive", str(root), "-o", str(tmp_path / "out")]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_unreadable_lab_rows_past_the_fifty_listed_are_counted(tmp_path, capsys):
    """Sixty lab values with a decimal comma: fifty named, the other ten counted (they were
    left out without a word, "50 unreadable lab row(s)"; fuzzing, 2026-12-07)."""
    b = RawBuilder()
    b.patient("P1")
    b.drug("P1", "XPOVIO 100 mg PO", [100, 107])
    for day in range(1, 61):
        b.lab("P1", 100 + day, "SPEP M-spike", "1,5", "g/dL")
    root = _write(tmp_path, b)
    assert _cli().main(["derive", str(root), "-o", str(tmp_path / "out")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "50 unreadable lab row(s) (and more)" in err
    assert "10 more unreadable lab row(s) after these" in err and "Traceback" not in err
    assert "labs.csv, row 2, column 'value'" in err  # the file, not the table's name


@pytest.mark.parametrize(("birth", "iss"), [("22/07/1965", "II"), ("1965-07-22 00:00:00", "3"),
                                            ("22 Jul 1965", "I")])  # fmt: skip
def test_pass_through_patient_columns_are_written_as_the_curated_reader_reads_them(
        tmp_path, capsys, birth, iss):  # fmt: skip
    """A ``birth_date`` or ``iss_stage`` the curated reader accepts ("22/07/1965", ISS "II")
    stopped the cohort's writer after the derivation, naming no file or row (fuzzing,
    2026-12-07): they are written as it reads them, and the cohort validates."""
    import pyarrow as pa

    def edit(raw):
        p = pacsv.read_csv(raw / "patients.csv",
                           convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
        p = p.append_column("birth_date", pa.array([birth])).append_column(
            "iss_stage", pa.array([iss]))
        pacsv.write_csv(p, raw / "patients.csv")

    root = _write(tmp_path, _one_patient(), edit)
    out = tmp_path / "out"
    assert _cli().main(["derive", str(root), "-o", str(out)]) == 0
    got = pacsv.read_csv(out / "patients.csv").to_pylist()[0]
    assert str(got["birth_date"]) == "1965-07-22"
    assert got["iss_stage"] == {"I": 1, "II": 2, "3": 3}[iss]
    assert _cli().main(["validate", str(out)]) == 0


@pytest.mark.parametrize("dose", ["-10", "1e400"])
def test_a_negative_or_infinite_dose_is_named(tmp_path, dose):
    """A dose of -10 or 1e400 (infinite) was taken without a word (fuzzing, 2026-12-07)."""
    root = _write(tmp_path, _one_patient(),
                  lambda raw: _replace(raw / "administrations.csv", ',1,"mg"', f',{dose},"mg"'))
    assert dose in (root / "raw" / "administrations.csv").read_text()
    with pytest.raises(CohortError) as err:
        read_raw(root)
    (p,) = err.value.problems
    assert (p.file, p.row, p.column, p.value) == ("administrations.csv", 2, "dose", dose)
    assert "negative, infinite or NaN" in p.message


def test_raw_tables_both_in_the_folder_and_in_its_raw_folder_are_refused(tmp_path):
    """``raw/`` was read and the folder's own tables left without a word (fuzzing,
    2026-12-07): which set is meant is asked."""
    root = _write(tmp_path, _one_patient())
    (root / "labs.csv").write_bytes((root / "raw" / "labs.csv").read_bytes())
    with pytest.raises(CohortError) as err:
        read_raw(root)
    (p,) = err.value.problems
    assert p.rule == "ambiguous_file" and "labs.csv" in p.message and "raw/" in p.message


def test_a_nul_byte_in_a_text_is_named(tmp_path):
    """A NUL byte inside an order text was read as a dose (fuzzing, 2026-12-07)."""
    root = _write(tmp_path, _one_patient(), lambda raw: _replace(
        raw / "administrations.csv", "XPOVIO", "XPO\x00VIO"))
    with pytest.raises(CohortError) as err:
        read_raw(root)
    (p,) = err.value.problems
    assert (p.file, p.row, p.column) == ("administrations.csv", 2, "drug")
    assert "NUL byte" in p.message and p.value.startswith("XPO\u2400VIO")


def test_an_ambiguous_birth_date_is_not_told_to_use_an_option_derive_lacks(tmp_path):
    """The curated reader's fix suggested --date-format, which ``aftercar derive`` has not
    (fuzzing, 2026-12-07)."""
    root = _write(tmp_path, _one_patient(), _with_patient_columns(birth_date="03/04/1955"))
    with pytest.raises(CohortError) as err:
        read_raw(root)
    (p,) = err.value.problems
    assert p.column == "birth_date" and "ambiguous" in p.message
    assert "--date-format" not in p.hint.replace("has no --date-format", "")


def test_headers_are_matched_as_the_curated_reader_matches_them(tmp_path):
    """"Patient ID" is patient_id (it was a missing patient_id, no hint); beside a
    "patient_id" it is refused naming both (it was written out into a cohort that
    ``aftercar validate`` refused; fuzzing, 2026-12-07)."""
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    root = _write(tmp_path / "one", _one_patient(), lambda raw: _replace(
        raw / "labs.csv", '"patient_id"', '"Patient ID"'))
    assert read_raw(root)["labs"].num_rows == 2
    root = _write(tmp_path / "two", _one_patient(), _with_patient_columns(**{"Patient ID": "P1"}))
    with pytest.raises(CohortError) as err:
        read_raw(root)
    (p,) = err.value.problems
    assert (p.file, p.row, p.column) == ("patients.csv", 1, "patient_id")
    assert "'patient_id', 'Patient ID' all mean patient_id" in p.message


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_rows_after_a_blank_line_are_numbered_as_the_file_shows_them(tmp_path, newline):
    """Arrow's CSV reader skips blank lines: the rows after one were named one row too
    early (fuzzing, 2026-12-07). A blank line is a row, as a spreadsheet shows the file;
    a line end inside quotes is not."""

    def edit(raw):
        f = raw / "administrations.csv"
        lines = f.read_text().splitlines()
        lines[1] = lines[1].replace('"XPOVIO 100 mg PO"', '"XPOVIO\n\n100 mg PO"')
        lines[2] = lines[2].replace("2020-04-17", "17/04/2020")  # row 4: after a blank row 3
        f.write_bytes(newline.join([lines[0], lines[1], "", lines[2], ""]).encode())

    with pytest.raises(CohortError) as err:
        read_raw(_write(tmp_path, _one_patient(), edit))
    assert "administrations.csv, row 4, column 'date': not a valid date (value: '17/04/2020')" in (
        str(err.value)
    )
    (tmp_path / "ok").mkdir()
    ok = _write(tmp_path / "ok", _one_patient(), lambda raw: _blank_after_header(raw / "labs.csv"))
    assert read_raw(ok)["labs"]["row"].to_pylist() == [3, 4]


def _blank_after_header(f):
    head, *rest = f.read_text().splitlines()
    f.write_text("\n".join([head, "", *rest]) + "\n")


def test_a_row_with_another_number_of_fields_is_named_by_its_row(tmp_path):
    """Arrow's parse error quoted the first such row's text, not its row (fuzzing,
    2026-12-07): each row is named, and an unclosed quote is told as one."""

    def edit(raw):
        f = raw / "labs.csv"
        head, first, second = f.read_text().splitlines()
        f.write_text("\n".join([head, first + ",extra", second]) + "\n")

    with pytest.raises(CohortError) as err:
        read_raw(_write(tmp_path, _one_patient(), edit))
    assert "labs.csv, row 2: the row has 6 fields where the header has 5" in str(err.value)

    def after_a_blank_line(raw):  # Arrow's own number skips the blank line (review)
        f = raw / "labs.csv"
        head, first, second = f.read_text().splitlines()
        f.write_text("\n".join([head, first, "", second + ",extra"]) + "\n")

    (tmp_path / "b").mkdir()
    with pytest.raises(CohortError) as err:
        read_raw(_write(tmp_path / "b", _one_patient(), after_a_blank_line))
    assert "labs.csv, row 4: the row has 6 fields" in str(err.value)

    def unclosed(raw):
        f = raw / "labs.csv"
        head, first, second = f.read_text().splitlines()
        f.write_text("\n".join([head, first[:-1], second]) + "\n")  # 'g/dL' has no end quote

    (tmp_path / "q").mkdir()
    with pytest.raises(CohortError) as err:
        read_raw(_write(tmp_path / "q", _one_patient(), unclosed))
    assert "labs.csv, row 2: a quote opens a value that no quote closes" in str(err.value)


_HEAD = "patient_id,date,drug,dose,unit,route,end_date"
_DOSE = "P1,2020-04-{:02d},XPOVIO 100 mg PO,1,mg,{},"


def _administrations(*lines: str, end: str = "\n"):
    def edit(raw):
        (raw / "administrations.csv").write_bytes((end.join((_HEAD, *lines)) + end).encode())

    return edit


def test_a_quote_closed_rows_later_is_named_not_read_as_one_row(tmp_path):
    """A quote opened in a value and closed on the next row, the fields still adding up:
    Arrow read the two rows as one without a word (fuzzing, 2026-12-07)."""
    edit = _administrations(*(_DOSE.format(day, route) for day, route
                              in ((10, '"PO'), (17, 'PO"'), (24, "PO"))))  # fmt: skip
    with pytest.raises(CohortError) as err:
        read_raw(_write(tmp_path, _one_patient(), edit))
    assert ("administrations.csv, row 2, column 'route': the value holds a line break"
            in str(err.value))  # fmt: skip


def test_a_quote_no_quote_closes_is_named_where_it_opens(tmp_path):
    """In the last column of the patients table (a covariate, read as text), an unclosed
    quote made the next patient's row part of the first one's value, without a word."""

    def edit(raw):
        f = raw / "patients.csv"
        head, first = f.read_text().splitlines()
        second = first.replace('"', "").replace("P1", "P2")  # no quote to close the value
        f.write_text(f'{head},note\n{first},"first\n{second},second\n')

    with pytest.raises(CohortError) as err:
        read_raw(_write(tmp_path, _one_patient(), edit))
    assert ("patients.csv, row 2, column 'note': a quote opens a value that no quote closes"
            in str(err.value))


def test_a_quote_inside_an_unquoted_value_and_a_closed_quoted_note_are_read(tmp_path):
    """A quote inside an unquoted value is text, as Arrow reads it, and a closed quoted
    note may hold a line break, in the last row too (the first version of the check
    counted every quote of the file and refused both: review of session 33)."""

    def edit(raw):
        f = raw / "patients.csv"
        head, first = f.read_text().splitlines()
        f.write_text(f'{head},note\n{first},"lesion 5"" wide,\nsee CT"\n')
        _replace(raw / "administrations.csv", '"XPOVIO 100 mg PO"', 'XPOVIO 100 mg "PO')

    read = read_raw(_write(tmp_path, _one_patient(), edit))
    assert read["patients"]["note"].to_pylist() == ['lesion 5" wide,\nsee CT']
    assert read["administrations"]["drug"].to_pylist()[0] == 'XPOVIO 100 mg "PO'


@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_rows_of_one_line_each_are_read_with_lf_or_crlf(tmp_path, end):
    edit = _administrations(_DOSE.format(10, "PO"), "", _DOSE.format(17, '"P,O"'), end=end)
    read = read_raw(_write(tmp_path, _one_patient(), edit))
    assert read["administrations"]["row"].to_pylist() == [2, 4]


@pytest.mark.parametrize(("encoding", "expected"), [
    ("latin-1", "administrations.csv, column 'route': the file is not UTF-8 text: byte 0xE9 "
                "on line 2"),
    ("utf-16", "administrations.csv: the file is UTF-16 (little-endian) text")])  # fmt: skip
def test_a_file_that_is_not_utf8_is_named_with_its_line_and_column(tmp_path, encoding, expected):
    """Arrow named a Latin-1 byte's column by its 0-based index and no row, and a UTF-16
    file as a parse error (fuzzing, 2026-12-07); named as the OMOP reader names it."""

    def edit(raw):
        f = raw / "administrations.csv"
        text = f.read_text().replace('"IV",\n"P1",2020-04-17', '"IV\u00e9",\n"P1",2020-04-17')
        f.write_bytes(text.encode(encoding))

    with pytest.raises(CohortError) as err:
        read_raw(_write(tmp_path, _one_patient(), edit))
    assert expected in str(err.value)
    assert "save the file as UTF-8" in str(err.value)


@pytest.mark.parametrize(("kind", "expected"), [
    ("folder", "procedures.csv: is not a file"),
    ("link", "procedures.csv: is a link to a file that does not exist")])  # fmt: skip
def test_a_folder_or_broken_link_in_place_of_a_table_is_named_as_such(tmp_path, kind, expected):
    """A folder or a link to nothing named procedures.csv was reported as a missing table
    (fuzzing, 2026-12-07)."""

    def edit(raw):
        f = raw / "procedures.csv"
        f.unlink()
        if kind == "folder":
            f.mkdir()
        else:
            f.symlink_to(tmp_path / "nowhere.csv")

    with pytest.raises(CohortError) as err:
        read_raw(_write(tmp_path, _one_patient(), edit))
    assert expected in str(err.value)
    assert "is missing" not in str(err.value)
