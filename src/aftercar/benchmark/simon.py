"""Simon two-stage designs for single-arm phase II trials with a binary endpoint.

Stage 1 enrols ``n1`` patients; the trial stops for futility when at most
``r1`` respond. Otherwise ``n - n1`` more are enrolled and the treatment is
declared promising when more than ``r`` of all ``n`` respond.

The optimal design minimises the expected sample size under ``p0`` (``en0``);
the minimax design minimises the maximum sample size ``n`` (ties broken by
``en0``). Both satisfy ``P(declare promising | p0) <= alpha`` and
``P(declare promising | p1) >= power``, computed exactly from binomial
probabilities.

References
----------
Simon R. Optimal two-stage designs for phase II clinical trials.
Controlled Clinical Trials 1989;10(1):1-10. doi:10.1016/0197-2456(89)90015-9
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats as sps

from aftercar.errors import InputError

__all__ = ["SimonDesign", "SimonResult", "simon_two_stage"]

_TOL = 1e-12


@dataclass(frozen=True)
class SimonDesign:
    """One Simon two-stage design and its operating characteristics.

    Attributes
    ----------
    r1, n1
        Stop after stage 1 when at most ``r1`` of ``n1`` patients respond.
    r, n
        Declare the treatment promising when more than ``r`` of ``n`` respond.
    en0
        Expected sample size under ``p0`` (patients).
    pet0
        Probability of early termination under ``p0``.
    alpha
        Exact type I error: ``P(> r responses overall, continued | p0)``.
    power
        Exact power under ``p1``.
    """

    r1: int
    n1: int
    r: int
    n: int
    en0: float
    pet0: float
    alpha: float
    power: float

    def to_dict(self) -> dict[str, float | int]:
        """Return the design as a JSON-ready dictionary."""
        return asdict(self)


@dataclass(frozen=True)
class SimonResult:
    """The optimal and minimax Simon designs for one setting."""

    p0: float
    p1: float
    alpha: float
    power: float
    optimal: SimonDesign
    minimax: SimonDesign

    def to_dict(self) -> dict[str, dict[str, float | int]]:
        """Return ``{"optimal": {...}, "minimax": {...}}``."""
        return {"optimal": self.optimal.to_dict(), "minimax": self.minimax.to_dict()}


class _BinomTables:
    """Binomial pmf and survival tables for one ``p`` and all ``n <= n_max``.

    Built once with vectorised scipy calls so that the enumeration only indexes
    arrays. ``sf[m, k + off]`` is ``P(Bin(m, p) > k)`` for ``k`` in
    ``[-n_max - 1, n_max]`` (1 for negative ``k``).
    """

    def __init__(self, p: float, n_max: int) -> None:
        m = np.arange(n_max + 1)[:, None]
        k = np.arange(-n_max - 1, n_max + 1)[None, :]
        self.off = n_max + 1
        self.sf = np.where(k < 0, 1.0, sps.binom.sf(k, m, p))
        self.pmf = sps.binom.pmf(np.arange(n_max + 1)[None, :], m, p)
        self.cdf = sps.binom.cdf(np.arange(n_max + 1)[None, :], m, p)

    def reject(self, n1: int, n: int, r1_max: int, r_max: int) -> np.ndarray:
        """P(continue past stage 1 and finish with > r responses), as an (r1, r) matrix.

        Entry ``[r1, r]`` sums over stage-1 responses ``x1 > r1`` of
        ``P(X1 = x1) * P(X2 > r - x1)`` with ``X1 ~ Bin(n1, p)`` and
        ``X2 ~ Bin(n - n1, p)``. Rows ``r1 = 0..r1_max``, columns ``r = 0..r_max``.
        """
        x1 = np.arange(n1 + 1)
        r = np.arange(r_max + 1)
        sf2 = self.sf[n - n1, r[None, :] - x1[:, None] + self.off]
        contrib = self.pmf[n1, : n1 + 1, None] * sf2
        tail = np.cumsum(contrib[::-1], axis=0)[::-1]  # rows: x1 >= r1
        return np.vstack([tail[1:], np.zeros((1, r_max + 1))])[: r1_max + 1]  # x1 > r1

    def last_above(self, m: int, level: float) -> int:
        """Largest ``k`` with ``P(Bin(m, p) > k) >= level`` (-1 if none)."""
        return int(np.count_nonzero(self.sf[m, self.off : self.off + m + 1] >= level)) - 1


def _best_for_n(
    n: int, t0: _BinomTables, t1: _BinomTables, alpha: float, power: float
) -> SimonDesign | None:
    """Design with the smallest ``en0`` among feasible designs of total size ``n``.

    Power can only be reached if ``P(X > r | p1) >= power`` for the whole trial
    and ``P(X1 > r1 | p1) >= power`` for stage 1 (the design rejects H0 only on
    a subset of both events), so larger ``r`` and ``r1`` are never evaluated.
    """
    best: SimonDesign | None = None
    r_max = t1.last_above(n, power - _TOL)
    if r_max < 0:
        return None
    for n1 in range(1, n):
        r1_max = min(t1.last_above(n1, power - _TOL), r_max)
        if r1_max < 0:
            continue
        a0 = t0.reject(n1, n, r1_max, r_max)
        a1 = t1.reject(n1, n, r1_max, r_max)
        feasible = (a0 <= alpha + _TOL) & (a1 >= power - _TOL)
        feasible &= np.arange(r_max + 1)[None, :] >= np.arange(r1_max + 1)[:, None]  # r >= r1
        if not feasible.any():
            continue
        pet = t0.cdf[n1, : r1_max + 1]
        en0 = n1 + (1.0 - pet) * (n - n1)
        r1s, rs = np.nonzero(feasible)  # row-major: for each r1 the smallest r first
        k = int(np.argmin(en0[r1s]))  # en0 depends on r1 only
        r1, r = int(r1s[k]), int(rs[k])
        cand = SimonDesign(r1, n1, r, n, float(en0[r1]), float(pet[r1]),
                           float(a0[r1, r]), float(a1[r1, r]))  # fmt: skip
        if best is None or cand.en0 < best.en0 - 1e-12:
            best = cand
    return best


#: The largest ``n_max`` searched (a design of n <= 500: about a minute of enumeration).
N_MAX_LIMIT = 500


def _check_inputs(p0: float, p1: float, alpha: float, power: float, n_max: int) -> None:
    problems = []
    if not 0.0 < p0 < 1.0:
        problems.append(f"p0 must be strictly between 0 and 1 (got {p0})")
    if not 0.0 < p1 < 1.0:
        problems.append(f"p1 must be strictly between 0 and 1 (got {p1})")
    if not problems and p1 <= p0:
        problems.append(f"p1 ({p1}) must be larger than p0 ({p0})")
    if not 0.0 < alpha < 0.5:
        problems.append(f"alpha must be in (0, 0.5) (got {alpha})")
    if not 0.5 < power < 1.0:
        problems.append(f"power must be in (0.5, 1) (got {power})")
    if n_max < 2:
        problems.append(f"n_max must be at least 2 (got {n_max})")
    elif n_max > N_MAX_LIMIT:
        # the exact enumeration holds (n_max + 1)^2 binomial tables: n_max = 100,000 asked
        # for 18.6 GiB and ended in a MemoryError traceback (fuzz round 8, session 27)
        problems.append(f"n_max must be at most {N_MAX_LIMIT} (got {n_max}): a single-arm "
                        "phase II design of more patients is searched by no exact enumeration")
    if problems:
        raise InputError(
            "Invalid Simon design input: " + "; ".join(problems) + ". Fix: e.g. "
            "--p0 0.434 --p1 0.65 --alpha 0.05 --power 0.8."
        )


def simon_two_stage(
    *, p0: float, p1: float, alpha: float = 0.05, power: float = 0.8, n_max: int = 100
) -> SimonResult:
    """Find Simon's optimal and minimax two-stage designs by exact enumeration.

    Parameters
    ----------
    p0
        Response rate that is not of interest (e.g. a benchmark ORR, 0.434).
    p1
        Response rate worth pursuing (``p1 > p0``).
    alpha
        Maximum one-sided type I error.
    power
        Minimum power (``1 - beta``).
    n_max
        Largest total sample size searched (as ``nmax`` in R ``clinfun::ph2simon``).

    Returns
    -------
    SimonResult
        ``optimal`` and ``minimax`` designs with ``r1, n1, r, n, en0, pet0``.

    Raises
    ------
    InputError
        Probabilities out of range, or no design with ``n <= n_max``.

    References
    ----------
    Simon R. Controlled Clinical Trials 1989;10:1-10.
    """
    _check_inputs(p0, p1, alpha, power, n_max)
    # a single-stage exact design bounds the minimax n from below
    n_lo = _single_stage_lower_bound(p0, p1, alpha, power, n_max)
    t0, t1 = _BinomTables(p0, n_max), _BinomTables(p1, n_max)
    designs = [d for n in range(n_lo, n_max + 1) if (d := _best_for_n(n, t0, t1, alpha, power))]
    if not designs:
        raise InputError(
            f"No Simon design with n <= {n_max} for p0={p0}, p1={p1}, alpha={alpha}, "
            f"power={power}. Fix: raise n_max, or widen the gap between p0 and p1."
        )
    optimal = min(designs, key=lambda d: (round(d.en0, 10), d.n))
    minimax = min(designs, key=lambda d: (d.n, round(d.en0, 10)))
    return SimonResult(p0, p1, alpha, power, optimal, minimax)


def _single_stage_lower_bound(p0: float, p1: float, alpha: float, power: float, n_max: int) -> int:
    """Smallest n at which any two-stage design could be feasible.

    A two-stage design is a level-``alpha`` test based on at most ``n``
    Bernoulli outcomes, so by the Neyman-Pearson lemma its power cannot exceed
    that of the randomised uniformly most powerful binomial test of size
    ``alpha`` with ``n`` patients. The smallest ``n`` at which that test reaches
    ``power`` bounds the search from below without excluding any design.
    """
    ns = np.arange(2, n_max + 1)
    c = sps.binom.isf(alpha, ns, p0)  # smallest c with P(X > c | p0) <= alpha
    gamma = (alpha - sps.binom.sf(c, ns, p0)) / sps.binom.pmf(c, ns, p0)
    ump = sps.binom.sf(c, ns, p1) + np.clip(gamma, 0, 1) * sps.binom.pmf(c, ns, p1)
    ok = ump >= power - _TOL
    return int(ns[np.argmax(ok)]) if ok.any() else n_max + 1
