"""Simulated consortia: sites of different sizes and seeds, and one site without events."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import pytest

from aftercar import pipeline
from aftercar.config import load_config
from aftercar.federated.summary import site_summary
from aftercar.schema import Col
from aftercar.simulate import write_simulated

#: Site names and shares of the simulated consortium; the last site has no event.
SITES = ("Alpha", "Bravo", "Charlie", "Delta", "Echo")
SHARES = (0.34, 0.2, 0.26, 0.14, 0.06)
PATIENTS, SEED = 300, 2026


@dataclass(frozen=True)
class Site:
    name: str
    derived: object


def _no_events(folder: Path, site: str) -> None:
    """The site's patients all alive at last follow-up, none with a progression recorded."""
    pts = pd.read_csv(folder / "patients.csv", dtype=str)
    quiet = pts[Col.SITE] == site
    ids = set(pts.loc[quiet, Col.PATIENT_ID])
    last = pts[Col.LAST_FOLLOWUP_DATE].fillna(pts[Col.DEATH_DATE])
    pts.loc[quiet, Col.LAST_FOLLOWUP_DATE] = last[quiet]
    pts.loc[quiet, Col.DEATH_DATE] = None
    pts.to_csv(folder / "patients.csv", index=False)
    lines = pd.read_csv(folder / "lines.csv", dtype=str)
    mine = lines[Col.PATIENT_ID].isin(ids)
    lines.loc[mine, Col.PROGRESSION_DATE] = None
    lines.loc[mine, Col.END_REASON] = lines.loc[mine, Col.END_REASON].replace(
        "progression", "toxicity"
    )
    lines.to_csv(folder / "lines.csv", index=False)


def make_sites(root: Path, config) -> list[Site]:
    """One simulated cohort over five sites, derived once and split by site (each
    patient's derivation is the patient's own, so this equals deriving each site)."""
    folder = root / "consortium"
    params = {"baseline": {"sites": list(SITES), "site_probs": list(SHARES)}}
    write_simulated(PATIENTS, folder, seed=SEED, params=params)
    _no_events(folder, SITES[-1])
    data = pipeline.read(folder, config)
    classified = pipeline.classify(data.lines.column(Col.REGIMEN).to_pandas(), config)
    derived = pipeline.derive(data, classified, config)
    pts, lines = derived.patients, derived.lines
    out = []
    for name in SITES:
        mine = pts[Col.SITE] == name
        ids = set(pts.loc[mine, Col.PATIENT_ID])
        part = replace(
            derived,
            patients=pts.loc[mine].reset_index(drop=True),
            lines=lines.loc[lines[Col.PATIENT_ID].isin(ids)].reset_index(drop=True),
        )
        out.append(Site(name, part))
    return out


def summarise(site: Site, config, k=None) -> dict:
    with pytest.MonkeyPatch.context() as mp:  # as _no_fisher_enumeration, for session fixtures
        mp.setattr("aftercar.analysis.summaries.FISHER_MAX_N", 0)
        return site_summary(
            site.derived,
            site=site.name,
            rules=config.endpoints,
            options=config.analysis,
            config_hash=config.config_hash(),
            suppress_below=k,
        )


@pytest.fixture(scope="module", autouse=True)
def _no_fisher_enumeration():
    """ORR-by-category tables use Pearson's chi-square here, in the pooled and the
    concatenated analyses alike: Fisher's network algorithm takes seconds per call
    on these sparse tables and is tested in tests/stats (both paths call table_test).
    Module scope: a session-scoped patch here would outlive this folder and change the
    ORR test of every later test's analysis."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("aftercar.analysis.summaries.FISHER_MAX_N", 0)
        yield


@pytest.fixture(scope="session")
def config():
    return load_config()


@pytest.fixture(scope="session")
def sites(tmp_path_factory, config) -> list[Site]:
    return make_sites(tmp_path_factory.mktemp("federated"), config)


@pytest.fixture(scope="session")
def summaries(sites, config) -> list[dict]:
    return [summarise(s, config) for s in sites]


@pytest.fixture(scope="session")
def summaries_k5(sites, config) -> list[dict]:
    return [summarise(s, config, k=5) for s in sites]


@pytest.fixture(scope="session")
def summarise_site():
    """:func:`summarise` as a fixture: ``from conftest import ...`` is ambiguous when
    another test folder's conftest was imported first under the same module name."""
    return summarise
