"""The batched OMOP derivation (``derive.omop.batched``) writes what one run writes.

A simulated OMOP instance, plus persons whose ids have more digits (so that the
text order of ``patient_id`` is not the numeric batch order) and persons who leave
the cohort (no CAR T: listed in the attrition; no myeloma: only counted), is derived
in one run and in batches of 25 persons (the last: nobody of the cohort); every written
file is compared. The batched CSV run is one stopped in its second batch and taken up
(``resume``); the Parquet one runs through. Some drug exposures are of no person.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from aftercar.cli import main
from aftercar.derive.omop import derive_omop, write_omop_derivation
from aftercar.derive.omop.batched import (
    cohort_batches,
    derive_omop_batched,
    engine,
    person_batches,
    tiles,
)
from aftercar.derive.omop.cohort import _FU_BEFORE, _NO_CAR_T, _NO_FU
from aftercar.derive.omop.concepts import load_concepts
from aftercar.derive.omop.source import close_source, open_source
from aftercar.derive.raw.rules import load_rules
from aftercar.schema import Col
from aftercar.simulate import write_simulated
from aftercar.simulate.omop import write_omop

#: Files whose row order no run defines: compared as sets of rows.
UNORDERED = {Path("audit/events.csv"), Path("audit/attrition.csv")}
_EXTRA = [1000, 1001, 1002, 20000]  # 1000, 1001: myeloma, no CAR T; the others: no myeloma


def _add_persons(omop: Path) -> None:
    person = pq.read_table(omop / "person.parquet")
    extra = person.slice(0, len(_EXTRA)).to_pydict()
    extra["person_id"] = _EXTRA
    pq.write_table(pa.concat_tables([person, pa.table(extra, schema=person.schema)]),
                   omop / "person.parquet")  # fmt: skip
    co = pq.read_table(omop / "condition_occurrence.parquet")
    more = co.slice(0, 2).to_pydict()
    more["person_id"], more["condition_occurrence_id"] = _EXTRA[:2], [9001, 9002]
    pq.write_table(pa.concat_tables([co, pa.table(more, schema=co.schema)]),
                   omop / "condition_occurrence.parquet")  # fmt: skip
    de = pq.read_table(omop / "drug_exposure.parquet")  # rows of nobody: no batch reads them
    orphan = de.slice(0, 2).to_pydict()
    orphan["person_id"], orphan["drug_exposure_id"] = [999_999, 999_999], [9_000_001, 9_000_002]
    pq.write_table(pa.concat_tables([de, pa.table(orphan, schema=de.schema)]),
                   omop / "drug_exposure.parquet")  # fmt: skip


class _Stop(Exception):
    """A run stopped from outside (a killed job, a lost Spark session)."""


def _stop_at(batch: int):
    def progress(step: str) -> None:
        if step.startswith(f"batch {batch} of"):
            raise _Stop(step)

    return progress


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    work = tmp_path_factory.mktemp("batched")
    write_simulated(50, work, seed=23, format="parquet", raw=True)
    omop = work / "omop"
    write_omop(work / "raw", omop, "parquet")
    _add_persons(omop)
    one, derived = work / "one", derive_omop(omop)
    write_omop_derivation(derived, one, "csv", episodes=True, source=omop)
    write_omop_derivation(derived, work / "one_parquet", "parquet", episodes=True, source=omop)
    batched = work / "batched"
    _stopped_then_resumed(omop, batched, work / "resume.json")
    return one, batched, omop


def _stopped_then_resumed(omop: Path, out: Path, log: Path) -> None:
    """The batched CSV run of the module, stopped as its second batch starts, a half-written
    second batch left behind, then taken up (``resume``); what was kept and what the
    resumed run said are logged in ``log`` for the resume test."""
    opts = {"batch_persons": 25, "episodes": True, "resume": True}
    with pytest.raises(_Stop):
        derive_omop_batched(omop, out, "csv", progress=_stop_at(2), **opts)
    kept = out / ".aftercar-batches" / "batches"
    state = {"done": (kept / "00000" / "done").is_file(), "second": (kept / "00001").exists(),
             "checked": (kept.parent / "source-checked.json").is_file()}  # fmt: skip
    (kept / "00001").mkdir()  # a batch stopped half-way: no "done", a file cut short
    (kept / "00001" / "patients.parquet").write_bytes(b"PAR1")
    seen: list[str] = []
    run = derive_omop_batched(omop, out, "csv", progress=seen.append, **opts)
    state |= {"said": seen, "batches": run.batches}
    log.write_text(json.dumps(state), "utf-8")


def test_omop_parts_get_ids_of_their_own(runs, tmp_path):
    raw = runs[2].parent / "raw"
    write_omop(raw, tmp_path, "parquet", first_person_id=1001, first_row_id=10**10 + 1)
    default = runs[2]
    n = pq.read_table(default / "person.parquet").num_rows - len(_EXTRA)
    assert pq.read_table(tmp_path / "person.parquet")["person_id"].to_pylist() == list(
        range(1001, 1001 + n))  # fmt: skip
    for name, rid in (("drug_exposure", "drug_exposure_id"), ("measurement", "measurement_id")):
        a = pq.read_table(default / f"{name}.parquet")
        a = a.filter(pa.compute.not_equal(a["person_id"], 999_999))  # not the orphan rows
        b = pq.read_table(tmp_path / f"{name}.parquet")
        assert pa.compute.add(a[rid], 10**10).equals(b[rid])
        assert pa.compute.add(a["person_id"], 1000).equals(b["person_id"])


def _files(folder: Path) -> set[Path]:
    return {p.relative_to(folder) for p in folder.rglob("*") if p.is_file()}


def test_batches_write_the_files_of_one_run(runs):
    one, batched, _omop = runs
    _same_csv_files(one, batched)


def _same_csv_files(one: Path, batched: Path) -> None:
    """``batched`` holds the files of ``one``: the same bytes, or for the files whose row
    order no run defines, the same rows."""
    assert _files(batched) == _files(one)
    for rel in sorted(_files(one)):
        if rel.suffix != ".csv":
            assert (batched / rel).read_bytes() == (one / rel).read_bytes(), rel
            continue
        a, b = pacsv.read_csv(one / rel), pacsv.read_csv(batched / rel)
        assert a.num_rows == b.num_rows, rel
        if rel in UNORDERED:
            key = [(c, "ascending") for c in a.column_names]
            a, b = a.sort_by(key), b.sort_by(key)
            assert a.equals(b), rel
        else:  # the same rows in the same order: the same bytes
            assert (batched / rel).read_bytes() == (one / rel).read_bytes(), rel


def test_outputs_are_ordered_by_person_id_as_a_number(runs):
    """OMOP person ids are numbers: the outputs ordered by person give 2 before 10 (a text
    order would not), in one run as in batches (whose rows are appended in that order)."""
    one, batched, _omop = runs
    for folder in (one, batched):
        keys = {"patients.csv": [Col.PATIENT_ID], "lines.csv": [Col.PATIENT_ID, Col.LINE],
                "audit/lines.csv": [Col.PATIENT_ID, Col.LINE],
                "audit/assessments.csv": [Col.PATIENT_ID, Col.LINE, "date"]}  # fmt: skip
        for rel, cols in keys.items():
            t = pacsv.read_csv(folder / rel, convert_options=pacsv.ConvertOptions(
                column_types={Col.PATIENT_ID: pa.int64()}))  # fmt: skip
            rows = list(zip(*(t[c].to_pylist() for c in cols), strict=True))
            assert rows == sorted(rows) and len({r[0] for r in rows}) > 10, rel
        text = pacsv.ConvertOptions(column_types={Col.PATIENT_ID: pa.string()})
        pids = pacsv.read_csv(folder / "patients.csv", convert_options=text)[Col.PATIENT_ID]
        assert pids.to_pylist() != sorted(pids.to_pylist())  # as text, "10" comes before "2"


def test_cohort_steps_add_up_and_exclusions_are_listed(runs):
    one, batched, _omop = runs
    steps = pacsv.read_csv(batched / "audit" / "omop_cohort.csv")["persons"].to_pylist()
    assert steps[0] == 54 and steps[1] == 52 and steps[2] == 50
    attrition = pacsv.read_csv(batched / "audit" / "attrition.csv")
    listed = attrition.filter(pa.compute.equal(attrition["table"], "person"))
    assert set(listed["row"].to_pylist()) >= {1000, 1001}
    assert pacsv.read_csv(one / "patients.csv").num_rows == steps[-1] > 0


def test_negative_batch_size_is_refused(tmp_path):
    args = ["derive", "--omop", str(tmp_path), "-o", str(tmp_path / "o")]
    assert main([*args, "--batch-persons", "-1"]) == 2


def test_a_small_batch_size_gets_a_note_on_its_cost(tmp_path, capsys):
    # fuzz round 8 (session 27): --batch-persons 1 ran past a minute with nothing said
    args = ["derive", "--omop", str(tmp_path / "none"), "-o", str(tmp_path / "o")]
    main([*args, "--batch-persons", "7"])
    assert "note: --batch-persons 7: each batch costs" in capsys.readouterr().err
    main([*args, "--batch-persons", "5000"])
    assert "note:" not in capsys.readouterr().err


def test_person_batches_cut_the_sorted_ids():
    person = ibis.memtable({"person_id": [5, 1, 3, 3, 9, 7, 2]})
    assert person_batches(person, 2) == [(1, 2), (3, 5), (7, 9)]
    assert person_batches(person, 3) == [(1, 3), (5, 9)]
    assert person_batches(person, 6) == [None]
    assert person_batches(person, 0) == [None]


def test_only_persons_with_myeloma_fill_a_batch_and_the_ranges_tile_every_person(runs, tmp_path):
    omop = runs[2]  # persons 1-50 and 1000-1001 with myeloma, 1002 and 20000 without
    con = engine(tmp_path / "spill")
    try:
        tables = open_source(con, omop, checked=True)
        got = cohort_batches(con, tables, load_concepts(None, load_rules()), 25)
        close_source(con, omop)
    finally:
        con.disconnect()
    assert got == [(1, 25), (26, 50), (51, 20000)]


def test_tiles_end_at_every_nth_id_and_cover_the_whole_range():
    ids = np.array([2, 5, 9, 10])
    assert tiles(ids, 1, 12, 2) == [(1, 5), (6, 12)]
    assert tiles(ids, 1, 12, 3) == [(1, 9), (10, 12)]
    assert tiles(ids, 0, 10, 1) == [(0, 2), (3, 5), (6, 9), (10, 10)]
    # persons without myeloma (3, 4, 6-8, 11, 12) take no room in a batch
    assert tiles(np.array([3, 1000]), 1, 10**6, 1) == [(1, 3), (4, 10**6)]


def test_cli_default_batch_is_the_library_default():
    from aftercar.cli.derive import batch_size
    from aftercar.derive.omop import DEFAULT_BATCH_PERSONS

    assert batch_size(None, "duckdb") == DEFAULT_BATCH_PERSONS
    assert batch_size(None, "spark") == 0  # Spark: one run unless batches are asked for
    assert batch_size(7, "spark") == 7 and batch_size(0, "duckdb") == 0


def test_parquet_batches_write_the_tables_of_one_run(runs, tmp_path):
    """In Parquet, the sorted outputs of a batched run are written by DuckDB itself (no
    Arrow pass), those whose batches are in order as appended are their temporary files
    (no pass at all): the same schema, rows and order as one run writes. The API returns
    the counts of what it wrote."""
    _one, csv_batches, omop = runs
    one, batched = omop.parent / "one_parquet", tmp_path / "batched"
    run = derive_omop_batched(omop, batched, "parquet", batch_persons=25, episodes=True)
    assert run.batches == 3 and _files(batched) == _files(one)
    assert run.steps.equals(pacsv.read_csv(csv_batches / "audit" / "omop_cohort.csv"))
    assert run.patients == pq.read_table(batched / "patients.parquet").num_rows > 0
    assert run.lines == pq.read_table(batched / "lines.parquet").num_rows > 0
    assert run.unused == pacsv.read_csv(csv_batches / "audit" / "attrition.csv").num_rows > 0
    unordered = {r.with_suffix(".parquet") for r in UNORDERED}
    for rel in sorted(_files(one)):
        if rel.suffix != ".parquet":
            assert (batched / rel).read_bytes() == (one / rel).read_bytes(), rel
            continue
        a, b = pq.read_table(one / rel), pq.read_table(batched / rel)
        assert a.schema.remove_metadata().equals(b.schema.remove_metadata()), rel
        if rel in unordered:
            key = [(c, "ascending") for c in a.column_names]
            a, b = a.sort_by(key), b.sort_by(key)
        assert a.equals(b), rel
    for rel in ("audit/attrition", "episodes/episode", "episodes/episode_event"):
        assert "duckdb" in pq.ParquetFile(batched / f"{rel}.parquet").metadata.created_by.lower()
    for rel in ("patients", "lines", "audit/lines", "audit/assessments"):  # as appended
        assert "arrow" in pq.ParquetFile(batched / f"{rel}.parquet").metadata.created_by.lower()


def test_a_stopped_run_resumes_at_the_first_batch_not_done(runs):
    """``resume`` (the module's batched run): each finished batch is kept, marked done, and
    read back; a half-written batch is derived again; the resumed run writes the files of
    one run (``test_batches_write_the_files_of_one_run``) and removes what it kept."""
    _one, batched, omop = runs
    state = json.loads((omop.parent / "resume.json").read_text("utf-8"))
    assert state["done"] and not state["second"] and state["batches"] == 3
    assert state["checked"]  # the stopped run's rows passed their checks: not read again
    assert sum("not read again for the checks" in s for s in state["said"]) == 1
    batches = [s for s in state["said"] if s.startswith("batch ")]
    assert len(batches) == 3 and batches[0].endswith("derived before, kept")
    assert not any(s.endswith("kept") for s in batches[1:])
    assert not (batched / ".aftercar-batches").exists()


def test_resume_refuses_the_batches_of_another_run(runs, tmp_path, capsys):
    """Batches kept by a run of other options, or of source files changed since, are not
    mixed in: exit 2, the fix named; ``--resume`` needs ``--omop``."""
    _one, _batched, omop = runs
    src = tmp_path / "omop"
    shutil.copytree(omop, src)
    out = tmp_path / "resumed"
    with pytest.raises(_Stop):  # stopped before its first batch: run.json is written
        derive_omop_batched(src, out, "csv", batch_persons=25, resume=True,
                            progress=_stop_at(1))  # fmt: skip
    args = ["derive", "--omop", str(src), "-o", str(out), "--resume"]
    capsys.readouterr()
    assert main([*args, "--batch-persons", "30"]) == 2
    assert "holds the batches of another run" in capsys.readouterr().err
    death = src / "death.parquet"  # exported again: same rows, a newer file
    os.utime(death, ns=(death.stat().st_atime_ns, death.stat().st_mtime_ns + 10**9))
    assert main([*args, "--batch-persons", "25"]) == 2
    assert "holds the batches of another run" in capsys.readouterr().err
    d = pq.read_table(death)  # exported again with a second death date: its rows are checked
    pq.write_table(pa.concat_tables([d, d.slice(0, 1).set_column(
        d.column_names.index("death_date"), "death_date",
        pa.array([d["death_date"][0].as_py() + dt.timedelta(days=1)]))]), death)  # fmt: skip
    assert main([*args, "--batch-persons", "25"]) == 2
    assert "has more than one death date" in capsys.readouterr().err
    pq.write_table(d, death)
    (out / ".aftercar-batches" / "run.json").write_text('{"fingerprint": ', "utf-8")  # cut
    assert main([*args, "--batch-persons", "25"]) == 2
    err = capsys.readouterr().err
    assert "holds the batches of another run" in err and "Traceback" not in err
    assert main(["derive", "-o", str(out), "--resume"]) == 2
    assert "--resume takes up a batched OMOP derivation" in capsys.readouterr().err


@pytest.fixture(scope="module")
def csv_stopped(runs, tmp_path_factory):
    """A resumable CSV run of the module's instance stopped as its second batch starts."""
    out = tmp_path_factory.mktemp("csv_stopped") / "out"
    with pytest.raises(_Stop):
        derive_omop_batched(runs[2], out, "csv", batch_persons=25, resume=True,
                            progress=_stop_at(2))  # fmt: skip
    return out


def test_resume_refuses_batches_ordered_as_text(runs, csv_stopped, tmp_path, capsys):
    """Batches kept by code that ordered a batch's rows by the text of ``patient_id`` (before
    2026-12-04) are refused: the final pass appends batches without sorting them."""
    from aftercar.derive.omop.parts import _fingerprint

    omop, out = runs[2], tmp_path / "resumed"
    shutil.copytree(csv_stopped, out)
    manifest = out / ".aftercar-batches" / "run.json"
    kept = json.loads(manifest.read_text("utf-8"))
    assert kept["run"].pop("order") == "person_id"
    rules = load_rules()
    concepts = load_concepts(None, rules)
    now = _fingerprint({**kept["run"], "order": "person_id"}, rules, concepts)
    assert now == kept["fingerprint"]  # the record is this run's, but for the order
    kept["fingerprint"] = _fingerprint(kept["run"], rules, concepts)
    manifest.write_text(json.dumps(kept), "utf-8")  # as the code before wrote it
    capsys.readouterr()
    args = ["derive", "--omop", str(omop), "-o", str(out), "--resume", "--batch-persons", "25"]
    assert main(args) == 2
    assert "holds the batches of another run" in capsys.readouterr().err


_HOLDER = """import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, b'{"pid": %d, "host": "elsewhere"}' % os.getpid())
print("held", flush=True)
time.sleep(120)
"""


def _stopping(seen: list[str]):
    def progress(step: str) -> None:
        seen.append(step)
        _stop_at(1)(step)

    return progress


def test_a_folder_in_use_is_refused_and_a_killed_runs_folder_taken_up(runs, tmp_path, capsys):
    """Two runs resuming into one folder would write the same batches: while a running
    process holds the kernel lock of ``.aftercar-batches/lock``, a second run is refused
    (exit 2, naming it) and leaves the folder as it is; once that process is killed, the
    next run takes the folder up and says that a run stopped without finishing."""
    _one, _batched, omop = runs
    out = tmp_path / "held"
    lock = out / ".aftercar-batches" / "lock"
    (lock.parent / "spill").mkdir(parents=True)  # the holder's spilled data: left alone
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(lock)],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        args = ["derive", "--omop", str(omop), "-o", str(out), "--batch-persons", "25",
                "--resume"]  # fmt: skip
        capsys.readouterr()
        assert main(args) == 2
        err = capsys.readouterr().err
        assert f"in use by another aftercar run (process {holder.pid} on elsewhere)" in err
        assert "Traceback" not in err and (lock.parent / "spill").is_dir()
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    seen: list[str] = []
    with pytest.raises(_Stop):
        derive_omop_batched(omop, out, "csv", batch_persons=25, resume=True,
                            progress=_stopping(seen))  # fmt: skip
    assert any(f"(process {holder.pid}) stopped without finishing" in s for s in seen)
    assert json.loads(lock.read_text("utf-8"))["pid"] == os.getpid()  # this one stopped too


def test_one_process_cannot_hold_a_folder_twice_and_a_finished_hold_is_released(tmp_path):
    from aftercar.derive.omop.parts import hold
    from aftercar.errors import InputError

    with hold(tmp_path) as held:
        assert held.locked and held.previous is None
        with pytest.raises(InputError, match="in use by another aftercar run"), hold(tmp_path):
            pass
    with hold(tmp_path) as again:  # released, and nothing to take over
        assert again.locked and again.previous is None
    (tmp_path / "lock").write_text('{"pid": ', "utf-8")  # a record cut short, not held
    with hold(tmp_path) as cut:
        assert cut.previous == "unknown"


def test_a_file_system_without_locks_runs_unlocked(tmp_path, monkeypatch):
    """flock fails with ENOLCK / ENOSYS on some mounts (Lustre noflock, NFS without the
    lock daemon): the run goes on unlocked (and says so, as without fcntl)."""
    import errno
    import fcntl

    from aftercar.derive.omop.parts import hold

    def no_lock(*_args):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_lock)
    with hold(tmp_path) as held:
        assert not held.locked


def test_without_file_locks_the_run_says_so(runs, tmp_path, monkeypatch):
    """A platform without ``fcntl`` (Windows) runs unlocked, and the run says so."""
    monkeypatch.setitem(sys.modules, "fcntl", None)  # import fcntl -> ImportError
    seen: list[str] = []
    with pytest.raises(_Stop):
        derive_omop_batched(runs[2], tmp_path / "out", "csv", batch_persons=25, resume=True,
                            progress=_stopping(seen))  # fmt: skip
    assert any(s.startswith("no file locks on this platform or file system") for s in seen)


def test_a_run_stopped_while_writing_its_files_resumes(runs, tmp_path, monkeypatch):
    """One batch (each output one file): stopped after some output files are written, the
    resumed run still finds every file of its done batch (they are copied out, not moved)."""
    from aftercar.derive.omop import batched as b

    _one, _batched, omop = runs
    out = tmp_path / "one_batch"

    def stopped(*_args, **_kw):
        raise _Stop("writing EPISODE rows")

    monkeypatch.setattr(b, "_write_episodes", stopped)
    with pytest.raises(_Stop):
        derive_omop_batched(omop, out, "parquet", batch_persons=0, episodes=True, resume=True)
    monkeypatch.undo()
    assert (out / "audit" / "events.parquet").is_file()  # written before the stop
    (out / "audit" / "events.parquet").unlink()  # the resumed run writes it again
    seen: list[str] = []
    derive_omop_batched(omop, out, "parquet", batch_persons=0, episodes=True, resume=True,
                        progress=seen.append)  # fmt: skip
    assert any(s.endswith("derived before, kept") for s in seen)
    one = omop.parent / "one_parquet"
    assert _files(out) == _files(one)
    unordered = {r.with_suffix(".parquet") for r in UNORDERED}
    for rel in sorted(_files(one)):
        if rel.suffix == ".parquet":
            a, b = pq.read_table(one / rel), pq.read_table(out / rel)
            if rel in unordered:
                key = [(c, "ascending") for c in a.column_names]
                a, b = a.sort_by(key), b.sort_by(key)
            assert a.equals(b), rel


def test_source_state_names_every_file_the_reader_reads(tmp_path):
    """A DuckDB file with its write-ahead log (rows not yet in the file); a folder with a
    linked sub-folder of Parquet parts; a copy that keeps the modification time is seen
    by its change time."""
    from aftercar.derive.omop.parts import source_state

    db = tmp_path / "cdm.duckdb"
    db.write_bytes(b"x")
    assert [f[0] for f in source_state(db)] == ["cdm.duckdb"]
    (tmp_path / "cdm.duckdb.wal").write_bytes(b"y")
    assert [f[0] for f in source_state(db)] == ["cdm.duckdb", "cdm.duckdb.wal"]
    real = tmp_path / "real" / "person"
    real.mkdir(parents=True)
    (real / "part-0.parquet").write_bytes(b"p")
    src = tmp_path / "src"
    src.mkdir()
    (src / "person").symlink_to(real)
    before = source_state(src)
    assert [f[0] for f in before] == ["person/part-0.parquet"]
    st = (real / "part-0.parquet").stat()
    for _ in range(40):  # past the file system's clock tick (change times are coarse)
        time.sleep(0.05)
        (real / "part-0.parquet").write_bytes(b"q")  # same size, same mtime: cp -p
        os.utime(real / "part-0.parquet", ns=(st.st_atime_ns, st.st_mtime_ns))
        if (real / "part-0.parquet").stat().st_ctime_ns != st.st_ctime_ns:
            break
    after = source_state(src)
    assert after[0][1:3] == before[0][1:3] and after != before
    (real / "up").symlink_to(src)  # a link back up the tree is walked once
    (src / "gone").symlink_to(tmp_path / "nothing")  # a link to nothing is no file
    assert [f[0] for f in source_state(src)] == ["person/part-0.parquet"]


def test_the_checked_source_record_names_the_concepts_that_chose_its_rows(csv_stopped):
    from aftercar.derive.omop.parts import concepts_digest

    checked = csv_stopped / ".aftercar-batches" / "source-checked.json"
    record = json.loads(checked.read_text("utf-8"))
    assert record["concepts"] == concepts_digest(load_concepts(None, load_rules()))
    mine = load_concepts(None, load_rules())
    other = dataclasses.replace(mine, tables={**mine.tables,
                                              "conditions": mine.tables["conditions"].slice(0, 0)})
    assert concepts_digest(other) != record["concepts"]


def test_line_offsets_hold_only_when_each_batch_shifts_its_ids_alike():
    """EPISODE_EVENT is read in order with shifted ids only when every line episode of a
    batch is shifted by the same number (as the batches number them); else it is joined
    to the ids and sorted."""
    from aftercar.derive.omop.batched import _line_offsets

    con = engine(None)
    con.raw_sql("CREATE TEMP TABLE _episode_ids AS SELECT * FROM (VALUES (0, 1, 1, false), "
                "(0, 2, 5, true), (0, 3, 6, true), (1, 1, 2, false), (1, 2, 7, true)) "
                "t(_batch, _local, _global, _line)")  # fmt: skip
    assert _line_offsets(con) == {0: 3, 1: 5}
    con.raw_sql("INSERT INTO _episode_ids VALUES (1, 3, 9, true)")
    assert _line_offsets(con) is None  # batch 1 shifts its lines by 5 and by 6
    con.raw_sql("DELETE FROM _episode_ids WHERE _local = 3 AND _batch = 1")
    con.raw_sql("UPDATE _episode_ids SET _global = _global - 4 WHERE _batch = 1 AND _line")
    assert _line_offsets(con) is None  # batch 1's line (id 3) before batch 0's (5, 6)


@pytest.fixture(scope="module")
def parquet_kept(runs, tmp_path_factory):
    """A resumable Parquet run of the module's instance stopped as it starts writing the
    outputs: every batch derived and kept (each resume of a copy is its final pass)."""
    out = tmp_path_factory.mktemp("parquet_kept") / "out"

    def stop_at_writing(step: str) -> None:
        if step == "writing the outputs":
            raise _Stop(step)

    with pytest.raises(_Stop):
        derive_omop_batched(runs[2], out, "parquet", batch_persons=25, episodes=True,
                            resume=True, progress=stop_at_writing)  # fmt: skip
    return out


def _resumed(kept: Path, out: Path, omop: Path) -> list[str]:
    """Resume a copy ``out`` of the stopped run ``kept``: what the run said."""
    shutil.copytree(kept, out)
    said: list[str] = []
    run = derive_omop_batched(omop, out, "parquet", batch_persons=25, episodes=True,
                              resume=True, progress=said.append)  # fmt: skip
    assert run.batches == 3
    assert sum(s.endswith("derived before, kept") for s in said) == 3  # only the final pass
    return said


def test_resumed_parquet_batches_are_read_in_order(runs, parquet_kept, tmp_path, monkeypatch):
    """A resumable Parquet run keeps one file per batch; the outputs read as stored (the
    cohort, the audit, EPISODE_EVENT with its ids shifted) are DuckDB reading those files
    one after the other: the tables, rows and order of one run."""
    from aftercar.derive.omop import final_pass  # where _episode_sql looks it up

    shifted, shift = [], final_pass._shifted_events
    monkeypatch.setattr(final_pass, "_shifted_events", lambda *a: shifted.append(1) or shift(*a))
    omop = runs[2]
    one, out = omop.parent / "one_parquet", tmp_path / "resumed"
    _resumed(parquet_kept, out, omop)
    assert shifted and _files(out) == _files(one)
    unordered = {r.with_suffix(".parquet") for r in UNORDERED}
    for rel in sorted(_files(one)):
        if rel.suffix == ".parquet" and rel not in unordered:
            a, b = pq.read_table(one / rel), pq.read_table(out / rel)
            assert a.schema.remove_metadata().equals(b.schema.remove_metadata()), rel
            assert a.equals(b), rel
    for rel in ("patients", "lines", "audit/lines", "episodes/episode_event"):  # from 3 files
        assert "duckdb" in pq.ParquetFile(out / f"{rel}.parquet").metadata.created_by.lower()


def test_batched_attrition_is_ordered_by_part_table_and_row(runs):
    """The batches derive their attrition in no set order (the final pass sorts them all
    together): the file gives the cohort's exclusions first, then every row by table and
    row, whatever order each batch's engine returned them in."""
    t = pacsv.read_csv(runs[1] / "audit" / "attrition.csv").to_pydict()
    excluded = {_NO_CAR_T, _NO_FU, _FU_BEFORE}
    order = [(0 if r in excluded else 1, tb, row)
             for r, tb, row in zip(t["reason"], t["table"], t["row"], strict=True)]  # fmt: skip
    assert order == sorted(order) and {p for p, _t, _r in order} == {0, 1}
    assert len({tb for _p, tb, _r in order}) >= 3


def test_episode_events_are_joined_and_sorted_when_the_ids_do_not_shift_alike(
    runs, parquet_kept, tmp_path, monkeypatch
):
    """The fallback of :func:`_line_offsets`: EPISODE_EVENT joined to every episode id and
    sorted gives the rows and order of one run, as the in-order read does (the final pass
    of the module's kept Parquet batches)."""
    from aftercar.derive.omop import final_pass  # where _episode_sql looks them up

    monkeypatch.setattr(final_pass, "_line_offsets", lambda con: None)
    shifted, shift = [], final_pass._shifted_events
    monkeypatch.setattr(final_pass, "_shifted_events", lambda *a: shifted.append(1) or shift(*a))
    omop = runs[2]
    out = tmp_path / "sorted"
    _resumed(parquet_kept, out, omop)
    one = omop.parent / "one_parquet" / "episodes" / "episode_event.parquet"
    assert not shifted
    assert pq.read_table(out / "episodes" / "episode_event.parquet").equals(pq.read_table(one))


def _final_sorted(tmp_path, tables: list) -> tuple[pa.Table, pa.Table]:
    """Two batch files of attrition rows (``tables`` as table names, reversed in the second
    file) written by ``batched._copy``; ``(got, want)``, want = the text sort."""
    from aftercar.derive.omop import batched

    part = batched._PART
    files = []
    for i in range(2):
        names = tables if i == 0 else tables[::-1]
        n = len(names) * 3
        t = pa.table({"table": pa.array(names * 3, pa.string()),
                      "row": pa.array(np.arange(n)[::-1] + i, pa.int64()),
                      "patient_id": [str(k) for k in range(n)],
                      "reason": [f"reason {k % 4}" if k % 7 else None for k in range(n)],
                      part: pa.array([i % 2] * n, pa.int32())})  # fmt: skip
        files.append(tmp_path / f"b{i}.parquet")
        pq.write_table(t, files[-1])
    con = ibis.duckdb.connect()
    con.raw_sql("SET preserve_insertion_order = true")
    out = tmp_path / "attrition.parquet"
    keys = batched.SORT_KEYS["audit/attrition"]
    n = batched._copy(con, files, out, "parquet", keys, keep=True)
    assert "duckdb" in pq.ParquetFile(out).metadata.created_by.lower()  # sorted by DuckDB
    every = pa.concat_tables([pq.read_table(f) for f in files])
    want = every.sort_by([(part, "ascending"), ("table", "ascending"), ("row", "ascending")])
    assert n == every.num_rows
    return pq.read_table(out), want.drop([part])


def test_the_final_pass_sorts_the_attrition_of_all_batches_by_part_table_and_row(tmp_path):
    """The batches' attrition files, names in other orders and with NULLs, give the text
    sort by part, table and row, with text columns."""
    tables = ["procedure_occurrence", "drug_exposure", "person", "measurement", None]
    got, want = _final_sorted(tmp_path, tables)
    assert got.schema.equals(want.schema) and got.equals(want)


def test_the_final_pass_sorts_an_attrition_without_table_names(tmp_path):
    got, want = _final_sorted(tmp_path, [None, None])
    assert got.schema.equals(want.schema) and got.equals(want)


def test_a_batch_folder_left_by_a_killed_run_is_removed_one_in_use_is_not(runs, tmp_path):
    # fuzzing round 5 (H07): a killed run's .aftercar-batches-XXXX (its batches' Parquet
    # outputs) was kept by the next run into the same folder, without a word
    from aftercar.derive.omop.parts import hold

    _, _, omop = runs
    out = tmp_path / "out"
    stale, busy = out / ".aftercar-batches-stale1", out / ".aftercar-batches-busy22"
    (stale / "parts").mkdir(parents=True)
    (stale / "parts" / "lines.parquet").write_bytes(b"x" * 1000)
    busy.mkdir()
    young = out / ".aftercar-batches-young3"  # a run starting now: not locked yet
    young.mkdir()
    for folder in (stale, busy):
        os.utime(folder, (time.time() - 3600, time.time() - 3600))
    seen: list[str] = []
    with hold(busy), pytest.raises(_Stop):  # another derivation running into the same folder
        derive_omop_batched(omop, out, "csv", batch_persons=25, progress=_stopping(seen))
    assert not stale.exists() and busy.exists() and young.exists()
    assert [s for s in seen if s.startswith("removed")] == [
        "removed .aftercar-batches-stale1, left by an interrupted run (0.00 GB)"]
    assert not [p for p in out.glob(".aftercar-batches-*") if p not in (busy, young)]
