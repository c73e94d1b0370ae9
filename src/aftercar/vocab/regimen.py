"""The result types of reading a regimen text: :class:`Token` and :class:`ParsedRegimen`.

Kept apart from the parser so that the parser (tokenising) and ``assemble`` (rules
applied to the tokens) both use them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Token:
    """One piece of a regimen text and how it was read.

    Attributes
    ----------
    text
        The piece as written.
    kind
        ``"drug"``, ``"procedure"``, ``"regimen"`` (a code for several
        agents), ``"target"`` (an antigen word such as BCMA), ``"annotation"``
        or ``"unrecognized"``.
    names
        The drug/procedure names it maps to, or the annotation label.
    how
        Why it was read that way (e.g. ``"letter code K"``,
        ``"corrected from 'Bortezomide' (spelling bortezomid)"``).
    step
        Which step of a sequence ("Tec -> Tal") the piece belongs to, in
        reading order (0 when the text is not a sequence).
    """

    text: str
    kind: str
    names: tuple[str, ...]
    how: str
    step: int = 0


@dataclass(frozen=True)
class ParsedRegimen:
    """A regimen text read into its parts.

    Attributes
    ----------
    text
        The input text.
    drugs
        Agent names (INN, or research code without an INN), sorted, unique.
    procedures
        Procedure names (transplant, radiotherapy...), sorted, unique.
    annotations
        Annotation pieces as ``"label: text"`` in reading order.
    unrecognized
        Words that were not understood, in reading order.
    tokens
        Every piece with how it was read.
    corrections
        Misspellings read as a vocabulary spelling, as ``"written -> name"``.
    steps
        The drug/procedure names of each step of a sequence, in time order
        (one step when the text is not a sequence).
    sequence
        True when two or more steps hold unplanned therapy ("Tec -> Tal",
        "KPd then Dara"); "KRd then R maintenance" is one planned line.
    """

    text: str
    drugs: tuple[str, ...]
    procedures: tuple[str, ...]
    annotations: tuple[str, ...]
    unrecognized: tuple[str, ...]
    tokens: tuple[Token, ...]
    corrections: tuple[str, ...] = ()
    steps: tuple[tuple[str, ...], ...] = ()
    sequence: bool = False

    def to_frame(self):
        """Return the tokens as a pandas DataFrame ``text, kind, names, how``."""
        import pandas as pd

        rows = [(t.text, t.kind, ";".join(t.names), t.how) for t in self.tokens]
        return pd.DataFrame(rows, columns=["text", "kind", "names", "how"])
