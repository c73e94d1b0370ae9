"""aftercar.report: render a study's results as HTML, figures, tables and JSON.

The report layer renders what :mod:`aftercar.derive` and :mod:`aftercar.stats`
produce; it computes no statistics. Disclosure control
(:func:`aftercar.report.disclosure.suppress_small_counts`) is applied to every
shared output.
"""

from aftercar.report.model import ReportInput, ReportPaths
from aftercar.report.writer import write_report

__all__ = ["ReportInput", "ReportPaths", "write_report"]
