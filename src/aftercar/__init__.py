"""aftercar: outcomes research after BCMA-directed CAR T in multiple myeloma.

The package is laid out by pipeline stage, imports flowing one way:
``io`` (read, validate) -> ``vocab`` (drugs, regimens) -> ``derive`` (lines,
responses, endpoints) -> ``analysis`` (the study's analyses) -> ``report``
(rendering); ``stats`` is pure statistics; ``benchmark`` and ``simulate`` sit
beside; ``pipeline`` and ``cli`` on top (``docs/architecture.md``).

The names below are the notebook API (``docs/api.md``): :func:`read_cohort` gives a
:class:`~aftercar.api.Study` with pandas tables and endpoints; the errors are
importable from here and from :mod:`aftercar.errors`. Importing the package has
no side effects and loads nothing heavy until a name is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

#: Public name -> module that defines it (imported on first use).
_LAZY = {
    "read_cohort": "aftercar.api",
    "Study": "aftercar.api",
    "demo_cohort_path": "aftercar.simulate",
    "load_config": "aftercar.config",
    "AftercarError": "aftercar.errors",
    "CohortError": "aftercar.errors",
    "ConfigError": "aftercar.errors",
    "ConvergenceError": "aftercar.errors",
    "DerivationError": "aftercar.errors",
    "InputError": "aftercar.errors",
    "OutputError": "aftercar.errors",
    "Problem": "aftercar.errors",
    "VocabularyError": "aftercar.errors",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'aftercar' has no attribute {name!r}")
