"""The Python entry point for notebooks: a cohort as pandas tables, its endpoints, its report.

>>> import aftercar
>>> study = aftercar.read_cohort(aftercar.demo_cohort_path())   # doctest: +SKIP
>>> study.patients.head()                  # the patients sheet, as pandas
>>> study.endpoints("line")                # PFS, TTNT and response of every line
>>> study.endpoints("patient")             # OS from the post-CAR-T progression
>>> study.report("report/")                # the full study report

Everything is derived exactly as ``aftercar report`` does (the same pipeline steps
and study configuration); Arrow tables are available with :meth:`Study.to_arrow`.
Times are months = days / 30.4375.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pyarrow as pa

from aftercar.config import StudyConfig, load_config
from aftercar.derive import DerivedCohort
from aftercar.io import Cohort
from aftercar.pipeline import RunResult, classify, derive, read, run
from aftercar.schema import Col


@dataclass
class Study:
    """A validated cohort with its study configuration (see :func:`read_cohort`).

    Attributes
    ----------
    cohort
        The validated :class:`aftercar.io.Cohort` (Arrow tables, exclusions, warnings).
    config
        The study configuration used to derive and analyse it.
    """

    cohort: Cohort
    config: StudyConfig
    _derived: DerivedCohort | None = field(default=None, repr=False)

    @property
    def patients(self) -> pd.DataFrame:
        """The patients table as read (pandas; dates as ``datetime64``)."""
        return self.cohort.patients.to_pandas(date_as_object=False)

    @property
    def lines(self) -> pd.DataFrame:
        """The lines table as read (pandas; dates as ``datetime64``)."""
        return self.cohort.lines.to_pandas(date_as_object=False)

    @property
    def excluded(self) -> pd.DataFrame:
        """Every input row not analysed, with the reason (``table, row, patient_id, reason``)."""
        return self.cohort.excluded.to_pandas()

    def to_arrow(self) -> tuple[pa.Table, pa.Table]:
        """The ``(patients, lines)`` tables as Arrow."""
        return self.cohort.patients, self.cohort.lines

    def derived(self) -> DerivedCohort:
        """Every derived table (computed once, then kept)."""
        if self._derived is None:
            texts = self.cohort.lines.column(Col.REGIMEN).to_pandas()
            self._derived = derive(self.cohort, classify(texts, self.config), self.config)
        return self._derived

    def endpoints(self, level: Literal["patient", Col.LINE] = "patient") -> pd.DataFrame:
        """The derived endpoints, one row per patient or per salvage line.

        Parameters
        ----------
        level
            ``"patient"``: the patient columns plus ``os_months``, ``os_event``,
            ``os_valid``, ``relapse_months``, ``early_relapse``, ``n_lines``,
            ``first_tce_months``; ``"line"``: ``start_months``, ``pfs_months``,
            ``pfs_event``, ``ttnt_months``, ``ttnt_event``, best response and the
            response flags, drugs and category of every line. The columns are
            declared in ``data/derived_tables.csv`` (``docs/results-schema.md``).
        """
        if level not in ("patient", Col.LINE):
            raise ValueError(f"level must be 'patient' or 'line', not {level!r}")
        derived = self.derived()
        return derived.patients if level == "patient" else derived.lines

    def run(self) -> RunResult:
        """Run every analysis of the study (what ``aftercar report`` computes)."""
        return run(self.cohort, config=self.config)

    def report(self, outdir: str | Path, **options: Any) -> Any:
        """Write the study report into ``outdir`` (see :func:`aftercar.report.write_report`)."""
        from aftercar.report import write_report

        k = options.pop("suppress_below", None) or self.config.report.suppress_below or None
        return write_report(self.run().report_input, outdir, suppress_below=k, **options)


def read_cohort(
    source: str | Path,
    *,
    config: StudyConfig | str | Path | None = None,
    date_format: str | None = None,
) -> Study:
    """Read and validate a cohort (folder of CSV/Parquet or an .xlsx workbook).

    Parameters
    ----------
    source
        The cohort: a folder with ``patients`` and ``lines`` files, or a workbook.
    config
        A study configuration or the path of a study TOML (default: the defaults).
    date_format
        ``strptime`` format for ambiguous dates (overrides ``[input] date_format``).

    Raises
    ------
    aftercar.CohortError
        The cohort has errors; ``.problems`` lists every one (file, row, column,
        value, message, fix).
    """
    if not isinstance(config, StudyConfig):
        config = load_config(config)
    if date_format:
        config = config.replace("input", date_format=date_format)
    return Study(read(source, config), config)
