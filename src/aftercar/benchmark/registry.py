"""Registry of published benchmarks (data files under ``aftercar/data/benchmarks``).

Each benchmark is one TOML file holding its citation, DOI, source URL,
population, N, time zero and endpoints: response rates (with CI and counts
where published) and time-to-event summaries (median with CI, landmark
rates). Digitised Kaplan-Meier coordinates and numbers at risk are referenced
from a ``[km.<endpoint>]`` section (CSV files beside the TOML) only where they
are genuinely published; the ``km_coordinates`` field says what is available.
A benchmark without coordinates is compared through a parametric curve fitted
to its published summary (:func:`aftercar.benchmark.curves.fit_reference_curve`).

Users can register their own benchmark by passing the path of a TOML file in
the same format to :func:`get_benchmark`.

References
----------
Van Oekelen O, et al. Blood 2023;141(7):756-765. doi:10.1182/blood.2022017848
(index study); other sources are cited in each data file.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from aftercar.benchmark.curves import ReferenceCurve, StepCurve, fit_reference_curve
from aftercar.errors import ConfigError, InputError, Problem

__all__ = ["Benchmark", "Endpoint", "get_benchmark", "list_benchmarks"]

_TOP_KEYS = {"name", "short", "title", "citation", "doi", "source_url", "design",
             "population", "n", "time_zero", "km_coordinates", "notes", "endpoints", "baseline",
             "km", "headline"}  # fmt: skip
_ENDPOINT_KEYS = {"label", "n", "responders", "rate", "rate_ci", "median", "median_ci",
                  "landmarks", "events"}  # fmt: skip
_REQUIRED = ("name", "title", "citation", "source_url", "population", "time_zero",
             "km_coordinates")  # fmt: skip


def _bound(v: Any) -> float | None:
    """A CI bound: a number, or None for "NE"/"NR" (not estimable / not reached)."""
    return float(v) if isinstance(v, int | float) else None


@dataclass(frozen=True)
class Endpoint:
    """One published endpoint of a benchmark.

    ``rate`` (proportion 0-1) with optional ``rate_ci``, ``n`` and ``responders``
    for response endpoints; ``median`` (months) with ``median_ci`` (``None`` =
    not estimable / not reached) and ``landmarks`` ``((time, survival), ...)``
    for time-to-event endpoints.
    """

    key: str
    label: str
    n: int | None = None
    responders: int | None = None
    rate: float | None = None
    rate_ci: tuple[float | None, float | None] | None = None
    median: float | None = None
    median_ci: tuple[float | None, float | None] | None = None
    landmarks: tuple[tuple[float, float], ...] = ()
    events: int | None = None

    @property
    def kind(self) -> str:
        """``"rate"`` or ``"time_to_event"``."""
        return "rate" if self.rate is not None else "time_to_event"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (only the published fields)."""
        out: dict[str, Any] = {"key": self.key, "label": self.label, "kind": self.kind}
        for k in ("n", "responders", "rate", "rate_ci", "median", "median_ci", "events"):
            v = getattr(self, k)
            if v is not None:
                out[k] = list(v) if isinstance(v, tuple) else v
        if self.landmarks:
            out["landmarks"] = [{"time": t, "survival": s} for t, s in self.landmarks]
        return out


@dataclass(frozen=True)
class Benchmark:
    """A published benchmark: citation, population and endpoints."""

    name: str
    short: str
    title: str
    citation: str
    doi: str
    source_url: str
    design: str
    population: str
    n: int | None
    time_zero: str
    km_coordinates: str
    notes: tuple[str, ...]
    endpoints: dict[str, Endpoint]
    baseline: dict[str, dict[str, Any]]
    km: dict[str, dict[str, Any]] = field(default_factory=dict)
    path: str = ""
    headline: tuple[dict[str, Any], ...] = ()

    def endpoint(self, key: str) -> Endpoint:
        """The endpoint ``key``; :class:`InputError` listing the available ones."""
        if key not in self.endpoints:
            raise InputError(
                f"Benchmark '{self.name}' has no endpoint '{key}'. Available: "
                f"{', '.join(self.endpoints)}. Fix: choose one of those."
            )
        return self.endpoints[key]

    def reconstructed_ipd(self, key: str) -> pd.DataFrame | None:
        """Pseudo-IPD (``time, event``) from digitised KM data, or None if none published."""
        spec = self.km.get(key)
        if not spec:
            return None
        from aftercar.benchmark.reconstruct import (
            guyot_reconstruct,
            read_at_risk_csv,
            read_curve_csv,
        )

        base = Path(self.path).parent
        curve = read_curve_csv(base / spec["curve"])
        at_risk = read_at_risk_csv(base / spec["at_risk"])
        total = spec.get("total_events")
        n0 = int(at_risk["n_risk"].iloc[0])
        if total is not None and not (_whole(total) and 0 <= total <= n0):
            where = f"{Path(self.path).name}, km.{key}.total_events"
            raise ConfigError(
                f"{where}: {total!r} is not a number of events from 0 to the {n0} at risk at "
                "time 0. Fix: give the published total number of events, or leave "
                "total_events out.",
                [Problem(Path(self.path).name, None, f"km.{key}.total_events", str(total),
                         f"must be a whole number from 0 to {n0}", "see docs/benchmarking.md")],
            )  # fmt: skip
        return guyot_reconstruct(curve, at_risk, total_events=total).ipd

    def curve(self, key: str, *, kind: str = "auto") -> ReferenceCurve:
        """Reference survival curve for endpoint ``key``.

        Reconstructed IPD (Nelson-Aalen) when digitised KM data are registered;
        otherwise a parametric curve through the published median and landmarks:
        ``kind="auto"`` gives exponential for one published point and piecewise
        exponential for several; ``"exponential"``, ``"weibull"`` and
        ``"piecewise_exponential"`` force a form.
        """
        ep = self.endpoint(key)
        ipd = self.reconstructed_ipd(key) if kind in ("auto", "ipd") else None
        if ipd is not None:
            return StepCurve.from_ipd(ipd["time"].to_numpy(), ipd["event"].to_numpy())
        pts = list(ep.landmarks)
        if ep.median is not None:
            pts.append((ep.median, 0.5))
        if not pts:
            raise InputError(
                f"Endpoint '{key}' of '{self.name}' has no median, landmark or KM data, so "
                "no survival curve can be built. Fix: choose a time-to-event endpoint."
            )
        pts.sort()
        if kind in ("auto", "ipd"):
            kind = "exponential" if len(pts) == 1 else "piecewise_exponential"
        return fit_reference_curve([p[0] for p in pts], [p[1] for p in pts], kind=kind)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary of the whole benchmark."""
        return {
            "name": self.name, "short": self.short, "title": self.title,
            "citation": self.citation, "doi": self.doi, "source_url": self.source_url,
            "design": self.design, "population": self.population, "n": self.n,
            "time_zero": self.time_zero, "km_coordinates": self.km_coordinates,
            "notes": list(self.notes),
            "endpoints": {k: e.to_dict() for k, e in self.endpoints.items()},
            "baseline": self.baseline,
        }  # fmt: skip


def _problem(file: str, key: str, value: Any, message: str) -> Problem:
    return Problem(file, None, key, None if value is None else str(value), message,
                   "see docs/benchmarking.md for the benchmark file format")  # fmt: skip


def _whole(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _inside(value: Any, ci: Any) -> str | None:
    """Why ``value`` and its interval ``ci`` disagree (bounds "NE"/"NR" aside), else None."""
    if not isinstance(ci, list | tuple) or len(ci) != 2:
        return "an interval is [lower, upper]" if ci is not None else None
    lo, hi = (_bound(b) for b in ci)
    if lo is not None and hi is not None and lo > hi:
        return f"the interval [{lo:g}, {hi:g}] is reversed"
    if _number(value) and ((lo is not None and value < lo) or (hi is not None and value > hi)):
        return f"{value:g} lies outside its interval [{ci[0]}, {ci[1]}]"
    return None


def _count_problems(raw: dict[str, Any]) -> list[tuple[str, Any, str]]:
    """Counts of an endpoint a study can publish (fuzzing round 4: a negative n, responders
    above n or a rate that is not responders / n were accepted)."""
    out = []
    n, x, events = raw.get("n"), raw.get("responders"), raw.get("events")
    valid_n = _whole(n) and n >= 1
    if n is not None and not valid_n:
        out.append(("n", n, "n must be a whole number of at least 1"))
    if x is not None and not (_whole(x) and x >= 0 and (not valid_n or x <= n)):
        out.append(("responders", x, "responders must be a whole number from 0 to n"))
    if events is not None and not (_whole(events) and events >= 0
                                   and (not valid_n or events <= n)):  # fmt: skip
        out.append(("events", events, "events must be a whole number from 0 to n"))
    rate = raw.get("rate")
    if valid_n and _whole(x) and 0 <= x <= n and _number(rate) and abs(rate - x / n) > 0.01:
        out.append(("rate", rate, f"the rate is not responders / n ({x}/{n} = {x / n:.3f})"))
    return out


def _value_problems(raw: dict[str, Any]) -> list[tuple[str, Any, str]]:
    out = _count_problems(raw)
    rate, median = raw.get("rate"), raw.get("median")
    if rate is not None and not (_number(rate) and 0.0 < rate < 1.0):
        out.append(("rate", rate, "rate must be a number strictly between 0 and 1 (a rate "
                                  "of 0 or 1 cannot be tested against)"))  # fmt: skip
    if median is not None and not (_number(median) and 0 <= median <= MAX_MEDIAN_MONTHS):
        why = (f"median must be a number of months from 0 to {MAX_MEDIAN_MONTHS} (not text; "
               "not estimable: leave it out)")
        out.append(("median", median, why))
    for name, value in (("rate_ci", rate), ("median_ci", median)):
        why = _inside(value, raw.get(name))
        if why is not None:
            out.append((name, raw.get(name), why))
    return out


#: The longest median survival a benchmark may publish, in months (50 years).
MAX_MEDIAN_MONTHS = 600


def _parse_endpoint(file: str, key: str, raw: dict[str, Any], problems: list[Problem]):
    unknown = set(raw) - _ENDPOINT_KEYS
    if unknown:
        problems.append(_problem(file, f"endpoints.{key}", sorted(unknown), "unknown keys"))
    found = _value_problems(raw)
    for name, value, why in found:
        problems.append(_problem(file, f"endpoints.{key}.{name}", value, why))
    if found:
        return None  # named above; the file is refused
    rate = raw.get("rate")
    lms = tuple((float(d["time"]), float(d["survival"])) for d in raw.get("landmarks", []))
    ci = raw.get("rate_ci")
    mci = raw.get("median_ci")
    return Endpoint(
        key=key,
        label=str(raw.get("label", key)),
        n=raw.get("n"),
        responders=raw.get("responders"),
        rate=None if rate is None else float(rate),
        rate_ci=None if ci is None else (_bound(ci[0]), _bound(ci[1])),
        median=None if raw.get("median") is None else float(raw["median"]),
        median_ci=None if mci is None else (_bound(mci[0]), _bound(mci[1])),
        landmarks=lms,
        events=raw.get("events"),
    )


def _parse(raw: dict[str, Any], path: str) -> Benchmark:
    file = Path(path).name
    problems = [_problem(file, k, None, "required key missing") for k in _REQUIRED if k not in raw]
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        problems.append(_problem(file, None, sorted(unknown), "unknown top-level keys"))
    eps = {}
    for key, spec in raw.get("endpoints", {}).items():
        try:
            eps[key] = _parse_endpoint(file, key, spec, problems)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            problems.append(_problem(file, f"endpoints.{key}", spec, f"malformed ({exc!r})"))
    if problems:
        listing = "".join(f"\n  - {p}" for p in problems)
        raise ConfigError(f"Benchmark file {path} is malformed:{listing}", problems)
    return Benchmark(
        name=raw["name"], short=raw.get("short", raw["name"]), title=raw["title"],
        citation=raw["citation"], doi=raw.get("doi", ""), source_url=raw["source_url"],
        design=raw.get("design", ""), population=raw["population"], n=raw.get("n"),
        time_zero=raw["time_zero"], km_coordinates=raw["km_coordinates"],
        notes=tuple(raw.get("notes", ())), endpoints=eps, baseline=raw.get("baseline", {}),
        km=raw.get("km", {}), path=path, headline=tuple(raw.get("headline", ())),
    )  # fmt: skip


def _load_file(path: Path) -> Benchmark:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Benchmark file {path} is not valid TOML: {exc}") from None
    return _parse(raw, str(path))


@cache
def _registry() -> dict[str, Benchmark]:
    folder = resources.files("aftercar.data").joinpath("benchmarks")
    out: dict[str, Benchmark] = {}
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".toml"):
            bm = _load_file(Path(str(entry)))
            out[bm.name] = bm
    return out


def list_benchmarks() -> list[Benchmark]:
    """All registered benchmarks, the index study (Van Oekelen 2023) first."""
    reg = _registry()
    return sorted(reg.values(), key=lambda b: (b.name != "van_oekelen_2023", b.name))


def get_benchmark(name: str) -> Benchmark:
    """A registered benchmark by name, or a user benchmark from a TOML file path.

    Raises
    ------
    InputError
        Unknown name (the message lists every registered name).
    """
    reg = _registry()
    if name in reg:
        return reg[name]
    path = Path(name)
    if path.suffix == ".toml" and path.is_file():
        return _load_file(path)
    raise InputError(
        f"Unknown benchmark '{name}'. Registered benchmarks: {', '.join(reg)}. "
        "Fix: use one of those names (see `aftercar benchmark list`) or the path of a "
        "benchmark TOML file."
    )
