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
"""

from __future__ import annotations

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile("ci")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable
