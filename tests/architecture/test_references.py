"""Every ``aftercar.…`` name that a docstring or a doc page cites exists.

A docstring that names a function which does not exist sends a maintainer on a
search; this reads ``:func:``/``:class:``/``:mod:``/``:data:``/``:meth:``
references and backticked ``aftercar.x.y`` names in the sources and ``docs/``.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

import aftercar

SRC = Path(aftercar.__file__).resolve().parent
DOCS = Path(__file__).resolve().parents[2] / "docs"  # the checkout, wherever aftercar is installed
PATTERN = re.compile(r"(?::(?:func|class|mod|data|meth|attr):)?`~?(aftercar(?:\.\w+)+)")


def _resolves(name: str) -> bool:
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def _cited() -> list[tuple[str, str]]:
    files = [*SRC.rglob("*.py"), *DOCS.glob("*.md")]
    return sorted({(f.name, m) for f in files for m in PATTERN.findall(f.read_text("utf-8"))})


@pytest.mark.parametrize(("where", "name"), _cited())
def test_cited_name_exists(where, name):
    assert _resolves(name), f"{where} cites {name}, which does not exist"
