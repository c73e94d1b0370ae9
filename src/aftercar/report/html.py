"""Assemble ``report.html``: one self-contained page (inline CSS and SVG, no scripts).

Sections (ids in :data:`SECTIONS`): key results beside the index study, Table 1,
overall survival, first salvage, therapy categories, treatment patterns,
T-cell-engaging therapy and immortal time, Cox model, regimen mapping,
attrition and exclusions, further tables and figures, methods notes, provenance,
and an appendix listing every number of ``results.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from aftercar.report.figures import FigureSet
from aftercar.report.html_tables import format_value, results_html, table_html, table_title
from aftercar.report.model import ReportInput
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

#: Where known tables, figures and result keys go.
PLACEMENT: dict[str, dict[str, tuple[str, ...]]] = {
    "table1": {"tables": ("table1_wide",), "figures": (), "results": ()},
    "os": {
        "tables": ("os_summary",),
        "figures": ("os", "os_by_relapse_timing", "os_by_product"),
        "results": ("os_from_progression", "follow_up", "os_by_relapse_timing", "os_by_product"),
    },
    "first-salvage": {
        "tables": (),
        "figures": ("first_salvage_pfs",),
        "results": ("first_salvage",),
    },
    "categories": {
        "tables": ("response_by_category", "pfs_by_category", "response_by_line"),
        "figures": ("forest_orr", "response_by_category", "pfs_by_category"),
        "results": ("all_lines", "by_category", "bcma_retargeting", "by_line"),
    },
    "patterns": {
        "tables": (),
        "figures": ("treatment_sequence", "swimmer"),
        "results": ("cohort",),
    },
    Col.TCE: {"tables": (), "figures": ("os_tce_landmark",), "results": (Col.TCE,)},
    "cox": {"tables": (), "figures": (), "results": ()},
    "regimens": {"tables": ("regimen_mapping",), "figures": (), "results": ()},
    "methods": {"tables": (), "figures": (), "results": ("endpoints",)},
    "attrition": {"tables": ("attrition",), "figures": (), "results": ("input",)},
}

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
    """A section's content: tables, figures, result panels and notes, in order."""

    tables: list[tuple[str, str, Markup]] = field(default_factory=list)
    figures: list[tuple[str, str, str, Markup]] = field(default_factory=list)
    results: list[tuple[str, Markup]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _get(results: dict[str, Any], path: str) -> Any:
    node: Any = results
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


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
    return [
        {
            "label": row["label"],
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


def _build_blocks(
    data: ReportInput, results: dict[str, Any], tables: dict[str, pd.DataFrame], figs: FigureSet
) -> dict[str, Block]:
    blocks = {sid: Block() for sid, _ in SECTIONS}
    placed_tables: set[str] = set()
    placed_figs: set[str] = set()
    placed_results: set[str] = {"index_study"}
    for sid, where in PLACEMENT.items():
        for name in where["tables"]:
            if name in tables:
                blocks[sid].tables.append(
                    (name, table_title(name), table_html(tables[name], name=name))
                )
                placed_tables.add(name)
            else:
                blocks[sid].missing.append(f"Table '{name}' was not produced by the analysis.")
        for key in where["figures"]:
            _place_figure(blocks[sid], key, figs)
            placed_figs.add(key)
        for key in where["results"]:
            if key in results:
                value = _without_excluded(results[key]) if key == "input" else results[key]
                blocks[sid].results.append((key, results_html(value, name=key)))
                placed_results.add(key)
    _place_rest(blocks, results, tables, figs, (placed_tables, placed_figs, placed_results))
    return blocks


def _place_figure(block: Block, key: str, figs: FigureSet) -> None:
    if key in figs.figures:
        fig = figs.figures[key]
        block.figures.append((key, fig.title, fig.caption, Markup(fig.inline_svg())))
    elif key in figs.skipped:
        block.missing.append(f"Figure '{key}' not shown: {figs.skipped[key]}.")
    else:
        block.missing.append(f"Figure '{key}' not shown: the analysis produced no data for it.")


def _place_rest(blocks, results, tables, figs, placed) -> None:
    placed_tables, placed_figs, placed_results = placed
    for name, table in tables.items():
        if name not in placed_tables:
            blocks[_section_of(name)].tables.append(
                (name, table_title(name), table_html(table, name=name))
            )
    for key in figs.figures:
        if key not in placed_figs:
            _place_figure(blocks[_section_of(key)], key, figs)
    for key, value in results.items():
        if key not in placed_results and key not in tables and _section_of(key) != "more":
            blocks[_section_of(key)].results.append((key, results_html(value, name=key)))


def _provenance(meta: dict[str, Any]) -> dict[str, Any]:
    inputs = pd.DataFrame(meta.get("inputs") or [], columns=["path", "sha256", "rows"])
    deps = pd.DataFrame(
        sorted((meta.get("dependencies") or {}).items()), columns=["package", "version"]
    )
    timings = pd.DataFrame(
        [(k, float(v)) for k, v in (meta.get("timings") or {}).items()],
        columns=["stage", "seconds"],
    )
    scalars = {
        k: meta.get(k)
        for k in ("title", "source", "synthetic", "aftercar_version", "created", "config_hash")
    }
    return {
        "scalars": results_html(scalars, name="meta"),
        "inputs": table_html(inputs, name="inputs"),
        "dependencies": table_html(deps, name="dependencies"),
        "timings": table_html(timings, name="timings"),
        "config": results_html(meta.get("config") or {}, name="config"),
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
        notes=list(data.notes),
        months_note=not any(f"{DAYS_PER_MONTH:g}" in str(n) for n in data.notes),
        days_per_month=f"{DAYS_PER_MONTH:g}",
        k=k,
        provenance=_provenance(meta),
        appendix=results_html(
            {k: _without_excluded(v) if k == "input" else v for k, v in results.items()},
            name="all",
        ),
        excluded=_excluded_table(results),
    )


def _without_excluded(node: Any) -> Any:
    """The ``input`` results without the row-by-row exclusion list (shown as a table)."""
    if isinstance(node, dict):
        return {k: v for k, v in node.items() if k != "excluded"}
    return node


def _excluded_table(results: dict[str, Any]) -> Markup | None:
    rows = _get(results, "input.excluded")
    if not isinstance(rows, list) or not rows:
        return None
    return table_html(pd.DataFrame(rows), name="excluded")
