"""Benchmark: classify 1,000,000 regimen texts (with repeats, as in real data).

Run::

    /work/venv/bin/python benchmarks/bench_regimens.py [--rows 1000000] [--seed 1]

Draws rows from a few thousand realistic distinct texts (base regimens, some with
dose/cycle/trial annotations) with Zipf-like frequencies, then times
``aftercar.vocab.classify_regimens`` cold (empty parse cache) in a fresh process.
Target: < 10 s on the project machine (2 cores).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pyarrow as pa

BASE = [
    "Dara-KPd",
    "DKd",
    "IsaPd",
    "KRd",
    "VRd",
    "RVD",
    "D-VRd",
    "EPd",
    "SVd",
    "XPd",
    "BVd",
    "Tec-Dara",
    "Tec + dara",
    "cilta-cel (2nd CAR T)",
    "Xpovio/Velcade/dex",
    "VDT-PACE",
    "REGN5458 on trial",
    "DCEP",
    "Dex alone",
    "Mel200 + ASCT",
    "allo-SCT",
    "XRT to spine",
    "teclistamab",
    "Teclistamab",
    "talquetamab",
    "Talvey",
    "elranatamab",
    "Elrexfio",
    "ide-cel",
    "Abecma",
    "Carvykti",
    "cilta-cel",
    "belantamab mafodotin",
    "Blenrep",
    "Pd",
    "Kd",
    "Rd",
    "DPd",
    "DRd",
    "Dara-Pd",
    "Cy-Pd",
    "PCd",
    "KCd",
    "CyBorD",
    "DT-PACE",
    "Benda-Pd",
    "Ven-dex",
    "VenDd",
    "Sel-Dd",
    "Pano-Vd",
    "Elo-Pd",
    "Tal-Tec",
    "ABBV-383",
    "cevostamab on clinical trial",
    "BCMA CAR-T on trial",
    "arlo-cel",
    "MCARH109",
    "carfilzomab + dex",
    "pomalidamide-dex",
    "daratumamab",
    "teclistimab",
    "RT",
    "palliative radiation 20 Gy",
    "ASCT",
    "Dara + Zometa",
    "clinical trial",
    "Foo123 + dex",
    "ide-cel (bridging: Dara-Pd)",
    "Tec 1.5 mg/kg weekly SC",
    "KRd x 4 cycles then R maintenance",
]
SUFFIXES = ["", " maintenance", " (on trial)", " weekly", " SC", " re-treatment"]


def realistic_texts(rng: np.random.Generator) -> list[str]:
    """Distinct texts: base regimens, with cycle/dose/suffix variants."""
    texts = [b + s for b in BASE for s in SUFFIXES]
    texts += [f"{b} C{c}D1" for b in BASE[:40] for c in range(1, 13)]
    texts += [f"{b} {d} mg" for b in BASE[:30] for d in (10, 20, 40)]
    rng.shuffle(texts)
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    distinct = realistic_texts(rng)
    weights = 1.0 / np.arange(1, len(distinct) + 1)
    idx = rng.choice(len(distinct), size=args.rows, p=weights / weights.sum())
    nulls = rng.random(args.rows) < 0.01
    texts = pa.array(np.array(distinct, dtype=object)[idx], mask=nulls, type=pa.string())

    t0 = time.perf_counter()
    from aftercar.vocab import classify_regimens, default_taxonomy, default_vocabulary

    default_vocabulary()
    default_taxonomy()
    t1 = time.perf_counter()
    table = classify_regimens(texts)
    t2 = time.perf_counter()
    table2 = classify_regimens(texts)
    t3 = time.perf_counter()
    assert table.num_rows == args.rows and table2.num_rows == args.rows
    n_unique = len(set(texts.drop_null().to_pylist()))
    print(f"rows={args.rows:,} distinct={n_unique:,} nulls={int(nulls.sum()):,}")
    print(f"load vocabulary+taxonomy: {t1 - t0:.2f} s")
    print(f"classify_regimens (cold parse cache): {t2 - t1:.2f} s")
    print(f"classify_regimens (warm parse cache): {t3 - t2:.2f} s")
    print("target: < 10 s -> " + ("OK" if t2 - t1 < 10 else "TOO SLOW"))


if __name__ == "__main__":
    main()
