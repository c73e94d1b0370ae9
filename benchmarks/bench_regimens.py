"""Benchmark: classify 1,000,000 regimen texts, 40 % of them with unrecognised words.

Run::

    PYTHONPATH=src /work/main/.venv/bin/python benchmarks/bench_regimens.py \\
        [--rows 1000000] [--unknown-share 0.4] [--unknown-distinct 20000] [--seed 1]

Two measurements, each in a fresh process (cold parse cache):

1. ``aftercar.vocab.classify_regimens`` on the rows (library call).
2. ``aftercar regimens classify rows.csv -o out.csv`` end to end (issue 11, item 9):
   read the CSV, classify, write 1,000,000 output rows, build the warnings
   (unrecognized words with "did you mean" suggestions, corrected misspellings,
   sequences, no-therapy rows) and print them.

Rows are drawn with Zipf-like repeats from ~1,000 realistic distinct texts
(base regimens with dose/cycle/trial annotations); ``--unknown-share`` of the
rows (default 40 %) are drawn from ``--unknown-distinct`` distinct texts (default
5,000) that each add an unrecognised word to a regimen (an invented trial code
such as ``XQ-4821`` or a nonsense word). ``--unknown-distinct 0`` makes every
such row distinct (the worst case: work grows with distinct texts, about 0.15 ms
of CPU each, not with rows). Target: < 10 s for the
CLI on the project machine (2 shared cores).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

BASE = [
    "Dara-KPd", "DKd", "IsaPd", "KRd", "VRd", "RVD", "D-VRd", "EPd", "SVd", "XPd", "BVd",
    "Tec-Dara", "Tec + dara", "cilta-cel (2nd CAR T)", "Xpovio/Velcade/dex", "VDT-PACE",
    "REGN5458 on trial", "DCEP", "Dex alone", "Mel200 + ASCT", "allo-SCT", "XRT to spine",
    "teclistamab", "Teclistamab", "talquetamab", "Talvey", "elranatamab", "Elrexfio",
    "ide-cel", "Abecma", "Carvykti", "cilta-cel", "belantamab mafodotin", "Blenrep", "Pd",
    "Kd", "Rd", "DPd", "DRd", "Dara-Pd", "Cy-Pd", "PCd", "KCd", "CyBorD", "DT-PACE",
    "Benda-Pd", "Ven-dex", "VenDd", "Sel-Dd", "Pano-Vd", "Elo-Pd", "Tal-Tec", "ABBV-383",
    "cevostamab on clinical trial", "BCMA CAR-T on trial", "arlo-cel", "MCARH109",
    "carfilzomab + dex", "pomalidamide-dex", "Bortezomide + dex", "Lenalomide maintenance",
    "teclistimab", "RT", "palliative radiation 20 Gy", "ASCT", "Dara + Zometa",
    "clinical trial", "hospice", "observation", "Tec -> Tal", "KPd then Dara",
    "ide-cel (bridging: Dara-Pd)", "Tec 1.5 mg/kg weekly SC", "VRd (transplant-eligible)",
    "KRd x 4 cycles then R maintenance", "anti-BCMA/CD3 bispecific antibody", "AHCT",
]  # fmt: skip
SUFFIXES = ["", " maintenance", " (on trial)", " weekly", " SC", " re-treatment"]
_CONSONANTS = list("bcdfghjklmnprstvwxz")
_VOWELS = list("aeiouy")


def realistic_texts(rng: np.random.Generator) -> list[str]:
    """Distinct texts: base regimens, with cycle/dose/suffix variants."""
    texts = [b + s for b in BASE for s in SUFFIXES]
    texts += [f"{b} C{c}D1" for b in BASE[:40] for c in range(1, 13)]
    texts += [f"{b} {d} mg" for b in BASE[:30] for d in (10, 20, 40)]
    rng.shuffle(texts)
    return texts


def unknown_words(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` invented words: trial codes (``XQ-4821``) and pronounceable nonsense."""
    letters = rng.choice(list("BCFGHJKLMNQRTVWXYZ"), size=(n, 2))
    digits = rng.integers(100, 100000, size=n)
    codes = np.char.add(np.char.add(np.char.add(letters[:, 0], letters[:, 1]), "-"),
                        digits.astype(str))  # fmt: skip
    syll = [rng.choice(_CONSONANTS, n), rng.choice(_VOWELS, n)] * 4
    words = syll[0].astype(object)
    for part in syll[1:]:
        words = words + part.astype(object)
    words = np.array([w.capitalize() for w in words], dtype=object)
    return np.where(rng.random(n) < 0.5, codes.astype(object), words)


def make_rows(args: argparse.Namespace) -> pa.Array:
    """The benchmark input: repeated realistic texts, a share with unknown words, 1 % nulls."""
    rng = np.random.default_rng(args.seed)
    distinct = np.array(realistic_texts(rng), dtype=object)
    weights = 1.0 / np.arange(1, len(distinct) + 1)
    texts = distinct[rng.choice(len(distinct), size=args.rows, p=weights / weights.sum())]
    unknown = rng.random(args.rows) < args.unknown_share
    k = int(unknown.sum())
    n_pool = args.unknown_distinct or k
    pool = (
        distinct[rng.integers(0, len(distinct), size=n_pool)] + " + " + unknown_words(rng, n_pool)
    )
    texts[unknown] = pool[rng.integers(0, n_pool, size=k)] if args.unknown_distinct else pool
    nulls = rng.random(args.rows) < 0.01
    return pa.array(texts, mask=nulls, type=pa.string())


def bench_library(texts: pa.Array) -> None:
    """Time classify_regimens in this (fresh) process."""
    t0 = time.perf_counter()
    from aftercar.vocab import classify_regimens, default_taxonomy, default_vocabulary

    default_vocabulary()
    default_taxonomy()
    t1 = time.perf_counter()
    table = classify_regimens(texts)
    t2 = time.perf_counter()
    assert table.num_rows == len(texts)
    unknown = int((table.column("unrecognized").to_numpy(zero_copy_only=False) != "").sum())
    print(f"load vocabulary+taxonomy: {t1 - t0:.2f} s")
    print(f"classify_regimens (cold parse cache): {t2 - t1:.2f} s "
          f"({unknown:,} rows with unrecognised words)")  # fmt: skip


def bench_cli(texts: pa.Array) -> float:
    """Time ``aftercar regimens classify`` end to end in a subprocess."""
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "rows.csv", Path(tmp) / "out.csv"
        pacsv.write_csv(pa.table({"regimen": texts}), src)
        cmd = [sys.executable, "-c", "from aftercar.cli import run; run()",
               "regimens", "classify", str(src), "-o", str(out)]  # fmt: skip
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
        elapsed = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if done.returncode != 0:
            raise SystemExit(f"CLI failed ({done.returncode}): {done.stderr[-2000:]}")
        n_out = sum(1 for _ in out.open(encoding="utf-8")) - 1
        assert n_out == len(texts), (n_out, len(texts))
        print(done.stdout.splitlines()[0])
        print(f"CLI CPU time (user + system): {cpu:.2f} s; load average {os.getloadavg()[0]:.1f}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--unknown-share", type=float, default=0.4)
    parser.add_argument("--unknown-distinct", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-library", action="store_true")
    args = parser.parse_args()
    texts = make_rows(args)
    n_unique = len(set(texts.drop_null().to_pylist()))
    print(f"rows={args.rows:,} distinct={n_unique:,} nulls={texts.null_count:,} "
          f"unknown share={args.unknown_share:.0%}")  # fmt: skip
    if not args.skip_library:
        bench_library(texts)
    elapsed = bench_cli(texts)
    print(f"aftercar regimens classify (CLI, end to end): {elapsed:.2f} s")
    print("target: < 10 s -> " + ("OK" if elapsed < 10 else "TOO SLOW"))


if __name__ == "__main__":
    main()
