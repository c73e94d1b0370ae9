"""Scale benchmark of the simulator (issue 5): measured, not asserted in tests.

Usage::

    python benchmarks/bench_simulate.py curated --patients 1000000   # target < 60 s
    python benchmarks/bench_simulate.py raw --patients 100000        # target < 120 s

Writes Parquet in chunks to a temporary folder and prints wall time, peak RSS
(ru_maxrss) and the row counts written.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from aftercar.simulate import write_simulated


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("mode", choices=["curated", "raw"])
    ap.add_argument("--patients", type=int, default=None)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    n = args.patients or (1_000_000 if args.mode == "curated" else 100_000)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        files = write_simulated(n, tmp, seed=args.seed, format="parquet", raw=args.mode == "raw")
        wall = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{args.mode}: {n:,} patients in {wall:.1f} s, peak RSS {rss:,.0f} MiB")
        for f in files:
            rel = Path(f).relative_to(tmp)
            print(f"  {rel}: {pq.ParquetFile(f).metadata.num_rows:,} rows")


if __name__ == "__main__":
    main()
