"""The ``aftercar`` command line: parsing, progress and exit codes only.

Every subcommand lives in its own module of this package and exposes
``register(app)``. Errors are mapped to exit codes here, once:

* ``0``: success (warnings may have been printed);
* ``2``: bad input (cohort, configuration, arguments, missing files), with a
  message that names what is wrong and how to fix it, never a traceback;
* ``1``: an analysis could not be completed (e.g. a model did not converge).
"""

from __future__ import annotations

import importlib
import re
import sys

import typer
from rich.console import Console
from rich.markup import escape

from aftercar import __version__
from aftercar.errors import AftercarError

app = typer.Typer(
    name="aftercar",
    help="Outcomes research after BCMA-directed CAR T in multiple myeloma.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Subcommand modules, each with a ``register(app)`` function.
COMMAND_MODULES: tuple[str, ...] = (
    "validate",
    "template",
    "simulate",
    "derive",
    "report",
    "regimens",
    "benchmark",
    "federated",
)


@app.callback()
def _root() -> None:
    """Outcomes research after BCMA-directed CAR T in multiple myeloma."""


@app.command("version")
def version() -> None:
    """Print the aftercar version."""
    typer.echo(__version__)


for _name in COMMAND_MODULES:
    importlib.import_module(f"aftercar.cli.{_name}").register(app)


def _print_error(console: Console, exc: BaseException | str) -> None:
    # Escape the message: it quotes user values and TOML sections such as
    # "[endpoints]", which rich would otherwise swallow as markup tags.
    console.print(
        f"[bold red]error:[/] {escape(str(exc))}", highlight=False, markup=True, soft_wrap=True
    )


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code.

    Usage errors (unknown option, missing argument) are reported by typer with
    exit code 2; aftercar's own errors are printed without a traceback and
    mapped to their ``exit_code``.
    """
    err = Console(stderr=True)
    try:
        app(args=argv, prog_name="aftercar")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except AftercarError as exc:
        _print_error(err, exc)
        return exc.exit_code
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        _print_error(err, f"{exc.strerror or exc}: {exc.filename}. Fix: check the path.")
        return 2
    except Exception as exc:
        reason = unreadable_input(exc)
        if reason is None:
            raise
        _print_error(err, reason)
        return 2
    return 0


#: Engine errors raised while reading a user's file (DuckDB, Arrow): the file's content,
#: not aftercar, is at fault. Matched by class name, so that neither engine is imported here.
_READ_ERRORS = {"ConversionException", "InvalidInputException", "IOException",
                "ArrowInvalid", "UnicodeDecodeError"}  # fmt: skip


def unreadable_input(exc: BaseException) -> str | None:
    """The message for an input file an engine could not read (``None``: another error).

    The engine's own text names the file, line, column or value it stopped at; the fix
    lists what aftercar reads.
    """
    if type(exc).__name__ not in _READ_ERRORS:
        return None
    # the engine's query ("LINE 1: ... SELECT ...") is aftercar's, not the user's
    text = " ".join(re.split(r"\s+LINE \d+:", str(exc))[0].split())[:600]
    fix = next((f for pattern, f in _READ_FIXES if re.search(pattern, text)),
               "give each table as a UTF-8, comma-separated CSV file or a Parquet file (a "
               "DuckDB database for --omop), with dates as YYYY-MM-DD and ids as whole "
               "numbers")  # fmt: skip
    return f"an input file could not be read: {text}. Fix: {fix}."


#: The fix of an engine's read error by its text (fuzzing, 2026-12-07: a locked DuckDB file or
#: a damaged Parquet file was told to be saved as CSV).
_READ_FIXES = (
    (r"Could not set lock", "close the program that has the DuckDB file open (or work on a "
                            "copy of the file), then run again"),
    (r"(?i)magic bytes|not a parquet file|invalid parquet|corrupt", "the Parquet file is "
     "damaged or not Parquet: export it again"),
    (r"(?i)not a valid DuckDB database|database file .* is not valid|Could not read from file",
     "the DuckDB file is damaged or not a DuckDB database: export it again"),
    (r"UINT64|out of range for the destination type INT64",
     "store ids as signed 64-bit integers (BIGINT), as the OMOP CDM declares them"),
)


def run() -> None:
    """Console-script entry point: exit with :func:`main`'s code."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
