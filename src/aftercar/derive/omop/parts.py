"""Where a batched OMOP derivation keeps each batch's outputs until the files are written.

:func:`aftercar.derive.omop.derive_omop_batched` appends every batch's outputs to one
temporary Parquet file per output (:class:`Parts`). With ``resume=True`` it keeps them
instead in one folder per batch under ``OUT/.aftercar-batches/``, closed and marked done
as each batch ends (:class:`BatchStore`), so that a run stopped half-way (a closed laptop,
a killed job, a Spark session lost after hours) starts again at the first batch not done.

The folder holds ``run.json``, the fingerprint of the run (source, schema, persons per
batch, EPISODE rows or not, the batches' ``person_id`` bounds, the rules and concept
maps, the aftercar version): batches are reused only by the same run, anything else is
refused (exit 2) rather than mixed in. It also holds ``source-checked.json`` once the
source's rows have passed their checks (:func:`aftercar.derive.omop.checks.check_rows`):
a resumed run of the same files (same sizes, modification and change times), engine and
aftercar does not read every row again for them (18 minutes of Spark local at 1,000,000 persons).
While a run uses the folder, it holds the kernel lock of ``lock`` (:func:`hold`): a second
run into the same folder is refused. A batch's files are flushed to the disk before its
``done`` marker is written.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import socket
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from aftercar import __version__
from aftercar.errors import InputError

#: The folder under the output folder that a resumable run keeps its batches in.
RESUME_FOLDER = ".aftercar-batches"
_DONE = "done"  # written last in a batch's folder: the batch is complete
_STEPS = "cohort_steps.parquet"  # a batch's cohort attrition steps
_CHECKED = "source-checked.json"  # the source files whose rows a stopped run checked
_LOCK = "lock"  # held by the run using the folder: {"pid", "host"}


class Parts:
    """One temporary Parquet file per output, appended batch by batch.

    ``schemas`` (shared by the folders of one run): each output's schema, that of its
    first table; every later table is cast to it, so that the files read together hold
    one schema.

    The files are written in two threads beside the caller (Arrow encodes Parquet without
    Python's lock): a batch's ten or so outputs, some 25 million rows for 50,000 persons,
    are encoded side by side, while the caller builds the EPISODE rows (2.4 s of one core
    per such batch, written one after the other). One file is written by one thread at a
    time, in the order of the calls; :meth:`flush` waits for every write (and raises its
    error).
    """

    def __init__(self, folder: Path, schemas: dict[str, pa.Schema] | None = None) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.writers: dict[str, tuple[pq.ParquetWriter, pa.Schema]] = {}
        self.schemas = {} if schemas is None else schemas
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="aftercar-parts")
        self._pending: dict[str, Future] = {}

    def write(self, name: str, table: pa.Table) -> None:
        """Append ``table`` to the file of output ``name`` (cast to its first schema), in
        the background (:meth:`flush`)."""
        if name not in self.writers:
            schema = self.schemas.setdefault(name, table.schema)
            self.writers[name] = (pq.ParquetWriter(self.path(name), schema), schema)
        writer, schema = self.writers[name]
        table = table.cast(schema)
        before = self._pending.pop(name, None)
        if before is not None:  # the file's previous table first: one writer, one thread
            before.result()
        self._pending[name] = self._pool.submit(writer.write_table, table)

    def flush(self) -> None:
        """Wait until every table given to :meth:`write` is written."""
        pending, self._pending = self._pending, {}
        for f in pending.values():
            f.result()

    def path(self, name: str) -> Path:
        """The file of output ``name``."""
        return self.folder / f"{name.replace('/', '__')}.parquet"

    def close(self) -> dict[str, Path]:
        """Write what is pending, close every file; ``{output: file}``."""
        errors = []
        try:
            self.flush()
        except Exception as e:  # every file is closed, then the first error is raised
            errors.append(e)
        self._pool.shutdown(wait=True)
        for writer, _schema in self.writers.values():
            try:
                writer.close()
            except Exception as e:
                errors.append(e)
        if errors:
            raise errors[0]
        return {n: self.path(n) for n in self.writers}


def source_state(source: Path) -> list[tuple[str, int, int, int]]:
    """``(file, size, modification time, change time)`` (times in ns) of the file ``source``
    (with its DuckDB write-ahead log ``.wal``, which holds rows not yet in the file) or of
    every file under the folder ``source`` (following linked folders, as the reader does):
    an extract corrected or exported again in place is another source (its batches are not
    reused, its rows are checked again). The change time also moves when a copy keeps the
    modification time (``cp -p``, ``rsync -t``)."""
    if source.is_file():
        files = [(source.name, source)]
        wal = source.with_name(source.name + ".wal")
        files += [(wal.name, wal)] if wal.is_file() else []
    else:
        files = _files_under(source)
    out = []
    for name, path in files:
        st = path.stat()
        out.append((name, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
    return out


def _files_under(folder: Path) -> list[tuple[str, Path]]:
    """``(name relative to folder, path)`` of each file under ``folder``, sorted, linked
    folders followed once each (a link back to a parent is not walked again); links to
    nothing are left out."""
    seen: set[tuple[int, int]] = set()
    out = []
    for d, dirs, names in os.walk(folder, followlinks=True):
        st = os.stat(d)
        if (st.st_dev, st.st_ino) in seen:
            dirs[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        out += [(str(Path(d, f).relative_to(folder)), Path(d, f)) for f in names
                if os.path.isfile(Path(d, f))]  # fmt: skip
    return sorted(out)


def _fingerprint(run: dict[str, Any], rules: Any, concepts: Any) -> str:
    """A digest of the rules and concept maps (a changed rule must not reuse a batch)."""
    h = hashlib.sha256()
    for table in (rules.lot, rules.imwg):
        h.update(json.dumps({k: dict(v) for k, v in table.items()}, sort_keys=True,
                            default=str).encode())  # fmt: skip
    h.update(concepts_digest(concepts).encode())
    h.update(json.dumps(run, sort_keys=True, default=str).encode())
    return h.hexdigest()


def concepts_digest(concepts: Any) -> str:
    """A digest of the concept maps (:class:`aftercar.derive.omop.concepts.Concepts`): which
    persons have myeloma, and so which rows a run reads and checks, depends on them."""
    h = hashlib.sha256()
    for name in sorted(concepts.tables):
        h.update(name.encode())
        h.update(json.dumps(concepts.tables[name].to_pylist(), default=str).encode())
    h.update(json.dumps(dict(concepts.episode), sort_keys=True).encode())
    return h.hexdigest()


class BatchStore:
    """The batches' temporary outputs: one shared :class:`Parts`, or (``resume``) one
    folder per batch under ``work``, reused when ``work/run.json`` is this run's.

    Parameters
    ----------
    work
        The folder of the temporary files.
    run
        What identifies the run (JSON-able): source, schema, batches, options.
    rules, concepts
        The rule set and concept maps (part of the fingerprint).
    resume
        Keep one folder per batch, marked done when complete, and reuse the done ones.
    """

    def __init__(self, work: Path, run: dict[str, Any], rules: Any, concepts: Any,
                 resume: bool) -> None:  # fmt: skip
        self.work = work
        self.schemas: dict[str, pa.Schema] = {}
        self.shared = None if resume else Parts(work / "parts", self.schemas)  # None: resume
        self.open: dict[int, Parts] = {}
        self.files: dict[int, dict[str, Path]] = {}
        if resume:
            self._claim(dict(run, aftercar=__version__), rules, concepts)

    def _claim(self, run: dict[str, Any], rules: Any, concepts: Any) -> None:
        manifest = self.work / "run.json"
        mine = {"run": run, "fingerprint": _fingerprint(run, rules, concepts)}
        if manifest.is_file() and _fingerprint_of(manifest) != mine["fingerprint"]:
            raise InputError(
                f"{self.work} holds the batches of another run (other source or source "
                "files, options, rules, concepts or aftercar version), which cannot be "
                "resumed by this one. Fix: run with the same options on the same files, or "
                "delete that folder to start over."
            )
        _write_json(manifest, mine)

    def _folder(self, i: int) -> Path:
        return self.work / "batches" / f"{i:05d}"

    def done(self, i: int) -> pa.Table | None:
        """The cohort steps of batch ``i`` if a resumed run has it complete, else ``None``
        (a half-written batch folder is removed)."""
        if self.shared is not None:
            return None
        folder = self._folder(i)
        if not (folder / _DONE).is_file():
            shutil.rmtree(folder, ignore_errors=True)
            return None
        self.files[i] = {f.stem.replace("__", "/"): f for f in sorted(folder.glob("*.parquet"))
                         if f.name != _STEPS}  # fmt: skip
        for name, f in self.files[i].items():
            self.schemas.setdefault(name, pq.read_schema(f))
        return pq.read_table(folder / _STEPS)

    def parts(self, i: int) -> Parts:
        """Where batch ``i`` writes its outputs."""
        if self.shared is not None:
            return self.shared
        if i not in self.open:
            self.open[i] = Parts(self._folder(i), self.schemas)
        return self.open[i]

    def finish(self, i: int, steps: pa.Table) -> None:
        """Batch ``i`` is complete: with ``resume``, close its files and mark it done."""
        if self.shared is not None:
            return
        parts = self.parts(i)
        self.files[i] = parts.close()
        pq.write_table(steps, parts.folder / _STEPS)
        for f in [*self.files[i].values(), parts.folder / _STEPS, parts.folder]:
            _synced(f)  # on the disk before the marker: a machine crash leaves no short file
        (parts.folder / _DONE).write_text("", "utf-8")
        _synced(parts.folder)
        del self.open[i]

    def has(self, name: str) -> bool:
        """Whether any batch wrote output ``name``."""
        if self.shared is not None:
            return name in self.shared.writers
        return any(name in f for f in self.files.values()) or any(
            name in p.writers for p in self.open.values())  # fmt: skip

    def close(self) -> dict[str, list[Path]]:
        """Close what is open; ``{output: [its files, in batch order]}``."""
        if self.shared is not None:
            return {n: [p] for n, p in self.shared.close().items()}
        for i in list(self.open):
            self.files[i] = self.open.pop(i).close()
        out: dict[str, list[Path]] = {}
        for i in sorted(self.files):
            for name, path in self.files[i].items():
                out.setdefault(name, []).append(path)
        return out


@dataclass(frozen=True)
class Held:
    """What :func:`hold` found.

    Attributes
    ----------
    locked
        The folder is locked for this run (``False``: the platform or the file system has
        no ``flock`` file locks, e.g. Windows or a Lustre mount without them, and nothing
        stops a second run).
    previous
        The process id of a run that held the folder and stopped without releasing it
        (killed, or the machine stopped), ``"unknown"`` when its record cannot be read,
        else ``None``.
    """

    locked: bool
    previous: int | str | None = None


def _record(fd: int) -> dict[str, Any] | None:
    """The ``{"pid", "host"}`` written in the lock file ``fd`` (``None``: the file is empty,
    ``{}``: it cannot be read, e.g. cut short)."""
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 4096)
    if not text:
        return None
    try:
        got = json.loads(text)
    except ValueError:
        return {}
    return got if isinstance(got, dict) else {}


#: ``flock`` errors of file systems without the lock (Lustre ``noflock``, some NFS, CIFS,
#: FUSE mounts): the run goes on unlocked, and says so.
_NO_LOCKS = frozenset({errno.ENOSYS, errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL})


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd``."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    own = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)


def _locked(work: Path) -> tuple[int, bool]:
    """``(fd of work/lock, locked)``; ``locked`` is ``False`` where there are no file locks.

    A lock taken on a file that a finishing run removed meanwhile (with its folder) locks
    nothing: the file is opened and locked again.
    """
    try:
        import fcntl
    except ImportError:  # no fcntl on this platform (Windows)
        work.mkdir(parents=True, exist_ok=True)
        return os.open(work / _LOCK, os.O_RDWR | os.O_CREAT, 0o644), False
    for _ in range(10):
        work.mkdir(parents=True, exist_ok=True)
        fd = os.open(work / _LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            who = _record(fd) or {}
            os.close(fd)
            raise InputError(
                f"{work} is in use by another aftercar run (process {who.get('pid', '?')} on "
                f"{who.get('host', '?')}): two runs resuming into one folder would write the "
                "same batches. Fix: wait for that run to end, or give another -o."
            ) from None
        except OSError as e:
            if e.errno in _NO_LOCKS:
                return fd, False
            os.close(fd)
            raise
        if _same_file(fd, work / _LOCK):
            return fd, True
        os.close(fd)
    raise InputError(
        f"{work}: its lock file keeps being replaced by another run. Fix: run "
        "again once no other aftercar run writes into this output folder."
    )


@contextmanager
def hold(work: Path) -> Iterator[Held]:
    """Lock the folder ``work`` for this run: two runs resuming into one output folder
    would write the same batches at once.

    The lock is the kernel's (``fcntl.flock`` on ``work/lock``): it ends with the process
    that holds it, however that process ends, so a killed run never blocks the next one.
    The file records the holder's process id and machine, for the messages only.

    Raises
    ------
    InputError
        Another running process holds ``work`` (exit 2).
    """
    fd, locked = _locked(work)
    try:
        if not locked:
            yield Held(False)
            return
        previous = _record(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode(), 0)
        yield Held(True, None if previous is None else previous.get("pid", "unknown"))
        os.ftruncate(fd, 0)  # released as it should be: the next run takes over nothing
    finally:
        os.close(fd)  # the kernel lock ends with the descriptor


def _synced(path: Path) -> None:
    """Flush ``path`` (a file, or a folder's entries where the platform can: not on Windows)
    to the disk."""
    if os.name == "nt" and path.is_dir():
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json(path: Path, content: dict[str, Any]) -> None:
    """Write ``path`` whole (a temporary file renamed: never a file cut short)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(content, indent=1, default=str), "utf-8")
    os.replace(tmp, path)


def _as_json(content: dict[str, Any]) -> Any:
    """``content`` as it reads back from JSON (tuples as lists, other values as text)."""
    return json.loads(json.dumps(content, default=str))


def checked_before(work: Path, source: dict[str, Any]) -> bool:
    """Whether a run stopped in ``work`` had checked every row of the source ``source``
    describes (:func:`mark_checked`); an unreadable record is no record."""
    try:
        got = json.loads((work / _CHECKED).read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return got == _as_json(source)


def mark_checked(work: Path, source: dict[str, Any]) -> None:
    """Record in ``work`` that the source ``source`` describes passed every check.

    ``source``: what identifies the files checked (the path, :func:`source_state`, the
    schema, the engine), the concept maps (they decide whose rows are checked) and the
    aftercar version that checked them; a resumed run of other files, engine, concepts or
    version checks them again.
    """
    _write_json(work / _CHECKED, _as_json(source))


def _fingerprint_of(manifest: Path) -> str | None:
    """The fingerprint ``run.json`` records (``None``: unreadable, e.g. cut short)."""
    try:
        got = json.loads(manifest.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return got.get("fingerprint") if isinstance(got, dict) else None


__all__ = ["RESUME_FOLDER", "BatchStore", "Held", "Parts", "checked_before", "concepts_digest",
           "hold", "mark_checked", "source_state"]  # fmt: skip
