"""List the true lines that `aftercar derive` misses or gets with the wrong drugs, with causes.

Usage::

    python benchmarks/diagnose_lines.py --dir SIMDIR [--patients 1000 --seed 20261204]
        [--rules rules.toml] [--show 10]

Simulates (unless ``SIMDIR/raw`` exists), derives, matches true and derived lines by
patient and start date (as ``bench_derive.py``) and classifies each unmatched true line
by what the truth did at its start, relative to the previous true line:

* ``after_pd``: it starts after the previous line's confirmed progression;
* ``switch_in_window``: a switch without progression <= the regimen window (30 days)
  after the previous start (the new drugs belong to the previous regimen by the rules);
* ``imid_pi_addition``: it only adds IMiDs / PIs to a previous regimen without that
  class, <= 90 days after its start (the OHDSI exception keeps them in that line);
* ``drugset``: the start matches but the drug set differs; ``other`` otherwise.

Prints the counts, then for ``--show`` lines of each class the patient's true and
derived lines and the anti-myeloma administrations and procedures within 60 days.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from bench_derive import _canon, _truth_drugs

from aftercar.derive.raw.derive import derive_raw
from aftercar.derive.raw.read import read_raw
from aftercar.derive.raw.rules import load_rules
from aftercar.simulate import write_simulated
from aftercar.vocab import default_vocabulary

_NOT_THERAPY = "acyclovir|acetamin|diphenhydr|zoledron|globulin|IVIG|premed"
_DATES = ("start_date", "end_date", "progression_date")


def _frames(root: Path, rules: Path | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    out = derive_raw(read_raw(root), rules=load_rules(rules) if rules else None)
    tl = pq.read_table(root / "truth/lines.parquet").to_pandas()
    dl = out.lines.to_pandas()
    for df in (tl, dl):
        for c in _DATES:
            df[c] = pd.to_datetime(df[c])
    tl["dset"] = _truth_drugs(tl.regimen)
    dl["dset"] = dl.drugs.fillna("").map(lambda s: _canon({d for d in s.split(";") if d}))
    return tl, dl


def _cause(r: pd.Series) -> str:
    if pd.notna(r.line_d):
        return "drugset"
    if pd.isna(r.prev_start):
        return "other"
    if pd.notna(r.prev_pd) and r.start_date > r.prev_pd:
        return "after_pd"
    days = (r.start_date - r.prev_start).days
    if days <= 30:
        return "switch_in_window"
    vocab = default_vocabulary()
    known = {d for d in r.dset - r.prev_dset if d in vocab.drugs}
    added = {d for d in known if vocab.drugs[d].role != "steroid"}
    classes = {vocab.drugs[d].drug_class for d in added}
    old = {vocab.drugs[d].drug_class for d in r.prev_dset if d in vocab.drugs}
    exc = {"imid", "proteasome_inhibitor"}
    if days <= 90 and added and classes <= exc and not classes & old:
        return "imid_pi_addition"
    return "other"


def classify(tl: pd.DataFrame, dl: pd.DataFrame) -> pd.DataFrame:
    """Unmatched true lines (start date or drug set) with their ``cause``."""
    tl = tl.sort_values(["patient_id", "line"])
    g = tl.groupby("patient_id")
    tl = tl.assign(prev_start=g.start_date.shift(), prev_pd=g.progression_date.shift(),
                   prev_dset=g.dset.shift())  # fmt: skip
    m = tl.merge(dl, on=["patient_id", "start_date"], how="left", suffixes=("", "_d"))
    bad = m[m.line_d.isna() | (m.dset != m.dset_d)].copy()
    bad["cause"] = bad.apply(_cause, axis=1) if len(bad) else []
    return bad


def show(bad: pd.DataFrame, tl, dl, root: Path, n: int) -> None:
    """Print ``n`` lines of each cause with the raw rows around them."""
    adm = pq.read_table(root / "raw/administrations.parquet").to_pandas()
    proc = pq.read_table(root / "raw/procedures.parquet").to_pandas()
    adm = adm[~adm.drug.str.contains(_NOT_THERAPY, case=False)]
    for t in (adm, proc):
        t["date"] = pd.to_datetime(t.date)
    cols = ["line", "start_date", "end_date", "best_response", "progression_date"]
    for _, b in bad.groupby("cause").head(n).iterrows():
        pid, lo, hi = b.patient_id, b.start_date - pd.Timedelta(days=60), b.start_date
        hi = hi + pd.Timedelta(days=60)
        print("=" * 90, f"\n{pid} true line {b.line} {b.start_date.date()} {b.regimen} [{b.cause}]")
        print(tl[tl.patient_id == pid][[*cols, "regimen", "end_reason"]].to_string(index=False))
        print(dl[dl.patient_id == pid][[*cols, "drugs"]].to_string(index=False))
        for t, key in ((adm, "drug"), (proc, "procedure")):
            w = t[(t.patient_id == pid) & (t.date >= lo) & (t.date <= hi)]
            if len(w):
                print(w.groupby(key).date.agg(["min", "max", "count"]).sort_values("min"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dir", type=Path, required=True)
    ap.add_argument("--patients", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=20261204)
    ap.add_argument("--rules", type=Path, default=None)
    ap.add_argument("--show", type=int, default=5)
    args = ap.parse_args()
    if not (args.dir / "raw").is_dir():
        write_simulated(args.patients, args.dir, seed=args.seed, format="parquet", raw=True)
    tl, dl = _frames(args.dir, args.rules)
    bad = classify(tl, dl)
    print(f"true lines {len(tl)}, derived {len(dl)}, unmatched {len(bad)}")
    print(bad.cause.value_counts().to_string())
    show(bad, tl, dl, args.dir, args.show)


if __name__ == "__main__":
    main()
