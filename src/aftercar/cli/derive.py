"""``aftercar derive``: raw records (administrations, procedures, labs) or an OMOP CDM
instance (``--omop``) in, a curated cohort out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from aftercar.cli.paths import cohort_folder
from aftercar.errors import InputError

#: Steps reported by :func:`aftercar.derive.raw.derive.derive_raw` (for the progress bar).
_STEPS = 7
_FORMATS = ("csv", "parquet", "xlsx")


def derive(
    rawdir: Annotated[
        Path | None,
        typer.Argument(
            help="Raw folder (patients, administrations, "
            "procedures, labs; CSV or Parquet; or its raw/). Not with --omop."
        ),
    ] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Cohort folder to write.")] = ...,
    rules: Annotated[
        Path | None, typer.Option("--rules", help="TOML overriding lot_rules / imwg_rules keys.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv, parquet or xlsx.")] = "csv",
    omop: Annotated[
        str | None,
        typer.Option("--omop", help="OMOP CDM source: a DuckDB file, a folder of Parquet/CSV "
                     "tables, or (--engine spark) a catalog schema."),
    ] = None,
    schema: Annotated[
        str | None, typer.Option("--schema", help="Schema of the OMOP tables in a DuckDB file.")
    ] = None,
    engine: Annotated[str, typer.Option("--engine", help="duckdb or spark.")] = "duckdb",
    concepts: Annotated[
        Path | None,
        typer.Option("--concepts", help="TOML of local OMOP concepts (ids >= 2,000,000,000)."),
    ] = None,
    write_episodes: Annotated[
        bool,
        typer.Option("--write-episodes", help="Also write the lines as OMOP EPISODE and "
                     "EPISODE_EVENT rows (OUT/episodes/; and into a DuckDB source)."),
    ] = False,
    batch_persons: Annotated[
        int | None,
        typer.Option("--batch-persons", help="OMOP: derive this many persons with myeloma "
                     "at a time (the others are only counted), outputs streamed to disk "
                     "(memory of one batch); 0 = one batch. Default: 25,000 on DuckDB, one "
                     "batch on Spark."),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="OMOP: keep each finished batch in "
                     "OUT/.aftercar-batches/ and, run again with the same options after a "
                     "stop, take up at the first batch not done."),
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Write into OUT even when it holds a cohort aftercar did "
                     "not write (its patients and lines files are replaced)."),
    ] = False,
) -> None:
    """Derive lines of therapy and IMWG responses from raw records or an OMOP CDM instance
    (--omop; docs/omop.md): curated cohort + audit."""
    if fmt not in _FORMATS:
        raise InputError(f"--format must be one of {', '.join(_FORMATS)}, not {fmt!r}. "
                         "Fix: pass --format csv, parquet or xlsx.")  # fmt: skip
    if omop is not None and rawdir is not None:
        raise InputError("give either RAWDIR or --omop SOURCE, not both. Fix: "
                         "`aftercar derive --omop SOURCE -o OUT`.")  # fmt: skip
    if write_episodes and omop is None:
        raise InputError("--write-episodes writes OMOP EPISODE rows and needs --omop SOURCE. "
                         "Fix: `aftercar derive --omop SOURCE -o OUT --write-episodes`.")
    if resume and omop is None:
        raise InputError("--resume takes up a batched OMOP derivation and needs --omop "
                         "SOURCE. Fix: `aftercar derive --omop SOURCE -o OUT --resume`.")
    if batch_persons is not None and batch_persons < 0:
        raise InputError(f"--batch-persons must be >= 0, not {batch_persons}. Fix: pass a "
                         "number of persons per batch, or 0 for one batch.")  # fmt: skip
    if batch_persons is not None and 0 < batch_persons < SMALL_BATCH:
        # each batch pays a fixed few seconds whatever its size (fuzz round 8, session 27:
        # --batch-persons 1 on 30 persons ran past a minute where one batch took 7 s)
        typer.echo(f"note: --batch-persons {batch_persons}: each batch costs a few seconds "
                   f"whatever its size; batches of at least {SMALL_BATCH:,} persons (or 0, one "
                   "batch) are much faster. Memory follows the batch size (docs/omop.md).",
                   err=True)  # fmt: skip
    _not_the_input(Path(omop) if omop is not None else rawdir, output)
    cohort_folder(output, force=force)
    if omop is not None:
        opts = _OmopOptions(schema, engine, concepts, write_episodes,
                            batch_size(batch_persons, engine), resume)  # fmt: skip
        _derive_omop(omop, output, rules, fmt, opts)
        return
    if rawdir is None:
        raise InputError("no input given. Fix: `aftercar derive RAWDIR -o OUT` or "
                         "`aftercar derive --omop SOURCE -o OUT`.")
    _derive_raw(rawdir, output, rules, fmt)


def _not_the_input(source: Path | None, output: Path) -> None:
    """Refuse an output folder that is the input folder: the cohort's ``patients`` file
    would overwrite the raw ``patients`` table (and OMOP tables would sit beside it)."""
    if source is None or not source.is_dir():
        return
    if output.resolve() == source.resolve():
        raise InputError(f"the output folder {output} is the input folder: the derived "
                         "cohort would overwrite or mix with the input tables. Fix: choose "
                         "another folder with -o (e.g. -o derived).")  # fmt: skip


def _derive_raw(rawdir: Path, output: Path, rules, fmt: str) -> None:
    """``aftercar derive RAWDIR``: raw records -> curated cohort + audit."""
    from aftercar.derive.raw.derive import derive_raw
    from aftercar.derive.raw.labs import unread_tests
    from aftercar.derive.raw.read import read_raw, replaced_columns
    from aftercar.derive.raw.rules import load_rules
    from aftercar.derive.raw.write import write_derivation, writing

    if not rawdir.is_dir():
        raise InputError(f"{rawdir}: not a folder. Fix: give the folder that holds the raw "
                         "tables (patients, administrations, procedures, labs).")  # fmt: skip
    rule_set = load_rules(rules)
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("reading raw records", total=_STEPS + 2)
        raw = read_raw(rawdir)
        unread = unread_tests(raw["labs"], rule_set)

        def step(text: str) -> None:
            bar.update(task, description=text, advance=1)

        result = derive_raw(raw, rules=rule_set, progress=step, release=True)
        bar.update(task, description="writing", advance=1)
        with writing(output):
            written = write_derivation(result, output, fmt)
        bar.update(task, description="done", completed=_STEPS + 2)
    n_lines = result.lines.num_rows
    typer.echo(f"{result.patients.num_rows} patients, {n_lines} lines written to {output}; "
               f"{result.attrition.num_rows} raw rows not used (see audit/attrition).")  # fmt: skip
    typer.echo(f"Files: {', '.join(str(p) for p in written[:2])} and audit/.")
    replaced = replaced_columns(raw["patients"])
    if replaced:
        typer.echo(f"patients: column(s) {', '.join(replaced)} not read: the derivation dates "
                   "the index progression and grades the CAR-T response from the labs (see "
                   "audit/lines and audit/assessments). To keep the given values, rename "
                   "the columns (e.g. chart_progression_date): they are then passed "
                   "through.")  # fmt: skip
    if unread:
        names = ", ".join(f"{name!r} ({n} rows)" for name, n in unread)
        typer.echo(f"Lab tests the IMWG criteria do not read (rows in audit/attrition): {names}. "
                   "If one is an M-protein, light-chain, immunofixation or marrow test, add its "
                   "name to [tests] in a --rules TOML.")  # fmt: skip
    if result.patients.num_rows == 0:
        raise InputError(_no_patient(result.attrition, raw["patients"].num_rows, written))


def _no_patient(attrition, n_raw: int, written: list[Path]) -> str:
    """Why an empty cohort stops the run (exit 2): the audit is written, so that the user
    sees in ``audit/attrition`` why each patient was left out; the commonest reasons are
    quoted."""
    import pyarrow.compute as pc

    path = next((p for p in written if p.stem == "attrition"), Path("audit/attrition.csv"))
    counts = sorted(pc.value_counts(attrition["reason"]).to_pylist(), key=lambda c: -c["counts"])
    why = "; ".join(f"{c['values']} ({c['counts']} rows)" for c in counts[:3])
    return (f"no patient qualified for the cohort: see {path} ({n_raw} patient(s) in the raw "
            f"records, {attrition.num_rows} raw rows not used"
            + (f"; most often: {why}" if why else "") + "). Fix: a patient enters the cohort "
            "at a confirmed IMWG progression (or new anti-myeloma therapy) after the index "
            "CAR-T infusion and before death / last follow-up; check car_t_date, "
            "death_date and last_followup_date in patients, and the labs and administrations "
            "after the infusion.")  # fmt: skip


#: Persons per batch below which ``--batch-persons`` gets a note on its cost.
SMALL_BATCH = 1_000


def batch_size(batch_persons: int | None, engine: str) -> int:
    """``--batch-persons`` as given, else the engine's default: DuckDB
    :data:`~aftercar.derive.omop.batched.DEFAULT_BATCH_PERSONS`, Spark one batch (0)."""
    if batch_persons is not None:
        return batch_persons
    from aftercar.derive.omop.batched import DEFAULT_BATCH_PERSONS

    return DEFAULT_BATCH_PERSONS if engine == "duckdb" else 0


@dataclass(frozen=True)
class _OmopOptions:
    """The ``--omop`` options of ``aftercar derive``."""

    schema: str | None
    engine: str
    concepts: Path | None
    episodes: bool
    batch_persons: int
    resume: bool = False


def _derive_omop(source: str, output: Path, rules, fmt: str, o: _OmopOptions) -> None:
    """``aftercar derive --omop``: OMOP tables -> raw tables -> the same derivation.

    DuckDB: in batches of persons, streamed to disk
    (:func:`aftercar.derive.omop.derive_omop_batched`); Spark: in one run unless
    ``--batch-persons`` asks for batches (then the same batched path on the Spark session).
    """
    from aftercar.derive.raw.rules import load_rules

    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("reading OMOP tables", total=None)

        def step(text: str) -> None:
            bar.update(task, description=text, advance=1)

        one_run = o.engine != "duckdb" and o.batch_persons == 0 and not o.resume
        run = (_omop_one_run if one_run else _omop_batched)(
            source, output, load_rules(rules), fmt, o, step)  # fmt: skip
        bar.update(task, description="done")
    for s, n in zip(run.steps["step"].to_pylist(), run.steps["persons"].to_pylist(),
                    strict=True):  # fmt: skip
        typer.echo(f"{n:>10,}  {s}")
    typer.echo(f"{run.patients} patients, {run.lines} lines written to {output}; "
               f"{run.unused} OMOP rows not used (see audit/attrition).")  # fmt: skip
    if run.unit_conflicts:
        typer.echo(f"{run.unit_conflicts} measurement rows give a unit_source_value that "
                   "names another unit than their unit_concept_id: read in the concept's "
                   "unit (the CDM's standard field); check them in audit/unit_conflicts.")
    if run.assessments == 0 and run.patients:
        typer.echo("No IMWG assessment was derived: measurement holds no readable IMWG test "
                   "of the cohort's persons, so each index date is the first therapy after "
                   "the CAR T and no response is graded; check measurement (docs/omop.md, "
                   "labs).")  # a header-only table passed without a word (fuzzing, 2026-12-07)
    if o.episodes:
        typer.echo(f"EPISODE rows: {output / 'episodes'}"
                   + (f" and the episode tables of {source}" if Path(source).is_file() else ""))
    typer.echo(f"Files: {', '.join(str(p) for p in run.written[:2])} and audit/.")


def _omop_batched(source: str, output: Path, rules, fmt: str, o: _OmopOptions, step):
    """DuckDB (its own capped engine), or batches on a Spark session (``--batch-persons``)."""
    from aftercar.backends import connect
    from aftercar.derive.omop import derive_omop_batched

    con = None if o.engine == "duckdb" else connect(o.engine)
    return derive_omop_batched(source, output, fmt, batch_persons=o.batch_persons, con=con,
                               schema=o.schema, concepts=o.concepts, rules=rules,
                               episodes=o.episodes, progress=step,
                               resume=o.resume)  # fmt: skip


def _omop_one_run(source: str, output: Path, rules, fmt: str, o: _OmopOptions, step):
    """Spark (it spills by itself): one run, its outputs held as Arrow."""
    from aftercar.backends import connect
    from aftercar.derive.omop import BatchedRun, derive_omop, write_omop_derivation
    from aftercar.derive.omop.derive import empty_cohort

    d = derive_omop(source, con=connect(o.engine), schema=o.schema, concepts=o.concepts,
                    rules=rules, progress=step)  # fmt: skip
    step("writing")
    from aftercar.derive.raw.write import writing

    with writing(output):
        written = write_omop_derivation(d, output, fmt, episodes=o.episodes, source=source,
                                        schema=o.schema)  # fmt: skip
    nobody = empty_cohort(d.cohort_steps, output)  # written first: the audit says why
    if nobody is not None:
        raise nobody
    r = d.result
    return BatchedRun(d.cohort_steps, r.patients.num_rows, r.lines.num_rows,
                      r.attrition.num_rows, 1, written,
                      unit_conflicts=r.audit["unit_conflicts"].num_rows,
                      assessments=r.audit["assessments"].num_rows)  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add the ``derive`` command to the aftercar CLI."""
    app.command("derive")(derive)
