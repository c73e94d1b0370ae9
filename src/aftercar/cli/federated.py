"""``aftercar site-summary`` and ``aftercar pool``: several sites, one study, no row shared."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from aftercar.errors import InputError
from aftercar.schema import Col

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="Study TOML (the same file at every site).")
]


def _write_json(path: Path, data: dict) -> None:
    from aftercar.report import jsonsafe

    if path.is_dir():
        raise InputError(f"{path} is a folder. Fix: give a file name with -o, e.g. site.json.")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(jsonsafe.dumps(data) + "\n", encoding="utf-8")


def _read_round(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a JSON coefficients file ({exc}). Fix: pass the "
                         "cox_round.json written by `aftercar pool`.") from exc  # fmt: skip
    from aftercar.federated.cox import ROUND_FORMAT
    from aftercar.federated.robust import ROBUST_FORMAT

    if not isinstance(data, dict) or data.get("format") not in (ROUND_FORMAT, ROBUST_FORMAT):
        raise InputError(f"{path}: not a Cox coefficients file. Fix: pass the cox_round.json "
                         "or robust_round.json written by `aftercar pool`.")  # fmt: skip
    return data


def _answer(cox_round: Path, derived, site: str, k: int | None, study) -> dict:
    """This site's answer to a coefficients file (Newton round or robust round)."""
    from aftercar.federated.robust import ROBUST_FORMAT, site_answer
    from aftercar.federated.summary import answer_round

    proposal = _read_round(cox_round)
    if proposal.get("config_hash") != study.config_hash():
        raise InputError(f"{cox_round}: made for another study configuration. Fix: use the "
                         "same study.toml as the coordinator.")  # fmt: skip
    if proposal["format"] == ROBUST_FORMAT:
        return site_answer(derived.lines, proposal, site, k)
    data = answer_round(derived, proposal, site, k)
    if k is not None and 0 < data["n"] < k:
        raise InputError(
            f"--cox-round: only {data['n']} complete case(s) at this site, fewer than "
            f"--suppress-below {k}; the answer would describe them too closely. Fix: fit "
            "the Cox model on categorical covariates only ([analysis] cox_covariates), "
            "which needs no rounds, or agree to answer this site's rounds without K."
        )
    return data


def site_summary(
    cohort: Annotated[Path, typer.Argument(help="The site's cohort (folder or .xlsx workbook).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Site file to write.")] = Path(
        "site.json"
    ),
    config: ConfigOption = None,
    site: Annotated[str | None, typer.Option("--site", help="The site's name.")] = None,
    suppress_below: Annotated[
        int | None,
        typer.Option("--suppress-below", help="Every shared count 0 or >= K (bins merged)."),
    ] = None,
    cox_round: Annotated[
        Path | None,
        typer.Option(
            "--cox-round",
            help="Answer one round: the cox_round.json (Newton round of the Cox model of OS) "
            "or robust_round.json (patient-clustered variance of the line-level Cox models: "
            "one p x p matrix per model) written by pool.",
        ),
    ] = None,
) -> None:
    """Write the aggregates this site shares (and site-summary.html showing every value)."""
    from aftercar.cli.report import suppression
    from aftercar.config import load_config
    from aftercar.federated import summarise_cohort
    from aftercar.federated.html import render_summary_html
    from aftercar.federated.summary import check_no_rows

    study = load_config(config)
    k = suppression(suppress_below, study)
    summary, derived = summarise_cohort(cohort, study, site=site, suppress_below=k)
    data = summary
    if cox_round is not None:
        data = _answer(cox_round, derived, summary[Col.SITE], k, study)
        check_no_rows(data, derived.patients[Col.PATIENT_ID])
    _write_json(output, data)
    page = output.with_name(f"{output.stem}-summary.html")
    title = "Cox round answer: what leaves this site" if cox_round else "What leaves this site"
    page.write_text(render_summary_html(data, title), encoding="utf-8")
    typer.echo(f"{output} written ({'Cox round answer' if cox_round else 'site summary'} of "
               f"site {summary[Col.SITE]}); read {page} to see every value it shares.")  # fmt: skip


def pool(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Site files, and any round file (cox_round.json, "
            "robust_round.json) with every site's answer to it."
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Report folder.")] = Path(
        "pooled-report"
    ),
    config: ConfigOption = None,
    force: Annotated[bool, typer.Option("--force", help="Write beside foreign files.")] = False,
) -> None:
    """Pool site summaries into the study report, stratified by site.

    Writes OUT.cox_round.json while the Cox model of OS needs Newton rounds, and
    OUT.robust_round.json until the sites have answered the robust round of the
    line-level Cox models (their patient-clustered variance).
    """
    from aftercar.config import load_config
    from aftercar.federated.files import read_site_files
    from aftercar.federated.study import pool_study, report_input
    from aftercar.io.hashing import sha256_file
    from aftercar.report import write_report

    study = load_config(config)
    site_files = read_site_files(files, config_hash=study.config_hash() if config else None)
    pooled = pool_study(site_files, rules=study.endpoints, options=study.analysis,
                        config_hash=site_files.summaries[0]["config_hash"])  # fmt: skip
    inputs = [{"path": str(p), "sha256": sha256_file(p)} for p in files]
    synthetic = any(s.get("synthetic") for s in site_files.summaries)  # one makes it synthetic
    data = report_input(pooled, study, inputs, synthetic=synthetic)
    k = max((s["disclosure"].get("suppress_below") or 0 for s in site_files.summaries), default=0)
    paths = write_report(data, output, suppress_below=k or None, force=force)
    typer.echo(f"pooled report of {len(site_files.summaries)} sites written to {paths.html}")
    if pooled.next_round is not None:
        target = output.with_name(f"{output.name}.cox_round.json")
        _write_json(target, pooled.next_round)
        typer.echo(f"Cox model of OS needs round {pooled.next_round['round']}: send {target} "
                   "to every site (aftercar site-summary COHORT --cox-round FILE -o answer.json), "
                   "then pool again with the site files, that file and every answer.")  # fmt: skip
    if pooled.robust_round is not None:
        target = output.with_name(f"{output.name}.robust_round.json")
        _write_json(target, pooled.robust_round)
        typer.echo(f"line-level Cox models need the robust round: send {target} to every site "
                   "(aftercar site-summary COHORT --cox-round FILE -o robust-answer.json), then "
                   "pool again with the site files, that file and every answer.")  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add ``site-summary`` and ``pool`` to the aftercar CLI."""
    app.command("site-summary")(site_summary)
    app.command("pool")(pool)
