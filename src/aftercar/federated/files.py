"""Reading and validating the files of the federated protocol (``aftercar pool``).

Every file is checked before anything is pooled: it must be JSON, of a known
format and schema version, hold the keys the pooled analyses read, and carry
the same study-configuration hash as every other site (and as ``--config`` when
given). Each problem is an :class:`~aftercar.errors.InputError` naming the file
and the fix (exit code 2).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aftercar.errors import InputError
from aftercar.federated.cox import ANSWER_FORMAT, ROUND_FORMAT
from aftercar.federated.robust import ROBUST_ANSWER_FORMAT, ROBUST_FORMAT
from aftercar.federated.summary import FORMAT, SCHEMA_VERSION
from aftercar.federated.validate import (
    event_table_problem,
    length_problem,
    schema_problem,
    shown,
)
from aftercar.schema import Col

#: Top-level keys every site summary must have.
REQUIRED = (
    "format",
    "schema_version",
    Col.SITE,
    "config_hash",
    "cohort",
    "survival",
    "response",
    "table1",
    "cox",
    "disclosure",
)


@dataclass(frozen=True)
class SiteFiles:
    """The files given to ``aftercar pool``, by kind."""

    summaries: list[dict[str, Any]]
    proposal: dict[str, Any] | None = None
    answers: list[dict[str, Any]] = field(default_factory=list)
    robust: dict[str, Any] | None = None
    robust_answers: list[dict[str, Any]] = field(default_factory=list)


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file. Fix: check the path.") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path}: not a JSON file ({exc}). Fix: pass the site.json written by "
            "`aftercar site-summary`."
        ) from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a site summary (a JSON object). Fix: check the file.")
    return data


def _check_version(path: Path, data: dict[str, Any]) -> None:
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise InputError(
            f"{path}: schema version {version!r}, this aftercar pools version {SCHEMA_VERSION}. "
            "Fix: run `aftercar site-summary` again at that site with the same aftercar version."
        )


def _check_summary(path: Path, data: dict[str, Any]) -> None:
    _check_version(path, data)
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise InputError(
            f"{path}: site summary without {', '.join(missing)}. "
            "Fix: write it again with `aftercar site-summary` (do not edit it by hand)."
        )
    if not isinstance(data[Col.SITE], str) or not data[Col.SITE]:
        raise InputError(f"{path}: the site has no name. Fix: `aftercar site-summary --site NAME`.")


def _check_contents(path: Path, data: dict[str, Any]) -> None:
    """Every key as ``data/site_summary.schema.json`` says (counts whole and >= 0, no
    NaN, sections of the right kind), the lists of each table of one length, and each event
    table one a site can hold (:func:`~aftercar.federated.validate.event_table_problem`)."""
    problem = schema_problem(data) or length_problem(data) or event_table_problem(data)
    if problem is None:
        return
    raise InputError(
        f"{path}: not a valid site summary (key {problem.where or '(top level)'}, value "
        f"{shown(problem.value)}): expected {problem.expected}. Fix: write it again with "
        "`aftercar site-summary` at that site and pass it unedited (the format is "
        "aftercar/data/site_summary.schema.json)."
    )


def _check_hashes(files: list[tuple[Path, dict[str, Any]]], expected: str | None) -> None:
    first_path, first = files[0]
    want = expected if expected is not None else first.get("config_hash")
    origin = "--config" if expected is not None else str(first_path)
    for path, data in files:
        if data.get("config_hash") != want:
            raise InputError(
                f"{path}: study configuration hash {str(data.get('config_hash'))[:12]}... differs "
                f"from {origin} ({str(want)[:12]}...): the site used another study.toml, or "
                "other files named in it ([vocabulary] overrides or taxonomy). Fix: every site "
                "runs `aftercar site-summary --config study.toml` with the same file and the "
                "same files it names."
            )


def _site_key(name: str) -> str:
    """A site name as compared for duplicates: case and spaces aside ("MSKCC-like" is
    "mskcc-LIKE"; fuzzing round 4: they became two strata)."""
    return "".join(name.split()).casefold()


def _check_sites(summaries: list[tuple[Path, dict[str, Any]]]) -> None:
    seen: dict[str, tuple[Path, str]] = {}
    for path, data in summaries:
        key = _site_key(data[Col.SITE])
        if key in seen:
            other, name = seen[key]
            raise InputError(
                f"{path}: site {data[Col.SITE]!r} is also {other} (site {name!r}; names that "
                "differ only in case or spaces are one site). Fix: pass each site once, or "
                "name them with `aftercar site-summary --site NAME`."
            )
        seen[key] = (path, data[Col.SITE])


#: Each file format ``pool`` reads, and the kind it is filed under.
KINDS = {
    FORMAT: "summaries",
    ANSWER_FORMAT: "answers",
    ROUND_FORMAT: "proposals",
    ROBUST_ANSWER_FORMAT: "robust_answers",
    ROBUST_FORMAT: "robust",
}


def _check_rounds(by: dict[str, list[tuple[Path, dict[str, Any]]]]) -> None:
    for rounds, answers, name, what in (
        ("proposals", "answers", "cox_round.json", "Cox round"),
        ("robust", "robust_answers", "robust_round.json", "robust round"),
    ):
        if len(by[rounds]) > 1:
            raise InputError(f"{by[rounds][1][0]}: a second coefficients file of the same kind. "
                             "Fix: pass only the latest one.")  # fmt: skip
        if by[answers] and not by[rounds]:
            raise InputError(
                f"{by[answers][0][0]}: a {what} answer without the coefficients file it answers. "
                f"Fix: pass the {name} the sites answered together with the answers."
            )


def read_site_files(paths: list[Path], *, config_hash: str | None = None) -> SiteFiles:
    """Read and validate site summaries, and optionally the round files and their answers.

    Round files: a Cox coefficients file (``cox_round.json``, Newton rounds of
    ``cox_os``) and a robust round file (``robust_round.json``), each with the
    sites' answers.

    Raises
    ------
    InputError
        A file that is not JSON, of an unknown format or schema version, lacks
        keys, names a site twice, or whose configuration hash differs; a site
        summary that breaks its schema (a count negative, not whole, a text or
        NaN; a section of the wrong kind; an unknown key) or holds a table whose
        lists differ in length.
    """
    if not paths:
        raise InputError("no site files given. Fix: `aftercar pool site1.json site2.json -o OUT`.")
    by: dict[str, list[tuple[Path, dict[str, Any]]]] = {k: [] for k in KINDS.values()}
    for path in map(Path, paths):
        data = _load(path)
        kind = KINDS.get(data.get("format"))
        if kind is None:
            raise InputError(
                f"{path}: format {data.get('format')!r} is not an aftercar site summary, round "
                "file or round answer. Fix: pass the files written by `aftercar site-summary` "
                "and `aftercar pool`."
            )
        (_check_summary if kind == "summaries" else _check_version)(path, data)
        by[kind].append((path, data))
    if not by["summaries"]:
        raise InputError("no site summary among the files. Fix: pass every site's site.json.")
    _check_rounds(by)
    _check_hashes([f for files in by.values() for f in files], config_hash)
    _check_sites(by["summaries"])
    for path, data in by["summaries"]:
        _check_contents(path, data)
    one = {k: (by[k][0][1] if by[k] else None) for k in ("proposals", "robust")}
    return SiteFiles(
        summaries=[d for _, d in by["summaries"]],
        proposal=one["proposals"],
        answers=[d for _, d in by["answers"]],
        robust=one["robust"],
        robust_answers=[d for _, d in by["robust_answers"]],
    )
