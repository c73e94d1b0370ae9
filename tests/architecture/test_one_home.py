"""One home for each thing: column names, IMWG response codes and the month are defined once.

``aftercar/schema.py`` is the only module that spells a declared column name
(``data/dictionary.csv``, ``data/derived_tables.csv``), an IMWG response code
(``data/response_codes.csv``) or the number of days per month; every other module
uses :class:`aftercar.schema.Col`, :func:`aftercar.schema.response_levels` and
:data:`aftercar.schema.DAYS_PER_MONTH`. These tests read every module's syntax tree
(docstrings and comments do not count) and fail on a second definition.
"""

from __future__ import annotations

import ast
import csv
from pathlib import Path

import pytest

import aftercar
from aftercar.schema import DAYS_PER_MONTH, Col, derived_columns, response_codes

SRC = Path(aftercar.__file__).resolve().parent
HOME = SRC / "schema.py"
MODULES = sorted(p for p in SRC.rglob("*.py") if p != HOME)

#: Column names that are also the generic vocabulary of survival and response data (a
#: KM table's ``time``, a counting process's ``start``/``stop``, an ``event`` or
#: ``responded`` argument): the pure statistics and the benchmark's IPD files may use
#: them as their own words.
GENERIC = {"time", "start", "stop", "event", "responded"}
GENERIC_OK = ("stats/", "benchmark/")


def _declared_columns() -> set[str]:
    with (SRC / "data" / "dictionary.csv").open(encoding="utf-8") as fh:
        names = {row["column"] for row in csv.DictReader(fh)}
    return names | {c.name for c in derived_columns()} | {Col.SOURCE_ROW}


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _constants(path: Path) -> list[tuple[int, object]]:
    tree = ast.parse(path.read_text("utf-8"))
    skip = _docstrings(tree)
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and id(node) not in skip
    ]


def _where(values: set[object], *, kind: type) -> list[str]:
    out = []
    for p in MODULES:
        rel = p.relative_to(SRC).as_posix()
        allowed = GENERIC if rel.startswith(GENERIC_OK) else set()
        out += [
            f"{rel}:{line}: {value!r}"
            for line, value in _constants(p)
            if isinstance(value, kind) and not isinstance(value, bool)
            and value in values and value not in allowed
        ]  # fmt: skip
    return out


def _code_collections(path: Path) -> list[str]:
    """Tuples, lists, sets and dict keys that spell two or more IMWG response codes."""
    codes = set(response_codes())
    out = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        items = node.keys if isinstance(node, ast.Dict) else getattr(node, "elts", None)
        if not isinstance(node, ast.Tuple | ast.List | ast.Set | ast.Dict) or items is None:
            continue
        spelled = {i.value for i in items if isinstance(i, ast.Constant) and i.value in codes}
        if len(spelled) >= 2:
            out.append(f"{path.relative_to(SRC)}:{node.lineno}: {sorted(spelled)}")
    return out


def test_the_schema_declares_every_column_once():
    names = [v for k, v in vars(Col).items() if k.isupper()]
    assert len(names) == len(set(names))
    assert set(names) == _declared_columns()


def test_no_module_but_the_schema_spells_a_column_name():
    assert _where(_declared_columns(), kind=str) == []


def test_no_module_but_the_schema_lists_response_codes():
    # A single code may appear as text (e.g. "NE" = not estimable in a figure); a set
    # of them is a definition of the IMWG scale, and that lives in response_codes.csv.
    assert [hit for p in MODULES for hit in _code_collections(p)] == []


def test_no_module_but_the_schema_defines_the_month():
    assert _where({DAYS_PER_MONTH}, kind=float) == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_modules_parse(path):
    ast.parse(path.read_text("utf-8"))
