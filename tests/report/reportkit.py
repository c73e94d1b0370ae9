"""A hand-made 12-patient micro-cohort as a ReportInput (real aftercar.stats curves)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import image as mpimg

from aftercar.analysis import Figures
from aftercar.analysis import figures as fig
from aftercar.config import load_config
from aftercar.pipeline.runner import category_styles, index_study
from aftercar.report import ReportInput
from aftercar.stats import kaplan_meier

# 12 patients: OS from post-CAR-T progression (months), death flag, early relapse, product.
PATIENTS = pd.DataFrame(
    {
        "patient_id": [f"P{i:02d}" for i in range(1, 13)],
        "os_months": [2.0, 3.5, 5.0, 7.5, 9.0, 11.0, 14.0, 17.9, 20.0, 24.0, 26.0, 30.0],
        "os_event": [True, True, False, True, True, False, True, True, False, True, False, False],
        "early_relapse": [
            True,
            True,
            True,
            False,
            True,
            False,
            True,
            False,
            False,
            False,
            None,
            False,
        ],
        "car_t_product": ["ide-cel"] * 6 + ["cilta-cel"] * 6,
    }
)

# Lines: (patient, line, regimen, category, tce, start, end, best_response, progression)
_LINES = [
    ("P01", 1, "Dara-Pom-dex", "anti_cd38", False, 0.2, 1.5, "PD", 1.5),
    ("P02", 1, "KPd", "selinexor", False, 0.1, 2.0, "SD", 2.0),
    ("P02", 2, "Teclistamab", "bispecific", True, 2.1, 3.4, "PR", None),
    ("P03", 1, "DCEP", "alkylator", False, 0.3, 1.8, "PR", 1.8),
    ("P03", 2, "Talquetamab", "bispecific", True, 2.0, 4.9, "VGPR", None),
    ("P04", 1, "Belantamab mafodotin", "adc", False, 0.5, 2.5, "MR", 2.5),
    ("P04", 2, "Cilta-cel", "car_t", True, 3.0, 7.0, "CR", 7.0),
    ("P05", 1, "Venetoclax-dex", "venetoclax", False, 0.4, 3.0, "PR", 3.0),
    ("P05", 2, "Elranatamab", "bispecific", True, 3.2, 8.5, "sCR", None),
    ("P06", 1, "Dara-Pom-dex", "anti_cd38", False, 0.2, 6.0, "VGPR", 6.0),
    ("P06", 2, "Teclistamab", "bispecific", True, 6.3, 10.9, "PR", None),
    ("P07", 1, "Selinexor-dex", "selinexor", False, 0.3, 2.2, "NE", None),
    ("P07", 2, "KRd", "imid_pi", False, 2.4, 8.0, "PR", 8.0),
    ("P07", 3, "Talquetamab", "bispecific", True, 8.2, 13.5, "VGPR", None),
    ("P08", 1, "Cy-Pom-dex", "alkylator", False, 0.1, 5.0, "SD", 5.0),
    ("P08", 2, "Teclistamab", "bispecific", True, 5.2, 15.0, "CR", 15.0),
    ("P09", 1, "Teclistamab", "bispecific", True, 0.3, 19.0, "CR", None),
    ("P10", 1, "Isa-Kd", "anti_cd38", False, 0.4, 4.0, "PR", 4.0),
    ("P10", 2, "Radiotherapy", "radiotherapy", False, 4.2, 4.6, None, None),
    ("P10", 3, "Elranatamab", "bispecific", True, 5.0, 23.0, "VGPR", 23.0),
    ("P11", 1, "VDT-PACE", "alkylator", False, 0.6, 3.0, "PD", 3.0),
    ("P11", 2, "Experimental trispecific", "trial_tce", True, 3.5, 25.0, "PR", None),
    ("P12", 1, "Pd", "imid_pi", False, 0.2, 9.0, "PR", 9.0),
    ("P12", 2, "Cevostamab", "bispecific", True, 9.5, 29.0, "VGPR", None),
]
LINES = pd.DataFrame(
    _LINES,
    columns=[
        "patient_id",
        "line",
        "regimen",
        "category",
        "tce",
        "start_months",
        "end_months",
        "best_response",
        "progression_months",
    ],
)
LINES["bcma_directed"] = LINES["category"].isin(["car_t", "adc"]) | LINES["regimen"].isin(
    ["Teclistamab", "Elranatamab"]
)
LINES["responded"] = LINES["best_response"].map(
    {"sCR": True, "CR": True, "VGPR": True, "PR": True, "MR": False, "SD": False, "PD": False}
)
PATIENTS["n_lines"] = PATIENTS["patient_id"].map(LINES["patient_id"].value_counts()).fillna(0)


def _km(time, event):
    return kaplan_meier(np.asarray(time, float), np.asarray(event, bool))


def _orr(responders: int, n: int, lower: float, upper: float) -> dict:
    return {"responders": responders, "n": n, "estimate": responders / n, "ci95": [lower, upper]}


def build_input(*, synthetic: bool = True) -> ReportInput:
    """ReportInput for the 12-patient micro-cohort (numbers worked by hand above)."""
    pts, lines = PATIENTS, LINES
    first = lines[lines["line"] == 1]
    pfs_time = first["progression_months"].fillna(first["end_months"]) - first["start_months"]
    pfs_event = first["progression_months"].notna()
    early = pts["early_relapse"].astype("boolean")
    curves = {
        "os": {"All patients": _km(pts["os_months"], pts["os_event"])},
        "os_by_relapse_timing": {
            "Early relapse (<6 mo)": _km(
                pts["os_months"][early.fillna(False)], pts["os_event"][early.fillna(False)]
            ),
            "Late relapse": _km(
                pts["os_months"][~early.fillna(True)], pts["os_event"][~early.fillna(True)]
            ),
        },
        "first_salvage_pfs": {"First salvage": _km(pfs_time, pfs_event)},
    }
    os_km = curves["os"]["All patients"]
    med = os_km.median()
    results = {
        "input": {
            "patients_read": 13,
            "lines_read": 25,
            "excluded": [
                {"table": "patients", "row": 14, "reason": "no progression date"},
                {"table": "lines", "row": 7, "reason": "patient excluded"},
            ],
        },
        "cohort": {
            "patients": 12,
            "lines": 24,
            "lines_per_patient": {"median": 2, "min": 1, "max": 3},
        },
        "os_from_progression": {
            "n": 12,
            "events": 7,
            "median_months": med.estimate,
            "ci95": [med.lower, med.upper],
        },
        "first_salvage": {
            "orr": _orr(6, 11, 0.2338, 0.8325),
            "pfs": {"n": 12, "events": 10, "median_months": 3.0, "ci95": [1.7, 6.0]},
        },
        "tce": {"patients": 11, "fraction": 11 / 12, "orr": _orr(10, 11, 0.5872, 0.9977)},
        "by_category": {
            "bispecific": {
                "lines": 9,
                "orr": _orr(9, 9, 0.6637, 1.0),
                "pfs": {"n": 9, "events": 2, "median_months": None, "ci95": [None, None]},
            },
            "anti_cd38": {
                "lines": 3,
                "orr": _orr(2, 3, 0.0943, 0.9916),
                "pfs": {"n": 3, "events": 3, "median_months": 3.6, "ci95": [1.3, None]},
            },
            "alkylator": {
                "lines": 3,
                "orr": _orr(1, 3, 0.0084, 0.9057),
                "pfs": {"n": 3, "events": 3, "median_months": 2.4, "ci95": [1.5, None]},
            },
        },
        "cox": {
            "terms": {"early_relapse": {"hazard_ratio": 2.1, "ci95": [0.5, 8.8], "p_value": 0.31}}
        },
    }
    tables = {
        "table1": pd.DataFrame(
            {
                "characteristic": ["Patients", "Age, median (IQR)", "Female"],
                "value": ["12", "64 (58–70)", "5 (41.7%)"],
            }
        ),
        "response_by_category": pd.DataFrame(
            {
                "category": ["bispecific", "anti_cd38", "alkylator"],
                "lines": [9, 3, 3],
                "evaluable": [9, 3, 3],
                "responders": [9, 2, 1],
                "orr": [1.0, 2 / 3, 1 / 3],
                "lower": [0.6637, 0.0943, 0.0084],
                "upper": [1.0, 0.9916, 0.9057],
                "ci_method": ["exact", "exact", "exact"],
            }
        ),
        "regimen_mapping": lines[["regimen", "category"]].drop_duplicates().reset_index(drop=True),
        "attrition": pd.DataFrame(
            {
                "step": ["patients read", "excluded: no progression date", "analysed"],
                "patients": [13, 1, 12],
            }
        ),
        "tce_time_dependent_cox": pd.DataFrame(
            {"term": ["tce (time-varying)"], "hazard_ratio": [0.42], "p_value": [0.0004]}
        ),
    }
    meta = {
        "title": "aftercar test report",
        "source": "tests/report micro-cohort",
        "synthetic": synthetic,
        "aftercar_version": "0.1.0",
        "created": "2026-11-23T20:00:00+00:00",
        "config": {"early_relapse_months": 6},
        "config_hash": "abc123",
        "inputs": [{"path": "patients.csv", "sha256": "00", "rows": 13}],
        "dependencies": {"numpy": np.__version__, "pandas": pd.__version__},
        "timings": {"read": 0.01, "derive": 0.02},
    }
    return ReportInput(
        results=results,
        tables=tables,
        figures=figures_of(curves, pts, lines),
        meta=meta,
        notes=("PFS censored at next line start.",),
        categories=category_styles(load_config()),
        index_study=index_study(),
    )


def figures_of(curves: dict, pts: pd.DataFrame, lines: pd.DataFrame) -> Figures:
    """The figures' data of the micro-cohort, computed by aftercar.analysis."""
    drawn = {
        key: fig.curve_figure(key, {g: fig.curve(g, f) for g, f in groups.items()})
        for key, groups in curves.items()
    }
    return Figures(
        curves=drawn,
        response_bars=fig.response_bars(lines),
        sequence=fig.sequence(lines),
        swimmer=fig.swimmer(pts, lines),
    )


# --- headless Chromium -----------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("/usr/bin/chromium")

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


def assert_rendered(html: Path, tmp: Path, figures: set[str]) -> np.ndarray:
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
