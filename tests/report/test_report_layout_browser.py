"""Headless Chromium on the demo report and a simulated 300-patient cohort's report.

At a desktop width (1366 px) and the A4 print width (210 mm less 2 x 12 mm margins =
186 mm = 703 CSS px), a small inline script measures every table container
(``scrollWidth`` against ``clientWidth``, and the table's box against its container's)
and writes what overflows into the page, which ``--dump-dom`` returns; the visible
text outside the appendix is checked for raw result keys (``results.json`` keys and
CSV column names with an underscore).
"""

from __future__ import annotations

import csv
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from reportkit import CHROMIUM, FLAGS

from aftercar.report import write_report

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium (chromium) is not installed"
)

#: Viewport widths: a desktop screen and the A4 text width (186 mm at 96 px per inch).
WIDTHS = {"desktop": 1366, "a4": 703}

PROBE = """<script>
window.addEventListener("load", function () {
  var out = [];
  var result = {};
  document.querySelectorAll(".table-wrap").forEach(function (w) {
    var t = w.querySelector("table");
    var over = w.scrollWidth > w.clientWidth + 1;
    var wider = t && t.getBoundingClientRect().width > w.getBoundingClientRect().width + 1;
    if (over || wider) { out.push(w.id + ":" + w.scrollWidth + ">" + w.clientWidth); }
  });
  var wide = document.documentElement.scrollWidth > window.innerWidth + 1;
  var pre = document.createElement("pre");
  pre.id = "overflow-probe";
  pre.textContent = JSON.stringify({tables: out, page: wide});
  document.body.appendChild(pre);
});
</script>"""

#: Types a query into the appendix search box and reports the rows left visible.
SEARCH = """<script>
window.addEventListener("load", function () {
  var box = document.getElementById("appendix-search");
  box.value = "first_salvage.orr";
  box.dispatchEvent(new Event("input"));
  var rows = Array.prototype.slice.call(document.querySelectorAll("#appendix-results tbody tr"));
  var shown = rows.filter(function (r) { return !r.hidden; });
  var pre = document.createElement("pre");
  pre.id = "overflow-probe";
  pre.textContent = JSON.stringify({
    total: rows.length,
    shown: shown.map(function (r) { return r.cells[0].textContent; })
  });
  document.body.appendChild(pre);
});
</script>"""


def _overflow(html: Path, tmp: Path, width: int, script: str = PROBE) -> dict:
    import subprocess

    probe = tmp / f"probe-{width}.html"
    probe.write_text(html.read_text("utf-8").replace("</body>", script + "</body>"), "utf-8")
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp / 'profile'}", f"--window-size={width},900",
           "--virtual-time-budget=5000", "--dump-dom", probe.resolve().as_uri()]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<pre id="overflow-probe">(.*?)</pre>', done.stdout, re.S)
    assert found, "the probe did not run"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&gt;", ">"))


class _Text(HTMLParser):
    """Visible text outside the appendix, scripts, styles and SVG figures."""

    VOID = frozenset({"br", "input", "meta", "hr", "img", "link", "wbr", "col"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []
        self.skip = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        hide = tag in {"svg", "script", "style"} or dict(attrs).get("id") == "appendix"
        self.stack.append(hide)
        self.skip += hide

    def handle_startendtag(self, tag, attrs):
        return

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.skip -= self.stack.pop()

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def _keys(node, out: set[str]) -> set[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            out.add(str(key))
            _keys(value, out)
    elif isinstance(node, list):
        for value in node:
            _keys(value, out)
    return out


def raw_keys_outside_appendix(outdir: Path) -> list[str]:
    """Result keys and CSV column names (with an underscore) shown outside the appendix."""
    parser = _Text()
    parser.feed((outdir / "report.html").read_text("utf-8"))
    text = " ".join(parser.parts)
    keys = _keys(json.loads((outdir / "results.json").read_text("utf-8")), set())
    for path in (outdir / "tables").glob("*.csv"):
        with path.open(encoding="utf-8") as fh:
            keys |= set(next(csv.reader(fh)))
    return sorted(
        k for k in keys
        if "_" in k and re.search(r"(?<![\w.])" + re.escape(k) + r"(?!\w)", text)
    )  # fmt: skip


@pytest.fixture(scope="module")
def reports(demo, tmp_path_factory):
    """The demo report (shared with test_report_demo) and a simulated 300-patient one."""
    from aftercar.pipeline import run
    from aftercar.simulate import write_simulated

    sim = tmp_path_factory.mktemp("sim300")
    write_simulated(300, sim, seed=20261202)
    data = run(sim, synthetic=True).report_input
    written = write_report(data, sim.with_name("report-sim300"))
    return {"demo": demo.outdir, "sim300": written.outdir}


@pytest.mark.browser
@needs_chromium
@pytest.mark.parametrize("name", ["demo", "sim300"])
@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_no_table_overflows_its_container(reports, tmp_path, name, width):
    found = _overflow(reports[name] / "report.html", tmp_path, WIDTHS[width])
    assert found == {"tables": [], "page": False}


@pytest.mark.parametrize("name", ["demo", "sim300"])
def test_no_raw_key_names_outside_the_appendix(reports, name):
    assert raw_keys_outside_appendix(reports[name]) == []
    html = (reports[name] / "report.html").read_text("utf-8")
    appendix = html[html.index('<section id="appendix">') :]
    assert "first_salvage.orr.estimate" in appendix  # the keys are there, with their paths


@pytest.mark.browser
@needs_chromium
def test_appendix_search_filters_rows_offline(reports, tmp_path):
    found = _overflow(reports["demo"] / "report.html", tmp_path, 1366, SEARCH)
    assert found["total"] > 500
    assert found["shown"] and all(p.startswith("first_salvage.orr") for p in found["shown"])
    assert "first_salvage.orr.estimate" in found["shown"]


@pytest.mark.parametrize("name", ["demo", "sim300"])
def test_issue15_analyses_are_shown_as_tables_and_figures(reports, name):
    html = (reports[name] / "report.html").read_text("utf-8")
    for anchor in ("table-ph_tests", "table-rmst", "table-competing_risks",
                   'svg id="fig-first_salvage_competing_risks"'):  # fmt: skip
        assert anchor in html, anchor
    pfs = html[html.index('id="table-pfs_by_category"') :]
    assert "patient-clustered 95% CI" in pfs[: pfs.index("</table>")]
    cox = html[html.index('<section id="cox">') : html.index('<section id="regimens">')]
    assert "results.json" not in cox and "<code>" not in cox  # no key/value dump


def test_demo_docx_holds_table1_every_result_table_and_every_figure(reports):
    docx = pytest.importorskip("docx")
    doc = docx.Document(str(reports["demo"] / "report.docx"))
    headers = [t.rows[0].cells[0].text for t in doc.tables]
    assert headers[0] == "Characteristic"  # Table 1 first
    assert {"Group", "Therapy category", "Covariate", "Model and term"} <= set(headers)
    figures = list((reports["demo"] / "figures").glob("*.png"))
    assert len(doc.inline_shapes) == len(figures) >= 10
