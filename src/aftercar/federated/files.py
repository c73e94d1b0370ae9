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
from aftercar.federated.summary import FORMAT, SCHEMA_VERSION
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


def _check_hashes(files: list[tuple[Path, dict[str, Any]]], expected: str | None) -> None:
    first_path, first = files[0]
    want = expected if expected is not None else first.get("config_hash")
    origin = "--config" if expected is not None else str(first_path)
    for path, data in files:
        if data.get("config_hash") != want:
            raise InputError(
                f"{path}: study configuration hash {str(data.get('config_hash'))[:12]}... differs "
                f"from {origin} ({str(want)[:12]}...): the site used another study.toml. Fix: "
                "every site runs `aftercar site-summary --config study.toml` with the same file."
            )


def _check_sites(summaries: list[tuple[Path, dict[str, Any]]]) -> None:
    seen: dict[str, Path] = {}
    for path, data in summaries:
        if data[Col.SITE] in seen:
            raise InputError(
                f"{path}: site {data[Col.SITE]!r} is also {seen[data[Col.SITE]]}. "
                "Fix: pass each site once, or name them with `aftercar site-summary --site NAME`."
            )
        seen[data[Col.SITE]] = path


def read_site_files(paths: list[Path], *, config_hash: str | None = None) -> SiteFiles:
    """Read and validate site summaries, and optionally a Cox proposal and its answers.

    Raises
    ------
    InputError
        A file that is not JSON, of an unknown format or schema version, lacks
        keys, names a site twice, or whose configuration hash differs.
    """
    if not paths:
        raise InputError("no site files given. Fix: `aftercar pool site1.json site2.json -o OUT`.")
    summaries, answers, proposals = [], [], []
    for path in map(Path, paths):
        data = _load(path)
        kind = data.get("format")
        if kind == FORMAT:
            _check_summary(path, data)
            summaries.append((path, data))
        elif kind == ANSWER_FORMAT:
            _check_version(path, data)
            answers.append((path, data))
        elif kind == ROUND_FORMAT:
            _check_version(path, data)
            proposals.append((path, data))
        else:
            raise InputError(
                f"{path}: format {kind!r} is not an aftercar site summary, Cox proposal or "
                "Cox answer. Fix: pass the files written by `aftercar site-summary`."
            )
    if not summaries:
        raise InputError("no site summary among the files. Fix: pass every site's site.json.")
    if len(proposals) > 1:
        raise InputError(
            f"{proposals[1][0]}: a second Cox coefficients file. Fix: pass only the latest one."
        )
    if answers and not proposals:
        raise InputError(
            f"{answers[0][0]}: a Cox round answer without the coefficients file it answers. "
            "Fix: pass the cox_round.json the sites answered together with the answers."
        )
    _check_hashes(summaries + answers + proposals, config_hash)
    _check_sites(summaries)
    return SiteFiles(
        summaries=[d for _, d in summaries],
        proposal=proposals[0][1] if proposals else None,
        answers=[d for _, d in answers],
    )
