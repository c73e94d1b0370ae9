"""Speed of aftercar.stats against R survival on the same rows (issue 4).

Generates N rows (default 1,000,000; fixed seed): 3 covariates, a 2-level group,
cluster ids with ~3 rows each, whole-day times (many ties), ~30 % censored.
Times aftercar's ``kaplan_meier``, ``logrank_test`` and ``cox_ph`` Efron, plain
and with ``cluster=``, and the issue-15 additions: ``kaplan_meier(cluster=)``,
``logrank_test(rho=1)``, ``rmst(tau=365)``, ``cumulative_incidence`` (two
causes: status 1 split by x2), ``cox_zph`` of the Efron fit, ``concordance`` of
x1, ``gray_test`` by group and ``fine_gray`` (on the first ``--fine-gray-rows``
rows only: R's row expansion grows as competing subjects x censoring
intervals). Then runs R survival in one ``Rscript`` process on the same rows
(written once as CSV, read with ``scan``) and reports R's own ``system.time``
elapsed for each call, excluding reading. R is skipped cleanly when ``Rscript``
is absent or with ``--no-r``. A DuckDB group-by-time (the counts a KM table
needs) is timed as the practical floor.

Usage::

    /work/venv/bin/python benchmarks/bench_stats.py [--rows N] [--no-r] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from aftercar.stats import (
    concordance,
    cox_ph,
    cox_zph,
    cumulative_incidence,
    fine_gray,
    gray_test,
    kaplan_meier,
    logrank_test,
    rmst,
)

R_SCRIPT = r"""
suppressMessages(library(survival))
args <- commandArgs(TRUE); f <- args[1]; do_cluster <- args[2] == "1"; nfg <- as.integer(args[3])
d <- scan(f, what = list(time = 0, status = 0, grp = 0, x1 = 0, x2 = 0, x3 = 0, id = 0),
          sep = ",", skip = 1, quiet = TRUE)
S <- Surv(d$time, d$status)
tm <- function(name, expr) cat(name, system.time(expr)[["elapsed"]], "\n")
tm("kaplan_meier", fit <- survfit(S ~ 1, conf.type = "log-log"))
tm("kaplan_meier_summary", s <- summary(fit, censored = TRUE))
tm("logrank_test", survdiff(S ~ d$grp))
tm("cox_efron", coxph(S ~ d$x1 + d$x2 + d$x3, ties = "efron"))
if (do_cluster)
  tm("cox_efron_cluster", coxph(S ~ d$x1 + d$x2 + d$x3 + cluster(d$id), ties = "efron"))
tm("km_cluster", survfit(S ~ 1, id = d$id, robust = TRUE, conf.type = "log-log"))
tm("logrank_rho1", survdiff(S ~ d$grp, rho = 1))
tm("rmst_tau365", summary(survfit(S ~ 1), rmean = 365)$table)
cause <- factor(d$status * (1 + d$x2), 0:2)
tm("cumulative_incidence", survfit(Surv(d$time, cause) ~ 1))
cfit <- coxph(S ~ d$x1 + d$x2 + d$x3, ties = "efron")
tm("cox_zph_km", cox.zph(cfit))
tm("concordance", concordance(S ~ d$x1))
tm("gray_test", cmprsk::cuminc(d$time, as.integer(as.character(cause)), d$grp)$Tests)
k <- seq_len(nfg)
fgd <- data.frame(t = d$time[k], ev = cause[k], x1 = d$x1[k], x3 = d$x3[k], rid = k)
tm("fine_gray_subset", {
  fg <- finegray(Surv(t, ev) ~ x1 + x3 + rid, data = fgd, etype = "1")
  coxph(Surv(fgstart, fgstop, fgstatus) ~ x1 + x3 + cluster(rid), weights = fgwt, data = fg)
})
"""


def make_data(rows: int, seed: int) -> pd.DataFrame:
    """Synthetic survival rows with tied whole-day times and ~3 rows per cluster."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=rows)
    x2 = rng.integers(0, 2, rows).astype(float)
    x3 = rng.uniform(0, 1, rows)
    grp = rng.integers(0, 2, rows)
    rate = np.exp(-6.0 + 0.3 * x1 + 0.5 * x2 - 0.4 * x3 + 0.2 * grp)
    event_time = rng.exponential(1.0 / rate)
    censor = rng.uniform(0, 1500, rows)
    time_ = np.maximum(1.0, np.ceil(np.minimum(event_time, censor)))
    status = (event_time <= censor).astype(int)
    cluster = rng.permutation(np.arange(rows) // 3)
    return pd.DataFrame(
        {"time": time_, "status": status, "grp": grp, "x1": x1, "x2": x2, "x3": x3, "id": cluster}
    )


def best_of(fn, repeat: int, clock=time.perf_counter) -> float:
    times = []
    for _ in range(repeat):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return min(times)


def km_cluster_ratio(d: pd.DataFrame, repeat: int) -> str:
    """Clustered over plain KM on the same rows, wall and CPU (issue 15: within 2x).

    CPU time (``time.process_time``) is the steadier figure on a shared machine.
    """
    t, e, cl = d["time"].to_numpy(), d["status"].to_numpy(), d["id"].to_numpy()
    out = []
    for clock, what in ((time.perf_counter, "wall"), (time.process_time, "CPU")):
        plain = best_of(lambda: kaplan_meier(t, e), repeat, clock)
        clustered = best_of(lambda: kaplan_meier(t, e, cluster=cl), repeat, clock)
        out.append(f"{what} {clustered:.3f} s / {plain:.3f} s = {clustered / plain:.2f}x")
    return "kaplan_meier cluster= vs plain: " + "; ".join(out)


def time_aftercar(d: pd.DataFrame, repeat: int, fine_gray_rows: int) -> dict[str, float]:
    t, e, g = d["time"].to_numpy(), d["status"].to_numpy(), d["grp"].to_numpy()
    out = {
        "kaplan_meier": best_of(lambda: kaplan_meier(t, e), repeat),
        "logrank_test": best_of(lambda: logrank_test(t, e, g), repeat),
    }
    x = d[["x1", "x2", "x3"]].to_numpy()
    out["cox_efron"] = best_of(lambda: cox_ph(t, e, x), max(1, repeat - 1))
    cl = d["id"].to_numpy()
    out["cox_efron_cluster"] = best_of(lambda: cox_ph(t, e, x, cluster=cl), max(1, repeat - 1))
    out["km_cluster"] = best_of(lambda: kaplan_meier(t, e, cluster=cl), repeat)
    out["logrank_rho1"] = best_of(lambda: logrank_test(t, e, g, rho=1), repeat)
    out["rmst_tau365"] = best_of(lambda: rmst(t, e, tau=365), repeat)
    cause = e * (1 + d["x2"].to_numpy())
    out["cumulative_incidence"] = best_of(lambda: cumulative_incidence(t, cause), repeat)
    fit = cox_ph(t, e, x)
    out["cox_zph_km"] = best_of(lambda: cox_zph(fit), max(1, repeat - 1))
    out["concordance"] = best_of(lambda: concordance(t, e, d["x1"].to_numpy()), repeat)
    out["gray_test"] = best_of(lambda: gray_test(t, cause, g), repeat)
    k = slice(0, fine_gray_rows)
    xs = d[["x1", "x3"]].iloc[k]
    out["fine_gray_subset"] = best_of(lambda: fine_gray(t[k], cause[k], xs, cause=1), 1)
    return out


def time_duckdb_floor(d: pd.DataFrame) -> float:
    import duckdb

    con = duckdb.connect()
    con.register("d", d)
    sql = "SELECT time, sum(status) AS d, count(*) AS n FROM d GROUP BY time ORDER BY time"
    con.execute(sql).fetchnumpy()  # warm up
    t0 = time.perf_counter()
    con.execute(sql).fetchnumpy()
    return time.perf_counter() - t0


def time_r(d: pd.DataFrame, cluster: bool, fine_gray_rows: int) -> dict[str, float]:
    if shutil.which("Rscript") is None:
        print("Rscript not found: R timings skipped")
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        csv, script = Path(tmp) / "rows.csv", Path(tmp) / "bench.R"
        d.to_csv(csv, index=False)
        script.write_text(R_SCRIPT)
        res = subprocess.run(
            ["Rscript", str(script), str(csv), "1" if cluster else "0", str(fine_gray_rows)],
            capture_output=True,
            text=True,
            check=False,
        )
    if res.returncode != 0:
        print(f"R failed, timings skipped:\n{res.stderr}")
        return {}
    out = {}
    for line in res.stdout.splitlines():
        name, seconds = line.split()
        out[name] = float(seconds)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="aftercar runs per call (best kept)")
    ap.add_argument("--no-r", action="store_true", help="skip R")
    ap.add_argument(
        "--r-cluster-max-rows",
        type=int,
        default=100_000,
        help="run R's cluster-robust Cox only up to this many rows (it is O(n x event times))",
    )
    ap.add_argument(
        "--fine-gray-rows",
        type=int,
        default=20_000,
        help="rows for the Fine-Gray timing (the expanded data grow much faster than n)",
    )
    args = ap.parse_args()
    d = make_data(args.rows, args.seed)
    print(
        f"rows={args.rows:,} events={int(d.status.sum()):,} distinct times={d.time.nunique():,} "
        f"clusters={d.id.nunique():,}"
    )
    ratio_line = km_cluster_ratio(d, max(args.repeat, 5))
    ours = time_aftercar(d, args.repeat, args.fine_gray_rows)
    ours["duckdb_floor_km_counts"] = time_duckdb_floor(d)
    cluster = args.rows <= args.r_cluster_max_rows
    theirs = {} if args.no_r else time_r(d, cluster, args.fine_gray_rows)
    print("\n| call | aftercar (s) | R survival (s) | R / aftercar |\n|---|---|---|---|")
    for name in [*ours, *(k for k in theirs if k not in ours)]:
        sec, r = ours.get(name), theirs.get(name)
        ratio = f"{r / sec:.1f}x" if r and sec else "-"
        r_txt = f"{r:.3f}" if r is not None else "-"
        s_txt = f"{sec:.3f}" if sec is not None else "-"
        print(f"| {name} | {s_txt} | {r_txt} | {ratio} |")
    print(
        "\nkaplan_meier: R = survfit() alone; kaplan_meier_summary = R's extra "
        "summary(fit, censored=TRUE), which aftercar's .table already includes."
    )
    print(ratio_line)


if __name__ == "__main__":
    main()
