"""Imports flow one way between the stages, and no module imports itself back.

Stages (``docs/architecture.md``): ``schema`` and ``errors`` are the foundation;
``io -> vocab -> derive -> analysis -> report``; ``stats`` is pure statistics;
``backends`` knows the engines; ``benchmark`` and ``simulate`` sit beside;
``config``, ``pipeline`` and ``cli`` are on top. Every import of every module is
read from its syntax tree, deferred (function-level) imports included.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import aftercar

SRC = Path(aftercar.__file__).resolve().parent

FOUNDATION = {"errors", "schema", "__init__"}

#: Stage -> the stages it may import (besides itself and the foundation).
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "schema": set(),
    "backends": set(),
    "stats": set(),
    "io": {"backends"},
    "vocab": {"io"},
    "derive": {"io", "vocab", "backends"},
    "analysis": {"stats", "derive", "io", "vocab"},
    "report": {"analysis", "io"},
    "benchmark": {"stats", "io"},
    "simulate": {"io", "vocab", "stats"},
    "config": {"io", "derive", "analysis"},
    "pipeline": {"io", "vocab", "derive", "analysis", "report", "config", "backends", "benchmark"},
    "api": {"io", "derive", "analysis", "report", "config", "pipeline"},
    "federated": {"io", "vocab", "derive", "analysis", "stats", "pipeline", "report", "config"},
    "cli": {
        "io",
        "vocab",
        "derive",
        "analysis",
        "report",
        "config",
        "backends",
        "benchmark",
        "simulate",
        "pipeline",
        "stats",
        "federated",
    },
}


#: Deprecated entry points kept for callers of aftercar 0.1 that reach a later stage
#: (deferred import, only when called; to be removed in 0.3). Nothing else may.
DEPRECATED_SHIMS: dict[str, set[str]] = {
    # benchmark.compare.cohort_endpoints -> aftercar.pipeline.cohort_endpoints
    "aftercar.benchmark.compare": {"aftercar.pipeline", "aftercar.config"},
}


def _module(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(("aftercar", *parts)).removesuffix(".__init__")


def _stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> set[str]:
    module = _module(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("aftercar")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))  # fmt: skip
            if base.startswith("aftercar"):
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    known = (SRC.parent / sub.replace(".", "/")).with_suffix(".py").exists()
                    package_dir = (SRC.parent / sub.replace(".", "/")).is_dir()
                    out.add(sub if known or package_dir else base)
    return out


def _graph() -> dict[str, set[str]]:
    graph = {_module(p): _imports(p) for p in SRC.rglob("*.py")}
    for module, shims in DEPRECATED_SHIMS.items():
        assert shims <= graph[module], f"{module}: the deprecated shim is gone; drop it here"
        graph[module] -= shims
    return graph


def test_stages_import_only_earlier_stages():
    bad = []
    for module, targets in _graph().items():
        stage = _stage(module)
        allowed = ALLOWED.get(stage, set()) | FOUNDATION | {stage}
        bad += [f"{module} -> {t}" for t in sorted(targets) if _stage(t) not in allowed]
    assert bad == []


def test_report_neither_computes_with_nor_imports_stats_derive_vocab_or_simulate():
    graph = _graph()
    hits = [
        f"{m} -> {t}"
        for m, targets in graph.items()
        if _stage(m) == "report"
        for t in targets
        if _stage(t) in {"stats", "derive", "vocab", "simulate"}
    ]
    assert hits == []


def test_no_import_cycle_between_modules():
    graph = _graph()
    nodes = set(graph)
    edges = {m: {t for t in ts if t in nodes and not m.startswith(t + ".") and t != m}
             for m, ts in graph.items()}  # fmt: skip
    # package __init__ files re-export their modules: an edge into a package is an
    # edge into what the package imports, so cycles through __init__ are real too.
    state: dict[str, int] = defaultdict(int)
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state[nxt] == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif state[nxt] == 0:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for start in sorted(nodes):
        if state[start] == 0:
            visit(start, [start])
    assert cycles == []


def test_pipeline_is_orchestration_sized():
    lines = sum(len(p.read_text("utf-8").splitlines()) for p in (SRC / "pipeline").glob("*.py"))
    assert lines < 600


def _opens_duckdb(path: Path) -> list[str]:
    """Where the module at ``path`` imports the ``duckdb`` module or calls a
    ``...duckdb.connect`` (DuckDB's own or Ibis's)."""
    hits = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            hits += [f"line {node.lineno}: import {n}" for n in names if n == "duckdb"]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            f = node.func
            if f.attr == "connect" and ast.unparse(f.value).split(".")[-1] == "duckdb":
                hits.append(f"line {node.lineno}: {ast.unparse(f)}")
    return hits


def test_only_backends_open_duckdb():
    """``backends`` is the package that knows the engines: every in-process DuckDB of the
    derivations (memory limit, spill folder) is opened by :mod:`aftercar.backends.duckdb`."""
    bad = [f"{_module(p)} {hit}" for p in SRC.rglob("*.py")
           if _stage(_module(p)) != "backends" for hit in _opens_duckdb(p)]  # fmt: skip
    assert bad == []


def test_the_duckdb_check_sees_an_opened_duckdb(tmp_path):
    p = tmp_path / "m.py"
    p.write_text("import ibis\nimport duckdb\ncon = ibis.duckdb.connect(memory_limit='1GB')\n")
    assert _opens_duckdb(p) == ["line 2: import duckdb", "line 3: ibis.duckdb.connect"]


def _writes_csv_directly(path: Path) -> list[str]:
    """``write_csv`` / ``write_table`` of ``pyarrow.csv`` called outside ``io.csv_out``:
    on pyarrow 14 a table with an empty record batch gets its header written twice."""
    hits = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr == "write_csv" and \
                isinstance(node.value, ast.Name) and node.value.id in {"pacsv", "csv"}:  # fmt: skip
            hits.append(f"line {node.lineno}: {node.value.id}.write_csv")
        if isinstance(node, ast.ImportFrom) and node.module == "pyarrow.csv" and \
                any(a.name == "write_csv" for a in node.names):  # fmt: skip
            hits.append(f"line {node.lineno}: from pyarrow.csv import write_csv")
    text = path.read_text(encoding="utf-8")
    if "CSVWriter(" in text and "append_csv" not in text:
        hits.append("opens a pyarrow CSVWriter without appending through append_csv")
    return hits


def test_every_csv_is_written_through_csv_out():
    """One home for CSV output through pyarrow (:mod:`aftercar.io.csv_out`)."""
    bad = [f"{_module(p)} {hit}" for p in SRC.rglob("*.py")
           if _module(p) != "aftercar.io.csv_out" for hit in _writes_csv_directly(p)]  # fmt: skip
    assert bad == []


def test_the_csv_check_sees_a_direct_write(tmp_path):
    p = tmp_path / "m.py"
    p.write_text("import pyarrow.csv as pacsv\npacsv.write_csv(t, 'x.csv')\n"
                 "w = pacsv.CSVWriter('y.csv', s)\n")  # fmt: skip
    assert _writes_csv_directly(p) == [
        "line 2: pacsv.write_csv",
        "opens a pyarrow CSVWriter without appending through append_csv",
    ]
