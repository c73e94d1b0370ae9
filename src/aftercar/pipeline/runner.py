"""``run``: read -> classify regimens -> derive endpoints -> analyses -> ``ReportInput``.

The pipeline calls the stages in order and assembles what the report renders; the
statistics themselves live in :mod:`aftercar.stats` and are called from
:mod:`aftercar.pipeline.analyses` and :mod:`aftercar.pipeline.tce`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from aftercar import __version__
from aftercar.config import StudyConfig, load_config
from aftercar.derive import (
    EndpointRules,
    analysis_exclusions,
    attrition,
    derive_lines,
    derive_patients,
)
from aftercar.io import Cohort, read_cohort
from aftercar.io.hashing import sha256_file
from aftercar.pipeline.analyses import (
    Section,
    all_lines,
    cohort_summary,
    first_salvage,
    os_analyses,
)
from aftercar.pipeline.summaries import StatOptions
from aftercar.pipeline.tables import regimen_mapping, table1
from aftercar.pipeline.tce import baseline_cox, tce_analyses
from aftercar.report.model import ReportInput
from aftercar.simulate import is_simulated_ids

#: ``progress(step, done, total)`` as :func:`aftercar.report.write_report` takes it.
ProgressCallback = Callable[[str, int, int], None]

#: The pipeline's steps, in order (for progress bars).
STEPS: tuple[str, ...] = ("read cohort", "classify regimens", "derive endpoints", "analyses")

_DEPENDENCIES = (
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "duckdb",
    "ibis-framework",
    "matplotlib",
    "jinja2",
    "statsmodels",
    "openpyxl",
)


@dataclass(frozen=True)
class RunResult:
    """Everything one pipeline run produced.

    Attributes
    ----------
    report_input
        What :func:`aftercar.report.write_report` renders.
    cohort
        The validated cohort that was read.
    config
        The study configuration used.
    patients, lines
        Derived per-patient and per-line frames (:mod:`aftercar.derive`).
    classified
        The regimen classification of every distinct regimen text.
    timings
        Seconds per step.
    """

    report_input: ReportInput
    cohort: Cohort
    config: StudyConfig
    patients: pd.DataFrame
    lines: pd.DataFrame
    classified: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class _Clock:
    progress: ProgressCallback | None
    timings: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        if self.progress is not None:
            self.progress(name, len(self.timings), len(STEPS))
        start = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - start, 4)


def rules_from_config(config: StudyConfig) -> EndpointRules:
    """Return the endpoint rules of a study configuration."""
    ep = config["endpoints"]
    return EndpointRules(
        early_relapse_months=ep["early_relapse_months"],
        pfs_next_line=ep["pfs_next_line"],
        responders=tuple(ep["responders"]),
        exclude_not_evaluable=ep["exclude_not_evaluable"],
    )


def options_from_config(config: StudyConfig) -> StatOptions:
    """Return the statistical options of a study configuration."""
    an = config["analysis"]
    return StatOptions(
        conf_level=an["conf_level"],
        km_conf_type=an["km_conf_type"],
        proportion_method=an["proportion_method"],
        cox_ties=an["cox_ties"],
    )


def _study_path(value: str, config: StudyConfig) -> Path | None:
    """A path from the study TOML: relative paths are relative to the TOML's folder."""
    if not value:
        return None
    path = Path(value)
    if not path.is_absolute() and Path(config.source).is_file():
        path = Path(config.source).parent / path
    return path


def classify(texts: pd.Series, config: StudyConfig) -> pd.DataFrame:
    """Classify the distinct regimen texts with :mod:`aftercar.vocab` (taxonomy/overrides)."""
    from aftercar import vocab

    voc = config["vocabulary"]
    unique = pd.unique(texts.dropna().astype(str))
    table = vocab.classify_regimens(
        list(unique),
        taxonomy=_study_path(voc["taxonomy"], config),
        overrides=_study_path(voc["overrides"], config),
    )
    out = table.to_pandas()
    out["text"] = out["text"].astype("string")
    return out


def _read(cohort: str | Path | Cohort, config: StudyConfig) -> Cohort:
    if isinstance(cohort, Cohort):
        return cohort
    fmt = config["input"]["date_format"] or None
    return read_cohort(cohort, date_format=fmt)


def run(
    cohort: str | Path | Cohort,
    *,
    config: StudyConfig | None = None,
    synthetic: bool | None = None,
    progress: ProgressCallback | None = None,
) -> RunResult:
    """Run the study analyses on a cohort and return the report's input.

    Parameters
    ----------
    cohort
        A cohort folder / workbook (read with :func:`aftercar.io.read_cohort`) or
        an already read :class:`~aftercar.io.Cohort`.
    config
        Study configuration (default: the documented defaults).
    synthetic
        Label the report as synthetic data. ``None``: decided by
        :func:`looks_synthetic` (demo file names or simulator patient ids).
    progress
        Optional ``progress(step, done, total)`` callback.

    Raises
    ------
    CohortError
        The cohort has errors (every problem is listed).
    ConfigError, VocabularyError
        Invalid configuration, taxonomy or override file.
    """
    config = config or load_config()
    clock = _Clock(progress)
    with clock.step("read cohort"):
        data = _read(cohort, config)
    with clock.step("classify regimens"):
        lines_in = data.lines.to_pandas(date_as_object=False)
        classified = classify(lines_in["regimen"], config)
    with clock.step("derive endpoints"):
        rules = rules_from_config(config)
        lines = derive_lines(data.patients, lines_in, classified, rules=rules)
        patients = derive_patients(data.patients, lines, rules=rules)
    with clock.step("analyses"):
        sections = _analyses(patients, lines, config)
    inputs = input_files(data.source, data)
    if synthetic is None:
        synthetic = looks_synthetic(inputs, data)
    report = _assemble(
        data,
        config,
        patients,
        lines,
        classified,
        sections,
        meta=_meta(data, config, inputs, synthetic, clock.timings),
    )
    return RunResult(report, data, config, patients, lines, classified, clock.timings)


def looks_synthetic(inputs: list[dict[str, Any]], data: Cohort) -> bool:
    """True when the cohort comes from aftercar's simulator.

    Either every input file name starts with ``synthetic`` (the demo cohort), or
    every patient identifier has the simulator's form: ``[cohort] id_prefix`` of
    ``simulation.toml`` followed by a 7-digit running number.
    """
    if inputs and all(Path(i["path"]).name.lower().startswith("synthetic") for i in inputs):
        return True
    return is_simulated_ids(data.patients.column("patient_id"))


def _analyses(patients: pd.DataFrame, lines: pd.DataFrame, config: StudyConfig) -> list[Section]:
    opts = options_from_config(config)
    an = config["analysis"]
    cutoff = config["endpoints"]["early_relapse_months"]
    return [
        cohort_summary(patients, lines, opts),
        os_analyses(patients, opts, rates=tuple(an["os_rates_months"]), cutoff=cutoff),
        first_salvage(lines, opts),
        all_lines(lines, opts, pooled_from=an["line_number_pooled_from"]),
        tce_analyses(
            patients,
            lines,
            opts,
            landmarks=tuple(an["landmark_months"]),
            naive=an["naive_tce_comparison"],
        ),
        baseline_cox(patients, opts, covariates=tuple(an["cox_covariates"])),
    ]


def input_files(source: str, data: Cohort) -> list[dict[str, Any]]:
    """Return ``[{path, sha256, rows}]`` for the input files the cohort was read from."""
    path = Path(source)
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(
            p
            for p in path.iterdir()
            if p.suffix.lower() in (".csv", ".parquet", ".pq", ".xlsx")
            and ("patients" in p.stem.lower() or "lines" in p.stem.lower())
        )
    else:
        return []
    excluded = data.excluded.to_pandas()
    rows = {
        "patients": data.patients.num_rows + int((excluded["table"] == "patients").sum()),
        "lines": data.lines.num_rows + int((excluded["table"] == "lines").sum()),
    }
    out = []
    for f in files:
        stem = f.stem.lower()
        kind = "lines" if stem.endswith("lines") else "patients"
        n = rows["patients"] + rows["lines"] if f.suffix.lower() == ".xlsx" else rows[kind]
        out.append({"path": str(f), "sha256": sha256_file(f), "rows": n})
    return out


def _dependencies() -> dict[str, str]:
    out = {}
    for name in _DEPENDENCIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def _meta(
    data: Cohort,
    config: StudyConfig,
    inputs: list[dict[str, Any]],
    synthetic: bool,
    timings: dict[str, float],
) -> dict[str, Any]:
    return {
        "title": config["study"]["title"],
        "source": data.source,
        "synthetic": synthetic,
        "aftercar_version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "config": config.to_dict(),
        "config_hash": config.config_hash(),
        "inputs": inputs,
        "dependencies": _dependencies(),
        "timings": timings,
    }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Return JSON-ready records (missing values as None, integers as int)."""
    clean = frame.astype(object).where(frame.notna(), None)
    return clean.to_dict(orient="records")


def _input_block(data: Cohort) -> dict[str, Any]:
    excluded = data.excluded.to_pandas()
    return {
        "source": data.source,
        "patients_read": data.patients.num_rows + int((excluded["table"] == "patients").sum()),
        "lines_read": data.lines.num_rows + int((excluded["table"] == "lines").sum()),
        "excluded": _records(excluded[["table", "row", "patient_id", "reason"]]),
        "warnings": [w.to_dict() for w in data.warnings],
    }


DOR_NOTE = (
    "Duration of response is not reported: it runs from the first documented response, "
    "and the curated format holds no response date (only the best response of each line). "
    "Nothing is estimated in its place."
)


def _responders_text(codes: list[str] | tuple[str, ...]) -> str:
    """The configured response codes as prose; the IMWG default is cited as such."""
    codes = list(codes)
    listed = codes[0] if len(codes) == 1 else ", ".join(codes[:-1]) + " and " + codes[-1]
    if codes == ["sCR", "CR", "VGPR", "PR"]:
        return f"{listed} (IMWG 2016)"
    return f"{listed} (study configuration; IMWG 2016 counts sCR, CR, VGPR and PR)"


def _notes(
    data: Cohort, lines: pd.DataFrame, classified: pd.DataFrame, config: StudyConfig
) -> list[str]:
    ep = config["endpoints"]
    notes = [
        "Months = days / 30.4375. OS runs from the documented progression after CAR T "
        "(index date) to death from any cause, censored at last follow-up.",
        "PFS of a line runs from its start to progression on that line or death; "
        + (
            "a line followed by another without documented progression is censored at the "
            "next line's start."
            if ep["pfs_next_line"] == "censor"
            else "the start of a next line is ignored (followed to death or last follow-up)."
        ),
        f"Response rates count {_responders_text(ep['responders'])} over response-evaluable "
        "lines; "
        + (
            "NE or missing best responses are excluded from denominators and counted separately."
            if ep["exclude_not_evaluable"]
            else "NE or missing best responses count as non-responders."
        ),
        "Across repeated lines per patient, response intervals are patient-clustered "
        "(cluster-robust) and Kaplan-Meier medians of pooled lines are descriptive.",
        DOR_NOTE,
    ]
    if "unrecognized" in classified.columns:
        bad = classified.loc[classified["unrecognized"].fillna("").astype(str) != "", "text"]
        if len(bad):
            shown = ", ".join(repr(t) for t in bad.head(10))
            notes.append(
                f"{len(bad)} regimen text(s) contain unrecognized words "
                f"(classified from the recognized part): {shown}."
            )
    notes += [f"Input warning: {w}" for w in data.warnings[:20]]
    if len(data.warnings) > 20:
        notes.append(f"... and {len(data.warnings) - 20} more input warnings (results.json).")
    return notes


def _report_lines(lines: pd.DataFrame) -> pd.DataFrame:
    out = lines.copy()
    for col in ("responded", "vgpr_or_better", "cr_or_better"):
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    out["progression_months"] = out["progression_months"].astype(float)
    return out


def _assemble(
    data: Cohort,
    config: StudyConfig,
    patients: pd.DataFrame,
    lines: pd.DataFrame,
    classified: pd.DataFrame,
    sections: list[Section],
    *,
    meta: dict[str, Any],
) -> ReportInput:
    cutoff = config["endpoints"]["early_relapse_months"]
    results: dict[str, Any] = {"input": _input_block(data)}
    baseline = table1(patients, cutoff=cutoff)
    shown = baseline[["characteristic", "level", "n", "percent", "summary"]].copy()
    shown["percent"] = shown["percent"].astype(float).round(1)
    tables: dict[str, pd.DataFrame] = {"table1": shown}
    curves: dict[str, dict[str, Any]] = {}
    notes = _notes(data, lines, classified, config)
    for sec in sections:
        results.update(sec.results)
        tables.update(sec.tables)
        curves.update(sec.curves)
        notes += sec.notes
    tables["regimen_mapping"] = regimen_mapping(lines, classified)
    tables["attrition"] = attrition(patients, lines, data.excluded.to_pandas())
    exclusions = analysis_exclusions(patients, lines)
    tables["analysis_exclusions"] = exclusions
    results["table1"] = _records(baseline)
    results["attrition"] = {
        "steps": _records(tables["attrition"]),
        "analysis_exclusions": _records(exclusions),
    }
    results["endpoints"] = dict(config["endpoints"]) | {
        "days_per_month": 30.4375,
        "duration_of_response": DOR_NOTE,
    }
    results["meta"] = {
        "aftercar_version": __version__,
        "conf_level": config["analysis"]["conf_level"],
        "config_hash": meta["config_hash"],
        "synthetic": meta["synthetic"],
    }
    results["notes"] = notes
    return ReportInput(
        results=results,
        tables=tables,
        curves=curves,
        lines=_report_lines(lines),
        patients=patients,
        meta=meta,
        notes=tuple(notes),
    )
