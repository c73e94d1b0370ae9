"""The endpoint rules of a study: the typed ``[endpoints]`` section of the study TOML.

Every rule and its source is stated in ``docs/methods.md``; the defaults are in
``aftercar/data/study_defaults.toml``.

References
----------
Kumar S, et al. International Myeloma Working Group consensus criteria for
response and minimal residual disease assessment in multiple myeloma. Lancet
Oncol 2016;17:e328-e346.
Rajkumar SV, et al. Consensus recommendations for the uniform reporting of
clinical trials. Blood 2011;117:4691-4695.
"""

from __future__ import annotations

from dataclasses import dataclass

from aftercar.errors import DerivationError
from aftercar.schema import codes_where


@dataclass(frozen=True)
class EndpointRules:
    """The endpoint rules of a study (``[endpoints]`` in the study TOML).

    Attributes
    ----------
    early_relapse_months
        Relapse within this many months of the CAR-T infusion is "early".
    pfs_next_line
        ``"censor"``: a line without progression is censored at the next line's
        start; ``"ignore"``: the next line is ignored (death or last follow-up).
    responders
        IMWG codes counted as a response (default sCR, CR, VGPR, PR).
    exclude_not_evaluable
        Leave NE/missing best responses out of response denominators.
    non_therapy_rows
        ``"exclude"``: rows whose category is not a line of therapy (hospice, best
        supportive care, observation, no treatment, trial screening: the taxonomy's
        ``therapy = false``) are left out of the lines and listed in attrition;
        ``"count"``: they are counted as lines like any other.
    """

    early_relapse_months: float = 6.0
    pfs_next_line: str = "censor"
    responders: tuple[str, ...] = codes_where("pr_or_better")
    exclude_not_evaluable: bool = True
    non_therapy_rows: str = "exclude"

    def __post_init__(self) -> None:
        if self.pfs_next_line not in ("censor", "ignore"):
            raise DerivationError(
                f"pfs_next_line must be 'censor' or 'ignore', not {self.pfs_next_line!r}"
            )
        if self.non_therapy_rows not in ("exclude", "count"):
            raise DerivationError(
                f"non_therapy_rows must be 'exclude' or 'count', not {self.non_therapy_rows!r}"
            )
        object.__setattr__(self, "responders", tuple(self.responders))
