"""The long fuzz run of issue 17: thousands of mutated cohorts (``tests/fuzz/fuzzkit.py``).

Every case goes through the reader and validator in-process (no traceback, every
row used or listed with a reason, every error with its rule and message); every
``--writer-every``-th case is also read and written back as xlsx (no formula cell);
every ``--cli-every``-th case runs the whole ``aftercar report --suppress-below K``
(exit code 0 or 2, no traceback, no live HTML, no formula text in CSV, nothing
under K, no patient id). Cases are drawn by hypothesis from ``--seed``, so a run is
repeatable; progress and every failure (with its case) go to stdout.

Usage::

    PYTHONPATH=src python benchmarks/fuzz_long.py --cases 10000 --seed 17

Exit code 1 when any case failed, else 0.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "fuzz"))

from fuzzkit import Case, cases, check_read, check_report, check_xlsx_writer
from hypothesis import HealthCheck, Phase, given, seed, settings


def _one(i: int, case: Case, args: argparse.Namespace, tally: dict[str, int]) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        fails = check_read(case, folder / "read")
        tally["read"] += 1
        if args.writer_every and i % args.writer_every == 0:
            fails += check_xlsx_writer(case, folder / "writer")
            tally["writer"] += 1
        if args.cli_every and i % args.cli_every == 0:
            fails += check_report(case, folder / "cli", k=args.k)
            tally["cli"] += 1
    return fails


def main(argv: list[str] | None = None) -> int:
    """Run the fuzz cases; return 1 when any failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--k", type=int, default=5, help="--suppress-below of the CLI cases")
    parser.add_argument("--cli-every", type=int, default=500)
    parser.add_argument("--writer-every", type=int, default=50)
    args = parser.parse_args(argv)
    tally = {"read": 0, "writer": 0, "cli": 0, "failed": 0}
    start = time.perf_counter()

    @seed(args.seed)
    @settings(
        max_examples=args.cases,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def fuzz(case: Case) -> None:
        i = tally["read"]
        try:
            fails = _one(i, case, args, tally)
        except Exception:
            fails = [f"exception: {traceback.format_exc(limit=4)[-1500:]}"]
            tally["read"] += 1
        if fails:
            tally["failed"] += 1
            print(f"FAIL case {i}: {case!r}: {fails}", flush=True)
        if (i + 1) % 250 == 0:
            elapsed = time.perf_counter() - start
            print(f"{i + 1} cases, {tally}, {elapsed:.0f} s", flush=True)

    fuzz()
    elapsed = time.perf_counter() - start
    print(f"done: {tally['read']} cases ({tally['writer']} xlsx writes, {tally['cli']} CLI "
          f"reports), {tally['failed']} failed, {elapsed:.0f} s")  # fmt: skip
    return 1 if tally["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
