"""``aftercar benchmark ...``: published benchmarks, comparisons, KM reconstruction, designs.

* ``list`` / ``show NAME``: the registry of published benchmarks;
* ``compare COHORT --against NAME -o OUTDIR``: a curated cohort (or summary input:
  ``--responders X --n N``, or ``--km KM.csv``) against a benchmark, written as
  ``comparison.json``, ``comparison.html`` and KM overlay figures;
* ``reconstruct CURVE.csv --at-risk ATRISK.csv -o IPD.csv``: Guyot pseudo-IPD;
* ``design simon`` / ``design survival``: trial designs with the benchmark as H0.

Parsing and printing only; the work is done in :mod:`aftercar.benchmark`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from aftercar.cli.paths import output_file, output_folder
from aftercar.errors import InputError
from aftercar.schema import Col

if TYPE_CHECKING:
    import pandas as pd

benchmark_app = typer.Typer(
    help="Compare with published post-CAR-T benchmarks and design the next trial.",
    no_args_is_help=True,
)
design_app = typer.Typer(help="Trial designs with a benchmark as the null.", no_args_is_help=True)

_CURVE_KINDS = ("auto", "exponential", "weibull", "piecewise_exponential")


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


# ----------------------------------------------------------------------- registry


def list_cmd() -> None:
    """List the registered published benchmarks."""
    from aftercar.benchmark import list_benchmarks

    table = Table(title="Published benchmarks")
    table.add_column("name", no_wrap=True)  # the name is what users type: never wrapped
    for col in ("study", "N", "endpoints", "citation"):
        table.add_column(col, overflow="fold")
    for b in list_benchmarks():
        table.add_row(b.name, b.short, "" if b.n is None else str(b.n),
                      ", ".join(b.endpoints), b.citation)  # fmt: skip
    _console().print(table)


def show_cmd(
    name: Annotated[str, typer.Argument(help="Benchmark name (see `benchmark list`).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show one benchmark: citation, population, endpoints and data availability."""
    from aftercar.benchmark import get_benchmark

    b = get_benchmark(name)
    if as_json:
        typer.echo(json.dumps(b.to_dict(), indent=2))
        return
    con = _console()
    con.print(f"[bold]{b.title}[/]\n{b.citation}" + (f" doi:{b.doi}" if b.doi else ""))
    con.print(f"Source: {b.source_url}\nDesign: {b.design}\nPopulation: {b.population}")
    con.print(f"N: {b.n if b.n is not None else 'not recorded'}; time zero: {b.time_zero}")
    con.print(f"KM coordinates: {b.km_coordinates}")
    table = Table(title="Endpoints")
    for col in ("key", "endpoint", "n", "estimate", "95% CI"):
        table.add_column(col, overflow="fold")
    for e in b.endpoints.values():
        table.add_row(e.key, e.label, "" if e.n is None else str(e.n), *_estimate(e))
    con.print(table)
    if b.baseline:
        base = Table(title="Published baseline (MAIC targets)")
        for col in ("covariate", "value", "statistic"):
            base.add_column(col)
        for key, spec in b.baseline.items():
            base.add_row(key, f"{spec.get('value')}", str(spec.get("statistic", "mean")))
        con.print(base)
    for note in b.notes:
        con.print(f"- {escape(note)}")


def _estimate(e) -> tuple[str, str]:
    def bound(v):
        return "NE" if v is None else f"{v:g}"

    if e.rate is not None:
        ci = "" if e.rate_ci is None else f"{bound(e.rate_ci[0])}-{bound(e.rate_ci[1])}"
        return f"{100 * e.rate:.1f}%", ci
    parts = [f"median {e.median:g} mo"] if e.median is not None else []
    parts += [f"S({t:g} mo) = {s:.2f}" for t, s in e.landmarks]
    ci = "" if e.median_ci is None else f"{bound(e.median_ci[0])}-{bound(e.median_ci[1])}"
    return "; ".join(parts), ci


# ------------------------------------------------------------------------ compare


def _pick_endpoint(bench, asked: tuple[str, ...], kind: str, default: str) -> str:
    """The benchmark endpoint a summary input is compared with.

    An explicit ``--endpoint`` of the right kind wins; else ``default`` (orr1 / os)
    when the benchmark has it; else the benchmark's first endpoint of that kind.
    """
    for key in asked:
        if key in bench.endpoints and bench.endpoints[key].kind == kind:
            return key
    if asked:
        have = ", ".join(k for k, e in bench.endpoints.items() if e.kind == kind) or "none"
        raise InputError(f"--endpoint {', '.join(asked)}: not a {kind.replace('_', '-')} "
                         f"endpoint of '{bench.name}' (those are: {have}).")  # fmt: skip
    if default in bench.endpoints:
        return default
    return next((k for k, e in bench.endpoints.items() if e.kind == kind), default)


def _summary_endpoints(responders, n, km, at_risk, endpoints, bench) -> dict:
    import pandas as pd

    from aftercar.benchmark.reconstruct import (
        guyot_reconstruct,
        read_at_risk_csv,
        read_curve_csv,
        read_ipd_csv,
    )

    out: dict = {"notes": []}
    if responders is not None or n is not None:
        if responders is None or n is None:
            raise InputError("--responders and --n go together. Fix: give both, e.g. "
                             "--responders 12 --n 30.")  # fmt: skip
        key = _pick_endpoint(bench, endpoints, "rate", "orr1")
        out[key] = (responders, n)
        out["source"] = f"summary: {responders}/{n} responders"
    if km is not None:
        try:
            header = pd.read_csv(km, nrows=0).columns
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            hint = "Fix: save it as a CSV with a header row 'time,event' or 'time,survival'."
            raise InputError(f"{km}: cannot be read as CSV ({exc}). {hint}") from None
        names = {str(c).strip().lower() for c in header}
        if Col.TIME in names and names & {Col.EVENT, "status"}:
            ipd = read_ipd_csv(km)
        elif at_risk is None:
            raise InputError(f"{km}: has no 'time,event' columns (IPD) and no --at-risk table "
                             "was given to reconstruct IPD from a 'time,survival' curve. Fix: "
                             "pass --at-risk ATRISK.csv or an IPD file.")  # fmt: skip
        else:
            ipd = guyot_reconstruct(read_curve_csv(km), read_at_risk_csv(at_risk)).ipd
            out["notes"].append(f"{Path(km).name}: IPD reconstructed (Guyot 2012)")
        key = _pick_endpoint(bench, endpoints, "time_to_event", "os")
        out[key] = ipd
        out["source"] = (out.get("source", "") + f" KM table {Path(km).name}").strip()
        out["notes"] += _unit_note(km, ipd)
    return out


#: Follow-up in months beyond which a KM table's times are likely days or weeks (20 years
#: after a myeloma relapse).
_IMPLAUSIBLE_MONTHS = 240.0


def _unit_note(km: Path, ipd: pd.DataFrame) -> list[str]:
    """A note when the times of a KM table run beyond :data:`_IMPLAUSIBLE_MONTHS` (fuzzing
    round 4: times in days were compared as months without a word)."""
    longest = float(ipd[Col.TIME].max()) if len(ipd) else 0.0
    if longest <= _IMPLAUSIBLE_MONTHS:
        return []
    return [f"{Path(km).name}: times run to {longest:g} months ({longest / 12:.0f} years): "
            "are they in days or weeks? The comparison reads them as months from the "
            "benchmark's time zero (days / 30.4375)."]  # fmt: skip


def compare_cmd(
    cohort: Annotated[Path | None, typer.Argument(help="Curated cohort folder or .xlsx.")] = None,
    against: Annotated[str, typer.Option("--against", help="Benchmark name.")] = (
        "van_oekelen_2023"
    ),
    outdir: Annotated[Path, typer.Option("-o", "--outdir", help="Output folder.")] = Path(
        "benchmark_comparison"
    ),
    endpoint: Annotated[
        list[str] | None,
        typer.Option("--endpoint", help="os, pfs1, orr1 (repeatable; default all three)."),
    ] = None,
    responders: Annotated[int | None, typer.Option(help="Summary input: responders.")] = None,
    n: Annotated[int | None, typer.Option("--n", help="Summary input: evaluable n.")] = None,
    km: Annotated[Path | None, typer.Option(help="Summary input: KM table CSV.")] = None,
    at_risk: Annotated[Path | None, typer.Option(help="At-risk CSV for --km curves.")] = None,
    curve: Annotated[str, typer.Option(help="Benchmark curve: " + "|".join(_CURVE_KINDS))] = (
        "auto"
    ),
    date_format: Annotated[str | None, typer.Option(help="strptime format of dates.")] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Study TOML: the same rules as `aftercar report --config`."),
    ] = None,
    alternative: Annotated[
        str, typer.Option(help="One-sample log-rank: two-sided, less (fewer events), greater.")
    ] = "two-sided",
    maic: Annotated[
        bool, typer.Option("--maic", help="Also weight the cohort to the benchmark's baseline.")
    ] = False,
    maic_allow_median: Annotated[
        bool, typer.Option(help="MAIC: use published medians as proxies for means.")
    ] = False,
    n_boot: Annotated[int, typer.Option(help="MAIC bootstrap replicates.")] = 1000,
    seed: Annotated[int, typer.Option(help="MAIC bootstrap seed.")] = 20230216,
    suppress_below: Annotated[
        int | None,
        typer.Option("--suppress-below", help="Withhold an endpoint whose counts include "
                     "1..K-1 (default: [report] suppress_below of --config)."),
    ] = None,
) -> None:
    """Compare a cohort (or summary figures) with a published benchmark."""
    from aftercar.benchmark import get_benchmark
    from aftercar.benchmark.compare import compare_cohort
    from aftercar.benchmark.disclosure import shared_comparison
    from aftercar.benchmark.output import write_comparison

    output_folder(outdir)
    if alternative not in ("two-sided", "less", "greater"):
        raise InputError(f"--alternative {alternative!r}: use two-sided, less or greater.")
    if curve not in _CURVE_KINDS:
        raise InputError(f"--curve {curve!r} is not one of {', '.join(_CURVE_KINDS)}.")
    bench = get_benchmark(against)
    which = tuple(endpoint or ())
    summary = responders is not None or n is not None or km is not None
    if cohort is None and not summary:
        raise InputError("Nothing to compare. Fix: give a COHORT folder/workbook, or "
                         "--responders X --n N, or --km KM.csv.")  # fmt: skip
    if cohort is not None and summary:
        raise InputError("Give either a COHORT or summary inputs, not both.")
    if summary:
        eps = _summary_endpoints(responders, n, km, at_risk, which, bench)
        which = which or tuple(k for k in eps if k not in ("notes", "source"))
    else:
        eps = _cohort_endpoints(cohort, config, date_format)
        which = which or ("os", "pfs1", "orr1")
    bad = [k for k in which if k not in eps]
    if bad:
        have = ", ".join(k for k in eps if k not in ("notes", "source"))
        raise InputError(f"--endpoint {', '.join(bad)}: not available from this input "
                         f"(available: {have}).")  # fmt: skip
    comp = compare_cohort(eps, bench, which=which, curve_kind=curve, alternative=alternative)
    if not comp.results:
        why, have = "; ".join(comp.notes), ", ".join(bench.endpoints)
        raise InputError(f"Nothing could be compared with '{bench.name}' ({why}). Its endpoints: "
                         f"{have}. Fix: pick one with --endpoint.")  # fmt: skip
    if maic:
        comp = _with_maic(comp, eps, bench, maic_allow_median, n_boot, seed)
    comp = shared_comparison(comp, _threshold(suppress_below, config, date_format))
    paths = write_comparison(comp, outdir)
    _print_comparison(comp)
    _console().print("Wrote " + ", ".join(str(p) for p in paths.values()))


def _threshold(suppress_below: int | None, config: Path | None,
               date_format: str | None) -> int | None:  # fmt: skip
    """The disclosure threshold: ``--suppress-below``, else the study TOML's ``[report]
    suppress_below`` (as ``aftercar report`` reads it), else none."""
    if suppress_below is None and config is None:
        return None
    from aftercar.cli.report import study_config

    return study_config(config, date_format, suppress_below).report.suppress_below or None


def _cohort_endpoints(cohort: Path, config: Path | None, date_format: str | None):
    """Derive the cohort's endpoints through the pipeline with the study TOML."""
    from aftercar.cli.report import study_config
    from aftercar.pipeline import cohort_endpoints

    return cohort_endpoints(cohort, config=study_config(config, date_format, None))


def _with_maic(comp, eps, bench, allow_median: bool, n_boot: int, seed: int):
    from dataclasses import replace

    from aftercar.benchmark.adjust import maic_compare

    if "patients" not in eps:
        raise InputError("--maic needs a cohort with patient-level covariates, not summary "
                         "inputs. Fix: pass a COHORT folder or workbook.")  # fmt: skip
    if n_boot < 100:
        raise InputError(f"--n-boot must be at least 100 (got {n_boot}).")
    res = maic_compare(eps["patients"], bench, allow_median=allow_median, n_boot=n_boot,
                       seed=seed)  # fmt: skip
    notes = [f"MAIC: {k} not matched ({v})" for k, v in res.skipped.items()]
    notes += [f"MAIC: {k} matched on a published median used as a mean" for k in res.proxies]
    return replace(comp, maic=res, notes=(*comp.notes, *notes))


def _print_comparison(comp) -> None:
    from aftercar.benchmark.compare import RateComparison

    table = Table(title=f"Comparison with {comp.benchmark.short}")
    for col in ("endpoint", "cohort", "benchmark", "test"):
        table.add_column(col, overflow="fold")
    for r in comp.results:
        if isinstance(r, RateComparison):
            cohort = (f"{r.responders}/{r.n} = {100 * r.rate:.1f}% "
                      f"({100 * r.lower:.1f}-{100 * r.upper:.1f})")  # fmt: skip
            table.add_row(r.endpoint, cohort, f"{100 * r.benchmark_rate:.1f}%",
                          f"exact binomial p = {r.p_value:.4g}")  # fmt: skip
        else:
            o = r.one_sample
            med = "NE" if r.median is None else f"{r.median:.1f}"
            table.add_row(r.endpoint, f"median {med} mo, {r.events}/{r.n} events",
                          f"{r.curve['kind']} (median {_num(r.curve.get('median'))} mo)",
                          f"O/E = {o.observed}/{o.expected:.1f}, p = {o.p_value:.4g} "
                          f"(exact {o.exact_p_value:.4g})")  # fmt: skip
    con = _console()
    con.print(table)
    if comp.maic is not None:
        m = comp.maic
        con.print(f"MAIC: n = {m.n}, ESS = {m.ess:.1f}; matched " + ", ".join(m.targets))
        for key, o in m.outcomes.items():
            con.print(f"  {key}: unweighted {_num(o['unweighted'])}, weighted "
                      f"{_num(o['estimate'])} ({_num(o['lower'])}-{_num(o['upper'])})")  # fmt: skip
    for note in comp.notes:
        con.print(f"- {escape(note)}")


def _num(v) -> str:
    return "NE" if v is None or v != v else f"{v:.3g}"


# -------------------------------------------------------------------- reconstruct


def reconstruct_cmd(
    curve: Annotated[Path, typer.Argument(help="Digitised curve CSV: time,survival.")],
    at_risk: Annotated[Path, typer.Option("--at-risk", help="At-risk CSV: time,n_risk.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Output IPD CSV: time,event.")],
    total_events: Annotated[
        int | None, typer.Option("--total-events", help="Published total events.")
    ] = None,
) -> None:
    """Reconstruct pseudo-IPD from a published KM curve (Guyot et al. 2012)."""

    from aftercar.benchmark.reconstruct import guyot_reconstruct, read_at_risk_csv, read_curve_csv

    output_file(out)
    if total_events is not None and total_events < 0:
        raise InputError(f"--total-events must be >= 0 (got {total_events}).")
    rec = guyot_reconstruct(read_curve_csv(curve), read_at_risk_csv(at_risk),
                            total_events=total_events)  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    rec.ipd.to_csv(out, index=False)
    acc = rec.accuracy.to_dict()
    report = out.with_name(out.stem + "_accuracy.json")
    report.write_text(json.dumps(acc, indent=2) + "\n", "utf-8")
    table = Table(title="Reconstruction accuracy")
    table.add_column("measure")
    table.add_column("value")
    for k, v in acc.items():
        if k != "notes":
            table.add_row(
                k, "NE" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v))
            )
    con = _console()
    con.print(table)
    for note in acc["notes"]:
        con.print(f"- {escape(note)}")
    con.print(f"Wrote {out} ({acc['n']} patients, {acc['events']} events) and {report}")


# ------------------------------------------------------------------------- design


def simon_cmd(
    p0: Annotated[float, typer.Option("--p0", help="Uninteresting response rate (H0).")],
    p1: Annotated[float, typer.Option("--p1", help="Desirable response rate (H1).")],
    alpha: Annotated[float, typer.Option(help="One-sided type I error.")] = 0.05,
    power: Annotated[float, typer.Option(help="Power (1 - beta).")] = 0.8,
    n_max: Annotated[int, typer.Option("--n-max", help="Largest total n searched.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Simon two-stage optimal and minimax designs (exact binomial enumeration)."""
    from aftercar.benchmark import simon_two_stage

    res = simon_two_stage(p0=p0, p1=p1, alpha=alpha, power=power, n_max=n_max)
    if as_json:
        keys = ("r1", "n1", "r", "n", "en0", "pet0")
        out = {k: {f: getattr(d, f) for f in keys} for k, d in
               (("optimal", res.optimal), ("minimax", res.minimax))}  # fmt: skip
        typer.echo(json.dumps(out, indent=2))
        return
    table = Table(title=f"Simon two-stage designs: p0={p0}, p1={p1}, alpha={alpha}, power={power}")
    for col in ("design", "r1/n1", "r/n", "EN(p0)", "PET(p0)", "alpha", "power"):
        table.add_column(col)
    for label, d in (("optimal", res.optimal), ("minimax", res.minimax)):
        table.add_row(label, f"{d.r1}/{d.n1}", f"{d.r}/{d.n}", f"{d.en0:.2f}", f"{d.pet0:.3f}",
                      f"{d.alpha:.4f}", f"{d.power:.4f}")  # fmt: skip
    con = _console()
    con.print(table)
    con.print("Stop after stage 1 if <= r1 of n1 respond; declare promising if > r of n respond.")


def survival_cmd(
    median0: Annotated[float, typer.Option("--median0", help="Benchmark median (months).")],
    median1: Annotated[float, typer.Option("--median1", help="Target median (months).")],
    accrual: Annotated[float, typer.Option(help="Accrual period (months).")],
    followup: Annotated[float, typer.Option(help="Follow-up after accrual (months).")],
    alpha: Annotated[float, typer.Option(help="One-sided type I error.")] = 0.05,
    power: Annotated[float, typer.Option(help="Power.")] = 0.8,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Single-arm sample size vs a benchmark median (exponential, one-sample log-rank)."""
    from aftercar.benchmark import one_sample_survival_size

    res = one_sample_survival_size(median0=median0, median1=median1, accrual=accrual,
                                   followup=followup, alpha=alpha, power=power)  # fmt: skip
    if as_json:
        typer.echo(json.dumps(res.to_dict(), indent=2))
        return
    con = _console()
    con.print(
        f"n = {res.n} patients (exact {res.n_exact:.2f}); hazard ratio {res.hazard_ratio:.3f}"
    )
    con.print(f"expected events: {res.expected_events_h1:.1f} under H1; benchmark expects "
              f"{res.expected_events_h0:.1f}; power at n: {res.achieved_power:.3f}")  # fmt: skip
    con.print("Method: one-sample log-rank, exact variance (Wu, Pharm Stat 2015;14:26-33).")


def register(app: typer.Typer) -> None:
    """Add the ``benchmark`` command group to ``app``."""
    benchmark_app.command("list")(list_cmd)
    benchmark_app.command("show")(show_cmd)
    benchmark_app.command("compare")(compare_cmd)
    benchmark_app.command("reconstruct")(reconstruct_cmd)
    design_app.command("simon")(simon_cmd)
    design_app.command("survival")(survival_cmd)
    benchmark_app.add_typer(design_app, name="design")
    app.add_typer(benchmark_app, name="benchmark")
