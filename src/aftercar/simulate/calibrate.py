"""Tune the simulator's calibration knobs to the published targets.

A damped fixed-point iteration: each knob is moved by the ratio (or logit
difference) between its target and the value measured on a simulated cohort,
until every target of ``simulation.toml [targets]`` is met. It prints the tuned
values, which are copied into ``simulation.toml`` by hand (the file keeps its
comments and sources). Run::

    python -m aftercar.simulate.calibrate --patients 200000 --seed 20230213

This is a development tool; the shipped parameters are already calibrated and
``tests/simulate/test_calibration.py`` checks them.
"""

from __future__ import annotations

import argparse
import copy
import re
from pathlib import Path
from typing import Any

import numpy as np

from aftercar.simulate.cohort import simulate_cohort
from aftercar.simulate.metrics import calibration_metrics
from aftercar.simulate.params import load_params

_NON_TCE = ("anti_cd38", "imid_pi", "alkylator", "selinexor", "venetoclax", "belantamab",
            "radiotherapy", "transplant", "other")  # fmt: skip


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def _expit(x: float) -> float:
    return float(1 / (1 + np.exp(-x)))


def _shift_orr(raw: dict[str, Any], arms: tuple[str, ...], target: float, got: float) -> None:
    delta = 0.8 * (_logit(target) - _logit(min(max(got, 1e-3), 1 - 1e-3)))
    for a in arms:
        raw["arms"][a]["orr"] = round(min(_expit(_logit(raw["arms"][a]["orr"]) + delta), 0.985), 4)


def _step(raw: dict[str, Any], m: dict[str, float], t: dict[str, Any]) -> None:
    """One damped update of every knob from the measured metrics ``m``."""
    cal, course = raw["calibration"], raw["course"]
    ratio = t["first_line_median_pfs_months"] / m["first_line_median_pfs_months"]
    cal["pfs_scale"] = round(cal["pfs_scale"] * ratio**0.8, 4)
    os_ratio = (t["median_os_months"] / m["median_os_months"]) ** 0.8
    course["death_hazard_per_month"] = round(course["death_hazard_per_month"] / os_ratio, 5)
    course["terminal_median_months"] = round(course["terminal_median_months"] * os_ratio, 4)
    lines_ratio = (t["mean_lines"] - 1) / max(m["mean_lines"] - 1, 0.1)
    odds = course["continue_prob"] / (1 - course["continue_prob"]) * lines_ratio**1.5
    course["continue_prob"] = round(odds / (1 + odds), 4)
    share = t["tce_patient_share"] / m["tce_patient_share"]
    cal["tce_weight_multiplier"] = round(cal["tce_weight_multiplier"] * share**1.2, 4)
    _shift_orr(raw, _NON_TCE, t["first_line_orr"], m["first_line_orr"])
    _shift_orr(raw, ("car_t_other", "bispecific_other"), t["first_tce_orr"], m["first_tce_orr"])
    _shift_orr(raw, ("car_t_bcma",), t["bcma_car_t_orr"], m["bcma_car_t_orr"])
    _shift_orr(raw, ("bispecific_bcma",), t["bcma_bispecific_orr"], m["bcma_bispecific_orr"])
    bel = t["belantamab_median_pfs_months"] / m["belantamab_median_pfs_months"]
    raw["arms"]["belantamab"]["pfs_factor"] = round(
        raw["arms"]["belantamab"]["pfs_factor"] * bel**0.8, 4
    )


def calibrate(n_patients: int, seed: int, iterations: int) -> dict[str, Any]:
    """Iterate and return the tuned parameter document (printing progress)."""
    raw = copy.deepcopy(dict(load_params().raw))
    targets = raw["targets"]
    for it in range(iterations):
        m = calibration_metrics(simulate_cohort(n_patients, seed=seed + it, params=raw))
        print(f"iteration {it}: " + ", ".join(f"{k}={v:.3f}" for k, v in m.items()))
        _step(raw, m, targets)
    return raw


#: (section, key) pairs the calibration tunes, written back by ``--write``.
TUNED = (
    ("calibration", "tce_weight_multiplier"), ("calibration", "pfs_scale"),
    ("course", "continue_prob"), ("course", "death_hazard_per_month"),
    ("course", "terminal_median_months"),
    *((f"arms.{a}", "orr") for a in (*_NON_TCE, "car_t_bcma", "car_t_other",
                                       "bispecific_bcma", "bispecific_other")),
    ("arms.belantamab", "pfs_factor"),
)  # fmt: skip


def _lookup(raw: dict[str, Any], section: str) -> dict[str, Any]:
    node = raw
    for part in section.split("."):
        node = node[part]
    return node


def write_back(path: Path, raw: dict[str, Any]) -> None:
    """Replace the tuned values in the TOML text, keeping comments and layout."""
    text = path.read_text(encoding="utf-8")
    for section, key in TUNED:
        value = _lookup(raw, section)[key]
        head = text.index(f"[{section}]\n")
        pat = re.compile(rf"^({re.escape(key)}\s*=\s*)([^#\n]*?)(\s*(#.*)?)$", re.M)
        match = pat.search(text, head)
        if match is None:
            raise KeyError(f"{section}.{key} not found in {path}")
        text = text[: match.start(2)] + repr(value) + text[match.end(2) :]
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    """Command-line entry: print the tuned knobs."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--patients", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=20230213)
    ap.add_argument("--iterations", type=int, default=12)
    ap.add_argument("--write", type=Path, help="simulation.toml to update in place")
    args = ap.parse_args(argv)
    raw = calibrate(args.patients, args.seed, args.iterations)
    if args.write:
        write_back(args.write, raw)
    print("[calibration]", raw["calibration"])
    print("[course]", {k: raw["course"][k] for k in
          ("continue_prob", "death_hazard_per_month", "terminal_median_months")})  # fmt: skip
    for name, arm in raw["arms"].items():
        print(f"[arms.{name}] orr = {arm['orr']}  pfs_factor = {arm['pfs_factor']}")


if __name__ == "__main__":  # pragma: no cover
    main()
