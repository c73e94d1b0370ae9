"""Fixtures of the report tests."""

from __future__ import annotations

import pytest
from reportkit import build_input

from aftercar.report import ReportInput


@pytest.fixture
def report_input() -> ReportInput:
    return build_input()


@pytest.fixture(scope="session")
def demo_input():
    """The demo cohort through the pipeline (shared by the demo and layout tests)."""
    from aftercar.pipeline import run
    from aftercar.simulate import demo_cohort_path

    return run(demo_cohort_path(), synthetic=True).report_input


@pytest.fixture(scope="session")
def demo(demo_input, tmp_path_factory):
    """The demo report, with report.docx."""
    from aftercar.report import write_report

    return write_report(demo_input, tmp_path_factory.mktemp("demo"), docx=True)
