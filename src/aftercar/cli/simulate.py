"""``aftercar simulate``: write a synthetic cohort (curated, optionally raw records)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


def simulate(
    out: Annotated[Path, typer.Option("-o", "--out", help="Output folder.")],
    patients: Annotated[int, typer.Option("--patients", help="Number of patients.")] = 79,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed -> same files).")] = 1,
    raw: Annotated[
        bool,
        typer.Option(
            "--raw", help="Also write raw EHR-like records (raw/) with their truth (truth/)."
        ),
    ] = False,
    fmt: Annotated[
        str, typer.Option("--format", help="csv, parquet or xlsx (xlsx: curated, <= 100,000).")
    ] = "csv",
    omop: Annotated[
        bool,
        typer.Option(
            "--omop",
            help="Also write the raw records as an OMOP CDM instance (omop/; implies --raw).",
        ),
    ] = False,
    params: Annotated[
        Path | None,
        typer.Option("--params", help="TOML file overriding keys of simulation.toml."),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Write into OUT even when it holds a cohort aftercar did "
                     "not write (its patients and lines files are replaced)."),
    ] = False,
) -> None:
    """Simulate a synthetic cohort of patients relapsing after BCMA CAR T.

    The model and its calibration (Van Oekelen et al., Blood 2023) are described in
    docs/simulation.md. Without --raw, OUT receives the curated format (patients
    and lines), ready for `aftercar validate` and `aftercar report`. With --omop, OUT/omop
    holds the raw records as an OMOP CDM instance (`aftercar derive --omop OUT/omop`).
    """
    from aftercar.cli.paths import cohort_folder
    from aftercar.simulate.writer import write_simulated

    cohort_folder(out, force=force)
    console = Console(stderr=True)
    columns = (TextColumn("simulating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, disable=patients < 50_000) as bar:
        task = bar.add_task("simulate", total=patients)
        files = write_simulated(
            patients, out, seed=seed, format=fmt.lower(), raw=raw or omop, params=params,
            progress=lambda done: bar.update(task, completed=done),
        )  # fmt: skip
    if omop:
        from aftercar.simulate.omop import write_omop

        omop_fmt = "csv" if fmt.lower() == "csv" else "parquet"
        files = files + write_omop(out / "raw", out / "omop", omop_fmt)
    console.print(f"SYNTHETIC cohort: {patients} patients, seed {seed}", highlight=False)
    for path in files:
        typer.echo(str(path))


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` command to ``app``."""
    app.command("simulate")(simulate)
