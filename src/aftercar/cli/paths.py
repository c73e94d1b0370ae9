"""Output paths given on the command line: a folder where a folder is written, a file where
a file is (fuzzing round 3, 2026-12-06: an existing file given as the output folder of
``derive``, ``simulate`` or ``benchmark compare``, or a folder as the output file of
``regimens classify``, ended in a traceback)."""

from __future__ import annotations

import json
from pathlib import Path

from aftercar.errors import InputError
from aftercar.schema import WRITING_FILE


def output_folder(path: Path, option: str = "-o") -> Path:
    """``path``, when it is a folder or does not exist yet (it is created then)."""
    if path.exists() and not path.is_dir():
        raise InputError(f"{path}: is a file, not a folder. Fix: give {option} a folder for "
                         "the outputs (it is created when missing), not an existing file.")
    return path


def output_file(path: Path, option: str = "-o") -> Path:
    """``path``, when it is not an existing folder."""
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a file. Fix: give {option} the name of "
                         f"the file to write (e.g. {path / 'out.csv'}).")
    return path


#: The curated cohort's files, as ``derive`` and ``simulate`` write them.
_COHORT_FILES = tuple(f"{t}.{ext}" for t in ("patients", "lines")
                      for ext in ("csv", "parquet", "xlsx"))  # fmt: skip


def _aftercar_wrote(folder: Path) -> bool:
    """Whether ``folder``'s cohort is aftercar's: a derivation's ``audit/attrition`` or a
    ``provenance.json`` of ``simulate`` / ``derive --omop``."""
    if any((folder / "audit" / f"attrition.{ext}").is_file() for ext in ("csv", "parquet")):
        return True
    if (folder / WRITING_FILE).is_file():  # a derive interrupted while writing
        return True
    try:
        record = json.loads((folder / "provenance.json").read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and bool(record.get("generator") or record.get("derived_by"))


def cohort_folder(path: Path, *, force: bool, option: str = "-o") -> Path:
    """``path`` (:func:`output_folder`), unless it holds a cohort aftercar did not write
    (a curated ``patients`` or ``lines`` file) and ``force`` is not given: ``derive`` and
    ``simulate`` would replace it (fuzzing round 3, F11: a clinician's patients.csv and
    lines.csv were overwritten without a word; ``aftercar report`` refuses the same)."""
    output_folder(path, option)
    if force or not path.is_dir():
        return path
    found = [name for name in _COHORT_FILES if (path / name).is_file()]
    if found and not _aftercar_wrote(path):
        raise InputError(
            f"{path}: holds a cohort aftercar did not write ({', '.join(found)}): it would be "
            f"replaced. Fix: give {option} another folder, or add --force to replace it."
        )
    return path
