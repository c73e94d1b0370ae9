"""Suite-wide test order: the longest tests first, so that no worker ends on one.

pytest-xdist's ``worksteal`` scheduler hands each worker a contiguous share of the
collected tests and lets an idle worker take the not-yet-started half of another's
queue. A long test near the end of a share cannot be split: the other worker idles
while it runs. Tests marked ``slow`` are therefore collected first (in their own
order; the rest keep theirs), where the other workers' fast tests balance them.

Property tests draw their examples from a fixed seed by default (profile ``ci``), so
the README's test command gives the same result on every run and every machine;
``pytest --hypothesis-profile=explore`` draws fresh examples (a failure it finds is
added to the test as an ``@example``).

Tests marked ``spark_full`` run on a Spark session: the whole-cohort comparisons of Spark
with DuckDB (minutes each on a 2-core machine), and, marked here, every test that takes a
Spark session (``tests/spark``, the Spark case of the engine-parametrised ``tests/derive``:
a JVM of its own per test process, ~15 s to start, and a fraction of a second per query).
The default run skips them (saying how to run them), ``pytest --spark-full`` runs them
with the rest, and CI runs them on their own after the README's test command
(``.ci/run``), so the default run stays within its ten minutes while every Spark
comparison still gates a change (the default run took 700-766 s on 2026-12-07 with them;
617-765 s without them that day, on a slower machine than that evening's, where it took
303-398 s).
"""

from __future__ import annotations

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile("ci")


SPARK_FULL = (
    "a Spark comparison of minutes, or one with a Spark session of its own: run with "
    "`pytest --spark-full` (CI runs these after the README's test command: .ci/run)"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--spark-full", action="store_true",
                     help="also run the tests marked spark_full: " + SPARK_FULL)  # fmt: skip


def _on_spark(item: pytest.Item) -> bool:
    """The test runs on a Spark session: it takes the ``spark`` fixture (``tests/spark``) or
    is the Spark case of an engine-parametrised test (``backend``, ``tests/derive``)."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    return "spark" in getattr(item, "fixturenames", ()) or params.get("backend") == "spark"


@pytest.hookimpl(tryfirst=True)  # before ``-m spark_full`` selects by the marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable
    for item in items:
        if _on_spark(item):
            item.add_marker(pytest.mark.spark_full)
    if not config.getoption("--spark-full"):
        for item in items:
            if item.get_closest_marker("spark_full") is not None:
                item.add_marker(pytest.mark.skip(reason=SPARK_FULL))
