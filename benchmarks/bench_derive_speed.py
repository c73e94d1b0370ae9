"""Speed of `aftercar derive` on simulated raw records (issue 12 item 7).

Usage::

    python benchmarks/bench_derive_speed.py --patients 100000 --seed 20261204
    python benchmarks/bench_derive_speed.py --patients 10000 --raw-dir /tmp/raw10k

Simulates N patients with ``--raw`` (Parquet; skipped when ``--raw-dir`` already
holds them), then reads and derives the cohort in this process and prints the
wall time of each step, the row counts and the peak resident memory (``ru_maxrss``
of this process, which includes the simulation when it runs here: use
``--raw-dir`` with an existing folder to measure the derivation alone). Target:
100,000 patients (about 38M administration and lab rows) in < 120 s with < 8 GiB
on a 2-core machine. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from aftercar.derive.raw.derive import derive_raw
from aftercar.derive.raw.read import read_raw
from aftercar.simulate import write_simulated


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # kB -> GiB (Linux)


def main() -> None:
    """Simulate (unless given), read, derive; print wall times and peak memory."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=20261204)
    ap.add_argument("--raw-dir", type=Path, default=None,
                    help="existing or new folder for the simulated raw records")  # fmt: skip
    ap.add_argument("--steps", action="store_true", help="print each derivation step's time")
    args = ap.parse_args()
    tmp = None
    folder = args.raw_dir
    if folder is None:
        tmp = tempfile.TemporaryDirectory()
        folder = Path(tmp.name)
    if not (folder / "raw" / "labs.parquet").exists():
        t0 = time.perf_counter()
        write_simulated(args.patients, folder, seed=args.seed, format="parquet", raw=True)
        print(f"simulate {args.patients:,} patients: {time.perf_counter() - t0:.1f} s "
              f"(not part of the target)")  # fmt: skip
    t0 = time.perf_counter()
    raw = read_raw(folder)
    t_read = time.perf_counter() - t0
    rows = {k: v.num_rows for k, v in raw.items()}
    last = [time.perf_counter(), _cpu()]

    def progress(step: str) -> None:
        if args.steps:
            now, cpu = time.perf_counter(), _cpu()
            print(f"  {now - last[0]:6.1f} s wall {cpu - last[1]:6.1f} s CPU, then: {step}")
            last[:] = [now, cpu]

    t1, c1 = time.perf_counter(), _cpu()
    out = derive_raw(raw, progress=progress, release=True)
    progress("done")
    t_derive, c_derive = time.perf_counter() - t1, _cpu() - c1
    print(f"patients {rows['patients']:,}  administrations {rows['administrations']:,}  "
          f"procedures {rows['procedures']:,}  labs {rows['labs']:,}  "
          f"(adm + labs {rows['administrations'] + rows['labs']:,})")  # fmt: skip
    print(f"derived: {out.patients.num_rows:,} indexed patients, {out.lines.num_rows:,} lines")
    print(f"read {t_read:.1f} s + derive {t_derive:.1f} s = {t_read + t_derive:.1f} s wall "
          f"(derive CPU {c_derive:.1f} s; load average {os.getloadavg()[0]:.1f}); "
          f"peak RSS {_peak_gib():.2f} GiB")  # fmt: skip
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
