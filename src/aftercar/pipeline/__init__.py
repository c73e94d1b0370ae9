"""aftercar.pipeline: run the study end to end (read -> classify -> derive -> analyse).

:func:`run` returns a :class:`RunResult` whose ``report_input`` is what
:func:`aftercar.report.write_report` renders.
"""

from aftercar.pipeline.runner import STEPS, RunResult, options_from_config, rules_from_config, run

__all__ = ["STEPS", "RunResult", "options_from_config", "rules_from_config", "run"]
