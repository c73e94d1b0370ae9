"""Output folders that are written whole or not at all, and that aftercar owns.

A report is written into a staging folder beside OUTDIR (``.OUTDIR.aftercar-*``)
and moved into place only when every file is complete, so a reader sees the old
report or the new one, never a mix; an interrupted run leaves the previous report
untouched (its staging folder is removed by the next run).

aftercar deletes only what it wrote: the files listed in the ``manifest.json`` of an
earlier aftercar run in OUTDIR. It refuses (:class:`~aftercar.errors.OutputError`,
exit code 2) to write into a folder that holds the input cohort or files it does
not own, unless ``force`` is given; even then it leaves those files alone. Every
failure to write (an existing file as OUTDIR, no permission, a read-only file
system, a full disk, a name too long) is an ``OutputError`` naming the path, and
nothing half-written is left behind.

References
----------
The atomicity databases promise: a reader sees the old result or the new one.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from aftercar.errors import OutputError

#: The manifest that lists the files an aftercar run wrote (its ownership record).
MANIFEST = "manifest.json"

_STAGING = ".aftercar-"

_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENAMETOOLONG: "the path is too long",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EEXIST: "it exists and is not a folder",
}


def describe(exc: OSError, path: Path) -> OutputError:
    """An :class:`OutputError` naming ``path``, what went wrong and a fix."""
    reason = _REASONS.get(exc.errno or 0, exc.strerror or str(exc))
    return OutputError(
        f"cannot write the output {path}: {reason}. Fix: choose another output folder with "
        "-o (a new or empty folder on a writable disk with free space)."
    )


def owned_files(outdir: Path) -> set[Path]:
    """Files an earlier aftercar run wrote in ``outdir`` (its manifest and what it lists)."""
    manifest = outdir / MANIFEST
    try:
        listed = json.loads(manifest.read_text("utf-8")).get("outputs", [])
    except (OSError, ValueError, AttributeError):
        return set()
    owned = {manifest}
    for entry in listed if isinstance(listed, list) else []:
        rel = entry.get("path") if isinstance(entry, dict) else None
        if isinstance(rel, str) and ".." not in Path(rel).parts and not Path(rel).is_absolute():
            owned.add(outdir / rel)
    return owned


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file() or p.is_symlink()}


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def check_target(outdir: Path, inputs: Iterable[Path] = (), *, force: bool = False) -> None:
    """Refuse an OUTDIR that is a file, holds an input, or holds files aftercar does not own.

    Raises
    ------
    OutputError
        With the reason and the fix (another folder, or ``--force``); also when the
        path cannot even be looked at (too long, no permission).
    """
    try:
        _check_target(outdir, inputs, force)
    except OSError as exc:
        if isinstance(exc, OutputError):
            raise
        raise describe(exc, outdir) from None


def _check_target(outdir: Path, inputs: Iterable[Path], force: bool) -> None:
    if outdir.exists() and not outdir.is_dir():
        raise OutputError(
            f"the output {outdir} exists and is a file, not a folder. "
            "Fix: give a folder name with -o."
        )
    held = [p for p in inputs if _inside(Path(p), outdir)]
    if held and not force:
        raise OutputError(
            f"the output folder {outdir} holds the input {held[0]}; writing there would mix "
            "the report with its own input. Fix: choose another folder with -o (or --force "
            "to write beside it; aftercar never deletes a file it did not write)."
        )
    if not outdir.is_dir():
        return
    foreign = sorted(_files(outdir) - owned_files(outdir))
    if foreign and not force:
        shown = ", ".join(str(p.relative_to(outdir)) for p in foreign[:5])
        more = f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        raise OutputError(
            f"the output folder {outdir} holds files aftercar did not write ({shown}{more}). "
            "Fix: choose a new or empty folder with -o, or pass --force to write beside them "
            "(they are left untouched)."
        )


def probe(outdir: Path) -> None:
    """Check that a staging folder can be made beside ``outdir`` (before any analysis).

    Raises
    ------
    OutputError
        The folder cannot be written (no permission, read-only, path too long...).
    """
    try:
        outdir.parent.mkdir(parents=True, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=f".{outdir.name}{_STAGING}probe-", dir=outdir.parent)
        (Path(tmp) / "probe").write_bytes(b"aftercar")
        shutil.rmtree(tmp)
    except OSError as exc:
        raise describe(exc, outdir) from None


def _clear_stale_staging(outdir: Path) -> None:
    for old in outdir.parent.glob(f".{outdir.name}{_STAGING}*"):
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def staging(outdir: Path) -> Iterator[Path]:
    """A new staging folder beside ``outdir``; removed if the block fails.

    Raises
    ------
    OutputError
        The folder beside OUTDIR cannot be written (checked before any analysis
        output is rendered: this is the write probe).
    """
    try:
        outdir.parent.mkdir(parents=True, exist_ok=True)
        _clear_stale_staging(outdir)
        tmp = Path(tempfile.mkdtemp(prefix=f".{outdir.name}{_STAGING}", dir=outdir.parent))
    except OSError as exc:
        raise describe(exc, outdir) from None
    try:
        yield tmp
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise describe(exc, outdir) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def commit(tmp: Path, outdir: Path) -> None:
    """Move a complete staging folder into place, replacing only what aftercar owns.

    When OUTDIR holds nothing but an earlier aftercar report, the swap is two
    renames; files aftercar does not own (allowed with ``--force``) stay where they are.
    """
    try:
        if not outdir.exists():
            os.replace(tmp, outdir)
            return
        if not (_files(outdir) - owned_files(outdir)):
            old = outdir.with_name(f".{outdir.name}{_STAGING}old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(outdir, old)
            os.replace(tmp, outdir)
            shutil.rmtree(old, ignore_errors=True)
            return
        _merge(tmp, outdir)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise describe(exc, outdir) from None


def _merge(tmp: Path, outdir: Path) -> None:
    """Replace the files of an earlier run beside files aftercar does not own."""
    for path in owned_files(outdir):
        path.unlink(missing_ok=True)
    for src in sorted(_files(tmp)):
        dest = outdir / src.relative_to(tmp)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dest)
    shutil.rmtree(tmp, ignore_errors=True)
