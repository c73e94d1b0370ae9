"""Simulated consortia: sites of different sizes and seeds, and one site without events."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from aftercar import pipeline
from aftercar.config import load_config
from aftercar.federated.summary import site_summary
from aftercar.schema import Col
from aftercar.simulate import write_simulated

#: (site, patients, seed) of the simulated sites; the last one has no event.
SITES = (("Alpha", 100, 101), ("Bravo", 60, 202), ("Charlie", 80, 303), ("Delta", 40, 404))
QUIET = ("Echo", 15, 505)


@dataclass(frozen=True)
class Site:
    name: str
    path: Path
    derived: object


def _no_events(folder: Path) -> None:
    """Every patient alive at last follow-up, no progression recorded."""
    pts = pd.read_csv(folder / "patients.csv", dtype=str)
    pts[Col.LAST_FOLLOWUP_DATE] = pts[Col.LAST_FOLLOWUP_DATE].fillna(pts[Col.DEATH_DATE])
    pts[Col.DEATH_DATE] = None
    pts.to_csv(folder / "patients.csv", index=False)
    lines = pd.read_csv(folder / "lines.csv", dtype=str)
    lines[Col.PROGRESSION_DATE] = None
    lines[Col.END_REASON] = lines[Col.END_REASON].replace("progression", "toxicity")
    lines.to_csv(folder / "lines.csv", index=False)


def make_site(root: Path, name: str, n: int, seed: int, config, quiet=False) -> Site:
    folder = root / name
    params = {"baseline": {"sites": [name], "site_probs": [1.0]}}
    write_simulated(n, folder, seed=seed, params=params)
    if quiet:
        _no_events(folder)
    data = pipeline.read(folder, config)
    classified = pipeline.classify(data.lines.column(Col.REGIMEN).to_pandas(), config)
    return Site(name, folder, pipeline.derive(data, classified, config))


def summarise(site: Site, config, k=None) -> dict:
    return site_summary(
        site.derived,
        site=site.name,
        rules=config.endpoints,
        options=config.analysis,
        config_hash=config.config_hash(),
        suppress_below=k,
    )


@pytest.fixture(scope="session", autouse=True)
def _no_fisher_enumeration():
    """ORR-by-category tables use Pearson's chi-square here, in the pooled and the
    concatenated analyses alike: Fisher's network algorithm takes seconds per call
    on these sparse tables and is tested in tests/stats (both paths call table_test)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("aftercar.analysis.summaries.FISHER_MAX_N", 0)
        yield


@pytest.fixture(scope="session")
def config():
    return load_config()


@pytest.fixture(scope="session")
def sites(tmp_path_factory, config) -> list[Site]:
    root = tmp_path_factory.mktemp("consortium")
    out = [make_site(root, name, n, seed, config) for name, n, seed in SITES]
    return [*out, make_site(root, *QUIET, config, quiet=True)]


@pytest.fixture(scope="session")
def summaries(sites, config) -> list[dict]:
    return [summarise(s, config) for s in sites]


@pytest.fixture(scope="session")
def summaries_k5(sites, config) -> list[dict]:
    return [summarise(s, config, k=5) for s in sites]
