"""TOML files of the configuration loaders (study, rules, simulation, local concepts):
read as UTF-8 with or without a byte-order mark, other encodings and syntax errors named
(:func:`read_toml`), and values written back as TOML in messages (:func:`toml_value`)."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aftercar.errors import ConfigError, Problem

__all__ = ["read_toml", "toml_value"]


def toml_value(value: Any) -> str:
    """``value`` written as TOML (``true``, ``"text"``, ``[-7, 0]``, ``{ a = 1 }``), so that
    a message shows a value, or a fix, the way the user types it in the file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{toml_value(k)} = {toml_value(v)}" for k, v in value.items()) \
            + " }"  # fmt: skip
    return repr(value)


#: Byte-order marks of UTF-16/32 text, which a TOML file must not be (TOML is UTF-8).
_WIDE_BOMS = {b"\xff\xfe\x00\x00": "UTF-32", b"\x00\x00\xfe\xff": "UTF-32",
              b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16"}  # fmt: skip


def _toml_text(path: Path) -> tuple[str | None, str]:
    """The text of a TOML file, or ``(None, why it cannot be read)``.

    UTF-8 with or without a byte-order mark (Windows Notepad writes one) is read;
    UTF-16/32 text and other encodings (Latin-1, cp1252) are named.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, "file not found"
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc})"
    for bom, name in _WIDE_BOMS.items():
        if data.startswith(bom):
            return None, f"is {name} text (it starts with a {name} byte-order mark); TOML is UTF-8"
    try:
        return data.decode("utf-8-sig"), ""
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start : exc.start + 1].hex()
        return None, (f"is not UTF-8 text (byte 0x{byte} on line {line}; Latin-1 or "
                      "Windows-1252?); TOML is UTF-8")  # fmt: skip


def read_toml(path: str | Path, *, fix: str) -> dict[str, Any]:
    """Read a TOML file (UTF-8, a byte-order mark allowed) for a configuration loader.

    Parameters
    ----------
    path
        The file.
    fix
        What to do about a syntax error (e.g. "compare with study_defaults.toml").

    Raises
    ------
    ConfigError
        The file is missing, unreadable, not UTF-8 or not valid TOML: the message
        names the file and what to do (exit code 2).
    """
    path = Path(path)
    text, why = _toml_text(path)
    rule, hint = "config-file", "save the file as UTF-8 text (e.g. 'Save as... UTF-8')"
    if text is None and why == "file not found":
        hint = "check the path"
    elif text is None and path.is_dir():  # not "save as UTF-8" (fuzz round 8)
        why, hint = "it is a folder, not a file", "give the path of the TOML file itself"
    elif text is not None:
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            why, hint, rule = f"not valid TOML: {exc}", fix, "config-syntax"
    problem = Problem(file=str(path), row=None, column=None, value=None, message=why, hint=hint,
                      rule=rule)  # fmt: skip
    raise ConfigError(f"{path}: {why}. Fix: {hint}.", [problem])
