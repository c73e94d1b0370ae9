"""Outputs are owned and atomic: aftercar deletes only what it wrote, never half-writes.

Each test reproduces a failure a hospital data team met (issue 17): user files
deleted from OUTDIR, the input cohort deleted when it sat in OUTDIR, tracebacks for
an output that is a file or on a read-only or full disk, a killed run leaving a
mix of old and new files, and bytes that differ between identical runs.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path

import pytest
from reportkit import build_input

from aftercar.cli import main
from aftercar.errors import OutputError
from aftercar.report import jsonsafe, output, write_report
from aftercar.simulate import demo_cohort_path

_FIGURES: dict = {}


@pytest.fixture
def figures_once(monkeypatch):
    """The micro-cohort's figures rendered once per process, then reused: these tests are
    about how the files are written, and each rendering took ~4 s (the default run was
    over ten minutes). The byte-identical test renders its own every time."""
    from aftercar.report import writer

    real = writer.render_figures

    def once(data, *, results, k=None):
        key = (jsonsafe.dumps(results), k)
        if key not in _FIGURES:
            _FIGURES[key] = real(data, results=results, k=k)
        return _FIGURES[key]

    monkeypatch.setattr(writer, "render_figures", once)


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_user_files_in_tables_and_figures_are_never_deleted(tmp_path, figures_once):
    out = tmp_path / "out"
    write_report(build_input(), out)
    (out / "tables" / "my_analysis.csv").write_text("mine\n")
    (out / "figures" / "logo.svg").write_text("<svg/>")
    with pytest.raises(OutputError, match=r"did not write.*my_analysis\.csv"):
        write_report(build_input(), out)
    write_report(build_input(), out, force=True)
    assert (out / "tables" / "my_analysis.csv").read_text() == "mine\n"
    assert (out / "figures" / "logo.svg").read_text() == "<svg/>"


def test_a_report_into_the_folder_holding_its_input_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    cohort = out / "tables"
    cohort.mkdir(parents=True)
    for f in Path(demo_cohort_path()).glob("*.csv"):
        (cohort / f.name.replace("synthetic_demo_", "")).write_bytes(f.read_bytes())
    before = _digests(cohort)
    assert main(["report", str(cohort), "-o", str(out)]) == 2
    assert "holds the input" in capsys.readouterr().err
    assert _digests(cohort) == before


def test_an_existing_file_as_output_is_exit_2_without_traceback(tmp_path, capsys):
    target = tmp_path / "report.html"
    target.write_text("not a folder")
    assert main(["report", "--demo", "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert "is a file, not a folder" in err and "Traceback" not in err
    assert target.read_text() == "not a folder"


@pytest.mark.parametrize(
    ("code", "reason"),
    [(errno.ENOSPC, "disk is full"), (errno.EROFS, "read-only"), (errno.EACCES, "permission")],
)
def test_a_write_failure_is_an_output_error_and_leaves_nothing_behind(
    tmp_path, monkeypatch, code, reason, figures_once
):
    out = tmp_path / "out"
    write_report(build_input(), out)
    before = _digests(out)
    real = Path.write_text

    def failing(self, *args, **kwargs):
        if self.name == "report.html":
            raise OSError(code, os.strerror(code), str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", failing)
    with pytest.raises(OutputError, match=reason):
        write_report(build_input(), out)
    monkeypatch.undo()
    assert _digests(out) == before  # the previous report is intact
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging folder left


def test_an_interrupted_run_leaves_the_previous_report_whole(tmp_path, monkeypatch,
                                                            figures_once):
    out = tmp_path / "out"
    write_report(build_input(), out)
    before = _digests(out)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("aftercar.report.writer.render_html", killed)
    with pytest.raises(KeyboardInterrupt):
        write_report(build_input(), out)
    assert _digests(out) == before
    manifest = json.loads((out / "manifest.json").read_text())
    listed = {o["path"]: o["sha256"] for o in manifest["outputs"]}
    assert all(before[path] == digest for path, digest in listed.items())


def test_a_stale_staging_folder_of_a_killed_run_is_removed_by_the_next(tmp_path, figures_once):
    out = tmp_path / "out"
    stale = tmp_path / ".out.aftercar-killed"
    stale.mkdir()
    (stale / "results.json").write_text("{}")
    write_report(build_input(), out)
    assert not stale.exists() and (out / "report.html").exists()


def test_ownership_comes_from_the_previous_manifest_only(tmp_path, figures_once):
    out = tmp_path / "out"
    write_report(build_input(), out)
    owned = output.owned_files(out)
    assert out / "report.html" in owned and out / "manifest.json" in owned
    (out / "manifest.json").write_text(json.dumps({"outputs": [{"path": "../../etc/passwd"}]}))
    assert output.owned_files(out) == {out / "manifest.json"}


def test_reproducible_runs_are_byte_identical(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    for name in ("a", "b"):
        args = ["report", "--demo", "-o", str(tmp_path / name), "--reproducible", "--docx"]
        assert main(args) == 0
    a, b = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert "report.docx" in {p.name for p in (tmp_path / "a").iterdir()}  # its zip times too
    assert a == b and len(a) > 30
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["created"] == "2023-11-14T22:13:20+00:00" and manifest["timings"] == {}


def test_an_unwritable_output_is_refused_before_the_analysis(tmp_path, monkeypatch, capsys):
    import aftercar.pipeline

    def never(*args, **kwargs):
        raise AssertionError("the analysis ran before the write probe")

    monkeypatch.setattr(aftercar.pipeline, "run", never)
    target = tmp_path / ("x" * 300) / "out"  # a path component too long for the file system
    assert main(["report", "--demo", "-o", str(target)]) == 2
    assert "cannot write the output" in capsys.readouterr().err
