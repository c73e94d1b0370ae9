"""Output paths given on the command line: a folder where a folder is written, a file where
a file is (fuzzing round 3, 2026-12-06: an existing file given as the output folder of
``derive``, ``simulate`` or ``benchmark compare``, or a folder as the output file of
``regimens classify``, ended in a traceback)."""

from __future__ import annotations

from pathlib import Path

from aftercar.errors import InputError


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
