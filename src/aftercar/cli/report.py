"""``aftercar report``: a cohort in, a publication-ready HTML report and results.json out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from aftercar.cli.validate import AgeRange, DateFormats, EarliestDate
from aftercar.errors import InputError

#: Share of the progress bar taken by the analysis pipeline (the rest is rendering).
_PIPELINE_SHARE = 60.0


def _resolve_cohort(cohort: Path | None, demo: bool) -> Path:
    if demo and cohort is not None:
        raise InputError(
            "give either a COHORT path or --demo, not both. "
            "Fix: `aftercar report COHORT -o OUT` or `aftercar report --demo -o OUT`."
        )
    if demo:
        from aftercar.simulate import demo_cohort_path

        return Path(demo_cohort_path())
    if cohort is None:
        raise InputError(
            "no cohort given. Fix: `aftercar report COHORT -o OUT` (a folder with patients/lines "
            "files or an .xlsx workbook), or `aftercar report --demo -o OUT`."
        )
    return cohort


def _derived_if_raw(path: Path, output: Path, force: bool) -> Path:
    """A raw-records folder is derived first (``aftercar derive``) into OUTDIR's sibling."""
    from aftercar.derive.raw import derive_folder, is_raw_folder

    if not is_raw_folder(path):
        return path
    from aftercar.report.output import check_target

    check_target(output, [path], force=force)
    target = output.with_name(f"{output.name}-derived-cohort")
    typer.echo(f"{path} holds raw records: deriving the curated cohort into {target}")
    return Path(derive_folder(path, target))


def _derived_if_omop(source: str | None, engine: str, output: Path, force: bool,
                     schema: str | None = None,
                     concepts: Path | None = None) -> Path | None:  # fmt: skip
    """``--omop SOURCE``: derive the OMOP instance first into OUTDIR's sibling folder."""
    if source is None:
        if schema is not None or concepts is not None:
            raise InputError("--schema and --concepts describe an OMOP source. Fix: give them "
                             "with --omop SOURCE, or leave them out.")  # fmt: skip
        return None
    from aftercar.backends import connect
    from aftercar.derive.omop import derive_omop_folder
    from aftercar.report.output import check_target

    check_target(output, [Path(source)], force=force)
    target = output.with_name(f"{output.name}-derived-cohort")
    typer.echo(f"deriving the curated cohort of the OMOP instance {source} into {target}")
    return Path(derive_omop_folder(source, target, con=connect(engine), schema=schema,
                                   concepts=concepts))  # fmt: skip


def _input_bounds(study, earliest_date: str | None, age_range: str | None):
    """Apply --earliest-date / --age-range (parsed as ``aftercar validate`` does)."""
    from aftercar.cli.validate import _age_range, _earliest

    if earliest_date is not None:
        study = study.replace("input", earliest_date=_earliest(earliest_date).isoformat())
    if age_range is not None:
        study = study.replace("input", age_range=list(_age_range(age_range)))
    return study


def study_config(
    path: Path | None, date_format: str | list[str] | None, suppress_below: int | None
):
    """The study TOML (or defaults) with the command-line overrides applied."""
    from aftercar.config import load_config

    config = load_config(path)
    if date_format:
        formats = [date_format] if isinstance(date_format, str) else list(date_format)
        config = config.replace("input", date_format=formats[0] if len(formats) == 1 else formats)
    if suppress_below is not None:
        k = suppression(suppress_below, config)
        config = config.replace("report", suppress_below=k or 0)  # 0: off, as in the TOML
    return config


def suppression(flag: int | None, config) -> int | None:
    """The small-count threshold of a shared output: ``--suppress-below`` (``flag``) when
    given, else the study TOML's ``[report] suppress_below`` (``None``: off).

    Raises
    ------
    InputError
        A flag below 0, or below the study TOML's threshold (0 is off, as the study
        TOML's 0): that is a disclosure rule
        (e.g. a data use agreement's), which a flag lowered in silence until session 27
        (fuzz round 8: 11 in the TOML, 3 used; ``report`` and ``site-summary``).
    """
    floor = config.report.suppress_below
    if flag is None:
        return floor or None
    if flag < 0:
        raise InputError(f"--suppress-below must be 0 (off) or a positive integer, got {flag}. "
                         "Fix: pass e.g. --suppress-below 5, or leave it out.")  # fmt: skip
    if flag == 0 == floor:  # off, as the shipped study default 0 (fuzz round 9: refused)
        return None
    if flag < floor:
        where = Path(config.source)
        raise InputError(
            f"--suppress-below {flag} is below [report] suppress_below = {floor} of {where}: "
            "the study's disclosure threshold cannot be lowered from the command line. Fix: "
            f"leave the flag out, give at least --suppress-below {floor}, or change "
            f"suppress_below in {where.name} if the study allows it."
        )
    return flag


def report(
    cohort: Annotated[
        Path | None,
        typer.Argument(help="Cohort folder (patients/lines CSV or Parquet) or .xlsx workbook."),
    ] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder.")] = Path("report"),
    config: Annotated[
        Path | None, typer.Option("--config", help="Study TOML (see study_defaults.toml).")
    ] = None,
    suppress_below: Annotated[
        int | None,
        typer.Option("--suppress-below", help="Show counts 1..K-1 as '<K' in every output."),
    ] = None,
    date_format: DateFormats = None,
    earliest_date: EarliestDate = None,
    age_range: AgeRange = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Report on the bundled synthetic demo cohort.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Write into a folder that holds the input or files aftercar did not write "
            "(they are left untouched).",
        ),
    ] = False,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="Table 1 by group: a patient column (site, car_t_product, ...) or "
            "relapse_timing; with p-values across groups.",
        ),
    ] = None,
    adam: Annotated[
        bool,
        typer.Option(
            "--adam",
            help="Also write CDISC ADaM datasets (ADSL, ADTTE, ADRS) as CSV and Parquet "
            "under OUTDIR/adam (one row per patient: not with --suppress-below).",
        ),
    ] = False,
    docx: Annotated[
        bool,
        typer.Option(
            "--docx",
            help="Also write report.docx: Table 1, the result tables (editable Word tables) "
            "and the figures.",
        ),
    ] = False,
    reproducible: Annotated[
        bool,
        typer.Option(
            "--reproducible",
            help="Byte-identical outputs for identical input: creation time from "
            "SOURCE_DATE_EPOCH (else 1970-01-01) and no timings.",
        ),
    ] = False,
    omop: Annotated[
        str | None,
        typer.Option("--omop", help="Report on an OMOP CDM instance (DuckDB file or folder of "
                     "Parquet/CSV tables): derived first, as `aftercar derive --omop`."),
    ] = None,
    engine: Annotated[
        str, typer.Option("--engine", help="Engine of the --omop derivation: duckdb or spark.")
    ] = "duckdb",
    schema: Annotated[
        str | None, typer.Option("--schema", help="With --omop: schema of the OMOP tables in a "
                                 "DuckDB file.")
    ] = None,
    concepts: Annotated[
        Path | None,
        typer.Option("--concepts", help="With --omop: TOML of local OMOP concepts "
                     "(ids >= 2,000,000,000), as for `aftercar derive --omop`."),
    ] = None,
) -> None:
    """Analyse a cohort and write report.html, results.json, tables, figures and manifest."""
    from aftercar.pipeline import STEPS, run
    from aftercar.report import write_report
    from aftercar.report.disclosure import without_quoted_values
    from aftercar.report.output import check_target, probe

    if omop is not None and (cohort is not None or demo):
        raise InputError("give one input: a COHORT path, --demo or --omop SOURCE. "
                         "Fix: `aftercar report --omop SOURCE -o OUT`.")  # fmt: skip
    derived = _derived_if_omop(omop, engine, output, force, schema, concepts)
    path = derived or _derived_if_raw(_resolve_cohort(cohort, demo), output, force)
    study = study_config(config, date_format, suppress_below)
    study = _input_bounds(study, earliest_date, age_range)
    if by:
        study = study.replace("analysis", table1_by=by)
    check_target(output, [path], force=force)  # before the analysis: fail fast
    probe(output)
    k = study.report.suppress_below or None
    if adam and k:
        by = ("--suppress-below" if suppress_below is not None else
              f"[report] suppress_below = {k} of {Path(study.source).name}")  # fmt: skip
        raise InputError(
            f"--adam writes one row per patient, which {by} does not allow in a shared "
            "output. Fix: write the ADaM datasets in a separate run without the threshold "
            "(a study TOML with suppress_below = 0) and keep them inside the institution."
        )
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("aftercar report", total=100.0)

        def pipeline_step(step: str, done: int, total: int) -> None:
            bar.update(task, description=step, completed=_PIPELINE_SHARE * done / len(STEPS))

        def render_step(step: str, done: int, total: int) -> None:
            share = (100.0 - _PIPELINE_SHARE) * done / max(total, 1)
            bar.update(task, description=f"report: {step}", completed=_PIPELINE_SHARE + share)

        result = run(
            path,
            config=study,
            synthetic=True if demo else None,
            progress=pipeline_step,
            adam=adam,
        )
        paths = write_report(
            result.report_input,
            output,
            suppress_below=k,
            progress=render_step,
            force=force,
            reproducible=reproducible,
            docx=docx,
        )
        bar.update(task, description="done", completed=100.0)
    # under disclosure control the terminal shows the warnings as warnings.txt holds them
    # (the raw ones quote identifiers, cell values and small counts; console logs are kept)
    shown = without_quoted_values(result.report_input, k).warnings
    _print_warnings(shown, paths.warnings, console)
    typer.echo(f"Report written to {paths.html}")
    typer.echo(f"Results: {paths.results_json}; manifest: {paths.manifest}")
    if paths.docx is not None:
        typer.echo(f"Word: {paths.docx}")


#: Warnings printed at the end of a run (all of them are in warnings.txt).
SHOWN_WARNINGS = 10


def _print_warnings(warnings: tuple[str, ...], path: Path | None, console: Console) -> None:
    """Print the number of warnings and the first ones (the rest are in ``path``)."""
    if not warnings:
        return
    console.print(f"{len(warnings)} warning(s); all are in {path}:", style="yellow", markup=False)
    for text in warnings[:SHOWN_WARNINGS]:
        console.print(f"  - {text}", markup=False, highlight=False, soft_wrap=True)
    if len(warnings) > SHOWN_WARNINGS:
        console.print(f"  ... and {len(warnings) - SHOWN_WARNINGS} more", markup=False)


def register(app: typer.Typer) -> None:
    """Add the ``report`` command to the aftercar CLI."""
    app.command("report")(report)
