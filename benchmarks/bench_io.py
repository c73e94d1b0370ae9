"""Scale of the io stage: validate/read a large cohort from CSV, Parquet and xlsx.

Builds ``--patients`` patients with 0-6 salvage lines each (vectorised numpy, all
valid), writes them with :func:`aftercar.io.write_cohort`, then times
:func:`aftercar.io.validate_cohort` (which runs every rule) per format, best of
``--repeat`` runs, as wall and CPU seconds (CPU is steadier on a shared
machine; Arrow's CSV reader uses every core, so CPU can exceed wall). A second
CSV with 1 % corrupted cells times the error path. ``--keep DIR`` writes the
generated cohorts there once and reuses them on the next run.

    /work/main/.venv/bin/python benchmarks/bench_io.py --patients 1000000 --seed 1
    /work/main/.venv/bin/python benchmarks/bench_io.py --patients 1000000 --formats csv \\
        --keep /tmp/io-1m --repeat 1

Target (issue 14): reading and validating 1,000,000 patients (about 3M lines)
from CSV in under 15 s.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from aftercar.io import validate_cohort, write_cohort

BASE = np.datetime64("2015-01-01")
RESPONSES = np.array(["sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE", None], dtype=object)
FORMATS = ("csv", "parquet", "bad", "xlsx")


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


def _inputs(root: Path, args, wanted: set[str]) -> dict[str, Path]:
    """Write the cohorts of the ``wanted`` formats under ``root`` (kept ones are reused)."""
    paths = {f: root / f for f in ("csv", "parquet", "bad")} | {"xlsx": root / "c.xlsx"}
    done = {
        f: (p / "lines.csv").exists() or (p / "lines.parquet").exists() or p.is_file()
        for f, p in paths.items()
    }
    if all(done[f] for f in wanted):
        return paths
    patients, lines = make(args.patients, args.seed)
    print(f"{patients.num_rows:,} patients, {lines.num_rows:,} lines")
    for fmt in ("csv", "parquet"):
        if fmt in wanted and not done[fmt]:
            secs, _ = best(lambda f=fmt: write_cohort(patients, lines, paths[f], format=f), 1)
            print(f"write {fmt:8s}: {secs}")
    if "bad" in wanted and not done["bad"]:
        write_cohort(patients, corrupt(lines, args.seed), paths["bad"], format="csv")
    if "xlsx" in wanted and not done["xlsx"]:
        small_p, small_l = make(args.xlsx_patients, args.seed)
        write_cohort(small_p, small_l, paths["xlsx"], format="xlsx")
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--xlsx-patients", type=int, default=5_000)
    ap.add_argument("--formats", default=",".join(FORMATS), help="any of csv,parquet,bad,xlsx")
    ap.add_argument("--keep", type=Path, help="folder to keep (and reuse) the generated input")
    args = ap.parse_args()
    wanted = {f.strip() for f in args.formats.split(",") if f.strip()}
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        paths = _inputs(root, args, wanted)
        for fmt in ("csv", "parquet"):
            if fmt in wanted:
                secs, rep = best(lambda f=fmt: validate_cohort(paths[f]), args.repeat)
                print(
                    f"validate {fmt:8s}: {secs}  ok={rep.ok} patients={rep.summary['patients']:,} "
                    f"lines={rep.summary['lines']:,} problems={len(rep.problems):,}"
                )
        if "bad" in wanted:
            secs, rep = best(lambda: validate_cohort(paths["bad"]), args.repeat)
            print(f"validate csv, 1% bad responses: {secs}  errors={len(rep.errors):,}")
        if "xlsx" in wanted:
            secs, rep = best(lambda: validate_cohort(paths["xlsx"]), 1)
            print(
                f"validate xlsx ({args.xlsx_patients:,} patients, {rep.summary['lines']:,} "
                f"lines): {secs}  ok={rep.ok}"
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak memory: {peak:.2f} GiB")


if __name__ == "__main__":
    main()
