"""The site's name read from the cohort (``summary.site_name``): the error names the
column as users write it (fuzz round 7, session 26: it showed the internal 'Col.SITE')."""

from __future__ import annotations

import pandas as pd
import pytest

from aftercar.errors import InputError
from aftercar.federated.summary import site_name


def test_one_site_is_the_name():
    assert site_name(pd.DataFrame({"site": ["A", "A"]}), "cohort") == "A"


def test_two_sites_name_the_column_and_the_fix():
    with pytest.raises(InputError) as info:
        site_name(pd.DataFrame({"site": ["A", "B"]}), "cohort")
    message = str(info.value)
    assert "column 'site' holds 2 distinct value(s)" in message and "--site NAME" in message
    assert "Col." not in message
