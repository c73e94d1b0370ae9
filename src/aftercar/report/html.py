"""Assemble ``report.html``: one self-contained page (inline CSS, SVG and one small script).

Sections (ids in :data:`SECTIONS`): key results beside the index study, Table 1,
overall survival, first salvage, therapy categories, treatment patterns,
T-cell-engaging therapy and immortal time, Cox model, regimen mapping,
attrition and exclusions, further tables and figures, methods notes, provenance,
and an appendix listing every number of ``results.json`` with its path
(:mod:`aftercar.report.appendix`; the only place raw result keys appear). Tables
are publication tables (:mod:`aftercar.report.result_tables`).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from aftercar.report import display as d
from aftercar.report import results_tables
from aftercar.report.appendix import appendix_html
from aftercar.report.disclosure import disclosure_note
from aftercar.report.display import DisplayTable, table_html
from aftercar.report.figures import FigureSet
from aftercar.report.figures.km import spec_for
from aftercar.report.html_tables import format_value
from aftercar.report.labels import Labeller
from aftercar.report.model import KNOWN_TABLES, ReportInput
from aftercar.report.result_tables import (
    PROPORTION_METHODS,
    Context,
    display_table,
    generic,
    get,
)
from aftercar.report.results_tables import ph_rejected
from aftercar.schema import DAYS_PER_MONTH, Col

#: (section id, heading) in page order.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Key results"),
    ("table1", "Table 1. Baseline characteristics"),
    ("os", "Overall survival from post-CAR-T progression"),
    ("first-salvage", "First salvage line"),
    ("categories", "Outcomes by therapy category"),
    ("patterns", "Treatment patterns"),
    (Col.TCE, "T-cell-engaging therapy and immortal time"),
    ("cox", "Cox models"),
    ("regimens", "Regimen mapping"),
    ("attrition", "Attrition and exclusions"),
    ("more", "Further tables and figures"),
    ("methods", "Methods notes"),
    ("provenance", "Provenance"),
    ("appendix", "Appendix: every number in results.json"),
)

#: Where known tables and figures go.
PLACEMENT: dict[str, dict[str, tuple[str, ...]]] = {
    "table1": {"tables": ("table1_wide",), "figures": ()},
    "os": {
        "tables": ("os_summary", "rmst"),
        "figures": ("os", "os_by_relapse_timing", "os_by_product"),
    },
    "first-salvage": {
        "tables": ("first_salvage_by_category", "competing_risks"),
        "figures": ("first_salvage_pfs", "first_salvage_competing_risks"),
    },
    "categories": {
        "tables": ("response_by_category", "pfs_by_category", "response_by_line"),
        "figures": ("forest_orr", "response_by_category", "pfs_by_category"),
    },
    "patterns": {"tables": (), "figures": ("treatment_sequence", "swimmer")},
    Col.TCE: {"tables": ("tce_os",), "figures": ("os_tce_landmark",)},
    "cox": {"tables": ("cox_os", "pfs_cox_lines", "ph_tests"), "figures": ()},
    "regimens": {"tables": ("regimen_mapping",), "figures": ()},
    "attrition": {"tables": ("attrition", "analysis_exclusions"), "figures": ()},
}

#: Tables built from ``results.json`` blocks (no CSV of their own).
RESULT_TABLES = {
    "rmst": results_tables.rmst,
    "competing_risks": results_tables.competing_risks,
    "ph_tests": results_tables.ph_tests,
}

#: Tables written as CSV but not shown when a better version is (Table 1 long format).
HIDDEN_TABLES: frozenset[str] = frozenset({"table1"})


def figure_title(key: str) -> str:
    """A figure's title for messages (never its key)."""
    return spec_for(key).title

#: Substrings that send further tables / results keys to a section.
KEYWORDS: dict[str, tuple[str, ...]] = {
    Col.TCE: (Col.TCE, "landmark", "immortal", "time_dependent", "time_varying"),
    "cox": ("cox",),
    "attrition": ("exclusion", "attrition"),
    "first-salvage": ("first_salvage",),
    "categories": ("by_line", "by_category", "bcma", "retarget"),
    "os": ("os_", "follow"),
}


@dataclass
class Block:
    """A section's content: figures, tables, warnings and notes, in order."""

    tables: list[tuple[str, str, Markup]] = field(default_factory=list)
    figures: list[tuple[str, str, str, Markup]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _get(results: dict[str, Any], path: str) -> Any:
    return get(results, path)


def _months(value: Any) -> str:
    return (
        format_value(value)
        if isinstance(value, str)
        else ("NE" if value is None else f"{float(value):.1f}")
    )


def _pct(value: Any) -> str:
    if isinstance(value, str) or value is None:
        return "NE" if value is None else value
    return f"{100 * float(value):.1f}%"


def _ci(ci: Any, fmt) -> str:
    if isinstance(ci, list | tuple) and len(ci) == 2:
        return f"{fmt(ci[0])}–{fmt(ci[1])}"
    return str(ci) if isinstance(ci, str) else "NE–NE"


def headline_value(node: Any, kind: str) -> str:
    """Format one headline result (count, median, proportion or patients/fraction)."""
    if node is None:
        return "not available"
    if kind == "median" and isinstance(node, dict):
        return (
            f"{_months(node.get('median_months'))} ({_ci(node.get('ci95'), _months)}); "
            f"n={format_value(node.get('n'))}, events={format_value(node.get('events'))}"
        )
    if kind == "proportion" and isinstance(node, dict):
        return (
            f"{_pct(node.get('estimate'))} ({_ci(node.get('ci95'), _pct)}); "
            f"{format_value(node.get('responders'))}/{format_value(node.get('n'))}"
        )
    if kind == "patients_fraction" and isinstance(node, dict):
        return f"{format_value(node.get('patients'))} ({_pct(node.get('fraction'))})"
    return format_value(node)


def _summary_rows(results: dict[str, Any], index_study: dict[str, Any]) -> list[dict[str, str]]:
    conf = _get(results, "meta.conf_level")
    level = conf if isinstance(conf, int | float) else 0.95
    return [
        {
            # the cohort's intervals at its level; the published ones stay 95%
            "label": row["label"] if level == 0.95 else relabel(row["label"], level).replace(
                " CI)", " CI; published: 95%)"),
            "cohort": headline_value(_get(results, row["path"]), row.get("kind", "count")),
            "published": row["published"],
        }
        for row in index_study.get("headline", [])
    ]


def _section_of(name: str) -> str:
    low = name.lower()
    for section, words in KEYWORDS.items():
        if any(w in low for w in words):
            return section
    return "more"


def context(data: ReportInput, results: dict[str, Any]) -> Context:
    """Labels and interval settings of the result tables."""
    analysis = (data.meta.get("config") or {}).get("analysis") or {}
    conf = _get(results, "meta.conf_level")
    return Context(
        labels=Labeller({c.name: c.label for c in data.categories}),
        results=results,
        km_conf_type=str(analysis.get("km_conf_type") or "log-log"),
        conf_level=float(conf) if isinstance(conf, int | float) else 0.95,
    )


def display_tables(
    data: ReportInput, results: dict[str, Any], tables: dict[str, pd.DataFrame]
) -> dict[str, DisplayTable]:
    """Every table the report shows, as the reader sees it (also what ``--docx`` writes)."""
    ctx = context(data, results)
    shown = {
        name: display_table(name, table, ctx)
        for name, table in tables.items()
        if not (name in HIDDEN_TABLES and "table1_wide" in tables)
    }
    for name, build in RESULT_TABLES.items():
        table = build(ctx)
        if table is not None:
            shown[name] = table
    if ctx.conf_level != 0.95:  # the tables' labels are written for 95%
        shown = {name: relabel_table(t, ctx.conf_level) for name, t in shown.items()}
    return shown


#: "95%" in an interval label: "(95% CI)", "95% CIs", "95% pointwise", "95% confidence".
_NINETY_FIVE = re.compile(r"\b95%(?=\s*(?:CIs?\b|pointwise\b|confidence\b))")


def relabel(text: str, conf_level: float) -> str:
    """``text`` with its 95% interval labels at ``conf_level`` (fuzzing round 6, I04:
    intervals computed at 99.9% were labelled 95% in the HTML and Word reports)."""
    if conf_level == 0.95 or not isinstance(text, str):
        return text
    return _NINETY_FIVE.sub(f"{conf_level * 100:g}%", text)


def relabel_table(t: DisplayTable, conf_level: float) -> DisplayTable:
    return dataclasses.replace(
        t,
        title=relabel(t.title, conf_level),
        columns=tuple(relabel(c, conf_level) for c in t.columns),
        footnotes=tuple(relabel(f, conf_level) for f in t.footnotes),
    )


def _build_blocks(
    data: ReportInput, results: dict[str, Any], tables: dict[str, pd.DataFrame], figs: FigureSet
) -> dict[str, Block]:
    blocks = {sid: Block() for sid, _ in SECTIONS}
    shown = display_tables(data, results, tables)
    placed_tables: set[str] = set()
    placed_figs: set[str] = set()
    for sid, where in PLACEMENT.items():
        for name in where["tables"]:
            if name in shown:
                blocks[sid].tables.append((name, shown[name].title, table_html(shown[name])))
                placed_tables.add(name)
            elif name in tables or name in KNOWN_TABLES:
                blocks[sid].missing.append(f"Table '{name}' was not produced by the analysis.")
        for key in where["figures"]:
            _place_figure(blocks[sid], key, figs)
            placed_figs.add(key)
    for name, table in shown.items():
        if name not in placed_tables:
            blocks[_section_of(name)].tables.append((name, table.title, table_html(table)))
    for key in figs.figures:
        if key not in placed_figs:
            _place_figure(blocks[_section_of(key)], key, figs)
    _ph_warning(blocks["cox"], results, context(data, results).labels)
    return blocks


def _ph_warning(block: Block, results: dict[str, Any], labels: Labeller) -> None:
    rejected = ph_rejected(results, labels)
    if rejected:
        block.warnings.append(
            "Proportional hazards rejected (p < 0.05) for: " + "; ".join(rejected)
            + ". The hazard ratio of these terms changes over time; read RMST or landmark "
            "estimates beside it."
        )


def _place_figure(block: Block, key: str, figs: FigureSet) -> None:
    if key in figs.figures:
        fig = figs.figures[key]
        block.figures.append((key, fig.title, fig.caption, Markup(fig.inline_svg())))
    elif key in figs.skipped:
        block.missing.append(f"Figure not shown ({figure_title(key)}): {figs.skipped[key]}.")
    else:
        block.missing.append(
            f"Figure not shown ({figure_title(key)}): the analysis produced no data for it."
        )


def _provenance(meta: dict[str, Any], ctx: Context) -> dict[str, Any]:
    inputs = pd.DataFrame(meta.get("inputs") or [], columns=["path", "sha256", "rows"])
    deps = pd.DataFrame(
        sorted((meta.get("dependencies") or {}).items()), columns=["package", "version"]
    )
    timings = pd.DataFrame(
        [(str(k).replace("_", " "), float(v)) for k, v in (meta.get("timings") or {}).items()],
        columns=["stage", "seconds"],
    )
    scalars = [
        ("Title", meta.get("title")),
        ("Synthetic data", "yes" if meta.get("synthetic") else "no"),
        ("aftercar version", meta.get("aftercar_version")),
        ("Created", meta.get("created")),
        ("Study configuration SHA-256", meta.get("config_hash")),
    ]
    facts = d.make("provenance", "Provenance", ["Item", "Value"],
                   [[k, "–" if v is None else v] for k, v in scalars])  # fmt: skip
    return {
        "scalars": table_html(facts),
        "inputs": table_html(generic("inputs", inputs, ctx)),
        "dependencies": table_html(generic("dependencies", deps, ctx)),
        "timings": table_html(generic("timings", timings, ctx)),
    }


def source_label(meta: dict[str, Any]) -> str:
    """The input as the report header names it: file names and short SHA-256, no folders."""
    inputs = [i for i in meta.get("inputs") or [] if isinstance(i, dict) and i.get("path")]
    if inputs:
        return ", ".join(
            f"{Path(str(i['path'])).name} (sha256 {str(i.get('sha256', ''))[:12]})" for i in inputs
        )
    source = meta.get("source")
    return Path(str(source)).name if source else "not recorded"


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("aftercar.report", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(
    data: ReportInput,
    *,
    results: dict[str, Any],
    tables: dict[str, pd.DataFrame],
    figures: FigureSet,
    k: int | None = None,
) -> str:
    """Render the report page from suppressed results/tables and rendered figures."""
    index_study = data.index_study or {}
    css = resources.files("aftercar.report").joinpath("templates/report.css").read_text("utf-8")
    meta = data.meta
    ctx = context(data, results)
    names = _raw_names(data)
    template = _environment().get_template("report.html.j2")
    return template.render(
        title=meta.get("title") or "aftercar report",
        meta=meta,
        synthetic=bool(meta.get("synthetic")),
        source_label=source_label(meta),
        css=Markup(css),
        sections=SECTIONS,
        blocks=_build_blocks(data, results, tables, figures),
        summary=_summary_rows(results, index_study),
        index_study=index_study,
        notes=[ctx.labels.prose(str(n), names) for n in data.notes],
        months_note=not any(f"{DAYS_PER_MONTH:g}" in str(n) for n in data.notes),
        days_per_month=f"{DAYS_PER_MONTH:g}",
        k=k,
        disclosure_note=disclosure_note(k) if k else "",
        provenance=_provenance(meta, ctx),
        appendix=appendix_html(results, meta.get("config") or {}),
        excluded=_excluded_table(results, ctx),
        ci_note=_ci_note(data),
        ci_level=f"{ctx.conf_level * 100:g}%",
    )


def _ci_note(data: ReportInput) -> str:
    """The interval methods of the headline numbers, from the study configuration."""
    analysis = (data.meta.get("config") or {}).get("analysis") or {}
    km = analysis.get("km_conf_type") or "log-log"
    method = analysis.get("proportion_method") or "exact"
    rates = PROPORTION_METHODS.get(str(method), f"{method} 95% CIs")
    conf = analysis.get("conf_level")
    return relabel(
        f"Interval methods: Kaplan-Meier medians with the {km} transform (Brookmeyer-Crowley); "
        f"response rates of one line per patient: {rates}.",
        conf if isinstance(conf, int | float) else 0.95,
    )


def _raw_names(data: ReportInput) -> list[str]:
    """Names the notes may spell raw (Cox covariates of the configuration)."""
    analysis = (data.meta.get("config") or {}).get("analysis") or {}
    return [str(c) for c in analysis.get("cox_covariates") or []]


def _excluded_table(results: dict[str, Any], ctx: Context) -> Markup | None:
    rows = _get(results, "input.excluded")
    if not isinstance(rows, list) or not rows:
        return None
    table = generic("excluded", pd.DataFrame(rows), ctx)
    return table_html(table)
