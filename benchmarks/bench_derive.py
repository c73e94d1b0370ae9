"""Accuracy (and speed) of `aftercar derive` against the simulator's truth (issue 12 items 6-7).

Usage::

    python benchmarks/bench_derive.py --patients 2000 --seed 20261204
    python benchmarks/bench_derive.py --patients 10000 --seed 20261202 --speed-only

Simulates N patients with ``--raw`` (Parquet) under a seed never used in development
(development used seed 7), derives the cohort from ``raw/`` and compares it with
``truth/``. The truth is *observable*: the simulator builds its records so that the
issue 12 rules give it back (each line starts on its first anti-myeloma
administration or bundle record; best response and progression are what the labs
show under IMWG 2016 with two-consecutive confirmation; the index date is the first
confirmed progression after the CAR-T infusion; see ``docs/simulation.md``). The
latent values the records were generated from are in ``latent_*`` columns and are
reported for information only.

Headline metrics (issue 12 item 6, target >= 97% each):

* **lines**: share of true lines with a derived line of the same patient, the same
  start date and the same drug set (CAR-T products compared by target);
* **best response**: agreement on the true lines matched by patient and start date
  (not assessed = empty on both sides counts as agreement), with the confusion matrix;
* **progression date** of matched lines: equal (within 0 days) and within 7 days;
  both empty counts as agreement;
* **index date**: exact (both empty counts as agreement);

then the report's headline numbers from the derived and the true cohort side by side.
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
from aftercar.derive.raw.rules import load_rules
from aftercar.schema import DAYS_PER_MONTH
from aftercar.simulate import write_simulated
from aftercar.vocab import default_vocabulary, parse_regimen

CODES = ["sCR", "CR", "VGPR", "PR", "MR", "SD", "PD"]
TARGET = 0.97
NONE = "(none)"


def _canon(drugs: set[str]) -> frozenset[str]:
    """Ingredient set, with CAR-T products compared by their target."""
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
        if c in df.columns:
            df[c] = pd.to_datetime(df[c])
    return df


def compare_lines(truth: pd.DataFrame, derived: pd.DataFrame) -> dict:
    """Lines matched by (patient, start date); drug sets compared."""
    truth = truth.assign(dset=_truth_drugs(truth.regimen))
    derived = derived.assign(
        dset=derived.drugs.fillna("").map(lambda s: _canon({d for d in s.split(";") if d}))
    )
    m = truth.merge(derived, on=["patient_id", "start_date"], how="left", suffixes=("", "_d"))
    m = m.drop_duplicates(["patient_id", "line"])
    exact = m.dset == m.dset_d
    d2 = derived.merge(truth, on=["patient_id", "start_date"], how="left", suffixes=("", "_t"))
    return {
        "true lines": len(truth),
        "derived lines": len(derived),
        "start date exact": m.line_d.notna().mean(),
        "LINES: start date + drug set exact": exact.mean(),
        "derived lines matching a true start": d2.line_t.notna().mean(),
        "_matched": m[m.line_d.notna()],
    }


def compare_response(m: pd.DataFrame) -> dict:
    """Best response and progression date of the matched lines."""
    t, d = m.best_response.fillna(NONE), m.best_response_d.fillna(NONE)
    order = [*CODES, "NE", NONE]
    cm = pd.crosstab(t, d).reindex(
        index=[c for c in order if c in set(t)], columns=[c for c in order if c in set(d)]
    )
    days = (m.progression_date_d - m.progression_date).dt.days.abs()
    both_none = m.progression_date.isna() & m.progression_date_d.isna()
    latent = m.latent_best_response if "latent_best_response" in m else t
    return {
        "BEST RESPONSE: exact": (t == d).mean(),
        "best response >= PR agreement": (t.isin(CODES[:4]) == d.isin(CODES[:4])).mean(),
        "PROGRESSION: date within 0 days": ((days == 0) | both_none).mean(),
        "PROGRESSION: date within 7 days": ((days <= 7) | both_none).mean(),
        "(info) derived best response = latent": (latent == d).mean(),
        "_confusion": cm,
    }


def compare_index(truth_p: pd.DataFrame, derived_p: pd.DataFrame) -> dict:
    m = truth_p.merge(derived_p, on="patient_id", how="left", suffixes=("", "_d"))
    diff = (m.progression_date_d - m.progression_date).dt.days.abs()
    both_none = m.progression_date.isna() & m.progression_date_d.isna()
    out = {
        "patients with a derived index date": m.progression_date_d.notna().mean(),
        "INDEX DATE: exact": ((diff == 0) | both_none).mean(),
        "index date within 7 days": ((diff <= 7) | both_none).mean(),
    }
    if "latent_progression_date" in m:
        lat = pd.to_datetime(m.latent_progression_date)
        out["(info) index date = latent"] = (m.progression_date_d == lat).mean()
    return out


def headline(patients: pd.DataFrame, lines: pd.DataFrame) -> dict:
    """Median OS from the index date, first-salvage ORR and first-TCE ORR of a cohort."""
    from aftercar.stats import kaplan_meier
    from aftercar.vocab import classify_regimens

    end = pd.to_datetime(patients.death_date.fillna(patients.last_followup_date))
    months = (end - pd.to_datetime(patients.progression_date)).dt.days / DAYS_PER_MONTH
    ok = months.notna().to_numpy()
    km = kaplan_meier(months.to_numpy()[ok], patients.death_date.notna().to_numpy()[ok])
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
    ap.add_argument("--rules", type=Path, default=None, help="derivation rules TOML (as derive)")
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
        out = derive_raw(raw, rules=load_rules(args.rules) if args.rules else None)
        wall = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"derived {args.patients:,} patients ({n_rows:,} raw rows) in {wall:.1f} s, "
            f"peak RSS {rss:,.0f} MiB"
        )
        if not args.speed_only:
            _report(root, out)


def _print(metrics: dict) -> None:
    for k, v in metrics.items():
        if isinstance(v, float):
            flag = ("  PASS" if v >= TARGET else "  FAIL") if k.split(":")[0].isupper() else ""
            print(f"  {k:45s} {v:.4f}{flag}")
        else:
            print(f"  {k:45s} {v}")


def _report(root: Path, out) -> None:
    truth = root / "truth"
    dcols = ["start_date", "progression_date"]
    tl = _dates(pq.read_table(truth / "lines.parquet").to_pandas(), dcols)
    tp = _dates(pq.read_table(truth / "patients.parquet").to_pandas(), ["progression_date"])
    dl = _dates(out.lines.to_pandas(), dcols)
    dp = _dates(out.patients.to_pandas(), ["progression_date"])
    res = compare_lines(tl, dl)
    resp = compare_response(res.pop("_matched"))
    cm = resp.pop("_confusion")
    _print({**res, **resp, **compare_index(tp, dp)})
    print("best-response confusion (rows = truth, columns = derived):")
    print(cm.fillna(0).astype(np.int64).to_string())
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
