"""Suite-wide test order: the longest tests first, so that no worker ends on one.

pytest-xdist's ``worksteal`` scheduler hands each worker a contiguous share of the
collected tests and lets an idle worker take the not-yet-started half of another's
queue. A long test near the end of a share cannot be split: the other worker idles
while it runs. Tests marked ``slow`` are therefore collected first (in their own
order; the rest keep theirs), where the other workers' fast tests balance them.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable
