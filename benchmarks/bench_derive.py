"""Accuracy (and speed) of `aftercar derive` against the simulator's truth (issue 12 items 6-7).

Usage::

    python benchmarks/bench_derive.py --patients 2000 --seed 20261201
    python benchmarks/bench_derive.py --patients 10000 --seed 20261202 --speed-only

Simulates N patients with ``--raw`` (Parquet) under a seed never used in development
(development used seed 7), derives the cohort from ``raw/`` and compares it with
``truth/``:

* **lines**: share of true lines with a derived line of the same patient with the
  same start date and the same drug set (CAR-T products are compared by target,
  because the simulator draws the order text of an investigational CAR T
  independently of the regimen label); also over *observable* true lines (those
  with at least one raw record: a trial "undisclosed agent" line has none);
* **best response**: agreement on lines matched by start date (exact category, and
  >= PR yes/no), with the confusion matrix; true NE / not assessed are excluded
  (the simulator assigns them at random, with no trace in the labs);
* **progression date** of matched lines: within 0 and within 7 days of the true
  (latent) date; both empty counts as agreement;
* **index date**: exact, within 7 / 28 days of the true (latent) progression date,
  and exact against the *observable* date = the earlier of the first lab visit on
  or after the latent date and the first salvage start;
* **headline numbers** from the derived and the true cohort side by side.

Prints a report; nothing is asserted.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from aftercar.derive.raw.derive import derive_raw
from aftercar.derive.raw.read import read_raw
from aftercar.simulate import write_simulated
from aftercar.vocab import default_vocabulary, parse_regimen

CODES = ["sCR", "CR", "VGPR", "PR", "MR", "SD", "PD"]


def _canon(drugs: set[str]) -> frozenset[str]:
    vocab = default_vocabulary()
    out = set()
    for d in drugs:
        info = vocab.drugs.get(d)
        if info is not None and info.drug_class == "car_t":
            out.add("car t [" + ";".join(info.targets) + "]")
        else:
            out.add(d)
    return frozenset(out)


def _truth_drugs(regimens: pd.Series) -> pd.Series:
    table = pd.read_csv(
        Path(__file__).parents[1] / "src/aftercar/data/simulation_regimens.csv",
        keep_default_na=False,
    )
    by_text = dict(zip(table.text, table.drugs, strict=True))
    cache = {}
    for text in regimens.unique():
        names = set()
        for d in by_text.get(text, "").split(";"):
            if d:
                names |= set(parse_regimen(d).drugs)
        cache[text] = _canon(names)
    return regimens.map(cache)


def _dates(df: pd.DataFrame, cols) -> pd.DataFrame:
    for c in cols:
        df[c] = pd.to_datetime(df[c])
    return df


def _observable(truth: pd.DataFrame) -> np.ndarray:
    """True lines that leave a trace in the raw records: a drug, or a radiotherapy course
    (a trial "undisclosed agent" line has no administration at all)."""
    table = pd.read_csv(
        Path(__file__).parents[1] / "src/aftercar/data/simulation_regimens.csv",
        keep_default_na=False,
    )
    traced = set(table.text[(table.drugs != "") | (table.arm == "radiotherapy")])
    return truth.regimen.isin(traced).to_numpy()


def compare_lines(truth: pd.DataFrame, derived: pd.DataFrame) -> dict:
    truth = truth.assign(dset=_truth_drugs(truth.regimen))
    derived = derived.assign(
        dset=derived.drugs.fillna("").map(lambda s: _canon({d for d in s.split(";") if d}))
    )
    m = truth.merge(derived, on=["patient_id", "start_date"], how="left", suffixes=("", "_d"))
    m = m.drop_duplicates(["patient_id", "line"])
    exact = m.dset == m.dset_d
    obs = _observable(m)
    d2 = derived.merge(truth, on=["patient_id", "start_date"], how="left", suffixes=("", "_t"))
    why = _unmatched(m[m.line_d.isna()], derived, obs[m.line_d.isna().to_numpy()])
    return {
        **why,
        "true lines": len(truth),
        "derived lines": len(derived),
        "start date exact": m.line_d.notna().mean(),
        "start date + drug set exact": exact.mean(),
        "... over observable true lines": exact[obs].mean(),
        "derived lines matching a true start": d2.line_t.notna().mean(),
        "_matched": m[m.line_d.notna()],
    }


def _observable_progression(m: pd.DataFrame, truth: pd.DataFrame, labs: pd.DataFrame):
    """First lab visit on or after the latent progression date, or the next line's start."""
    t = truth.sort_values(["patient_id", "line"])
    nxt = t.assign(next_start=t.groupby("patient_id").start_date.shift(-1))
    m = m.merge(nxt[["patient_id", "line", "next_start"]], on=["patient_id", "line"], how="left")
    v = labs.merge(m[["patient_id", "line", "progression_date"]], on="patient_id")
    v = v[v.date >= v.progression_date].groupby(["patient_id", "line"]).date.min()
    m = m.join(v.rename("first_visit"), on=["patient_id", "line"])
    obs = m[["first_visit", "next_start"]].min(axis=1).where(m.progression_date.notna())
    return m.assign(observable=obs)


def _unmatched(miss: pd.DataFrame, derived: pd.DataFrame, observable: np.ndarray) -> dict:
    """Why true lines have no derived line with the same start (shares of all true lines)."""
    j = miss[["patient_id", "line", "start_date"]].merge(
        derived[["patient_id", "start_date", "end_date"]], on="patient_id", suffixes=("", "_d")
    )
    late = j[
        (j.start_date_d > j.start_date) & (j.start_date_d <= j.start_date + pd.Timedelta(days=7))
    ]
    inside = j[(j.start_date_d < j.start_date) & (pd.to_datetime(j.end_date) >= j.start_date)]
    keys = list(zip(miss.patient_id, miss.line, strict=True))
    late_k = set(zip(late.patient_id, late.line, strict=True))
    inside_k = set(zip(inside.patient_id, inside.line, strict=True))
    n = max(len(miss), 1)
    kinds = {
        "no raw trace": 0,
        "derived start 1-7 days later": 0,
        "inside a longer derived line": 0,
        "other": 0,
    }
    for k, o in zip(keys, observable, strict=True):
        kind = (
            "no raw trace"
            if not o
            else "derived start 1-7 days later"
            if k in late_k
            else "inside a longer derived line"
            if k in inside_k
            else "other"
        )
        kinds[kind] += 1
    return {f"unmatched true lines: {k}": v / n for k, v in kinds.items()}


def compare_response(m: pd.DataFrame) -> dict:
    ok = m.best_response.isin(CODES)
    x = m[ok]
    agree = (x.best_response == x.best_response_d).mean()
    orr = (x.best_response.isin(CODES[:4]) == x.best_response_d.isin(CODES[:4])).mean()
    cm = pd.crosstab(x.best_response, x.best_response_d.fillna("(none)"), dropna=False)
    cm = cm.reindex(index=[c for c in CODES if c in cm.index])
    days = (x.progression_date_d - x.progression_date).dt.days
    both_none = x.progression_date.isna() & x.progression_date_d.isna()
    obs = (x.progression_date_d == x.observable) | both_none
    return {
        "best response exact": agree,
        "best response >= PR agreement": orr,
        "progression date within 0 days (latent)": ((days.abs() == 0) | both_none).mean(),
        "progression date within 7 days (latent)": ((days.abs() <= 7) | both_none).mean(),
        "progression date exact (observable)": obs.mean(),
        "_confusion": cm,
    }


def compare_index(truth_p, derived_p, truth_lines, labs) -> dict:
    t = truth_p[["patient_id", "progression_date"]]
    d = derived_p[["patient_id", "progression_date"]]
    m = t.merge(d, on="patient_id", how="left", suffixes=("", "_d"))
    v = labs.merge(t, on="patient_id")
    v = v[v.date >= v.progression_date].groupby("patient_id").date.min().rename("first_visit")
    first = truth_lines[truth_lines.line == 1].set_index("patient_id").start_date
    m = m.join(v, on="patient_id").join(first.rename("first_start"), on="patient_id")
    m["observable"] = m[["first_visit", "first_start"]].min(axis=1)
    diff = (m.progression_date_d - m.progression_date).dt.days
    return {
        "patients with a derived index date": m.progression_date_d.notna().mean(),
        "index date exact (latent)": (diff == 0).mean(),
        "index date within 7 days (latent)": (diff.abs() <= 7).mean(),
        "index date within 28 days (latent)": (diff.abs() <= 28).mean(),
        "index date exact (observable)": (m.progression_date_d == m.observable).mean(),
    }


def headline(patients: pd.DataFrame, lines: pd.DataFrame) -> dict:
    """Median OS from the index date, first-salvage ORR and first-TCE ORR of a cohort."""
    from aftercar.stats import kaplan_meier
    from aftercar.vocab import classify_regimens

    end = patients.death_date.fillna(patients.last_followup_date)
    months = (pd.to_datetime(end) - pd.to_datetime(patients.progression_date)).dt.days / 30.4375
    km = kaplan_meier(months.to_numpy(), patients.death_date.notna().to_numpy())
    evaluable = lines[lines.best_response.isin(CODES)]
    first = evaluable[evaluable.line == 1]
    tce = classify_regimens(lines.regimen.tolist()).column("tce").to_pylist()
    t = lines.assign(tce=tce)
    t = t[t.tce.fillna(False)].sort_values(["patient_id", "line"]).drop_duplicates("patient_id")
    t = t[t.best_response.isin(CODES)]
    return {
        "median OS from index (months)": km.median().estimate,
        "first-salvage ORR": first.best_response.isin(CODES[:4]).mean(),
        "first-TCE ORR": t.best_response.isin(CODES[:4]).mean(),
        "patients": len(patients),
        "lines": len(lines),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--patients", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=20261201)
    ap.add_argument("--speed-only", action="store_true")
    ap.add_argument("--dir", type=Path, default=None, help="reuse/keep the simulated folder")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.dir or Path(tmp)
        if not (root / "raw").is_dir():
            t0 = time.perf_counter()
            write_simulated(args.patients, root, seed=args.seed, format="parquet", raw=True)
            print(f"simulated {args.patients:,} patients in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        raw = read_raw(root)
        n_rows = sum(t.num_rows for t in raw.values())
        out = derive_raw(raw)
        wall = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"derived {args.patients:,} patients ({n_rows:,} raw rows) in {wall:.1f} s, "
            f"peak RSS {rss:,.0f} MiB"
        )
        if not args.speed_only:
            _report(root, out)


def _report(root: Path, out) -> None:
    truth = root / "truth"
    tl = _dates(
        pq.read_table(truth / "lines.parquet").to_pandas(), ["start_date", "progression_date"]
    )
    tp = _dates(pq.read_table(truth / "patients.parquet").to_pandas(), ["progression_date"])
    dl = _dates(out.lines.to_pandas(), ["start_date", "progression_date"])
    dp = _dates(out.patients.to_pandas(), ["progression_date"])
    labs = _dates(
        pq.read_table(root / "raw/labs.parquet", columns=["patient_id", "date"])
        .to_pandas()
        .drop_duplicates(),
        ["date"],
    )
    res = compare_lines(tl, dl)
    matched = _observable_progression(res.pop("_matched"), tl, labs)
    resp = compare_response(matched)
    cm = resp.pop("_confusion")
    idx = compare_index(tp, dp, tl, labs)
    for k, v in {**res, **resp, **idx}.items():
        print(f"  {k:45s} {v:.4f}" if isinstance(v, float) else f"  {k:45s} {v}")
    print("best-response confusion (rows = truth, columns = derived):")
    print(cm.to_string())
    h_true = headline(
        pq.read_table(truth / "patients.parquet").to_pandas(),
        pq.read_table(truth / "lines.parquet").to_pandas(),
    )
    h_der = headline(out.patients.to_pandas(), out.lines.to_pandas())
    print("headline numbers (true cohort vs derived cohort):")
    for k in h_true:
        print(f"  {k:45s} {h_true[k]:.3f}  {h_der[k]:.3f}")


if __name__ == "__main__":
    main()
