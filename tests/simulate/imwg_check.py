"""An independent reading of simulated raw labs by the issue 12 / IMWG 2016 rules (tests only).

Written from the issue text (item 4) and REFERENCE 3.1-3.3, without aftercar's derive
code, so that the simulator's truth can be checked against the records it wrote:
baseline = last lab on or before the start; measurable parameter serum M >= 1 g/dL,
else urine >= 200 mg/24 h, else involved FLC >= 10 mg/dL with an abnormal ratio
(dFLC); categories by reduction (VGPR >= 90%, PR >= 50%, MR 25-49% serum only), CR =
negative serum and urine immunofixation and a marrow < 5% in the line, sCR = CR with
a normal FLC ratio; PD = rise from the nadir >= 25% and >= 0.5 g/dL (1 g/dL from a
nadir >= 5 g/dL), >= 200 mg/24 h urine, dFLC > 10 mg/dL; two consecutive assessments
confirm a category or a PD; SD needs none; PD best response = first assessment PD.
Plain pandas and Python loops: fine for a few hundred test patients.
"""

from __future__ import annotations

import itertools
import math

import pandas as pd

CODES = ["sCR", "CR", "VGPR", "PR", "MR", "SD", "PD"]
_FACTOR = {"g/dL": 1.0, "g/L": 0.1, "mg/dL": 1.0, "mg/L": 0.1, "mg/24h": 1.0, "%": 1.0}
_TESTS = {"SPEP M-spike": "serum", "Kappa free light chain, serum": "kappa",
          "Lambda free light chain, serum": "lambda", "24 hr urine M-protein": "urine",
          "Immunofixation, serum": "ife_s", "Immunofixation, urine": "ife_u",
          "Bone marrow plasma cells": "marrow"}  # fmt: skip


def visits(labs: pd.DataFrame) -> pd.DataFrame:
    """One row per patient and date; numbers in g/dL, mg/dL, mg/24 h, %; IFE as text."""
    df = labs.assign(name=labs["test"].map(_TESTS))
    ife = df["name"].str.startswith("ife")
    num = pd.to_numeric(df["value"].where(~ife), errors="coerce") * df["unit"].map(_FACTOR)
    df = df.assign(num=num.astype(object).where(~ife, df["value"]))
    wide = df.pivot_table(index=["patient_id", "date"], columns="name", values="num",
                          aggfunc="first")  # fmt: skip
    return wide.reset_index()


def _level_no_pd(v, base, param, marrow_ok) -> int:
    ratio = v.kappa / v["lambda"] if v["lambda"] else math.inf
    if v.get("ife_s") == "NEGATIVE" and v.get("ife_u") == "NEGATIVE" and marrow_ok:
        return 0 if 0.26 <= ratio <= 1.65 else 1
    red = 1 - v.value / base if base else 0.0
    urine_ok = pd.isna(v.get("urine")) or v.urine < 100
    if red >= 0.9 and (param != "serum" or urine_ok):
        return 2
    if param == "serum" and v.value == 0 and v.get("ife_s") == "POSITIVE":
        return 2
    if red >= 0.5:
        return 3
    return 4 if param == "serum" and red >= 0.25 else 5


def _is_pd(value: float, nadir: float, param: str) -> bool:
    rise = value - nadir
    if param == "serum":
        # IMWG 2016: >= 25% and >= 0.5 g/dL; from a nadir >= 5 g/dL a rise >= 1 g/dL is
        # sufficient on its own (REFERENCE 3.3).
        if nadir >= 5:
            return rise >= 1.0 - 1e-9
        return rise >= 0.25 * nadir - 1e-9 and rise >= 0.5 - 1e-9
    if param == "urine":
        return rise >= 0.25 * nadir and rise >= 200
    return rise >= 0.25 * nadir and rise > 10


def baseline(vis: pd.DataFrame, start) -> tuple[str | None, float, str, pd.Series | None]:
    """(parameter, baseline value, involved chain, baseline visit) for a line start."""
    before = vis[vis["date"] <= start]
    if before.empty:
        return None, math.nan, "", None
    b = before.iloc[-1]
    kappa, lam = b.get("kappa"), b.get("lambda")
    involved = "kappa" if kappa >= lam else "lambda"
    inv, unv = max(kappa, lam), min(kappa, lam)
    ratio = kappa / lam if lam else math.inf
    if b.get("serum", 0) >= 1.0:
        return "serum", b.serum, involved, b
    if not pd.isna(b.get("urine")) and b.urine >= 200:
        return "urine", b.urine, involved, b
    if inv >= 10 and not 0.26 <= ratio <= 1.65:
        return "flc", inv - unv, involved, b
    return None, math.nan, involved, b


def assess(vis: pd.DataFrame, start, end) -> dict:
    """Best response code (None = not assessed) and progression date of one line window."""
    param, base, involved, _ = baseline(vis, start)
    win = vis[(vis["date"] > start) & (vis["date"] < end)]
    other = "lambda" if involved == "kappa" else "kappa"
    col = {"serum": "serum", "urine": "urine"}.get(param)
    value = win[col] if col else win[involved] - win[other]
    win = win.assign(value=value).dropna(subset=["value"])
    levels, dates, nadir = [], [], base
    for _, v in win.iterrows():
        marrow = vis[(vis["date"] > start) & (vis["date"] <= v.date)]["marrow"].dropna()
        marrow_ok = (not marrow.empty) and marrow.iloc[-1] < 5
        pd_now = _is_pd(v.value, nadir, param)
        levels.append(6 if pd_now else _level_no_pd(v, base, param, marrow_ok))
        dates.append(v.date)
        if not pd_now:
            nadir = min(nadir, v.value)
    return _summary(levels, dates)


def _summary(levels: list[int], dates: list) -> dict:
    if not levels:
        return {"best": None, "progression": None}
    pairs = [max(a, b) for a, b in itertools.pairwise(levels)]
    prog = next((dates[i] for i, lv in enumerate(levels[:-1]) if lv == 6 and levels[i + 1] == 6),
                None)  # fmt: skip
    conf = [c for c, lv in zip(pairs, levels, strict=False) if lv <= 4 and c <= 4]
    if conf:
        best = min(conf)
    elif any(lv <= 5 for lv in levels):
        best = 5
    elif levels[0] == 6 and len(levels) > 1 and levels[1] == 6:
        best = 6
    else:
        best = None
    return {"best": None if best is None else CODES[best], "progression": prog}
