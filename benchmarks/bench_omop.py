"""Scale of `aftercar derive --omop` (issue 13 item 6): wall time and peak memory.

Usage::

    python benchmarks/bench_omop.py --patients 100000 --seed 20261213
    python benchmarks/bench_omop.py --patients 1000000 --engine spark --workdir /data/bench
    python benchmarks/bench_omop.py --omop DIR --engine duckdb      # an existing instance

Simulates N patients' raw records (Parquet), writes them as an OMOP CDM instance
(``aftercar simulate --omop``: Parquet, one file per table), then derives the cohort
end to end from the OMOP files (read, concept mapping, lines, IMWG responses,
audit, attrition, EPISODE rows) in a fresh process, so that the peak resident
memory (``ru_maxrss`` of that process) is the derivation's alone. Targets: DuckDB
< 5 minutes and < 8 GiB at 1,000,000 patients on a 2-core machine; Spark local
completes. Prints the figures; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _child(omop: str, engine: str, threads: int | None, memory: str | None) -> None:
    """Derive (in this fresh process) and print wall time, peak memory and counts as JSON."""
    from aftercar.backends import connect
    from aftercar.derive.omop import derive_omop, episode_tables

    start = time.perf_counter()
    options = {"threads": threads} if threads and engine == "duckdb" else {}
    con = connect(engine, **options)
    if memory and engine == "duckdb":  # DuckDB spills to disk beyond this
        con.raw_sql(f"SET memory_limit = '{memory}'")
    d = derive_omop(omop, con=con)
    episode, event = episode_tables(d)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    print(json.dumps({"wall_s": round(wall, 1), "peak_gib": round(peak, 2),
                      "patients": d.result.patients.num_rows, "lines": d.result.lines.num_rows,
                      "episodes": episode.num_rows, "episode_events": event.num_rows,
                      "attrition_rows": d.result.attrition.num_rows}))  # fmt: skip


def _rows(omop: Path) -> dict[str, int]:
    import pyarrow.parquet as pq

    names = ("person", "drug_exposure", "measurement", "procedure_occurrence")
    return {n: pq.ParquetFile(omop / f"{n}.parquet").metadata.num_rows for n in names}


def _instance(args, work: Path) -> Path:
    if args.omop:
        return Path(args.omop)
    from aftercar.simulate import write_simulated
    from aftercar.simulate.omop import write_omop

    t = time.perf_counter()
    write_simulated(args.patients, work, seed=args.seed, format="parquet", raw=True)
    t_sim = time.perf_counter() - t
    t = time.perf_counter()
    write_omop(work / "raw", work / "omop", "parquet")
    print(f"simulated {args.patients:,} patients (raw) in {t_sim:.1f} s; "
          f"OMOP conversion {time.perf_counter() - t:.1f} s")  # fmt: skip
    return work / "omop"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--patients", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=20261213)
    p.add_argument("--engine", default="duckdb", help="duckdb or spark")
    p.add_argument("--threads", type=int, default=None, help="DuckDB threads")
    p.add_argument("--memory-limit", help="DuckDB memory_limit, e.g. 6GB (spills beyond)")
    p.add_argument("--omop", help="derive this existing OMOP folder (no simulation)")
    p.add_argument("--workdir", help="keep the simulated files here (default: a temp dir)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        _child(args.child, args.engine, args.threads, args.memory_limit)
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.workdir or tmp)
        omop = _instance(args, work)
        print("OMOP rows:", ", ".join(f"{k} {v:,}" for k, v in _rows(omop).items()))
        cmd = [sys.executable, __file__, "--child", str(omop), "--engine", args.engine]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        if args.memory_limit:
            cmd += ["--memory-limit", args.memory_limit]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode:
            print(out.stderr[-3000:])
            raise SystemExit(out.returncode)
        res = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"engine {args.engine}: derive --omop end to end {res['wall_s']} s, "
              f"peak {res['peak_gib']} GiB; {res['patients']:,} patients, {res['lines']:,} "
              f"lines, {res['episodes']:,} EPISODE and {res['episode_events']:,} EPISODE_EVENT "
              f"rows, {res['attrition_rows']:,} OMOP rows not used")  # fmt: skip


if __name__ == "__main__":
    main()
