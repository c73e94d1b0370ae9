"""The shipped synthetic demo cohort (79 patients, fixed seed).

The demo cohort is the simulator's output for :data:`DEMO_SEED` and
:data:`DEMO_PATIENTS`, written with :func:`aftercar.io.write_cohort` as CSV with
the file prefix ``synthetic_demo_`` so that it is labelled synthetic wherever it
appears. It is package data (``aftercar/data/demo/``); the test suite checks that
the shipped files equal a fresh regeneration.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from aftercar.simulate.cohort import simulate_cohort

#: 79 patients, as in the index study (Van Oekelen et al., Blood 2023;141:756).
DEMO_PATIENTS = 79
#: Seed of the demo cohort (see ``data/demo/README.md`` for how it was chosen).
DEMO_SEED = 42
#: File-name prefix marking the demo files as synthetic.
DEMO_PREFIX = "synthetic_demo_"


def demo_cohort_path() -> Path:
    """Return the folder holding the synthetic demo cohort (CSV, curated format).

    Examples
    --------
    >>> from aftercar.simulate import demo_cohort_path
    >>> sorted(p.name for p in demo_cohort_path().glob("*.csv"))
    ['synthetic_demo_lines.csv', 'synthetic_demo_patients.csv']
    """
    return Path(str(resources.files("aftercar.data").joinpath("demo")))


def write_demo_cohort(out: str | Path) -> tuple[Path, ...]:
    """Regenerate the demo cohort files into ``out`` (used to build and test them)."""
    from aftercar.io.writer import write_cohort

    cohort = simulate_cohort(DEMO_PATIENTS, seed=DEMO_SEED)
    return write_cohort(cohort.patients, cohort.lines, out, format="csv", prefix=DEMO_PREFIX)
