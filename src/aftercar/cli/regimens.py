"""``aftercar regimens classify|explain``: map free-text regimens to drugs and categories.

``classify INPUT -o OUT.csv`` reads a CSV/XLSX with a regimen column (default: a
column named ``regimen``, any case) or a text file with one regimen per line and
writes one row per input row. ``explain TEXT`` shows how one text was read.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from aftercar.cli.paths import output_file
from aftercar.errors import InputError
from aftercar.schema import Col

if TYPE_CHECKING:
    import pyarrow as pa


regimens_app = typer.Typer(
    help="Map free-text regimens to drugs, procedures, therapy category and flags.",
    no_args_is_help=True,
)

_TABLE_SUFFIXES = {".csv", ".xlsx", ".xlsm"}
_SHOW_UNRECOGNIZED = 20

TaxonomyOpt = Annotated[
    Path | None, typer.Option("--taxonomy", help="Taxonomy TOML (default: the shipped one).")
]
OverridesOpt = Annotated[
    Path | None, typer.Option("--overrides", help="Per-study override file (CSV or TOML).")
]


def _pick_column(columns: list[str], wanted: str | None) -> str | None:
    target = (wanted or Col.REGIMEN).casefold()
    matches = [c for c in columns if str(c).strip().casefold() == target]
    return matches[0] if matches else None


def _no_column(path: Path, wanted: str | None, found: dict[str, list[str]]) -> InputError:
    listing = "; ".join(f"{where}: {', '.join(map(str, cols))}" for where, cols in found.items())
    name = wanted or Col.REGIMEN
    return InputError(
        f"{path}: no column named {name!r} (columns found - {listing}). "
        "Fix: pass --column NAME with the column that holds the regimen texts."
    )


def _read_table(path: Path, column: str | None) -> tuple[list[str | None], list[int], str]:
    import pandas as pd

    if path.suffix.lower() == ".csv":
        try:
            sheets = {
                path.name: pd.read_csv(
                    path, dtype=str, keep_default_na=False, skip_blank_lines=False
                )
            }
        except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputError(
                f"{path}: cannot be read as CSV ({exc}). Fix: save as UTF-8 CSV."
            ) from exc
    else:
        try:
            sheets = pd.read_excel(path, sheet_name=None, dtype=str)
        except (ValueError, OSError) as exc:
            raise InputError(f"{path}: cannot be read as a workbook ({exc}).") from exc
    found = {}
    for sheet, frame in sheets.items():
        name = _pick_column([str(c) for c in frame.columns], column)
        if name is not None:
            values = frame[name].astype(object).where(frame[name].notna(), None).tolist()
            where = path.name if path.suffix.lower() == ".csv" else f"{path.name}:{sheet}"
            return values, list(range(2, len(values) + 2)), where
        found[str(sheet)] = [str(c) for c in frame.columns]
    raise _no_column(path, column, found)


def _read_lines(path: Path) -> tuple[list[str | None], list[int], str]:
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc}). Fix: save the file as UTF-8.") from exc
    return [ln if ln.strip() else None for ln in lines], list(range(1, len(lines) + 1)), path.name


def read_regimen_input(
    path: Path, column: str | None = None
) -> tuple[list[str | None], list[int], str]:
    """Read regimen texts, their row numbers and a file label from ``path``."""
    if not path.is_file():
        raise InputError(f"{path}: file not found. Fix: check the path.")
    if path.suffix.lower() in _TABLE_SUFFIXES:
        return _read_table(path, column)
    if column is not None:
        raise InputError(
            f"{path}: --column applies to CSV/XLSX input; a text file has one regimen per line. "
            "Fix: drop --column or give a .csv/.xlsx file."
        )
    return _read_lines(path)


def _summary(console: Console, table: pa.Table, out: Path) -> None:
    import pyarrow.compute as pc

    counts = {
        c["values"]: c["counts"] for c in pc.value_counts(table.column(Col.CATEGORY)).to_pylist()
    }
    n_unique = pc.count_distinct(table.column("text"), mode="all").as_py()
    console.print(f"classified {table.num_rows} row(s) ({n_unique} distinct) -> {out}")
    summary = Table(title="Categories", title_justify="left")
    summary.add_column(Col.CATEGORY)
    summary.add_column("rows", justify="right")
    for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0]))):
        summary.add_row("(missing text)" if name is None else escape(name), str(n))
    console.print(summary)


def _warn_rule(console: Console, rule: str, problems: list, total: int) -> None:
    table = Table(
        title=f"[yellow]warning[/] {rule} ({total} row(s))",
        caption=f"Fix: {problems[0].hint}",
        title_justify="left",
        caption_justify="left",
    )
    for name in ("file", "row", "value", "problem"):
        table.add_column(name, overflow="fold")
    for p in problems[:_SHOW_UNRECOGNIZED]:
        table.add_row(escape(p.file or ""), str(p.row), escape(p.value or ""), escape(p.message))
    console.print(table)
    if total > len(problems):
        console.print(f"... and {total - len(problems)} more row(s)")


def _warn(console: Console, problems: list, totals: dict[str, int]) -> None:
    """One table per rule (unrecognized, corrected, sequence, no-therapy), first rows only."""
    by_rule: dict[str, list] = {}
    for p in problems:
        by_rule.setdefault(p.rule, []).append(p)
    for rule, found in by_rule.items():
        _warn_rule(console, rule, found, totals.get(rule, len(found)))


def classify(
    input_path: Annotated[
        Path, typer.Argument(metavar="INPUT", help="CSV/XLSX with a regimen column, or .txt.")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="CSV file to write.")],
    column: Annotated[
        str | None, typer.Option("--column", help="Regimen column (default: 'regimen').")
    ] = None,
    taxonomy: TaxonomyOpt = None,
    overrides: OverridesOpt = None,
) -> None:
    """Classify every regimen text of INPUT and write one row per input row."""
    import pyarrow as pa

    from aftercar.io import neutralise_table
    from aftercar.io.csv_out import write_csv
    from aftercar.vocab import (
        classify_regimens,
        default_vocabulary,
        load_overrides,
        load_taxonomy,
        regimen_problems,
    )
    from aftercar.vocab.problems import count_regimen_problems

    if not output.parent.is_dir():
        raise InputError(f"{output.parent}: folder does not exist. Fix: create it first.")
    output_file(output)
    texts, rows, where = read_regimen_input(input_path, column)
    vocab = default_vocabulary()
    tax = load_taxonomy(taxonomy, vocabulary=vocab) if taxonomy is not None else None
    ovr = load_overrides(overrides, vocabulary=vocab) if overrides is not None else None
    table = classify_regimens(pa.array(texts, type=pa.string()), taxonomy=tax, overrides=ovr)
    write_csv(neutralise_table(table), output)  # no live formula in a spreadsheet
    console = Console(highlight=False)
    _summary(console, table, output)
    problems = regimen_problems(
        texts,
        rows,
        file=where,
        overrides=ovr,
        taxonomy=tax,
        classified=table,
        max_per_rule=_SHOW_UNRECOGNIZED,
    )
    _warn(console, problems, count_regimen_problems(table, taxonomy=tax))


def explain(
    text: Annotated[str, typer.Argument(help='A regimen text, e.g. "Dara-KPd".')],
    taxonomy: TaxonomyOpt = None,
    overrides: OverridesOpt = None,
) -> None:
    """Show how one regimen text is read: each piece, then category and flags."""
    from aftercar.vocab import (
        classify_text,
        default_taxonomy,
        default_vocabulary,
        load_overrides,
        load_taxonomy,
        parse_regimen,
        suggest,
    )

    vocab = default_vocabulary()
    tax = load_taxonomy(taxonomy, vocabulary=vocab) if taxonomy is not None else default_taxonomy()
    ovr = load_overrides(overrides, vocabulary=vocab) if overrides is not None else None
    if ovr is not None:
        ovr.check(tax)
    parsed = parse_regimen(text, vocabulary=vocab)
    result = classify_text(text, taxonomy=tax, overrides=ovr, vocabulary=vocab)
    console = Console(highlight=False)
    tokens = Table(title=escape(f"How {text!r} was read"), title_justify="left")
    for name in ("piece", "read as", "meaning", "why"):
        tokens.add_column(name, overflow="fold")
    for t in parsed.tokens:
        style = "yellow" if t.kind == "unrecognized" else ""
        guess = suggest(t.text, vocab) if style else None
        how = f"{t.how} (did you mean {guess}?)" if guess else t.how
        tokens.add_row(
            escape(t.text), f"[{style}]{t.kind}[/]" if style else t.kind, "; ".join(t.names), how
        )
    console.print(tokens)
    out = Table(show_header=False, title="Result", title_justify="left")
    out.add_column("field", style="bold")
    out.add_column("value", overflow="fold")
    for name in (
        Col.DRUGS,
        "procedures",
        Col.CATEGORY,
        Col.TCE,
        Col.BCMA_DIRECTED,
        "targets",
        "unrecognized",
        "corrections",
        "sequence",
        "sequence_steps",
        "annotations",
        "mapped_by",
    ):
        value = getattr(result, name)
        out.add_row(name, "" if value is None else escape(str(value)))
    console.print(out)


def register(app: typer.Typer) -> None:
    """Add the ``regimens`` command group (``classify``, ``explain``) to ``app``."""
    regimens_app.command("classify")(classify)
    regimens_app.command("explain")(explain)
    app.add_typer(regimens_app, name="regimens")
