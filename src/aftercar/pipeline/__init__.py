"""aftercar.pipeline: run the study end to end (read -> classify -> derive -> analyse).

Orchestration only: :func:`run` calls the stages in order with their typed
configuration sections, reports progress and records provenance; it returns a
:class:`RunResult` whose ``report_input`` is what
:func:`aftercar.report.write_report` renders.
"""

from aftercar.pipeline.runner import (
    STEPS,
    RunResult,
    classify,
    cohort_endpoints,
    derive,
    read,
    run,
)

__all__ = ["STEPS", "RunResult", "classify", "cohort_endpoints", "derive", "read", "run"]
