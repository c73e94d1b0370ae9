"""aftercar: outcomes research after BCMA-directed CAR T in multiple myeloma.

The package is laid out by pipeline stage, imports flowing one way:
``io`` (read, validate) -> ``vocab`` (drugs, regimens) -> ``derive`` (lines,
responses, endpoints); ``stats`` is pure statistics and imports no other stage;
``report`` renders what ``derive`` and ``stats`` produce; ``benchmark`` and
``simulate`` sit beside them; ``pipeline`` and ``cli`` sit on top.

Importing the package has no side effects.
"""

__version__ = "0.1.0"
