"""``aftercar derive``: raw records (administrations, procedures, labs) in, a curated cohort out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from aftercar.errors import InputError

#: Steps reported by :func:`aftercar.derive.raw.derive.derive_raw` (for the progress bar).
_STEPS = 7
_FORMATS = ("csv", "parquet", "xlsx")


def derive(
    rawdir: Annotated[
        Path,
        typer.Argument(
            help="Raw folder (patients, administrations, "
            "procedures, labs; CSV or Parquet; or its raw/)."
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Cohort folder to write.")],
    rules: Annotated[
        Path | None, typer.Option("--rules", help="TOML overriding lot_rules / imwg_rules keys.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv, parquet or xlsx.")] = "csv",
) -> None:
    """Derive lines of therapy and IMWG responses from raw records (curated cohort + audit)."""
    from aftercar.derive.raw.derive import derive_raw
    from aftercar.derive.raw.read import read_raw
    from aftercar.derive.raw.rules import load_rules
    from aftercar.derive.raw.write import write_derivation

    if fmt not in _FORMATS:
        raise InputError(f"--format must be one of {', '.join(_FORMATS)}, not {fmt!r}. "
                         "Fix: pass --format csv, parquet or xlsx.")  # fmt: skip
    if not rawdir.is_dir():
        raise InputError(f"{rawdir}: not a folder. Fix: give the folder that holds the raw "
                         "tables (patients, administrations, procedures, labs).")  # fmt: skip
    rule_set = load_rules(rules)
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("reading raw records", total=_STEPS + 2)
        raw = read_raw(rawdir)

        def step(text: str) -> None:
            bar.update(task, description=text, advance=1)

        result = derive_raw(raw, rules=rule_set, progress=step)
        bar.update(task, description="writing", advance=1)
        written = write_derivation(result, output, fmt)
        bar.update(task, description="done", completed=_STEPS + 2)
    n_lines = result.lines.num_rows
    typer.echo(f"{result.patients.num_rows} patients, {n_lines} lines written to {output}; "
               f"{result.attrition.num_rows} raw rows not used (see audit/attrition).")  # fmt: skip
    typer.echo(f"Files: {', '.join(str(p) for p in written[:2])} and audit/.")


def register(app: typer.Typer) -> None:
    """Add the ``derive`` command to the aftercar CLI."""
    app.command("derive")(derive)
