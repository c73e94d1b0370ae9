"""Text the Word file cannot hold as XML (fuzz round 7, session 26): a study title or a site
name pasted with a control character crashed ``report --docx`` (python-docx refuses them)."""

from __future__ import annotations

import zipfile

from aftercar.report.display import DisplayTable
from aftercar.report.docx import write_docx


def test_control_characters_are_shown_as_replacement_marks(tmp_path):
    table = DisplayTable(name="t", title="Sites \x01", columns=("site", "n"),
                         rows=(("Mount\x0bSinai", "12"),), numeric=(False, True),
                         footnotes=("note\x00", "byte \udcff"))  # fmt: skip
    path = write_docx(tmp_path / "r.docx", title="Post-CAR-T study \x01 2024", subtitle="s\x1f",
                      tables={"t": table}, figures={})  # fmt: skip
    xml = zipfile.ZipFile(path).read("word/document.xml").decode("utf-8")
    assert "Mount\ufffdSinai" in xml and "Post-CAR-T study \ufffd 2024" in xml
    assert "note\ufffd" in xml and "Sites \ufffd" in xml and "byte \ufffd" in xml
