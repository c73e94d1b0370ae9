"""report.html renders in headless Chromium: screenshot not blank, every figure in the DOM.

Skipped (with the reason) when Chromium is not installed; CI installs Debian's
``chromium``. The demo test renders the bundled synthetic demo cohort through the
full pipeline, as ``aftercar report --demo`` does.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image as mpimg
from reportkit import build_input

from aftercar.report import write_report

CHROMIUM = shutil.which("chromium") or shutil.which("/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium (/usr/bin/chromium) absent"),
]

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def _chromium(html: Path, tmp: Path, *extra: str) -> str:
    profile = tmp / "chromium-profile"
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra, html.resolve().as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _screenshot(html: Path, tmp: Path) -> np.ndarray:
    png = tmp / "screenshot.png"
    _chromium(html, tmp, f"--screenshot={png}", "--window-size=1280,4000")
    return mpimg.imread(png)


def _assert_rendered(html: Path, tmp: Path, figures: set[str]) -> np.ndarray:
    pixels = _screenshot(html, tmp)
    assert pixels.shape[0] == 4000 and pixels.shape[1] == 1280
    rgb = pixels[..., :3]
    assert rgb.std() > 0.05, "screenshot is blank"
    # the red SYNTHETIC DATA banner is at the top of the page
    top = rgb[:40].reshape(-1, 3)
    assert ((top[:, 0] > 0.6) & (top[:, 1] < 0.2) & (top[:, 2] < 0.25)).mean() > 0.5
    dom = _chromium(html, tmp, "--dump-dom")
    drawn = set(re.findall(r'<svg id="fig-([\w-]+)"', dom))
    assert drawn == figures
    return pixels


def test_micro_cohort_report_renders_in_chromium(tmp_path):
    paths = write_report(build_input(), tmp_path / "out")
    _assert_rendered(paths.html, tmp_path, set(paths.figures))


@pytest.mark.slow
def test_demo_report_renders_in_chromium(tmp_path):
    from aftercar.pipeline import run
    from aftercar.simulate import demo_cohort_path

    result = run(demo_cohort_path(), synthetic=True)
    paths = write_report(result.report_input, tmp_path / "demo")
    expected = {
        "os",
        "os_by_relapse_timing",
        "os_by_product",
        "first_salvage_pfs",
        "pfs_by_category",
        "os_tce_landmark",
        "forest_orr",
        "response_by_category",
        "treatment_sequence",
        "swimmer",
    }
    assert expected <= set(paths.figures)
    _assert_rendered(paths.html, tmp_path, set(paths.figures))
