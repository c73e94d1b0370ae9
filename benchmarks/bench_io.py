"""Scale of the io stage: validate/read a large cohort from CSV, Parquet and xlsx.

Builds ``--patients`` patients with 0-6 salvage lines each (vectorised numpy, all
valid), writes them with :func:`aftercar.io.write_cohort`, then times
:func:`aftercar.io.validate_cohort` (which runs every rule) per format, best of
``--repeat`` runs. A second CSV with 1 % corrupted cells times the error path.

    /work/venv/bin/python benchmarks/bench_io.py --patients 100000 --seed 1
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from aftercar.io import validate_cohort, write_cohort

BASE = np.datetime64("2015-01-01")
RESPONSES = np.array(["sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE", None], dtype=object)


def make(n: int, seed: int) -> tuple[pa.Table, pa.Table]:
    rng = np.random.default_rng(seed)
    car_t = BASE + rng.integers(0, 2000, n).astype("timedelta64[D]")
    prog = car_t + rng.integers(0, 700, n).astype("timedelta64[D]")
    k = rng.integers(0, 7, n)
    pid = np.char.add("P", np.arange(n).astype(str))
    owner = np.repeat(np.arange(n), k)
    line = np.arange(len(owner)) - np.repeat(np.cumsum(k) - k, k) + 1
    start = prog[owner] + (line * 90).astype("timedelta64[D]")
    end = start + np.full(len(owner), 80).astype("timedelta64[D]")
    last = prog + ((k + 1) * 90 + 30).astype("timedelta64[D]")
    dead = rng.random(n) < 0.5
    patients = pa.table(
        {
            "patient_id": pid,
            "car_t_product": np.where(rng.random(n) < 0.5, "ide-cel", "cilta-cel"),
            "car_t_date": car_t.astype("datetime64[D]"),
            "progression_date": prog.astype("datetime64[D]"),
            "death_date": pa.array(last.astype("datetime64[D]"), mask=~dead),
            "last_followup_date": pa.array(last.astype("datetime64[D]"), mask=dead),
            "ecog": rng.integers(0, 3, n),
            "iss_stage": rng.integers(1, 4, n),
            "high_risk_cytogenetics": rng.random(n) < 0.4,
        }
    )
    lines = pa.table(
        {
            "patient_id": pid[owner],
            "line": line,
            "regimen": np.where(rng.random(len(owner)) < 0.5, "Tec-Dara", "KPd"),
            "start_date": start.astype("datetime64[D]"),
            "end_date": end.astype("datetime64[D]"),
            "best_response": RESPONSES[rng.integers(0, len(RESPONSES), len(owner))],
            "clinical_trial": rng.random(len(owner)) < 0.3,
        }
    )
    return patients, lines


def corrupt(lines: pa.Table, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed + 1)
    resp = np.array(lines.column("best_response").to_pylist(), dtype=object)
    bad = rng.random(len(resp)) < 0.01
    resp[bad] = "excellent"
    return lines.set_column(
        lines.schema.get_field_index("best_response"), "best_response", pa.array(resp, pa.string())
    )


def best(fn, repeat: int) -> tuple[str, object]:
    """Best wall and CPU seconds of ``repeat`` runs (CPU is steadier on a shared machine)."""
    walls, cpus, out = [], [], None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return f"{min(walls):6.2f} s wall, {min(cpus):6.2f} s CPU", out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--xlsx-patients", type=int, default=5_000)
    args = ap.parse_args()
    patients, lines = make(args.patients, args.seed)
    print(f"{patients.num_rows:,} patients, {lines.num_rows:,} lines")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for fmt in ("csv", "parquet"):
            write_cohort(patients, lines, root / fmt, format=fmt)
            secs, rep = best(lambda f=fmt: validate_cohort(root / f), args.repeat)
            print(f"validate {fmt:8s}: {secs}  ok={rep.ok} problems={len(rep.problems)}")
        bad = root / "bad"
        write_cohort(patients, corrupt(lines, args.seed), bad, format="csv")
        secs, rep = best(lambda: validate_cohort(bad), args.repeat)
        print(f"validate csv, 1% bad responses: {secs}  errors={len(rep.errors):,}")
        small_p, small_l = make(args.xlsx_patients, args.seed)
        path = root / "c.xlsx"
        write_cohort(small_p, small_l, path, format="xlsx")
        secs, rep = best(lambda: validate_cohort(path), 1)
        print(
            f"validate xlsx ({small_p.num_rows:,} patients, {small_l.num_rows:,} lines): "
            f"{secs}  ok={rep.ok}"
        )


if __name__ == "__main__":
    main()
