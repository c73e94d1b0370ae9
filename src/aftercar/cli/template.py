"""``aftercar template -o cohort.xlsx``: write an empty cohort workbook to fill."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from aftercar.errors import InputError

if TYPE_CHECKING:
    pass


def template(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Workbook to write (.xlsx).")
    ] = Path("cohort.xlsx"),
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Write an empty cohort workbook: patients and lines sheets, notes, drop-down lists."""
    from aftercar.io.template import write_template

    if output.suffix.lower() != ".xlsx":
        raise InputError(
            f"{output}: the template is an Excel workbook. Fix: give a file name "
            "ending in .xlsx, e.g. -o cohort.xlsx"
        )
    if output.exists() and not force:
        raise InputError(f"{output} already exists. Fix: choose another name or pass --force")
    if not output.parent.is_dir():
        raise InputError(f"{output.parent} is not a folder. Fix: create it first")
    write_template(output)
    typer.echo(
        f"wrote {output}: fill in the patients and lines sheets, then run "
        f"'aftercar validate {output}'"
    )


def register(app: typer.Typer) -> None:
    """Add the ``template`` command to ``app``."""
    app.command("template")(template)
