"""Time ``aftercar report`` end to end on a large simulated cohort, with its peak memory.

Targets (issue 14 item 7): < 20 s at 100,000 patients; < 90 s and < 3 GiB peak RSS
at 1,000,000 (issue 6 asked < 60 s at 100,000).

Usage::

    /work/venv/bin/python benchmarks/bench_report.py                 # 100,000 patients
    /work/venv/bin/python benchmarks/bench_report.py --patients 20000 --format csv
    /work/venv/bin/python benchmarks/bench_report.py --patients 1000000 --cohort DIR  # reuse

Steps (each a separate ``aftercar`` process, as a user would run them):

1. ``aftercar simulate --patients N --seed S -o WORK/cohort --format parquet`` (not timed
   against the target; printed for information; skipped with ``--cohort DIR``, which
   reports on a cohort simulated before with the same ``--patients``);
2. ``aftercar report WORK/cohort -o WORK/report`` -- the timed figure (wall clock,
   including interpreter start-up, reading, validation, analyses and rendering),
   with the process's CPU time and peak resident memory (``wait4`` rusage).

The per-stage timings of the pipeline come from the report's ``manifest.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: (patients, seconds, GiB): the issue-14 targets; the nearest size below N applies.
TARGETS = ((100_000, 20.0, None), (1_000_000, 90.0, 3.0))


def _aftercar() -> list[str]:
    exe = Path(sys.executable).with_name("aftercar")
    return (
        [str(exe)]
        if exe.exists()
        else [sys.executable, "-c", "from aftercar.cli import run; run()"]
    )


def _timed(cmd: list[str]) -> tuple[float, float, float]:
    """Run ``cmd``; return (wall seconds, CPU seconds, peak RSS in GiB) of that process."""
    with tempfile.TemporaryFile("w+") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            log.seek(0)
            sys.stderr.write(log.read())
            raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 2**20


def _target(patients: int) -> tuple[float, float | None]:
    seconds, gib = 60.0, None
    for size, sec, mem in TARGETS:
        if patients >= size:
            seconds, gib = sec, mem
    return seconds, gib


def _simulate(exe: list[str], args: argparse.Namespace, cohort: Path) -> tuple[float, ...]:
    """``aftercar simulate`` of the benchmark's cohort into ``cohort`` (timed)."""
    return _timed(
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--format", default="parquet", choices=("parquet", "csv"))
    parser.add_argument("--workdir", type=Path, default=None, help="keep files here")
    parser.add_argument(
        "--cohort",
        type=Path,
        default=None,
        help="report on this simulated cohort folder instead of simulating one",
    )
    args = parser.parse_args(argv)

    work = args.workdir or Path(tempfile.mkdtemp(prefix="aftercar-bench-report-"))
    cohort, out = work / "cohort", work / "report"
    for folder in (cohort, out):
        shutil.rmtree(folder, ignore_errors=True)
    exe = _aftercar()
    if args.cohort is not None:
        cohort, sim = args.cohort, (0.0, 0.0, 0.0)
    else:
        sim = _simulate(exe, args, cohort)
    rep, cpu, peak = _timed([*exe, "report", str(cohort), "-o", str(out)])
    manifest = json.loads((out / "manifest.json").read_text())
    results = json.loads((out / "results.json").read_text())
    seconds, gib = _target(args.patients)
    print(f"patients: {results['cohort']['patients']:,}  lines: {results['cohort']['lines']:,}")
    print(f"aftercar simulate ({args.format}): {sim[0]:6.1f} s")
    print(
        f"aftercar report (end to end):    {rep:6.1f} s wall, {cpu:6.1f} s CPU, "
        f"peak RSS {peak:.2f} GiB (load average {os.getloadavg()[0]:.1f}); target < "
        f"{seconds:.0f} s: {'met' if rep < seconds else 'NOT met'}"
        + ("" if gib is None else f", < {gib:g} GiB: {'met' if peak < gib else 'NOT met'}")
    )
    for stage, stage_seconds in manifest.get("timings", {}).items():
        print(f"  pipeline {stage:<20} {stage_seconds:6.2f} s")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
