"""Fixtures of the report tests."""

from __future__ import annotations

import pytest
from reportkit import build_input

from aftercar.report import ReportInput


@pytest.fixture
def report_input() -> ReportInput:
    return build_input()
