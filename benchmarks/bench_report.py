"""Time ``aftercar report`` end to end on a large simulated cohort (issue 6: < 60 s at 100,000).

Usage::

    /work/venv/bin/python benchmarks/bench_report.py                 # 100,000 patients
    /work/venv/bin/python benchmarks/bench_report.py --patients 20000 --format csv

Steps (each a separate ``aftercar`` process, as a user would run them):

1. ``aftercar simulate --patients N --seed S -o WORK/cohort --format parquet`` (not timed
   against the target; printed for information);
2. ``aftercar report WORK/cohort -o WORK/report`` -- the timed figure (wall clock,
   including interpreter start-up, reading, validation, analyses and rendering).

The per-stage timings of the pipeline come from the report's ``manifest.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 60.0


def _aftercar() -> list[str]:
    exe = Path(sys.executable).with_name("aftercar")
    return (
        [str(exe)]
        if exe.exists()
        else [sys.executable, "-c", "from aftercar.cli import run; run()"]
    )


def _timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--format", default="parquet", choices=("parquet", "csv"))
    parser.add_argument("--workdir", type=Path, default=None, help="keep files here")
    args = parser.parse_args(argv)

    work = args.workdir or Path(tempfile.mkdtemp(prefix="aftercar-bench-report-"))
    cohort, out = work / "cohort", work / "report"
    for folder in (cohort, out):
        shutil.rmtree(folder, ignore_errors=True)
    exe = _aftercar()
    sim = _timed(
        [
            *exe,
            "simulate",
            "--patients",
            str(args.patients),
            "--seed",
            str(args.seed),
            "-o",
            str(cohort),
            "--format",
            args.format,
        ]
    )
    rep = _timed([*exe, "report", str(cohort), "-o", str(out)])
    manifest = json.loads((out / "manifest.json").read_text())
    results = json.loads((out / "results.json").read_text())
    print(f"patients: {results['cohort']['patients']:,}  lines: {results['cohort']['lines']:,}")
    print(f"aftercar simulate ({args.format}): {sim:6.1f} s")
    print(
        f"aftercar report (end to end):    {rep:6.1f} s  target < {TARGET_SECONDS:.0f} s: "
        f"{'met' if rep < TARGET_SECONDS else 'NOT met'}"
    )
    for stage, seconds in manifest.get("timings", {}).items():
        print(f"  pipeline {stage:<20} {seconds:6.2f} s")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
