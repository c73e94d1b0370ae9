"""Time write_report on a large synthetic ReportInput (rendering only, no analysis).

Usage: /work/venv/bin/python benchmarks/bench_report_render.py [N_PATIENTS]

Builds N patients (default 100,000) with 1-4 salvage lines each, Kaplan-Meier
curves from aftercar.stats on every patient/line (about N distinct times), and
times write_report per stage. The pipeline's 100,000-patient target is < 60 s end
to end; rendering should take a small part of it.
"""

from __future__ import annotations

import itertools
import sys
import tempfile
import time

import numpy as np
import pandas as pd

from aftercar.report import ReportInput, write_report
from aftercar.stats import kaplan_meier

CATEGORIES = ["bispecific", "car_t", "adc", "alkylator", "anti_cd38", "imid_pi", "selinexor"]
RESPONSES = ["sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE"]


def build(n: int, seed: int = 1) -> ReportInput:
    rng = np.random.default_rng(seed)
    os_m = rng.exponential(26.0, n)
    os_event = rng.random(n) < 0.6
    n_lines = rng.integers(1, 5, n)
    pid = np.repeat(np.arange(n), n_lines)
    line = np.concatenate([np.arange(1, k + 1) for k in range(1, 5)])  # template
    line = np.ones(len(pid), dtype=np.int64)
    starts = np.r_[0, np.cumsum(n_lines)[:-1]]
    line = np.arange(len(pid)) - np.repeat(starts, n_lines) + 1
    frac = line / (n_lines[pid] + 1)
    start = os_m[pid] * frac
    end = start + os_m[pid] / (n_lines[pid] + 1) * 0.9
    best = rng.choice(RESPONSES, len(pid))
    cat = rng.choice(CATEGORIES, len(pid))
    prog = np.where(rng.random(len(pid)) < 0.7, end, np.nan)
    ids = np.char.add("P", pid.astype(str))
    lines = pd.DataFrame(
        {
            "patient_id": ids,
            "line": line,
            "regimen": cat,
            "category": cat,
            "tce": np.isin(cat, ["bispecific", "car_t"]),
            "bcma_directed": cat == "adc",
            "start_months": start,
            "end_months": end,
            "best_response": best,
            "responded": np.isin(best, ["sCR", "CR", "VGPR", "PR"]),
            "progression_months": prog,
        }
    )
    patients = pd.DataFrame(
        {
            "patient_id": np.char.add("P", np.arange(n).astype(str)),
            "os_months": os_m,
            "os_event": os_event,
            "early_relapse": rng.random(n) < 0.4,
            "car_t_product": rng.choice(["ide-cel", "cilta-cel"], n),
            "n_lines": n_lines,
        }
    )
    early = patients["early_relapse"].to_numpy()
    first = lines[lines["line"] == 1]
    pfs_t = (first["end_months"] - first["start_months"]).to_numpy()
    curves = {
        "os": {"All": kaplan_meier(os_m, os_event)},
        "os_by_relapse_timing": {
            "Early": kaplan_meier(os_m[early], os_event[early]),
            "Late": kaplan_meier(os_m[~early], os_event[~early]),
        },
        "first_salvage_pfs": {
            "First salvage": kaplan_meier(pfs_t, first["progression_months"].notna().to_numpy())
        },
    }
    by_cat = {}
    for c in CATEGORIES:
        sub = lines[lines["category"] == c]
        r = int(sub["responded"].sum())
        by_cat[c] = {
            "lines": len(sub),
            "orr": {"responders": r, "n": len(sub), "estimate": r / len(sub), "ci95": [0.1, 0.9]},
        }
    results = {"cohort": {"patients": n, "lines": len(lines)}, "by_category": by_cat}
    tables = {"regimen_mapping": lines[["regimen", "category"]].drop_duplicates()}
    meta = {"title": f"scale test ({n:,} patients)", "synthetic": True}
    return ReportInput(results, tables, curves, lines, patients, meta)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    t0 = time.perf_counter()
    data = build(n)
    t1 = time.perf_counter()
    stamps: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        write_report(data, tmp, progress=lambda s, d, t: stamps.append((s, time.perf_counter())))
    t2 = time.perf_counter()
    print(
        f"patients={n:,} lines={len(data.lines):,} build={t1 - t0:.1f}s write_report={t2 - t1:.1f}s"
    )
    for (name, start), (_, stop) in itertools.pairwise(stamps):
        print(f"  {name:20s} {stop - start:6.2f}s")


if __name__ == "__main__":
    main()
