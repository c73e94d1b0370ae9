"""Scale of `aftercar derive --omop` (issue 13 item 6): wall time, CPU time and peak memory.

Usage::

    # generate the 1,000,000-person instance once (in parts of 100,000 persons) ...
    python benchmarks/bench_omop.py --patients 1000000 --workdir /data/omop1m --only-simulate
    # ... then derive it, as often as needed
    python benchmarks/bench_omop.py --omop /data/omop1m/omop --batch-persons 25000
    # both at once, in a temporary folder
    python benchmarks/bench_omop.py --patients 20000 --chunk 10000
    python benchmarks/bench_omop.py --omop /data/omop1m/omop --engine spark --batch-persons 100000
    # a real instance holds few myeloma patients among many persons: keep the myeloma
    # condition of every 50th person only (the others: type 2 diabetes) in a linked copy
    python benchmarks/bench_omop.py --omop /data/omop1m/omop --myeloma-every 50 \
        --workdir /data/omop1m_sparse
    # a run of hours, taken up where it stopped if it is stopped (CLI --resume)
    python benchmarks/bench_omop.py --omop /data/omop1m/omop --engine spark --batch-persons 50000 \
        --out /data/omop1m/spark --resume

Simulation: ``--chunk`` persons at a time (``write_simulated`` with seed ``SEED + k``
for part ``k``, then ``write_omop`` with its own ``person_id`` and row id ranges), so
that 1,000,000 persons never sit in memory at once; each OMOP table is a folder of
Parquet parts (``drug_exposure/part-0000.parquet``, ...), each part sorted by
``person_id`` (DuckDB then skips the row groups outside a batch); the vocabulary
and ``care_site`` come from part 0.

Derivation: ``aftercar derive --omop`` as the CLI runs it (in person batches of
``--batch-persons``, outputs streamed to a temporary folder, EPISODE rows included; on
Spark too, with ``--spark-driver-memory``; ``--batch-persons 0``: one run), in a
fresh child process whose wall time, CPU time and peak resident memory
(``ru_maxrss``) are printed. Targets at 1,000,000 persons on the 2-core machine:
DuckDB < 5 minutes and < 8 GiB; Spark local completes. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: Row ids of part k start at k * ROW_ID_STRIDE + 1 (a part holds far fewer rows).
ROW_ID_STRIDE = 10**10
_VOCABULARY = ("concept", "concept_ancestor", "care_site")


def _sorted_parts(part: Path, omop: Path, k: int) -> None:
    """Move part ``k``'s tables into ``omop/<table>/part-k.parquet``, sorted by person_id."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    for f in sorted(part.glob("*.parquet")):
        name = f.stem
        if name in _VOCABULARY:
            if k == 0:
                shutil.copy(f, omop / f.name)
            continue
        (omop / name).mkdir(exist_ok=True)
        target = omop / name / f"part-{k:04d}.parquet"
        con.execute(f"COPY (SELECT * FROM read_parquet('{f}') ORDER BY person_id) "
                    f"TO '{target}' (FORMAT parquet, COMPRESSION zstd)")  # fmt: skip
    con.close()


def simulate(patients: int, work: Path, seed: int, chunk: int) -> Path:
    """Write ``patients`` simulated persons as an OMOP instance ``work/omop`` (part by part)."""
    from aftercar.simulate import write_simulated
    from aftercar.simulate.omop import write_omop

    omop = work / "omop"
    omop.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    for k, start in enumerate(range(0, patients, chunk)):
        part = work / f"part-{k:04d}"
        n = min(chunk, patients - start)
        write_simulated(n, part, seed=seed + k, format="parquet", raw=True)
        write_omop(part / "raw", part / "omop", "parquet", first_person_id=start + 1,
                   first_row_id=k * ROW_ID_STRIDE + 1)  # fmt: skip
        _sorted_parts(part / "omop", omop, k)
        if k == 0 and (part / "omop" / "provenance.json").is_file():
            shutil.copy(part / "omop" / "provenance.json", omop / "provenance.json")
        shutil.rmtree(part)
        print(f"  part {k}: persons {start + 1:,} to {start + n:,} "
              f"({time.perf_counter() - t:.0f} s)", flush=True)  # fmt: skip
    return omop


#: The condition of the persons who lose their myeloma in a ``--myeloma-every`` copy
#: (type 2 diabetes mellitus, SNOMED 201826; ICD-10 E11.9).
OTHER_CONDITION = (201826, "E11.9")


def sparse_copy(omop: Path, work: Path, every: int) -> Path:
    """``work/omop``: ``omop`` with the myeloma condition of every ``every``-th person only
    (``person_id % every == 0``), the others' conditions replaced by :data:`OTHER_CONDITION`;
    every other table is a link to the original. The instance is Parquet (as ``simulate``
    writes it): a file or a folder of parts per table."""
    import duckdb

    out = work / "omop"
    if out.resolve() == omop.resolve() or omop.resolve() in out.resolve().parents:
        raise SystemExit(f"--workdir {work}: its omop/ would be the instance itself; give "
                         "another folder")  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    for f in omop.iterdir():
        if f.name != "condition_occurrence" and f.stem != "condition_occurrence":
            (out / f.name).unlink(missing_ok=True)
            (out / f.name).symlink_to(f.resolve())
    src = omop / "condition_occurrence"
    src = f"{src}/*.parquet" if src.is_dir() else f"{omop / 'condition_occurrence.parquet'}"
    keep = f"person_id % {every} = 0"
    duckdb.sql(f"COPY (SELECT * REPLACE (CASE WHEN {keep} THEN condition_concept_id ELSE "
               f"{OTHER_CONDITION[0]} END AS condition_concept_id, CASE WHEN {keep} THEN "
               f"condition_source_value ELSE '{OTHER_CONDITION[1]}' END AS "
               f"condition_source_value) FROM read_parquet('{src}') ORDER BY person_id) "
               f"TO '{out / 'condition_occurrence.parquet'}' (FORMAT parquet)")  # fmt: skip
    return out


def _child(args) -> None:
    """Derive (in this fresh process) and print wall time and counts as JSON."""
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="bench-omop-"))
    start = time.perf_counter()
    try:
        res = (_duckdb if args.engine == "duckdb" else _spark)(args, out)
        size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    finally:
        if not args.out:
            shutil.rmtree(out, ignore_errors=True)
    print(json.dumps({"wall_s": round(time.perf_counter() - start, 1),
                      "output_gb": round(size / 1e9, 2), **res}))  # fmt: skip


def _duckdb(args, out: Path) -> dict:
    from aftercar.derive.omop import batched

    if args.memory_limit:
        batched.ENGINE_MEMORY = args.memory_limit
    con = None
    if args.threads:
        con = batched.engine(out / ".spill")
        con.raw_sql(f"SET threads = {args.threads}")
    run = batched.derive_omop_batched(args.child, out / "cohort", args.format,
                                      batch_persons=args.batch_persons, con=con,
                                      episodes=True, progress=_batch_progress(),
                                      resume=args.resume)  # fmt: skip
    return {"batches": run.batches, "patients": run.patients, "lines": run.lines,
            "unused_rows": run.unused}  # fmt: skip


def _spark(args, out: Path) -> dict:
    """Spark local: in person batches (``--batch-persons``, as the CLI's option), or one run."""
    from aftercar.backends import connect
    from aftercar.derive.omop import batched

    con = connect("spark", config={"spark.driver.memory": args.spark_driver_memory})
    run = batched.derive_omop_batched(args.child, out / "cohort", args.format,
                                      batch_persons=args.batch_persons, con=con, episodes=True,
                                      progress=_batch_progress(),
                                      resume=args.resume)  # fmt: skip
    return {"batches": run.batches, "patients": run.patients, "lines": run.lines,
            "unused_rows": run.unused}  # fmt: skip


def _batch_progress():
    """Print (to stderr) the elapsed time as each batch starts: long Spark runs show progress."""
    start = time.perf_counter()

    def show(step: str) -> None:
        if step.startswith(("batch", "writing")):
            print(f"{time.perf_counter() - start:8.1f} s  {step}", file=sys.stderr, flush=True)

    return show


def _rows(omop: Path) -> dict[str, int]:
    import pyarrow.parquet as pq

    out = {}
    for n in ("person", "drug_exposure", "measurement", "procedure_occurrence"):
        files = [omop / f"{n}.parquet"] if (omop / f"{n}.parquet").is_file() \
            else sorted((omop / n).glob("*.parquet"))  # fmt: skip
        out[n] = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    return out


def _derive(args, omop: Path) -> None:
    print("OMOP rows:", ", ".join(f"{k} {v:,}" for k, v in _rows(omop).items()), flush=True)
    cmd = [sys.executable, __file__, "--child", str(omop), "--engine", args.engine,
           "--batch-persons", str(args.batch_persons), "--format", args.format]  # fmt: skip
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    if args.memory_limit:
        cmd += ["--memory-limit", args.memory_limit]
    if args.engine == "spark":
        cmd += ["--spark-driver-memory", args.spark_driver_memory]
    if args.out:
        cmd += ["--out", args.out] + (["--resume"] if args.resume else [])
    out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    if out.returncode:
        raise SystemExit(out.returncode)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    use = resource.getrusage(resource.RUSAGE_CHILDREN)  # the child only (simulation in-process)
    cpu, peak = use.ru_utime + use.ru_stime, use.ru_maxrss / 2**20  # KiB -> GiB
    size = f"of <= {args.batch_persons:,} persons" if args.batch_persons else "(one run)"
    print(f"engine {args.engine}, {res['batches']} batch(es) {size}: derive --omop end to end "
          f"{res['wall_s']} s wall, {cpu:.1f} s CPU, "
          f"peak {peak:.2f} GiB; {res['patients']:,} patients, {res['lines']:,} lines, "
          f"{res['unused_rows']:,} OMOP rows not used; {res['output_gb']} GB written "
          f"({args.format})")  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--patients", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=20261213)
    p.add_argument("--chunk", type=int, default=100_000, help="persons simulated at a time")
    p.add_argument("--engine", default="duckdb", help="duckdb or spark")
    p.add_argument("--batch-persons", type=int, default=25_000, help="0 = one batch")
    p.add_argument("--format", default="parquet", help="output format: parquet or csv")
    p.add_argument("--threads", type=int, default=None, help="DuckDB threads")
    p.add_argument("--memory-limit", help="DuckDB memory_limit per engine (default 2500MB)")
    p.add_argument("--spark-driver-memory", default="8g", help="Spark local driver memory")
    p.add_argument("--omop", help="derive this existing OMOP folder (no simulation)")
    p.add_argument("--out", help="keep the derived cohort here (default: a temporary folder)")
    p.add_argument("--resume", action="store_true",
                   help="with --out: take up the batches a stopped run left (--resume of the CLI)")
    p.add_argument("--workdir", help="keep the simulated instance here (WORKDIR/omop)")
    p.add_argument("--only-simulate", action="store_true", help="write the instance, stop")
    p.add_argument("--myeloma-every", type=int, default=0,
                   help="with --omop and --workdir: derive a copy in which only every N-th "
                   "person has myeloma (WORKDIR/omop)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        _child(args)
        return
    if args.omop:
        omop = Path(args.omop)
        if args.myeloma_every:
            if not args.workdir:
                raise SystemExit("--myeloma-every needs --workdir (where the copy is written)")
            omop = sparse_copy(omop, Path(args.workdir), args.myeloma_every)
            print(f"every {args.myeloma_every}th person keeps myeloma: {omop}", flush=True)
        _derive(args, omop)
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.workdir or tmp)
        t = time.perf_counter()
        omop = simulate(args.patients, work, args.seed, args.chunk)
        print(f"simulated {args.patients:,} persons as OMOP in {time.perf_counter() - t:.0f} s: "
              f"{omop}")  # fmt: skip
        if not args.only_simulate:
            _derive(args, omop)


if __name__ == "__main__":
    main()
