"""aftercar.report: render a study's results as HTML, figures, tables and JSON.

The report layer renders what :mod:`aftercar.derive` and :mod:`aftercar.stats`
produce; it computes no statistics. Disclosure control
(:func:`aftercar.report.disclosure.suppress_small_counts`) is applied to every
shared output.

``write_report(data, outdir, *, suppress_below=None, progress=None) -> ReportPaths``
lives in :mod:`aftercar.report.writer` (``progress(step, done, total)`` callback).
"""

from aftercar.report.model import ReportInput, ReportPaths

__all__ = ["ReportInput", "ReportPaths"]
