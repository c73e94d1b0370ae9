"""Speed of the benchmarking toolkit (Simon enumeration, Guyot, one-sample test, MAIC).

Run::

    /work/venv/bin/python benchmarks/bench_benchmark.py [--seed 1]

Times, each the best of 3 runs:

* Simon two-stage optimal + minimax for p0 = 0.434 (the index study's first-salvage
  ORR), p1 = 0.65, alpha = 0.05, power = 0.8, n_max = 100 (target < 2 s), and a
  narrower gap (p1 = 0.60) searched up to n_max = 200;
* Guyot reconstruction of a 2,000-patient KM curve (about 1,300 digitised steps,
  at-risk counts every 3 months);
* one-sample log-rank test of 1,000,000 patients against a piecewise-exponential curve;
* MAIC weights (3 covariates, 79 patients) and a 2,000-replicate bootstrap of the
  weighted ORR and ESS (vectorised Newton over replicates).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from aftercar.benchmark import (
    fit_reference_curve,
    guyot_reconstruct,
    maic_bootstrap,
    maic_weights,
    one_sample_logrank,
    simon_two_stage,
)
from aftercar.stats import kaplan_meier


def best_of(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    t = best_of(lambda: simon_two_stage(p0=0.434, p1=0.65, alpha=0.05, power=0.8))
    print(f"simon p0=0.434 p1=0.65 (n_max=100): {t:.3f} s")
    t = best_of(lambda: simon_two_stage(p0=0.434, p1=0.60, n_max=200), 1)
    print(f"simon p0=0.434 p1=0.60 (n_max=200, n = 65 / 56): {t:.3f} s")

    n = 2000
    te, tc = rng.weibull(1.2, n) * 20, rng.uniform(3, 60, n)
    time_, event = np.minimum(te, tc), (te <= tc).astype(int)
    tab = kaplan_meier(time_, event).table
    steps = tab[tab["n_event"] > 0]
    curve = pd.DataFrame({"time": steps["time"], "survival": steps["surv"]})
    grid = np.arange(0, steps["time"].max(), 3.0)
    at_risk = pd.DataFrame({"time": grid, "n_risk": [(time_ >= g).sum() for g in grid]})
    t = best_of(lambda: guyot_reconstruct(curve, at_risk, total_events=int(event.sum())))
    print(f"guyot {n} patients, {len(curve)} steps, {len(grid)} at-risk times: {t:.3f} s")

    big = rng.exponential(20, 1_000_000)
    ev = rng.random(big.size) < 0.6
    ref = fit_reference_curve([6.0, 17.9, 36.0], [0.8, 0.5, 0.3])
    t = best_of(lambda: one_sample_logrank(big, ev, ref))
    print(f"one-sample log-rank, 1,000,000 patients: {t:.3f} s")

    ipd = pd.DataFrame({"age": rng.normal(63, 8, 79), "hr": rng.random(79) < 0.4,
                        "emd": rng.random(79) < 0.3})  # fmt: skip
    targets = {"age": 67.0, "hr": 0.55, "emd": 0.2}
    t = best_of(lambda: maic_weights(ipd, targets))
    print(f"maic weights, 79 patients x 3 covariates: {t:.4f} s")
    resp = rng.random(79) < 0.43
    t = best_of(lambda: maic_bootstrap(ipd, targets, responded=resp, n_boot=2000), 1)
    print(f"maic bootstrap ORR + ESS, 2,000 replicates: {t:.3f} s")


if __name__ == "__main__":
    main()
