"""Small-cell disclosure control for every shared output (HTML, CSV, JSON, figures).

With a threshold ``K``, every *count* from 1 to K-1 is replaced by the text
``"<K"``; zero and counts of at least ``K`` are kept. Counts are recognised by
name, never by guessing from the value:

* dictionary keys (JSON) and table columns are counts when their lower-cased name
  is in :data:`COUNT_KEYS`, starts with ``n_``, or ends with ``_n``, ``_count``,
  ``_patients``, ``_lines``, ``_events``, ``_responders`` or ``_censored``;
* under a count key, a number, or each number of a list, is a count;
* text cells of tables of the form ``"12 (40.0%)"`` (count and percentage) and
  ``"12/30"`` or ``"12/30 (40.0%)"`` (numerator and denominator) have their counts
  checked, whatever the column;
* Kaplan-Meier at-risk tables use the columns ``n_risk``, ``n_event``,
  ``n_censor``, which are count names.

Derived proportions: when a numerator or denominator count (:data:`OPERAND_KEYS`,
or a count named after the proportion, e.g. ``vgpr_or_better_n``) in a dictionary
(or a table row) is suppressed, its proportion entries (:data:`PROPORTION_KEYS`:
``estimate``, ``fraction``, ``proportion``, ``percent``, ``pct``, ``orr``, names
with ``%`` or ending ``_ci95`` and, when such a point proportion is present, the
bounds ``ci95``, ``lower``, ``upper``) become ``"suppressed"``, because a
proportion with its denominator gives the numerator back. A ``"12 (40.0%)"`` cell
whose count is suppressed becomes ``"<K"`` as a whole.
Identifiers (:data:`IDENTIFIER_KEYS`, ``patient_id``) are withheld as well.

Complementary (secondary) suppression (:class:`Margins` is the engine): in every
margin aftercar knows (the levels of a Table 1 characteristic, the responders /
non-responders / not-evaluable of a response block, events and censored of a
survival estimate, response counts of a category, at-risk and cumulative-event
rows of a Kaplan-Meier figure) a suppressed cell could be
recovered by subtraction from the margin's total and the cells shown beside it; the
next smallest cell of that margin is then suppressed as well (shown as
``"suppressed"``), until no cell from 1 to K-1 has a single possible value; a total a
reader knows from elsewhere (the cohort size, a survival comparison's n) is never
hidden, and a margin it still pins has its hidden cells withheld (``"withheld"``: any
value). Every estimate over fewer than K patients or lines (a rate, median, interval,
p-value of a group whose ``n`` is suppressed) is withheld, Kaplan-Meier curves of such
groups are left out with a note, and the at-risk table keeps only the ticks where every
row steps by 0 or at least K. See ``docs/report.md``.

References
----------
.. [1] OHDSI CohortMethod / CohortDiagnostics: ``minCellCount`` small-cell
   suppression of shared results (counts below the threshold reported as ``<K``).
.. [2] Office for National Statistics, "Statistical disclosure control" guidance:
   suppression of small cells and of the derived values that reveal them.
"""

from __future__ import annotations

from aftercar.report.disclosure.cells import (
    Hidden,
    shown_steps,
    true_value,
)
from aftercar.report.disclosure.keys import (
    BOUND_KEYS,
    COUNT_KEYS,
    COUNT_PREFIXES,
    COUNT_SUFFIXES,
    DENOMINATOR_KEYS,
    IDENTIFIER_KEYS,
    OPERAND_KEYS,
    PROPORTION_KEYS,
    QUOTING_KEYS,
    STRUCTURAL_KEYS,
    disclosure_note,
    is_count_key,
    is_operand,
    is_proportion_key,
    suppress_value,
    without_quoted_cells,
)
from aftercar.report.disclosure.km import (
    STEP_COUNT_KEYS,
    km_json,
    km_plan,
    shared_curve_figure,
    shared_figures,
)
from aftercar.report.disclosure.results_json import (
    LEVEL_KEY,
    MODEL_TESTS,
    PAIRS,
    _model_terms,
    sparse_terms,
)
from aftercar.report.disclosure.shared import (
    FREE_TEXT_COLUMNS,
    INPUT_WARNING,
    SHARED_PROBLEM_FIELDS,
    suppress_text,
    without_identifiers,
    without_paths,
    without_quoted_values,
)
from aftercar.report.disclosure.structures import (
    ATTRITION_MARGINS,
    MISSING_LEVEL,
    PATIENTS_ROW,
    RESPONSE_CHAIN,
    attrition_states,
    bars_states,
    competing_states,
    km_ticks,
    pair_states,
    response_states,
    survival_group_states,
    table1_long_states,
    table1_wide_states,
)
from aftercar.report.disclosure.suppress import (
    suppress_small_counts,
    suppress_table,
)
from aftercar.report.disclosure.tables import (
    header_with,
)
from aftercar.report.margins import SUPPRESSED, WITHHELD, Margins

__all__ = [
    "ATTRITION_MARGINS",
    "BOUND_KEYS",
    "COUNT_KEYS",
    "COUNT_PREFIXES",
    "COUNT_SUFFIXES",
    "DENOMINATOR_KEYS",
    "FREE_TEXT_COLUMNS",
    "IDENTIFIER_KEYS",
    "INPUT_WARNING",
    "LEVEL_KEY",
    "MISSING_LEVEL",
    "MODEL_TESTS",
    "OPERAND_KEYS",
    "PAIRS",
    "PATIENTS_ROW",
    "PROPORTION_KEYS",
    "QUOTING_KEYS",
    "RESPONSE_CHAIN",
    "SHARED_PROBLEM_FIELDS",
    "STEP_COUNT_KEYS",
    "STRUCTURAL_KEYS",
    "SUPPRESSED",
    "WITHHELD",
    "Hidden",
    "Margins",
    "_model_terms",
    "attrition_states",
    "bars_states",
    "competing_states",
    "disclosure_note",
    "header_with",
    "is_count_key",
    "is_operand",
    "is_proportion_key",
    "km_json",
    "km_plan",
    "km_ticks",
    "pair_states",
    "response_states",
    "shared_curve_figure",
    "shared_figures",
    "shown_steps",
    "sparse_terms",
    "suppress_small_counts",
    "suppress_table",
    "suppress_text",
    "suppress_value",
    "survival_group_states",
    "table1_long_states",
    "table1_wide_states",
    "true_value",
    "without_identifiers",
    "without_paths",
    "without_quoted_cells",
    "without_quoted_values",
]
