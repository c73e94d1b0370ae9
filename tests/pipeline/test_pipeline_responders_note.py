"""the methods note must state the response codes actually counted.

The note said "sCR, CR, VGPR and PR (IMWG 2016)" even when the study TOML set
``endpoints.responders`` to something else (e.g. adding MR), so the report
described a different ORR from the one computed.
"""

from __future__ import annotations

from aftercar.config import config_from_dict
from aftercar.pipeline import run


def _response_note(result) -> str:
    notes = result.report_input.results["notes"]
    return next(n for n in notes if n.startswith("Response rates count"))


def test_default_note_cites_imwg(micro_dir):
    note = _response_note(run(micro_dir))
    assert note.startswith("Response rates count sCR, CR, VGPR and PR (IMWG 2016) over")


def test_configured_responders_are_the_ones_in_the_note(micro_dir):
    config = config_from_dict({"endpoints": {"responders": ["sCR", "CR", "VGPR", "PR", "MR"]}})
    note = _response_note(run(micro_dir, config=config))
    assert note.startswith("Response rates count sCR, CR, VGPR, PR and MR (study configuration")
