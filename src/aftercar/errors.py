"""Exception and warning hierarchy for aftercar.

Every error raised on purpose derives from :class:`AftercarError`; each class
also inherits the matching builtin (``ValueError``, ``RuntimeError``) so that
callers who do not know aftercar can still catch it. The CLI maps these classes
to exit codes (2 = bad input) and never shows a traceback for them.

:class:`CohortError` carries *every* problem found, as :class:`Problem`
records that name the file, the row as a spreadsheet shows it (header = row 1),
the column, the offending value, what is wrong and what to do about it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One problem found in user input.

    Parameters
    ----------
    file
        File name, or ``workbook.xlsx:sheet`` for a sheet of a workbook.
    row
        Row number as a spreadsheet shows it (the header is row 1), or
        ``None`` when the problem concerns the whole file or column.
    column
        Column name as the user wrote it, or ``None``.
    value
        The offending value as text, or ``None``.
    message
        What is wrong, in one sentence.
    hint
        What to do about it.
    severity
        ``"error"`` (the cohort cannot be analysed) or ``"warning"``.
    rule
        A short stable identifier of the rule that fired (for tests and JSON).
    """

    file: str | None
    row: int | None
    column: str | None
    value: str | None
    message: str
    hint: str = ""
    severity: Severity = "error"
    rule: str = ""

    def location(self) -> str:
        """Return ``file, row N, column 'c'`` for the parts that are known."""
        parts = []
        if self.file:
            parts.append(self.file)
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column '{self.column}'")
        return ", ".join(parts) if parts else "input"

    def __str__(self) -> str:
        text = f"{self.location()}: {self.message}"
        if self.value is not None:
            text += f" (value: {self.value!r})"
        if self.hint:
            text += f". Fix: {self.hint}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """Return the problem as a JSON-ready dictionary."""
        return asdict(self)


class AftercarError(Exception):
    """Root of every error aftercar raises on purpose."""

    exit_code: int = 1


class CohortError(AftercarError, ValueError):
    """The cohort input has one or more errors; ``problems`` lists them all."""

    exit_code = 2

    def __init__(self, problems: Iterable[Problem], summary: str | None = None) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        n_err = sum(p.severity == "error" for p in self.problems)
        self.summary = summary or f"{n_err} error(s) in the cohort input"
        super().__init__(self.summary)

    def __str__(self) -> str:
        lines = [self.summary + ":"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class InputError(AftercarError, ValueError):
    """Bad input other than a cohort (a CLI argument, a CSV of curve points...)."""

    exit_code = 2

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        self.problems = tuple(problems)
        super().__init__(message)


class ConfigError(AftercarError, ValueError):
    """The study configuration (TOML) is invalid; ``problems`` lists every issue."""

    exit_code = 2

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        self.problems = tuple(problems)
        super().__init__(message)


class VocabularyError(AftercarError, ValueError):
    """A vocabulary, taxonomy or override file is malformed."""

    exit_code = 2


class OutputError(AftercarError, OSError):
    """An output cannot be written (folder not ours, read-only, disk full, bad path)."""

    exit_code = 2


class DerivationError(AftercarError, RuntimeError):
    """A derivation (lines, responses, endpoints) could not be carried out."""

    exit_code = 1


class ConvergenceError(AftercarError, RuntimeError):
    """An iterative fit (Cox, GEE, MAIC weights) did not converge."""

    exit_code = 1


class AftercarWarning(UserWarning):
    """Root of aftercar's domain warnings (actionable, never silent)."""


class DataWarning(AftercarWarning):
    """Input data is usable but questionable (e.g. an unrecognized regimen)."""


class StatisticalWarning(AftercarWarning):
    """An analysis is valid but should be read with care (e.g. few events)."""
