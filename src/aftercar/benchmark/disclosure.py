"""Small-count suppression of a benchmark comparison (``benchmark compare --suppress-below``).

A comparison of a cohort with a published benchmark shares the cohort's counts (the
responders and the evaluable lines of a rate; the patients and events of a survival
endpoint) and estimates from which they come back (a rate times its ``n`` gives the
responders; a median with its curve the events). Under disclosure control with
threshold ``K`` (the rule of ``aftercar report --suppress-below``: a count from 1 to
K-1 is never shared, nor derivable from what is), an endpoint comparison is shared only
when every count it rests on, and each complement (non-responders, censored), is 0 or at
least ``K``; otherwise the whole comparison of that endpoint is withheld and a note says
so. A rate's margin counts too: the first-line ORR rests on the first lines not
evaluable, which the report's count of first lines gives back from its ``n`` (fuzzing
round 4: the report hid them, the comparison showed 9/19 of 20). The matching-adjusted
comparison (MAIC), whose unweighted outcomes are the cohort's own, is withheld when the
cohort has fewer than ``K`` patients or an endpoint is
withheld. Counts written in notes (``"3 lines"``) are shown as ``"<K lines"``.

The benchmark's own published figures are public and never suppressed.
"""

from __future__ import annotations

import re
from dataclasses import replace

from aftercar.benchmark.compare import Comparison, RateComparison, SurvivalComparison

__all__ = ["shared_comparison"]

_COUNT_IN_TEXT = re.compile(
    r"(?<![\w.<])(\d+)(\s+(?:(?:first\s+)?(?:line|patient|event|responder|death|progression"
    r"|person)(?:s|\(s\))?|censored)(?![\w(]))"
)


def _small(x: int, k: int) -> bool:
    return 0 < x < k


def _counts(r: RateComparison | SurvivalComparison) -> tuple[int, ...]:
    """The counts a comparison rests on, with their complements."""
    if isinstance(r, RateComparison):
        return r.n, r.responders, r.n - r.responders
    return r.n, r.events, r.n - r.events


def _note(text: str, k: int) -> str:
    return _COUNT_IN_TEXT.sub(
        lambda m: (f"<{k}" if _small(int(m.group(1)), k) else m.group(1)) + m.group(2), text
    )


def shared_comparison(comp: Comparison, k: int | None) -> Comparison:
    """``comp`` as shared under disclosure control with threshold ``k`` (``None``: as is).

    Parameters
    ----------
    comp
        The comparison (:func:`aftercar.benchmark.compare.compare_cohort`).
    k
        Counts from 1 to ``k - 1`` are never shared (module docstring).

    Returns
    -------
    Comparison
        The endpoints whose counts are all 0 or at least ``k``; a note for each one
        withheld; the MAIC only with at least ``k`` patients; counts in notes suppressed.
    """
    if k is None:
        return comp
    kept, notes = [], [_note(n, k) for n in comp.notes]
    margins = dict(comp.margins)
    for r in comp.results:
        if any(_small(int(c), k) for c in (*_counts(r), margins.get(r.endpoint, 0))):
            notes.append(f"{r.endpoint}: withheld under disclosure control (--suppress-below "
                         f"{k}): a count it rests on is between 1 and {k - 1}")  # fmt: skip
        else:
            kept.append(r)
    maic = comp.maic
    if maic is not None and (_small(int(getattr(maic, "n", 0)), k)
                             or len(kept) < len(comp.results)):  # fmt: skip
        maic = None  # its unweighted outcomes are the cohort's own (a withheld rate's too)
        notes.append(f"MAIC: withheld under disclosure control (--suppress-below {k}): "
                     f"fewer than {k} patients, or an endpoint withheld")  # fmt: skip
    return replace(comp, results=tuple(kept), notes=tuple(notes), maic=maic)
